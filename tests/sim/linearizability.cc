// Copyright (c) Vellum authors.
//
// The linearizability checker: per-key partitioning, the just-in-time linearization
// search with memoization, and the explanation it gives when a key's history has no
// linearization.

#include "tests/sim/linearizability.h"

#include <algorithm>
#include <bit>
#include <map>
#include <string_view>
#include <tuple>
#include <utility>

#include "vellum/check.h"

namespace vellum::sim {
namespace {

constexpr uint64_t kUnknown = Operation::kUnknown;
// The value id of the absent register; written values and observed values get ids 1, 2...
constexpr uint32_t kAbsent = 0;
constexpr uint32_t kNil = UINT32_MAX;
// Bounds on an explanation, so that a violation among thousands of operations on one key
// still reads in a terminal.
constexpr size_t kMaxListedOps = 60;
constexpr size_t kMaxListedLinearized = 12;
constexpr size_t kMaxListedPending = 20;
constexpr size_t kMaxNamedKeys = 10;

uint64_t SplitMix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

bool IsPrintable(ByteView b) {
  return std::all_of(b.begin(), b.end(), [](uint8_t c) { return c >= 0x20 && c < 0x7f; });
}

// One line's worth of a value: text in quotes when it is printable, otherwise hex.
std::string ShortBytes(ByteView b) {
  constexpr size_t kMaxTextBytes = 32;
  constexpr size_t kMaxHexBytes = 16;
  const std::string size_note = " (" + std::to_string(b.size()) + " bytes)";
  if (IsPrintable(b)) {
    if (b.size() <= kMaxTextBytes) return "\"" + std::string(AsChars(b)) + "\"";
    return "\"" + std::string(AsChars(b.first(kMaxTextBytes))) + "...\"" + size_note;
  }
  if (b.size() <= kMaxHexBytes) return "0x" + HexEncode(b);
  return "0x" + HexEncode(b.first(kMaxHexBytes)) + "..." + size_note;
}

std::string ShortValue(const std::optional<Bytes>& value) {
  return value.has_value() ? ShortBytes(*value) : "absent";
}

std::string TimeString(uint64_t time) {
  return time == kUnknown ? "unknown" : std::to_string(time);
}

std::string KeyName(const Operation& op) {
  std::string name = "table \"" + op.table + "\" key ";
  if (op.key.empty()) return name + "(empty)";
  name += HexEncode(op.key);
  if (IsPrintable(op.key)) name += " (\"" + std::string(AsChars(op.key)) + "\")";
  return name;
}

std::string DescribeOp(const std::vector<Operation>& history, uint32_t index) {
  const Operation& op = history[index];
  std::string s = "#" + std::to_string(index) + " client " + std::to_string(op.client_id) + " ";
  switch (op.kind) {
    case OpKind::kPut:
      s += "put " + ShortBytes(op.value);
      break;
    case OpKind::kDelete:
      s += "delete";
      break;
    case OpKind::kGet:
      s += op.complete_time == kUnknown ? "get (no reply)" : "get -> " + ShortValue(op.observed);
      break;
  }
  s += " [" + std::to_string(op.invoke_time) + ", " + TimeString(op.complete_time) + "]";
  if (op.failed) {
    s += " failed: ignored";
  } else if (op.complete_time == kUnknown) {
    s += op.kind == OpKind::kGet ? " ignored" : " outcome unknown";
  }
  return s;
}

// The remembered (linearized set, register state) pairs of one key's search.
//
// A set is stored as the length of its prefix of ones plus the bits set beyond it. Bits
// are ranked by deadline (return time), and the search linearizes operations roughly in
// that order, so the prefix covers most of the set and only the few operations
// linearized ahead of their rank are listed: entries stay a few words long even when a
// key has thousands of operations.
class Memo {
 public:
  explicit Memo(size_t max_bytes) : max_bytes_(max_bytes), slots_(kInitialSlots, 0) {}

