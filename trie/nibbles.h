// Copyright (c) Vellum authors.
//
// Nibble paths: a trie key is walked four bits at a time, high nibble first. A
// Nibbles value holds one nibble (0..15) per byte, which keeps slicing and comparing
// simple; packed forms are used only in encodings.

#ifndef VELLUM_TRIE_NIBBLES_H_
#define VELLUM_TRIE_NIBBLES_H_

#include <cstdint>
#include <string>
#include <vector>

#include "base/bytes.h"

namespace vellum::trie {

using Nibbles = std::vector<uint8_t>;

// The nibbles of `key`, high nibble of each byte first.
Nibbles ToNibbles(ByteView key);
// Packs an even number of nibbles back into bytes. VELLUM_CHECKs evenness.
Bytes NibblesToBytes(const Nibbles& nibbles);
// Packs any number of nibbles, high nibble first, padding an odd tail with a zero
// low nibble: ceil(n/2) bytes.
void AppendPackedNibbles(const uint8_t* nibbles, size_t count, std::string* out);
// Length of the common prefix of a[a_off..] and b[b_off..].
size_t CommonPrefixLength(const uint8_t* a, size_t a_len, const uint8_t* b, size_t b_len);
// "3a7" style lower-case hex of the nibbles, for messages.
std::string NibblesToString(const uint8_t* nibbles, size_t count);

}  // namespace vellum::trie

#endif  // VELLUM_TRIE_NIBBLES_H_
