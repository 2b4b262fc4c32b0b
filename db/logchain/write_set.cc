// Copyright (c) Vellum authors.

#include "db/logchain/write_set.h"

#include <algorithm>
#include <cstring>

#include "vellum/check.h"

namespace vellum::logchain {

namespace {

constexpr uint8_t kWriteSetFormat = 1;
// The smallest op: kind, table length, a 1-byte table name.
constexpr size_t kMinOpSize = 3;

uint8_t* WriteVarint(uint8_t* p, uint64_t v) {
  while (v >= 0x80) {
    *p++ = static_cast<uint8_t>(v | 0x80);
    v >>= 7;
  }
  *p++ = static_cast<uint8_t>(v);
  return p;
}

uint8_t* WriteBytes(uint8_t* p, const void* data, size_t size) {
  if (size != 0) std::memcpy(p, data, size);
  return p + size;
}

bool HasKey(WriteSetOp::Kind kind) {
  return kind == WriteSetOp::Kind::kPut || kind == WriteSetOp::Kind::kDelete;
}
bool HasValue(WriteSetOp::Kind kind) { return kind == WriteSetOp::Kind::kPut; }
bool KnownKind(uint8_t kind) { return kind >= 1 && kind <= 4; }

size_t OpSize(const WriteSetOp& op) {
  size_t size = 2 + op.table.size();
  if (HasKey(op.kind)) size += VarintLength(op.key.size()) + op.key.size();
  if (HasValue(op.kind)) size += VarintLength(op.value.size()) + op.value.size();
  return size;
}

std::string Num(uint64_t v) { return std::to_string(v); }

Status OpCorruption(size_t op, const std::string& what) {
  return Status::Corruption("write set: op " + Num(op) + ": " + what);
}

// Reads a varint length-prefixed field of at most `max` bytes from `*in`.
Status ReadField(ByteView* in, size_t op, const char* name, size_t max, ByteView* field) {
  uint64_t length = 0;
  if (in->empty()) return OpCorruption(op, std::string("truncated at ") + name + " length");
  if (!GetVarint64(in, &length)) {
    return OpCorruption(
        op, std::string("bad varint (truncated, over-long or non-minimal) at ") + name + " length");
  }
  if (length > max) {
    return OpCorruption(
        op, std::string(name) + " length " + Num(length) + " exceeds the limit " + Num(max));
  }
  if (length > in->size()) return OpCorruption(op, std::string("truncated in ") + name);
  *field = in->first(static_cast<size_t>(length));
  *in = in->subspan(static_cast<size_t>(length));
  return Status::OK();
}

}  // namespace

Status ValidateWriteSetOp(const WriteSetOp& op) {
  if (!KnownKind(static_cast<uint8_t>(op.kind))) {
    return Status::InvalidArgument("write set op: unknown kind " +
                                   Num(static_cast<uint8_t>(op.kind)));
  }
  if (op.table.empty() || op.table.size() > kMaxTableNameSize) {
    return Status::InvalidArgument("write set op: a table name has 1 to 255 bytes, got " +
                                   Num(op.table.size()));
  }
  if (op.key.size() > kMaxKeySize) {
    return Status::InvalidArgument("write set op: key of " + Num(op.key.size()) +
                                   " bytes exceeds the limit " + Num(kMaxKeySize));
  }
  if (op.value.size() > kMaxValueSize) {
    return Status::InvalidArgument("write set op: value of " + Num(op.value.size()) +
                                   " bytes exceeds the limit " + Num(kMaxValueSize));
  }
  if (!HasKey(op.kind) && !op.key.empty()) {
    return Status::InvalidArgument("write set op: a create/drop table op has no key");
  }
  if (!HasValue(op.kind) && !op.value.empty()) {
    return Status::InvalidArgument("write set op: only a put has a value");
  }
  return Status::OK();
}

size_t EncodedWriteSetSize(std::span<const WriteSetOp> ops) {
  size_t size = 1 + VarintLength(ops.size());
  for (const WriteSetOp& op : ops) {
    VELLUM_CHECK_MSG(ValidateWriteSetOp(op).ok(), "EncodeWriteSet of an invalid op");
    size += OpSize(op);
  }
  return size;
}

Bytes EncodeWriteSet(std::span<const WriteSetOp> ops) {
  const size_t size = EncodedWriteSetSize(ops);
  // Written through a raw pointer into storage sized once: no reallocation, no
  // per-byte capacity checks.
  Bytes out(size);
  uint8_t* p = out.data();
  *p++ = kWriteSetFormat;
  p = WriteVarint(p, ops.size());
  for (const WriteSetOp& op : ops) {
    *p++ = static_cast<uint8_t>(op.kind);
    *p++ = static_cast<uint8_t>(op.table.size());
    p = WriteBytes(p, op.table.data(), op.table.size());
    if (HasKey(op.kind)) {
      p = WriteVarint(p, op.key.size());
      p = WriteBytes(p, op.key.data(), op.key.size());
    }
    if (HasValue(op.kind)) {
      p = WriteVarint(p, op.value.size());
      p = WriteBytes(p, op.value.data(), op.value.size());
    }
  }
  VELLUM_CHECK_EQ(static_cast<size_t>(p - out.data()), size);
  return out;
}

Result<std::vector<WriteSetOp>> DecodeWriteSet(ByteView encoded) {
  if (encoded.empty()) return Status::Corruption("write set: empty");
  if (encoded[0] != kWriteSetFormat) {
    return Status::NotSupported("write set format version " + Num(encoded[0]) +
                                " is not supported (this build reads version 1)");
  }
  ByteView in = encoded.subspan(1);
  uint64_t count = 0;
  if (in.empty()) return Status::Corruption("write set: truncated at op count");
  if (!GetVarint64(&in, &count)) {
    return Status::Corruption(
        "write set: bad varint (truncated, over-long or non-minimal) at "
        "op count");
  }
  // Every op takes at least kMinOpSize bytes: a count the input cannot hold is rejected
  // before anything is allocated for it.
  if (count > in.size() / kMinOpSize) {
    return Status::Corruption("write set: op count " + Num(count) + " does not fit in " +
                              Num(in.size()) + " bytes");
  }
  std::vector<WriteSetOp> ops(static_cast<size_t>(count));
  for (size_t i = 0; i < ops.size(); ++i) {
    WriteSetOp& op = ops[i];
    if (in.empty()) return OpCorruption(i, "truncated at kind");
    if (!KnownKind(in[0])) return OpCorruption(i, "unknown kind " + Num(in[0]));
    op.kind = static_cast<WriteSetOp::Kind>(in[0]);
    if (in.size() < 2) return OpCorruption(i, "truncated at table name length");
    const size_t table_size = in[1];
    if (table_size == 0) return OpCorruption(i, "empty table name");
    in = in.subspan(2);
    if (in.size() < table_size) return OpCorruption(i, "truncated in table name");
    op.table.assign(reinterpret_cast<const char*>(in.data()), table_size);
    in = in.subspan(table_size);
    if (HasKey(op.kind)) {
      ByteView key;
      VELLUM_RETURN_IF_ERROR(ReadField(&in, i, "key", kMaxKeySize, &key));
      op.key.assign(key.begin(), key.end());
    }
    if (HasValue(op.kind)) {
      ByteView value;
      VELLUM_RETURN_IF_ERROR(ReadField(&in, i, "value", kMaxValueSize, &value));
      op.value.assign(value.begin(), value.end());
    }
  }
  if (!in.empty()) {
    return Status::Corruption("write set: " + Num(in.size()) + " trailing bytes after " +
                              Num(count) + " ops");
  }
  return ops;
}

}  // namespace vellum::logchain