  // Records the state; false if it was recorded before. `count` is the number of bits
  // set in `bits`, and `hash` a hash of `bits` and `state`.
  bool Insert(const std::vector<uint64_t>& bits, uint32_t count, uint64_t hash, uint32_t state) {
    const size_t mask = slots_.size() - 1;
    size_t slot = hash & mask;
    // At most half of the slots are used, so the probe meets an empty one.
    for (size_t probe = 0; probe < slots_.size(); ++probe) {
      const uint32_t e = slots_[slot];
      if (e == 0) break;
      if (Matches(entries_[e - 1], bits, count, hash, state)) return false;
      slot = (slot + 1) & mask;
    }
    VELLUM_CHECK_EQ(slots_[slot], 0u);
    if (full_) return true;

    Entry entry{hash, state, Encode(bits), static_cast<uint32_t>(extras_.size()),
                static_cast<uint32_t>(scratch_.size())};
    const size_t bytes_after = (entries_.size() + 1) * sizeof(Entry) +
                               (extras_.size() + scratch_.size()) * sizeof(uint32_t) +
                               slots_.size() * 2 * sizeof(uint32_t);
    if (bytes_after > max_bytes_ || extras_.size() + scratch_.size() >= kNil ||
        entries_.size() + 1 >= kNil) {
      // Forgetting costs repeated work only; the verdict stays sound.
      full_ = true;
      return true;
    }
    extras_.insert(extras_.end(), scratch_.begin(), scratch_.end());
    entries_.push_back(entry);
    slots_[slot] = static_cast<uint32_t>(entries_.size());
    if (entries_.size() * 2 > slots_.size()) Grow();
    return true;
  }

 private:
  static constexpr size_t kInitialSlots = 1024;

  struct Entry {
    uint64_t hash;
    uint32_t state;
    uint32_t prefix_bits;
    uint32_t extras_begin;
    uint32_t extras_count;
  };

  bool Matches(const Entry& e, const std::vector<uint64_t>& bits, uint32_t count, uint64_t hash,
               uint32_t state) const {
    if (e.hash != hash || e.state != state || e.prefix_bits + e.extras_count != count) {
      return false;
    }
    // Same size, so the stored set equals `bits` when it is contained in it.
    const size_t full_words = e.prefix_bits / 64;
    for (size_t w = 0; w < full_words; ++w) {
      if (bits[w] != ~uint64_t{0}) return false;
    }
    if (const uint32_t rest = e.prefix_bits % 64; rest != 0) {
      const uint64_t want = (uint64_t{1} << rest) - 1;
      if ((bits[full_words] & want) != want) return false;
    }
    for (uint32_t i = 0; i < e.extras_count; ++i) {
      const uint32_t bit = extras_[e.extras_begin + i];
      if (((bits[bit / 64] >> (bit % 64)) & 1) == 0) return false;
    }
    return true;
  }

  // Returns the length of the prefix of ones and leaves the bits beyond it in scratch_.
  uint32_t Encode(const std::vector<uint64_t>& bits) {
    size_t w = 0;
    while (w < bits.size() && bits[w] == ~uint64_t{0}) ++w;
    const uint32_t prefix =
        static_cast<uint32_t>(w * 64 + (w < bits.size() ? std::countr_one(bits[w]) : 0));
    scratch_.clear();
    for (size_t i = w; i < bits.size(); ++i) {
      uint64_t word = bits[i];
      if (i == w) word &= ~((uint64_t{1} << (prefix % 64)) - 1);
      while (word != 0) {
        scratch_.push_back(static_cast<uint32_t>(i * 64 + std::countr_zero(word)));
        word &= word - 1;
      }
    }
    return prefix;
  }

  void Grow() {
    std::vector<uint32_t> grown(slots_.size() * 2, 0);
    const size_t mask = grown.size() - 1;
    for (size_t i = 0; i < entries_.size(); ++i) {
      size_t slot = entries_[i].hash & mask;
      while (grown[slot] != 0) slot = (slot + 1) & mask;  // Half empty: ends.
      grown[slot] = static_cast<uint32_t>(i + 1);
    }
    slots_ = std::move(grown);
  }

