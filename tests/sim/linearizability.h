// Copyright (c) Vellum authors.
//
// A linearizability checker for recorded client histories of a replicated key-value
// store. The deterministic cluster simulation and the multi-process tests record what
// each client sent and what it was told, and ask whether some order of those operations,
// each taking effect at one instant inside its own interval, explains every reply.
//
// The search is Wing & Gong's, with Lowe's memoization of (linearized set, register
// state) as in Porcupine ("Testing for Linearizability", Lowe 2017). Linearizability is
// compositional, so every (table, key) is checked on its own: the cost grows with the
// concurrency on one key, not with the size of the history.
//
// The model: every (table, key) is an independent register, initially absent. A Put sets
// it, a Delete makes it absent, and a Get returns its current state.
//
// Time: all times come from one clock (simulated time, or one host's monotonic clock).
// Operation A precedes B in real time when A.complete_time <= B.invoke_time: a reply and
// a request at the same instant count as the reply arriving first, so the two are NOT
// concurrent. An operation whose invoke and complete times are equal takes effect at that
// instant; two such operations at the same instant are ordered by their position in the
// history (the rule above would otherwise order each before the other).
//
// Outcomes: a write whose reply never came (complete_time == kUnknown) may have taken
// effect at any instant after its invocation, or not at all; the search may leave it out.
// A Get without a reply constrains nothing and is dropped, as is any operation that is
// known to have failed without taking effect.

#ifndef VELLUM_TESTS_SIM_LINEARIZABILITY_H_
#define VELLUM_TESTS_SIM_LINEARIZABILITY_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/bytes.h"

namespace vellum::sim {

enum class OpKind { kPut, kDelete, kGet };

struct Operation {
  static constexpr uint64_t kUnknown = UINT64_MAX;

  uint64_t client_id = 0;
  OpKind kind = OpKind::kGet;
  // The key space is (table, key).
  std::string table;
  Bytes key;
  // kPut: the value written. Ignored otherwise.
  Bytes value;
  // kGet: the value observed; nullopt means the key was absent. Ignored for writes.
  std::optional<Bytes> observed;
  // When the client sent the request.
  uint64_t invoke_time = 0;
  // When the client saw the reply; kUnknown when it never did (timeout, crash).
  uint64_t complete_time = kUnknown;
  // The operation definitely did not take effect (e.g. a clear rejection); the checker
  // ignores it. complete_time then says when the client learned so.
  bool failed = false;
};

// Records a history as clients run. Ids are positions in operations(), and the checker's
// explanations name operations by them ("#12"). Operations never ended have an unknown
// outcome. Thread-compatible: callers serialize access.
class History {
 public:
  size_t BeginPut(uint64_t client_id, std::string table, Bytes key, Bytes value,
                  uint64_t invoke_time);
  size_t BeginDelete(uint64_t client_id, std::string table, Bytes key, uint64_t invoke_time);
  size_t BeginGet(uint64_t client_id, std::string table, Bytes key, uint64_t invoke_time);

  // The Put or Delete `id` was acknowledged.
  void EndWrite(size_t id, uint64_t complete_time);
  // The Get `id` returned `observed` (nullopt: absent).
  void EndGet(size_t id, std::optional<Bytes> observed, uint64_t complete_time);
  // The operation `id` definitely did not take effect; the checker drops it.
  void EndFailed(size_t id, uint64_t complete_time);

  const std::vector<Operation>& operations() const { return operations_; }
  size_t size() const { return operations_.size(); }

 private:
  size_t Begin(Operation op);
  // The operation `id`, checked to be begun and not yet ended at `complete_time`.
  Operation& Ending(size_t id, uint64_t complete_time);

  std::vector<Operation> operations_;
};

struct CheckOptions {
  // The search on one key gives up (verdict kUnknown) after this many steps; a step is
  // one attempt to linearize an operation or one backtrack.
  uint64_t max_search_steps_per_key = 1'000'000;
  // Memory for remembering explored states, per key. Past it the search records nothing
  // more: it may then repeat work (and run into the step budget) but stays sound.
  size_t max_memo_bytes_per_key = size_t{64} << 20;
};

struct CheckResult {
  enum class Verdict {
    kLinearizable,
    kNotLinearizable,
    // The search on some key ran out of budget; nothing was proven either way.
    kUnknown,
  };

  Verdict verdict = Verdict::kLinearizable;
  // kNotLinearizable: the key (table and hex), the furthest point the search reached (the
  // operations it could linearize, then why none of the pending ones could follow) and a
  // listing of the operations on that key around that point. kUnknown: which keys ran out
  // of budget. kLinearizable: a one-line summary.
  std::string explanation;
  // Keys searched (every key with an operation the checker did not drop).
  size_t keys_checked = 0;
  // Operations taken into account (all but failed operations and Gets without a reply).
  size_t operations_checked = 0;
  // Search steps over all keys.
  uint64_t search_steps = 0;
};

const char* VerdictName(CheckResult::Verdict verdict);

// Checks `ops` (in any order). Every operation must have invoke_time != kUnknown and
// complete_time >= invoke_time; a history that breaks this is a bug in its recorder, and
// the check aborts (VELLUM_CHECK). Deterministic: the same history gives the same result.
CheckResult CheckLinearizable(const std::vector<Operation>& ops, const CheckOptions& options = {});

}  // namespace vellum::sim

#endif  // VELLUM_TESTS_SIM_LINEARIZABILITY_H_
