// Copyright (c) Vellum authors.
//
// Fuzzes rlp::Decode, the strict RLP decoder behind the ethereum trie scheme.
//   - Decode must never crash or read out of bounds, whatever the input.
//   - Everything it rejects is Corruption.
//   - Everything it accepts is canonical: re-encoding the decoded item tree with
//     AppendString / AppendListHeader gives back exactly the input, and every item's
//     `encoded` span is its own re-encoding.
//   - The input, read as a hex-prefix path, decodes and re-encodes the same way.
// Run: ./rlp_fuzz -max_total_time=60 fuzz/corpus/rlp

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "base/bytes.h"
#include "trie/nibbles.h"
#include "trie/rlp.h"
#include "vellum/check.h"

namespace {

namespace rlp = vellum::trie::rlp;

// Appends the canonical encoding of `item`, checking its spans along the way.
void Reencode(const rlp::Item& item, std::string* out) {
  const size_t start = out->size();
  if (!item.is_list) {
    VELLUM_CHECK(item.children.empty());
    rlp::AppendString(item.payload, out);
    VELLUM_CHECK_EQ(out->size() - start, rlp::StringHeaderSize(item.payload) + item.payload.size());
  } else {
    std::string payload;
    for (const rlp::Item& child : item.children) Reencode(child, &payload);
    VELLUM_CHECK_EQ(payload.size(), item.payload.size());
    VELLUM_CHECK(vellum::AsChars(item.payload) == payload);
    rlp::AppendListHeader(payload.size(), out);
    VELLUM_CHECK_EQ(out->size() - start, rlp::ListHeaderSize(payload.size()));
    out->append(payload);
  }
  VELLUM_CHECK_MSG(std::string_view(*out).substr(start) == vellum::AsChars(item.encoded),
                   "an item's encoded span is not its canonical encoding");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const vellum::ByteView input(data, size);

  auto item = rlp::Decode(input);
  if (item.ok()) {
    std::string again;
    Reencode(*item, &again);
    VELLUM_CHECK_MSG(again == vellum::AsChars(input), "RLP does not round-trip canonically");
    VELLUM_CHECK(item->encoded.data() == data && item->encoded.size() == size);
  } else {
    VELLUM_CHECK(item.status().IsCorruption());
  }

  vellum::trie::Nibbles nibbles;
  bool is_leaf = false;
  const vellum::Status hp = rlp::HexPrefixDecode(input, &nibbles, &is_leaf);
  if (hp.ok()) {
    const std::string enc = rlp::HexPrefixEncode(nibbles.data(), nibbles.size(), is_leaf);
    VELLUM_CHECK_MSG(enc == vellum::AsChars(input), "hex-prefix does not round-trip");
  } else {
    VELLUM_CHECK(hp.IsCorruption());
  }
  return 0;
}