  size_t max_bytes_;
  bool full_ = false;
  std::vector<Entry> entries_;
  std::vector<uint32_t> extras_;
  // Open addressing; 0 is an empty slot, otherwise the entry's index + 1.
  std::vector<uint32_t> slots_;
  std::vector<uint32_t> scratch_;
};

struct KeyVerdict {
  CheckResult::Verdict verdict = CheckResult::Verdict::kLinearizable;
  std::string explanation;
  size_t operations_checked = 0;
  uint64_t steps = 0;
};

// Checks the operations on one (table, key).
class KeyChecker {
 public:
  KeyChecker(const std::vector<Operation>& history, const std::vector<uint32_t>& key_ops,
             const CheckOptions& options)
      : history_(history),
        key_ops_(key_ops),
        options_(options),
        memo_(options.max_memo_bytes_per_key) {}

  KeyVerdict Run() {
    KeyVerdict result;
    Collect();
    result.operations_checked = checked_;
    if (const std::optional<uint32_t> bad = FindImpossibleRead(); bad.has_value()) {
      result.verdict = CheckResult::Verdict::kNotLinearizable;
      const Operation& op = history_[ops_[*bad].index];
      result.explanation = Heading() + DescribeOp(history_, ops_[*bad].index) +
                           " observed a value that no operation on this key wrote\n" +
                           Listing(op.invoke_time, op.complete_time);
      return result;
    }
    DropUnobservedOptionalWrites();
    BuildEvents();
    return Search(result);
  }

 private:
  struct KeyOp {
    uint32_t index;  // position in the history
    OpKind kind;
    uint32_t value_id;  // kPut: the value written; kGet: the value observed
    bool optional;      // a write whose outcome is unknown
    uint32_t bit;       // its bit in the linearized set
  };

  // A call or return event in the search's doubly linked list (Lowe's "entries").
  struct Node {
    uint32_t op = kNil;     // index into ops_
    uint32_t match = kNil;  // a call's return node
    uint32_t prev = kNil;
    uint32_t next = kNil;
    bool is_call = false;
    bool unbounded = false;  // the return of a write whose outcome is unknown
  };

  struct Frame {
    uint32_t call_node;
    uint32_t prev_state;
  };

  // Where the deepest partial linearization ended, for the explanation.
  struct Furthest {
    std::vector<uint32_t> linearized;  // ops_ indices in linearization order
    uint32_t state = kAbsent;
    uint32_t blocked = kNil;        // the op whose deadline passed
    std::vector<uint32_t> pending;  // ops_ indices of the calls tried from `state`
  };

  uint32_t Intern(const Bytes& value) {
    const auto [it, inserted] =
        value_ids_.try_emplace(value, static_cast<uint32_t>(values_.size()));
    if (inserted) values_.push_back(&it->first);
    return it->second;
  }

  std::string ValueString(uint32_t value_id) const {
    return value_id == kAbsent ? "absent" : ShortBytes(*values_[value_id]);
  }

  void Collect() {
    values_.push_back(nullptr);  // kAbsent
    for (const uint32_t index : key_ops_) {
      const Operation& op = history_[index];
      const bool unknown = op.complete_time == kUnknown;
      if (op.failed || (op.kind == OpKind::kGet && unknown)) continue;
      KeyOp k{index, op.kind, kAbsent, op.kind != OpKind::kGet && unknown, 0};
      if (op.kind == OpKind::kPut) {
        k.value_id = Intern(op.value);
        writers_.resize(values_.size());
        writers_[k.value_id].push_back(index);
      }
      if (op.kind == OpKind::kGet && op.observed.has_value()) k.value_id = Intern(*op.observed);
      ops_.push_back(k);
    }
    checked_ = ops_.size();
  }

  // A Get that observed a value no write on the key wrote: no search can justify it.
  std::optional<uint32_t> FindImpossibleRead() const {
    std::vector<bool> written(values_.size(), false);
    written[kAbsent] = true;
    for (const KeyOp& k : ops_) {
      if (k.kind == OpKind::kPut) written[k.value_id] = true;
    }
    std::optional<uint32_t> first;
    for (uint32_t i = 0; i < ops_.size(); ++i) {
      if (ops_[i].kind != OpKind::kGet || written[ops_[i].value_id]) continue;
      if (!first.has_value() ||
          history_[ops_[i].index].invoke_time < history_[ops_[*first].index].invoke_time) {
        first = i;
      }
    }
    return first;
  }

