// Copyright (c) Vellum authors.

#include "trie/nibbles.h"

#include "vellum/check.h"

namespace vellum::trie {

Nibbles ToNibbles(ByteView key) {
  Nibbles out;
  out.reserve(key.size() * 2);
  for (uint8_t b : key) {
    out.push_back(static_cast<uint8_t>(b >> 4));
    out.push_back(static_cast<uint8_t>(b & 0x0f));
  }
  return out;
}

Bytes NibblesToBytes(const Nibbles& nibbles) {
  VELLUM_CHECK_MSG(nibbles.size() % 2 == 0, "NibblesToBytes needs an even number of nibbles");
  Bytes out;
  out.reserve(nibbles.size() / 2);
  for (size_t i = 0; i < nibbles.size(); i += 2) {
    VELLUM_CHECK_LT(nibbles[i], 16);
    VELLUM_CHECK_LT(nibbles[i + 1], 16);
    out.push_back(static_cast<uint8_t>((nibbles[i] << 4) | nibbles[i + 1]));
  }
  return out;
}

void AppendPackedNibbles(const uint8_t* nibbles, size_t count, std::string* out) {
  VELLUM_CHECK(count == 0 || nibbles != nullptr);
  out->reserve(out->size() + (count + 1) / 2);
  size_t i = 0;
  for (; i + 1 < count; i += 2) {
    VELLUM_CHECK_LT(nibbles[i], 16);
    VELLUM_CHECK_LT(nibbles[i + 1], 16);
    out->push_back(static_cast<char>((nibbles[i] << 4) | nibbles[i + 1]));
  }
  if (i < count) {
    VELLUM_CHECK_LT(nibbles[i], 16);
    out->push_back(static_cast<char>(nibbles[i] << 4));
  }
}

size_t CommonPrefixLength(const uint8_t* a, size_t a_len, const uint8_t* b, size_t b_len) {
  const size_t n = a_len < b_len ? a_len : b_len;
  size_t i = 0;
  while (i < n && a[i] == b[i]) ++i;
  return i;
}

std::string NibblesToString(const uint8_t* nibbles, size_t count) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(count);
  for (size_t i = 0; i < count; ++i) {
    // Anything out of range shows as '?' rather than indexing past the table: this is
    // for messages, which may describe bad data.
    out.push_back(nibbles[i] < 16 ? kDigits[nibbles[i]] : '?');
  }
  return out;
}

}  // namespace vellum::trie
