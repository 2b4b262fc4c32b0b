// Copyright (c) Vellum authors.

#include "raft/codec.h"

#include <algorithm>
#include <string>

namespace vellum::raft {

namespace {

void PutBytes(Bytes* out, ByteView b) {
  PutVarint64(out, b.size());
  out->insert(out->end(), b.begin(), b.end());
}

void PutIds(Bytes* out, const std::vector<NodeId>& ids) {
  PutVarint64(out, ids.size());
  for (NodeId id : ids) PutVarint64(out, id);
}

void PutEntry(Bytes* out, const Entry& e) {
  PutVarint64(out, e.term);
  PutVarint64(out, e.index);
  out->push_back(static_cast<uint8_t>(e.type));
  PutBytes(out, e.data);
  PutBytes(out, e.seal);
}

void PutConfState(Bytes* out, const ConfState& c) {
  PutIds(out, c.voters);
  PutIds(out, c.learners);
}

// Reads fields from the front of an untrusted buffer; the first failure sticks and
// names the field.
class Reader {
 public:
  Reader(ByteView data, const char* what) : in_(data), what_(what) {}

  uint64_t Varint(const char* field) {
    uint64_t v = 0;
    if (ok() && !GetVarint64(&in_, &v)) Fail(field);
    return v;
  }
  uint8_t Byte(const char* field) {
    if (!ok()) return 0;
    if (in_.empty()) {
      Fail(field);
      return 0;
    }
    const uint8_t b = in_[0];
    in_ = in_.subspan(1);
    return b;
  }
  Bytes Blob(const char* field) {
    const uint64_t n = Varint(field);
    if (!ok()) return {};
    if (n > in_.size()) {
      Fail(field);
      return {};
    }
    Bytes out(in_.begin(), in_.begin() + static_cast<ptrdiff_t>(n));
    in_ = in_.subspan(n);
    return out;
  }
  // A count of items each at least `min_item_bytes` long: a count that could not
  // fit in what is left is rejected before anything is allocated.
  uint64_t Count(const char* field, size_t min_item_bytes) {
    const uint64_t n = Varint(field);
    if (ok() && n > in_.size() / min_item_bytes) Fail(field);
    return ok() ? n : 0;
  }
  std::vector<NodeId> Ids(const char* field) {
    const uint64_t n = Count(field, 1);
    std::vector<NodeId> ids;
    ids.reserve(n);
    for (uint64_t i = 0; i < n && ok(); ++i) ids.push_back(Varint(field));
    return ids;
  }
  Entry ReadEntry() {
    Entry e;
    e.term = Varint("entry term");
    e.index = Varint("entry index");
    const uint8_t type = Byte("entry type");
    if (ok() && type > static_cast<uint8_t>(EntryType::kConfChange)) Fail("entry type");
    e.type = static_cast<EntryType>(type);
    e.data = Blob("entry data");
    e.seal = Blob("entry seal");
    return e;
  }
  ConfState ReadConfState() {
    ConfState c;
    c.voters = Ids("voters");
    c.learners = Ids("learners");
    if (ok() && !ValidConfState(c)) Fail("membership (ids must be sorted, unique and disjoint)");
    return c;
  }

  bool ok() const { return failed_field_ == nullptr; }
  Status Finish() {
    if (ok() && !in_.empty()) Fail("trailing bytes");
    if (ok()) return Status::OK();
    return Status::Corruption(std::string("malformed ") + what_ + ": bad " + failed_field_);
  }
  void Fail(const char* field) {
    if (ok()) failed_field_ = field;
  }

 private:
  static bool ValidConfState(const ConfState& c) {
    auto sorted_unique = [](const std::vector<NodeId>& v) {
      return std::adjacent_find(v.begin(), v.end(), std::greater_equal<>()) == v.end() &&
             std::find(v.begin(), v.end(), kNoNode) == v.end();
    };
    if (!sorted_unique(c.voters) || !sorted_unique(c.learners)) return false;
    for (NodeId id : c.learners) {
      if (std::binary_search(c.voters.begin(), c.voters.end(), id)) return false;
    }
    return true;
  }