  // A write with an unknown outcome whose resulting state no Get observed can be left out
  // of any linearization that includes it: until the next write, only Gets observing its
  // state could follow it, and there are none. Dropping such writes keeps the search from
  // trying every instant at which they might have landed.
  void DropUnobservedOptionalWrites() {
    std::vector<bool> observed(values_.size(), false);
    for (const KeyOp& k : ops_) {
      if (k.kind == OpKind::kGet) observed[k.value_id] = true;
    }
    std::erase_if(ops_, [&](const KeyOp& k) {
      const uint32_t written = k.kind == OpKind::kPut ? k.value_id : kAbsent;
      return k.optional && !observed[written];
    });
  }

  void BuildEvents() {
    const uint32_t n = static_cast<uint32_t>(ops_.size());
    // Sort key of an event: (time, class, history index, call-before-return). At one
    // instant, returns come first (a reply at t precedes a request at t), then operations
    // invoked and completed at t in history order, then calls.
    struct Event {
      uint64_t time;
      uint8_t rank_class;
      uint32_t index;
      uint8_t sub;
      uint32_t op;
      bool is_call;
    };
    std::vector<Event> events;
    events.reserve(2 * size_t{n});
    for (uint32_t i = 0; i < n; ++i) {
      const Operation& op = history_[ops_[i].index];
      const uint64_t invoke = op.invoke_time;
      const uint64_t complete = ops_[i].optional ? kUnknown : op.complete_time;
      if (complete == kUnknown) {
        events.push_back({invoke, 2, ops_[i].index, 0, i, true});
        events.push_back({kUnknown, 3, ops_[i].index, 0, i, false});
      } else if (invoke == complete) {
        events.push_back({invoke, 1, ops_[i].index, 0, i, true});
        events.push_back({complete, 1, ops_[i].index, 1, i, false});
      } else {
        events.push_back({invoke, 2, ops_[i].index, 0, i, true});
        events.push_back({complete, 0, ops_[i].index, 0, i, false});
      }
    }
    std::sort(events.begin(), events.end(), [](const Event& a, const Event& b) {
      return std::tie(a.time, a.rank_class, a.index, a.sub) <
             std::tie(b.time, b.rank_class, b.index, b.sub);
    });

    // Bits are ranked by deadline so that the linearized set is mostly a prefix (see Memo).
    // An optional write has no deadline; it is ranked at its call, where it usually lands.
    std::vector<std::pair<uint64_t, uint32_t>> deadlines(n);
    for (uint32_t i = 0; i < n; ++i) {
      const Operation& op = history_[ops_[i].index];
      deadlines[i] = {ops_[i].optional ? op.invoke_time : op.complete_time, i};
    }
    std::sort(deadlines.begin(), deadlines.end(), [&](const auto& a, const auto& b) {
      return std::tie(a.first, ops_[a.second].index) < std::tie(b.first, ops_[b.second].index);
    });
    for (uint32_t r = 0; r < n; ++r) ops_[deadlines[r].second].bit = r;

    nodes_.assign(events.size() + 1, Node{});
    std::vector<uint32_t> call_node(n, kNil);
    for (uint32_t e = 0; e < events.size(); ++e) {
      Node& node = nodes_[e + 1];
      node.op = events[e].op;
      node.is_call = events[e].is_call;
      node.unbounded = !events[e].is_call && events[e].time == kUnknown;
      node.prev = e;
      node.next = e + 2 < nodes_.size() ? e + 2 : kNil;
      if (node.is_call) {
        call_node[node.op] = e + 1;
      } else {
        VELLUM_CHECK_NE(call_node[node.op], kNil);
        nodes_[call_node[node.op]].match = e + 1;
      }
    }
    nodes_[0].next = nodes_.size() > 1 ? 1 : kNil;
    bits_.assign((size_t{n} + 63) / 64, 0);
  }

