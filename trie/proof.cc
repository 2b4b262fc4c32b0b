// Copyright (c) Vellum authors.
//
// The serialized proof container (docs/formats/proof.md) and the standalone
// verifier entry point.

#include <string>

#include "trie/scheme.h"
#include "trie/trie.h"

namespace vellum::trie {
namespace {

constexpr uint8_t kMagic0 = 'V';
constexpr uint8_t kMagic1 = 'P';
constexpr uint8_t kFormatVersion = 1;
// Bounds that keep a hostile proof from making the decoder allocate without limit:
// a walk has at most one item per key nibble plus one.
constexpr uint64_t kMaxItems = 2 * kMaxKeySize + 1;
constexpr uint64_t kMaxItemSize = kMaxValueSize + 4096;

}  // namespace

std::string_view TrieSchemeName(TrieScheme scheme) {
  switch (scheme) {
    case TrieScheme::kEthereum:
      return "ethereum";
    case TrieScheme::kNative:
      return "native";
  }
  return "unknown";
}

Result<TrieScheme> ParseTrieScheme(std::string_view name) {
  if (name == "ethereum") return TrieScheme::kEthereum;
  if (name == "native") return TrieScheme::kNative;
  return Status::InvalidArgument("unknown trie scheme '" + std::string(name.substr(0, 32)) +
                                 "' (expected 'ethereum' or 'native')");
}

const Scheme& SchemeFor(TrieScheme scheme) {
  return scheme == TrieScheme::kEthereum ? EthereumScheme() : NativeScheme();
}

crypto::Hash256 EmptyRoot(TrieScheme scheme) { return SchemeFor(scheme).EmptyRoot(); }

Bytes Proof::Serialize() const {
  Bytes out = {kMagic0, kMagic1, kFormatVersion, static_cast<uint8_t>(scheme)};
  PutVarint64(&out, items.size());
  for (const Bytes& item : items) {
    PutVarint64(&out, item.size());
    out.insert(out.end(), item.begin(), item.end());
  }
  return out;
}

namespace {
size_t VarintSize(uint64_t v) {
  size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    ++n;
  }
  return n;
}
}  // namespace

size_t Proof::ByteSize() const {
  size_t size = 4 + VarintSize(items.size());
  for (const Bytes& item : items) size += VarintSize(item.size()) + item.size();
  return size;
}

Result<Proof> Proof::Deserialize(ByteView data) {
  if (data.size() < 4 || data[0] != kMagic0 || data[1] != kMagic1) {
    return Status::Corruption("not a Vellum trie proof (bad magic)");
  }
  if (data[2] != kFormatVersion) {
    return Status::NotSupported("trie proof format version " + std::to_string(data[2]) +
                                " is not supported (this build reads version 1)");
  }
  Proof proof;
  if (data[3] == static_cast<uint8_t>(TrieScheme::kEthereum)) {
    proof.scheme = TrieScheme::kEthereum;
  } else if (data[3] == static_cast<uint8_t>(TrieScheme::kNative)) {
    proof.scheme = TrieScheme::kNative;
  } else {
    return Status::Corruption("trie proof names unknown scheme " + std::to_string(data[3]));
  }
  ByteView in = data.subspan(4);
  uint64_t count = 0;
  if (!GetVarint64(&in, &count) || count > kMaxItems) {
    return Status::Corruption("trie proof has a bad item count");
  }
  proof.items.reserve(count);
  for (uint64_t i = 0; i < count; ++i) {
    uint64_t size = 0;
    if (!GetVarint64(&in, &size) || size > kMaxItemSize || size > in.size()) {
      return Status::Corruption("trie proof item " + std::to_string(i) + " is truncated");
    }
    proof.items.emplace_back(in.begin(), in.begin() + static_cast<ptrdiff_t>(size));
    in = in.subspan(size);
  }
  if (!in.empty()) return Status::Corruption("trie proof has trailing bytes");
  return proof;
}

Result<std::optional<Bytes>> VerifyProof(TrieScheme scheme, const crypto::Hash256& root,
                                         ByteView key, const Proof& proof) {
  if (key.size() > kMaxKeySize) {
    return Status::InvalidArgument("key of " + std::to_string(key.size()) +
                                   " bytes exceeds the trie's limit of " +
                                   std::to_string(kMaxKeySize));
  }
  if (proof.scheme != scheme) {
    return Status::Corruption("proof is for the " + std::string(TrieSchemeName(proof.scheme)) +
                              " scheme, not " + std::string(TrieSchemeName(scheme)));
  }
  if (proof.items.size() > kMaxItems) return Status::Corruption("trie proof has too many items");
  return SchemeFor(scheme).VerifyProof(root, ToNibbles(key), proof.items);
}

}  // namespace vellum::trie
