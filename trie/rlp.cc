// Copyright (c) Vellum authors.

#include "trie/rlp.h"

#include <string>
#include <utility>

#include "vellum/check.h"

namespace vellum::trie::rlp {
namespace {

constexpr uint8_t kShortStringBase = 0x80;  // 0x80..0xb7: string of 0..55 bytes
constexpr uint8_t kLongStringBase = 0xb7;   // 0xb8..0xbf: 1..8 length bytes follow
constexpr uint8_t kShortListBase = 0xc0;    // 0xc0..0xf7: list payload of 0..55 bytes
constexpr uint8_t kLongListBase = 0xf7;     // 0xf8..0xff: 1..8 length bytes follow
constexpr size_t kShortMax = 55;
constexpr int kMaxDepth = 64;

// Number of bytes of the minimal big-endian form of `n` (n > 0).
size_t LengthOfLength(size_t n) {
  size_t bytes = 0;
  while (n != 0) {
    ++bytes;
    n >>= 8;
  }
  return bytes;
}

void AppendHeader(uint8_t short_base, uint8_t long_base, size_t length, std::string* out) {
  if (length <= kShortMax) {
    out->push_back(static_cast<char>(short_base + length));
    return;
  }
  const size_t len_len = LengthOfLength(length);
  out->push_back(static_cast<char>(long_base + len_len));
  for (size_t i = len_len; i > 0; --i) {
    out->push_back(static_cast<char>((length >> (8 * (i - 1))) & 0xff));
  }
}

Status Malformed(const char* what, size_t offset) {
  return Status::Corruption(std::string("rlp: ") + what + " at offset " + std::to_string(offset));
}

// Decodes one item starting at `pos`, which must end at or before `end`. Offsets are
// relative to the start of `input`. On success sets *next to the end of the item.
Status DecodeAt(ByteView input, size_t pos, size_t end, int depth, Item* item, size_t* next) {
  VELLUM_CHECK_LE(end, input.size());
  if (pos >= end) return Malformed("missing item", pos);
  const uint8_t prefix = input[pos];

  if (prefix < kShortStringBase) {
    item->is_list = false;
    item->payload = input.subspan(pos, 1);
    item->encoded = item->payload;
    *next = pos + 1;
    return Status::OK();
  }

  const bool is_list = prefix >= kShortListBase;
  const uint8_t short_base = is_list ? kShortListBase : kShortStringBase;
  const uint8_t long_base = is_list ? kLongListBase : kLongStringBase;
  const size_t available = end - pos - 1;  // bytes after the prefix byte
  size_t header_size = 1;
  size_t length = 0;
  if (prefix <= long_base) {
    length = prefix - short_base;
  } else {
    const size_t len_len = prefix - long_base;  // 1..8
    if (len_len > available) return Malformed("truncated length", pos);
    if (input[pos + 1] == 0) return Malformed("length with a leading zero byte", pos + 1);
    uint64_t long_length = 0;
    for (size_t i = 0; i < len_len; ++i) {
      long_length = (long_length << 8) | input[pos + 1 + i];
    }
    if (long_length <= kShortMax) return Malformed("long form for a short length", pos);
    if (long_length > available - len_len) return Malformed("length past the end", pos);
    header_size += len_len;
    length = static_cast<size_t>(long_length);
  }
  if (length > available - (header_size - 1)) return Malformed("length past the end", pos);

  const size_t payload_begin = pos + header_size;
  const size_t payload_end = payload_begin + length;
  item->is_list = is_list;
  item->payload = input.subspan(payload_begin, length);
  item->encoded = input.subspan(pos, header_size + length);
  item->children.clear();
  *next = payload_end;

  if (!is_list) {
    if (length == 1 && input[payload_begin] < kShortStringBase) {
      return Malformed("single byte below 0x80 wrapped as a string", pos);
    }
    return Status::OK();
  }

  if (depth >= kMaxDepth) return Malformed("lists nested too deeply", pos);
  size_t p = payload_begin;
  while (p < payload_end) {
    Item child;
    size_t child_next = 0;
    VELLUM_RETURN_IF_ERROR(DecodeAt(input, p, payload_end, depth + 1, &child, &child_next));
    VELLUM_CHECK_GT(child_next, p);
    VELLUM_CHECK_LE(child_next, payload_end);
    item->children.push_back(std::move(child));
    p = child_next;
  }
  return Status::OK();
}

}  // namespace

void AppendString(ByteView s, std::string* out) {
  if (s.size() == 1 && s[0] < kShortStringBase) {
    out->push_back(static_cast<char>(s[0]));
    return;
  }
  AppendHeader(kShortStringBase, kLongStringBase, s.size(), out);
  out->append(reinterpret_cast<const char*>(s.data()), s.size());
}

void AppendListHeader(size_t payload_size, std::string* out) {
  AppendHeader(kShortListBase, kLongListBase, payload_size, out);
}

size_t StringHeaderSize(ByteView s) {
  if (s.size() == 1 && s[0] < kShortStringBase) return 0;
  return s.size() <= kShortMax ? 1 : 1 + LengthOfLength(s.size());
}

size_t ListHeaderSize(size_t payload_size) {
  return payload_size <= kShortMax ? 1 : 1 + LengthOfLength(payload_size);
}

Result<Item> Decode(ByteView input) {
  Item item;
  size_t next = 0;
  // The outermost item is at depth 0; a list at depth d holds items at depth d + 1,
  // so at most kMaxDepth lists can be nested.
  VELLUM_RETURN_IF_ERROR(DecodeAt(input, 0, input.size(), 0, &item, &next));
  if (next != input.size()) return Malformed("trailing bytes", next);
  return item;
}

std::string HexPrefixEncode(const uint8_t* nibbles, size_t count, bool is_leaf) {
  VELLUM_CHECK(count == 0 || nibbles != nullptr);
  const bool odd = count % 2 == 1;
  const uint8_t flag = static_cast<uint8_t>((is_leaf ? 2 : 0) | (odd ? 1 : 0));
  std::string out;
  out.reserve(1 + count / 2);
  if (odd) {
    VELLUM_CHECK_LT(nibbles[0], 16);
    out.push_back(static_cast<char>((flag << 4) | nibbles[0]));
    AppendPackedNibbles(nibbles + 1, count - 1, &out);
  } else {
    out.push_back(static_cast<char>(flag << 4));
    AppendPackedNibbles(nibbles, count, &out);
  }
  return out;
}

Status HexPrefixDecode(ByteView encoded, Nibbles* nibbles, bool* is_leaf) {
  nibbles->clear();
  if (encoded.empty()) return Status::Corruption("hex-prefix: empty path at offset 0");
  const uint8_t flag = encoded[0] >> 4;
  if (flag > 3) return Status::Corruption("hex-prefix: bad flag nibble at offset 0");
  const bool odd = (flag & 1) != 0;
  if (!odd && (encoded[0] & 0x0f) != 0) {
    return Status::Corruption("hex-prefix: non-zero pad nibble at offset 0");
  }
  nibbles->reserve(encoded.size() * 2);
  if (odd) nibbles->push_back(encoded[0] & 0x0f);
  for (size_t i = 1; i < encoded.size(); ++i) {
    nibbles->push_back(encoded[i] >> 4);
    nibbles->push_back(encoded[i] & 0x0f);
  }
  *is_leaf = (flag & 2) != 0;
  return Status::OK();
}

}  // namespace vellum::trie::rlp
