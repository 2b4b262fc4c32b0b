// Copyright (c) Vellum authors.
//
// Write sets: the plaintext of a log entry's payload, i.e. what a commit (or group of
// commits) changed, in the user's own terms (table names, keys and values in the
// clear). The whole write set is encrypted as one payload (log_entry.h), so the log
// can be replayed to rebuild the state by whoever holds k entry-key shares.
//
// Binary format (docs/formats/log-entry.md, "Write set"), version 1:
//   format 0x01 | varint op count | ops
//   op = kind (1) | table length (1, 1..255) | table |
//        [kPut, kDelete: varint key length | key] | [kPut: varint value length | value]
// Varints are minimal LEB128 (base/bytes.h). The encoding is canonical: a write set
// has exactly one encoding, and DecodeWriteSet accepts nothing else.
//
// Encoding is on the commit path, so EncodeWriteSet sizes its output exactly once and
// allocates nothing else.
//
// Thread safety: all functions are thread-safe; the structs are values.

#ifndef VELLUM_DB_LOGCHAIN_WRITE_SET_H_
#define VELLUM_DB_LOGCHAIN_WRITE_SET_H_

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "base/bytes.h"
#include "vellum/result.h"
#include "vellum/status.h"

namespace vellum::logchain {

inline constexpr size_t kMaxTableNameSize = 255;
inline constexpr size_t kMaxKeySize = 64 << 10;    // 64 KiB
inline constexpr size_t kMaxValueSize = 64 << 20;  // 64 MiB

struct WriteSetOp {
  enum class Kind : uint8_t { kPut = 1, kDelete = 2, kCreateTable = 3, kDropTable = 4 };
  Kind kind = Kind::kPut;
  std::string table;  // table name, 1..kMaxTableNameSize bytes (any bytes)
  Bytes key;          // kPut, kDelete: 0..kMaxKeySize bytes; empty otherwise
  Bytes value;        // kPut: 0..kMaxValueSize bytes; empty otherwise

  friend bool operator==(const WriteSetOp&, const WriteSetOp&) = default;
};

// InvalidArgument (naming the field) unless `op` can be encoded: a known kind, a table
// name of 1..255 bytes, a key / value within the caps, and no key or value on an op
// kind that has none. The ledger checks user input with this before committing.
Status ValidateWriteSetOp(const WriteSetOp& op);

// The exact size of EncodeWriteSet(ops). Every op must be valid (VELLUM_CHECK).
size_t EncodedWriteSetSize(std::span<const WriteSetOp> ops);
// Every op must be valid (ValidateWriteSetOp): VELLUM_CHECK otherwise.
Bytes EncodeWriteSet(std::span<const WriteSetOp> ops);
// Strict: Corruption (naming the op and field) for truncation, trailing bytes, an
// unknown op kind, a size out of range or a non-minimal varint; NotSupported for
// another format version.
Result<std::vector<WriteSetOp>> DecodeWriteSet(ByteView encoded);

}  // namespace vellum::logchain

#endif  // VELLUM_DB_LOGCHAIN_WRITE_SET_H_