  // Removes a call and its return from the list; Unlift undoes the most recent Lift.
  void Lift(uint32_t call) {
    const Node& c = nodes_[call];
    nodes_[c.prev].next = c.next;
    nodes_[c.next].prev = c.prev;  // A call is always followed by its return.
    const Node& r = nodes_[c.match];
    nodes_[r.prev].next = r.next;
    if (r.next != kNil) nodes_[r.next].prev = r.prev;
  }

  void Unlift(uint32_t call) {
    const Node& c = nodes_[call];
    const Node& r = nodes_[c.match];
    nodes_[r.prev].next = c.match;
    if (r.next != kNil) nodes_[r.next].prev = c.match;
    nodes_[c.prev].next = call;
    nodes_[c.next].prev = call;
  }

  // Applies `op` to the register; false when the op cannot take effect in `state`.
  static bool Apply(const KeyOp& op, uint32_t state, uint32_t* next_state) {
    switch (op.kind) {
      case OpKind::kPut:
        *next_state = op.value_id;
        return true;
      case OpKind::kDelete:
        *next_state = kAbsent;
        return true;
      case OpKind::kGet:
        *next_state = state;
        return op.value_id == state;
    }
    VELLUM_UNREACHABLE();
  }

  void FlipBit(uint32_t bit) {
    bits_[bit / 64] ^= uint64_t{1} << (bit % 64);
    bits_hash_ ^= SplitMix64(bit);
  }

  uint64_t StateHash(uint32_t state) const { return bits_hash_ ^ SplitMix64(~uint64_t{state}); }

  // Wing & Gong's search as Lowe restructured it: walk the events in time order; at a
  // call, try to linearize that operation now (and restart from the first pending event);
  // at a return of an operation not yet linearized, its deadline has passed, so undo the
  // most recent choice and try the next candidate after it.
  KeyVerdict Search(KeyVerdict result) {
    std::vector<Frame> stack;
    uint32_t state = kAbsent;
    size_t best_depth = 0;
    bool at_best = true;  // the stack is the deepest partial linearization so far
    Furthest furthest;
    uint64_t steps = 0;
    uint32_t entry = nodes_[0].next;
    // Bounded: every pass is a step, and the steps are capped below.
    while (true) {
      if (entry == kNil || nodes_[entry].unbounded) {
        // Every operation with a deadline is linearized. The writes with unknown outcomes
        // that are left may not have happened, or happened after everything else, where
        // no read saw them.
        result.steps = steps;
        return result;
      }
      if (steps == options_.max_search_steps_per_key) {
        result.steps = steps;
        result.verdict = CheckResult::Verdict::kUnknown;
        result.explanation = KeyName(history_[key_ops_.front()]) + ": " + std::to_string(checked_) +
                             " operations, gave up after " + std::to_string(steps) +
                             " steps with at most " + std::to_string(best_depth) + " of " +
                             std::to_string(ops_.size()) + " searched operations linearized";
        return result;
      }
      ++steps;
      const Node& node = nodes_[entry];
      if (node.is_call) {
        const KeyOp& op = ops_[node.op];
        uint32_t next_state = state;
        if (Apply(op, state, &next_state)) {
          FlipBit(op.bit);
          if (memo_.Insert(bits_, static_cast<uint32_t>(stack.size() + 1), StateHash(next_state),
                           next_state)) {
            stack.push_back({entry, state});
            state = next_state;
            Lift(entry);
            at_best = stack.size() > best_depth;
            best_depth = std::max(best_depth, stack.size());
            entry = nodes_[0].next;
            continue;
          }
          FlipBit(op.bit);
        }
        entry = node.next;
        continue;
      }
      if (at_best) {
        RecordFurthest(stack, state, entry, &furthest);
        at_best = false;
      }
      if (stack.empty()) break;
      const Frame frame = stack.back();
      stack.pop_back();
      state = frame.prev_state;
      FlipBit(ops_[nodes_[frame.call_node].op].bit);
      Unlift(frame.call_node);
      entry = nodes_[frame.call_node].next;
      at_best = false;
    }
    result.steps = steps;
    result.verdict = CheckResult::Verdict::kNotLinearizable;
    result.explanation = ExplainFurthest(furthest);
    return result;
  }

