// Copyright (c) Vellum authors.
//
// RLP, Ethereum's Recursive Length Prefix encoding (Yellow Paper, appendix B), and
// the hex-prefix encoding of nibble paths (appendix C). Used by the `ethereum` trie
// scheme.
//
// The decoder is strict: it accepts only canonical encodings (no leading zero bytes
// in lengths, single bytes below 0x80 not wrapped, lengths under 56 in short form),
// rejects trailing bytes, and never reads outside its input. Every rejection is
// Corruption with the byte offset.
//
// Thread safety: all functions are thread-safe.

#ifndef VELLUM_TRIE_RLP_H_
#define VELLUM_TRIE_RLP_H_

#include <cstdint>
#include <string>
#include <vector>

#include "base/bytes.h"
#include "trie/nibbles.h"

namespace vellum::trie::rlp {

// Appends the encoding of the byte string `s`.
void AppendString(ByteView s, std::string* out);
// Appends a list header for a payload of `payload_size` bytes; the caller appends the
// payload (the concatenated encodings of the items) after it.
void AppendListHeader(size_t payload_size, std::string* out);
// Size of the header AppendString / AppendListHeader would write.
size_t StringHeaderSize(ByteView s);
size_t ListHeaderSize(size_t payload_size);

// A decoded item: either a byte string or a list of items. `encoded` spans the
// item's whole encoding (header included) inside the decoded input, which must
// outlive the item.
struct Item {
  bool is_list = false;
  ByteView payload;            // string bytes, or the list's payload
  ByteView encoded;            // header + payload
  std::vector<Item> children;  // list items (empty for strings)
};

// Decodes exactly one item spanning all of `input`. Nesting deeper than 64 levels is
// Corruption (the trie never nests deeper than 3).
Result<Item> Decode(ByteView input);

// Hex-prefix encoding of a nibble path with the leaf/extension flag.
std::string HexPrefixEncode(const uint8_t* nibbles, size_t count, bool is_leaf);
// The inverse: Corruption for a bad flag nibble or a non-zero pad nibble.
Status HexPrefixDecode(ByteView encoded, Nibbles* nibbles, bool* is_leaf);

}  // namespace vellum::trie::rlp

#endif  // VELLUM_TRIE_RLP_H_
