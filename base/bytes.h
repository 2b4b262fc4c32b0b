// Copyright (c) Vellum authors.
//
// Byte-string vocabulary shared by the modules: `Bytes` owns, `ByteView` borrows.
// Hex is lower case on output and case-insensitive on input.

#ifndef VELLUM_BASE_BYTES_H_
#define VELLUM_BASE_BYTES_H_

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "vellum/result.h"

namespace vellum {

using Bytes = std::vector<uint8_t>;
using ByteView = std::span<const uint8_t>;

inline ByteView AsBytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}
inline std::string_view AsChars(ByteView b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}
inline Bytes ToBytes(std::string_view s) { return Bytes(s.begin(), s.end()); }

std::string HexEncode(ByteView data);
// InvalidArgument for an odd length or a non-hex character (the message gives its
// position, never the input itself: hex strings may be key material).
Result<Bytes> HexDecode(std::string_view hex);

// `s` without leading and trailing ASCII white space (" \t\r\n\v\f").
std::string_view TrimSpace(std::string_view s);

// Constant-time equality for secrets and MACs: the time taken depends only on the
// lengths, not on where the inputs differ.
bool ConstantTimeEquals(ByteView a, ByteView b);

// Little- and big-endian fixed-width encoding helpers.
void PutFixed32BE(Bytes* out, uint32_t v);
void PutFixed64BE(Bytes* out, uint64_t v);
void PutFixed32BE(std::string* out, uint32_t v);
void PutFixed64BE(std::string* out, uint64_t v);
uint32_t DecodeFixed32BE(const uint8_t* p);
uint64_t DecodeFixed64BE(const uint8_t* p);

// LEB128 varints (7 bits a byte, low group first), as protobuf and LevelDB use.
void PutVarint64(std::string* out, uint64_t v);
void PutVarint64(Bytes* out, uint64_t v);
// The number of bytes PutVarint64 writes for `v` (1..10).
constexpr size_t VarintLength(uint64_t v) {
  size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    ++n;
  }
  return n;
}
// Reads a varint from the front of `*in` and advances it. False for a truncated,
// over-long (> 10 bytes, or overflowing) or non-minimal varint; `*in` is then
// unspecified.
bool GetVarint64(ByteView* in, uint64_t* v);

}  // namespace vellum

#endif  // VELLUM_BASE_BYTES_H_