  void RecordFurthest(const std::vector<Frame>& stack, uint32_t state, uint32_t blocking_return,
                      Furthest* furthest) const {
    furthest->linearized.clear();
    for (const Frame& f : stack) furthest->linearized.push_back(nodes_[f.call_node].op);
    furthest->state = state;
    furthest->blocked = nodes_[blocking_return].op;
    furthest->pending.clear();
    // Every call before the blocking return was tried from this very state.
    for (uint32_t n = nodes_[0].next; n != blocking_return && n != kNil; n = nodes_[n].next) {
      if (nodes_[n].is_call) furthest->pending.push_back(nodes_[n].op);
    }
  }

  // " (written by #3, #9)": where a read's value could have come from.
  std::string WrittenBy(uint32_t value_id) const {
    constexpr size_t kMaxWriters = 3;
    if (value_id == kAbsent || value_id >= writers_.size() || writers_[value_id].empty()) {
      return "";
    }
    const std::vector<uint32_t>& w = writers_[value_id];
    std::string s = " (written by ";
    for (size_t i = 0; i < w.size() && i < kMaxWriters; ++i) {
      s += (i > 0 ? ", #" : "#") + std::to_string(w[i]);
    }
    if (w.size() > kMaxWriters) s += " and " + std::to_string(w.size() - kMaxWriters) + " more";
    return s + ")";
  }

  std::string Heading() const {
    return "not linearizable: " + KeyName(history_[key_ops_.front()]) + " (" +
           std::to_string(checked_) + " operations checked)\n";
  }

  std::string ExplainFurthest(const Furthest& furthest) const {
    std::string s = Heading();
    s += "furthest point the search reached: " + std::to_string(furthest.linearized.size()) +
         " of " + std::to_string(ops_.size()) + " operations linearized";
    if (const size_t left_out = checked_ - ops_.size(); left_out > 0) {
      s += " (left out: " + std::to_string(left_out) + " unobserved writes with unknown outcomes)";
    }
    s += furthest.linearized.empty() ? "\n" : ", in this order:\n";
    const size_t shown_from = furthest.linearized.size() > kMaxListedLinearized
                                  ? furthest.linearized.size() - kMaxListedLinearized
                                  : 0;
    if (shown_from > 0) s += "  ... " + std::to_string(shown_from) + " earlier operations\n";
    uint64_t window_begin = kUnknown;
    for (size_t i = shown_from; i < furthest.linearized.size(); ++i) {
      const uint32_t index = ops_[furthest.linearized[i]].index;
      s += "  " + DescribeOp(history_, index) + "\n";
      window_begin = std::min(window_begin, history_[index].invoke_time);
    }
    VELLUM_CHECK_NE(furthest.blocked, kNil);
    const Operation& blocked = history_[ops_[furthest.blocked].index];
    s += "then the register holds " + ValueString(furthest.state) + ", and #" +
         std::to_string(ops_[furthest.blocked].index) + " must take effect by time " +
         std::to_string(blocked.complete_time) + ", but no pending operation can come next:\n";
    for (size_t i = 0; i < furthest.pending.size(); ++i) {
      if (i == kMaxListedPending) {
        s += "  ... " + std::to_string(furthest.pending.size() - i) + " more\n";
        break;
      }
      const KeyOp& op = ops_[furthest.pending[i]];
      uint32_t next_state = furthest.state;
      s += "  " + DescribeOp(history_, op.index) + ": ";
      if (Apply(op, furthest.state, &next_state)) {
        s += "could come next, but no linearization of the rest follows it\n";
      } else {
        s += "observed " + ValueString(op.value_id) + WrittenBy(op.value_id) +
             ", but the register holds " + ValueString(furthest.state) + "\n";
      }
      window_begin = std::min(window_begin, history_[op.index].invoke_time);
    }
    return s + Listing(window_begin, blocked.complete_time);
  }