  ByteView in_;
  const char* what_;
  const char* failed_field_ = nullptr;
};

constexpr uint8_t kFlagReject = 1;
constexpr uint8_t kFlagSnapshot = 2;
// term, index, type, a data length and a seal length: the smallest encoded entry.
constexpr size_t kMinEntryBytes = 5;

}  // namespace

Bytes EncodeMessage(const Message& m) {
  Bytes out;
  out.reserve(64);
  out.push_back(kMessageFormatVersion);
  out.push_back(static_cast<uint8_t>(m.type));
  PutVarint64(&out, m.from);
  PutVarint64(&out, m.to);
  PutVarint64(&out, m.term);
  PutVarint64(&out, m.index);
  PutVarint64(&out, m.log_term);
  PutVarint64(&out, m.commit);
  const bool has_snapshot = !m.snapshot.empty();
  out.push_back((m.reject ? kFlagReject : 0) | (has_snapshot ? kFlagSnapshot : 0));
  PutVarint64(&out, m.reject_hint);
  PutBytes(&out, m.context);
  PutVarint64(&out, m.entries.size());
  for (const Entry& e : m.entries) PutEntry(&out, e);
  if (has_snapshot) {
    PutVarint64(&out, m.snapshot.metadata.index);
    PutVarint64(&out, m.snapshot.metadata.term);
    PutConfState(&out, m.snapshot.metadata.conf_state);
    PutBytes(&out, m.snapshot.metadata.last_entry_hash);
    PutBytes(&out, m.snapshot.data);
  }
  return out;
}

Result<Message> DecodeMessage(ByteView data) {
  Reader r(data, "raft message");
  Message m;
  const uint8_t version = r.Byte("format version");
  if (r.ok() && version != kMessageFormatVersion) {
    return Status::NotSupported("raft message format version " + std::to_string(version) +
                                " is not supported (this build reads version " +
                                std::to_string(kMessageFormatVersion) + ")");
  }
  const uint8_t type = r.Byte("message type");
  if (r.ok() && (type < static_cast<uint8_t>(MessageType::kAppend) ||
                 type > static_cast<uint8_t>(MessageType::kPropose))) {
    r.Fail("message type");
  }
  m.type = static_cast<MessageType>(type);
  m.from = r.Varint("from");
  m.to = r.Varint("to");
  m.term = r.Varint("term");
  m.index = r.Varint("index");
  m.log_term = r.Varint("log term");
  m.commit = r.Varint("commit");
  const uint8_t flags = r.Byte("flags");
  if (r.ok() && (flags & ~(kFlagReject | kFlagSnapshot)) != 0) r.Fail("flags");
  m.reject = (flags & kFlagReject) != 0;
  m.reject_hint = r.Varint("reject hint");
  m.context = r.Blob("context");
  const uint64_t count = r.Count("entry count", kMinEntryBytes);
  m.entries.reserve(count);
  for (uint64_t i = 0; i < count && r.ok(); ++i) m.entries.push_back(r.ReadEntry());
  if (flags & kFlagSnapshot) {
    m.snapshot.metadata.index = r.Varint("snapshot index");
    m.snapshot.metadata.term = r.Varint("snapshot term");
    m.snapshot.metadata.conf_state = r.ReadConfState();
    m.snapshot.metadata.last_entry_hash = r.Blob("snapshot last entry hash");
    m.snapshot.data = r.Blob("snapshot data");
    if (r.ok() && m.snapshot.metadata.index == 0) r.Fail("snapshot index");
  }
  if (r.ok() && (m.from == kNoNode || m.to == kNoNode)) r.Fail("sender or receiver (0)");
  if (Status s = r.Finish(); !s.ok()) return s;
  return m;
}

Bytes EncodeEntry(const Entry& entry) {
  Bytes out;
  PutEntry(&out, entry);
  return out;
}

Result<Entry> DecodeEntry(ByteView data) {
  Reader r(data, "raft entry");
  Entry e = r.ReadEntry();
  if (Status s = r.Finish(); !s.ok()) return s;
  return e;
}

Bytes EncodeHardState(const HardState& hs) {
  Bytes out;
  PutVarint64(&out, hs.term);
  PutVarint64(&out, hs.vote);
  PutVarint64(&out, hs.commit);
  return out;
}

Result<HardState> DecodeHardState(ByteView data) {
  Reader r(data, "raft hard state");
  HardState hs;
  hs.term = r.Varint("term");
  hs.vote = r.Varint("vote");
  hs.commit = r.Varint("commit");
  if (Status s = r.Finish(); !s.ok()) return s;
  return hs;
}

Bytes EncodeConfState(const ConfState& conf_state) {
  Bytes out;
  PutConfState(&out, conf_state);
  return out;
}

Result<ConfState> DecodeConfState(ByteView data) {
  Reader r(data, "raft membership");
  ConfState c = r.ReadConfState();
  if (Status s = r.Finish(); !s.ok()) return s;
  return c;
}

Bytes EncodeConfChange(const ConfChange& change) {
  Bytes out;
  out.push_back(static_cast<uint8_t>(change.type));
  PutVarint64(&out, change.node_id);
  PutBytes(&out, change.context);
  return out;
}

Result<ConfChange> DecodeConfChange(ByteView data) {
  Reader r(data, "raft membership change");
  ConfChange c;
  const uint8_t type = r.Byte("change type");
  if (r.ok() && type > static_cast<uint8_t>(ConfChangeType::kRemoveNode)) r.Fail("change type");
  c.type = static_cast<ConfChangeType>(type);
  c.node_id = r.Varint("node id");
  if (r.ok() && c.node_id == kNoNode) r.Fail("node id (0)");
  c.context = r.Blob("context");
  if (Status s = r.Finish(); !s.ok()) return s;
  return c;
}

}  // namespace vellum::raft