  // The operations on the key (including those the checker dropped) whose intervals meet
  // [begin, end], by invoke time; all of them when the key has few.
  std::string Listing(uint64_t begin, uint64_t end) const {
    std::vector<uint32_t> shown;
    for (const uint32_t index : key_ops_) {
      const Operation& op = history_[index];
      if (key_ops_.size() <= kMaxListedOps ||
          (op.invoke_time <= end && op.complete_time >= begin)) {
        shown.push_back(index);
      }
    }
    std::sort(shown.begin(), shown.end(), [&](uint32_t a, uint32_t b) {
      return std::tie(history_[a].invoke_time, a) < std::tie(history_[b].invoke_time, b);
    });
    std::string s;
    if (shown.size() == key_ops_.size()) {
      s = "operations on this key, by invoke time:\n";
    } else {
      s = "operations on this key between times " + TimeString(begin) + " and " + TimeString(end) +
          " (" + std::to_string(shown.size()) + " of " + std::to_string(key_ops_.size()) +
          "), by invoke time:\n";
    }
    // The end of the window is where the search failed: keep that part.
    const size_t skip = shown.size() > kMaxListedOps ? shown.size() - kMaxListedOps : 0;
    if (skip > 0) s += "  ... " + std::to_string(skip) + " earlier operations\n";
    for (size_t i = skip; i < shown.size(); ++i) s += "  " + DescribeOp(history_, shown[i]) + "\n";
    return s;
  }

  const std::vector<Operation>& history_;
  const std::vector<uint32_t>& key_ops_;
  const CheckOptions& options_;
  std::vector<KeyOp> ops_;
  size_t checked_ = 0;  // ops_.size() before unobserved optional writes are dropped
  std::map<Bytes, uint32_t> value_ids_;
  std::vector<const Bytes*> values_;            // by value id; values_[kAbsent] is null
  std::vector<std::vector<uint32_t>> writers_;  // by value id: the Puts writing it
  std::vector<Node> nodes_;                     // nodes_[0] is the head of the list
  std::vector<uint64_t> bits_;                  // the linearized set, by KeyOp::bit
  uint64_t bits_hash_ = 0;
  Memo memo_;
};

struct KeyRef {
  const std::string* table;
  const Bytes* key;
  bool operator<(const KeyRef& other) const {
    return std::tie(*table, *key) < std::tie(*other.table, *other.key);
  }
};

std::string NameKeys(const std::vector<std::string>& names) {
  std::string s;
  for (size_t i = 0; i < names.size() && i < kMaxNamedKeys; ++i) s += "  " + names[i] + "\n";
  if (names.size() > kMaxNamedKeys) {
    s += "  ... " + std::to_string(names.size() - kMaxNamedKeys) + " more\n";
  }
  return s;
}

}  // namespace

size_t History::Begin(Operation op) {
  VELLUM_CHECK_NE(op.invoke_time, Operation::kUnknown);
  op.complete_time = Operation::kUnknown;
  operations_.push_back(std::move(op));
  return operations_.size() - 1;
}

size_t History::BeginPut(uint64_t client_id, std::string table, Bytes key, Bytes value,
                         uint64_t invoke_time) {
  Operation op;
  op.client_id = client_id;
  op.kind = OpKind::kPut;
  op.table = std::move(table);
  op.key = std::move(key);
  op.value = std::move(value);
  op.invoke_time = invoke_time;
  return Begin(std::move(op));
}

size_t History::BeginDelete(uint64_t client_id, std::string table, Bytes key,
                            uint64_t invoke_time) {
  Operation op;
  op.client_id = client_id;
  op.kind = OpKind::kDelete;
  op.table = std::move(table);
  op.key = std::move(key);
  op.invoke_time = invoke_time;
  return Begin(std::move(op));
}

size_t History::BeginGet(uint64_t client_id, std::string table, Bytes key, uint64_t invoke_time) {
  Operation op;
  op.client_id = client_id;
  op.kind = OpKind::kGet;
  op.table = std::move(table);
  op.key = std::move(key);
  op.invoke_time = invoke_time;
  return Begin(std::move(op));
}

Operation& History::Ending(size_t id, uint64_t complete_time) {
  VELLUM_CHECK_LT(id, operations_.size());
  Operation& op = operations_[id];
  VELLUM_CHECK_MSG(op.complete_time == Operation::kUnknown && !op.failed, "operation ended twice");
  VELLUM_CHECK_NE(complete_time, Operation::kUnknown);
  VELLUM_CHECK_MSG(complete_time >= op.invoke_time, "operation completes before it was invoked");
  return op;
}

void History::EndWrite(size_t id, uint64_t complete_time) {
  Operation& op = Ending(id, complete_time);
  VELLUM_CHECK_MSG(op.kind != OpKind::kGet, "EndWrite on a Get");
  op.complete_time = complete_time;
}

void History::EndGet(size_t id, std::optional<Bytes> observed, uint64_t complete_time) {
  Operation& op = Ending(id, complete_time);
  VELLUM_CHECK_MSG(op.kind == OpKind::kGet, "EndGet on a write");
  op.observed = std::move(observed);
  op.complete_time = complete_time;
}

void History::EndFailed(size_t id, uint64_t complete_time) {
  Operation& op = Ending(id, complete_time);
  op.failed = true;
  op.complete_time = complete_time;
}

const char* VerdictName(CheckResult::Verdict verdict) {
  switch (verdict) {
    case CheckResult::Verdict::kLinearizable:
      return "linearizable";
    case CheckResult::Verdict::kNotLinearizable:
      return "not linearizable";
    case CheckResult::Verdict::kUnknown:
      return "unknown";
  }
  VELLUM_UNREACHABLE();
}

CheckResult CheckLinearizable(const std::vector<Operation>& ops, const CheckOptions& options) {
  VELLUM_CHECK_MSG(ops.size() < kNil / 2, "history too large for 32-bit operation indices");
  std::map<KeyRef, std::vector<uint32_t>> by_key;
  for (uint32_t i = 0; i < ops.size(); ++i) {
    const Operation& op = ops[i];
    VELLUM_CHECK_MSG(op.invoke_time != kUnknown, "operation without an invoke time");
    VELLUM_CHECK_MSG(op.complete_time >= op.invoke_time,
                     "operation completes before it was invoked");
    by_key[KeyRef{&op.table, &op.key}].push_back(i);
  }

  CheckResult result;
  std::string first_violation;
  std::vector<std::string> violating_keys;
  std::vector<std::string> unknown_keys;
  for (const auto& [key, indices] : by_key) {
    KeyVerdict v = KeyChecker(ops, indices, options).Run();
    result.search_steps += v.steps;
    if (v.operations_checked == 0) continue;
    ++result.keys_checked;
    result.operations_checked += v.operations_checked;
    const std::string name = KeyName(ops[indices.front()]);
    if (v.verdict == CheckResult::Verdict::kNotLinearizable) {
      if (violating_keys.empty()) first_violation = std::move(v.explanation);
      violating_keys.push_back(name);
    } else if (v.verdict == CheckResult::Verdict::kUnknown) {
      unknown_keys.push_back(std::move(v.explanation));
    }
  }

  if (!violating_keys.empty()) {
    // A violation on one key is a violation of the whole history.
    result.verdict = CheckResult::Verdict::kNotLinearizable;
    result.explanation = std::move(first_violation);
    if (violating_keys.size() > 1) {
      result.explanation += "other keys that are not linearizable (" +
                            std::to_string(violating_keys.size() - 1) + "):\n" +
                            NameKeys({violating_keys.begin() + 1, violating_keys.end()});
    }
    if (!unknown_keys.empty()) {
      result.explanation += "the search ran out of budget on:\n" + NameKeys(unknown_keys);
    }
  } else if (!unknown_keys.empty()) {
    result.verdict = CheckResult::Verdict::kUnknown;
    result.explanation = "the search ran out of budget (" +
                         std::to_string(options.max_search_steps_per_key) +
                         " steps per key) on:\n" + NameKeys(unknown_keys);
  } else {
    result.verdict = CheckResult::Verdict::kLinearizable;
    result.explanation = "linearizable: " + std::to_string(result.operations_checked) +
                         " operations on " + std::to_string(result.keys_checked) + " keys";
  }
  return result;
}

}  // namespace vellum::sim
