// Copyright (c) Vellum authors.
//
// Fuzzes Proof::Deserialize and VerifyProof, the code that reads proofs from untrusted
// parties (the `trie verify` command, light clients).
//   - Deserialize must never crash or read out of bounds, whatever the input; what it
//     rejects is Corruption or NotSupported.
//   - A decoded proof re-serializes to a canonical form that decodes to the same proof
//     (the input may differ only in non-minimal varints).
//   - The decoded items are verified under both schemes (whatever scheme byte the
//     input names) against fixed roots with a key taken from the first bytes of the
//     input, and against the real roots of a small fixed trie, built once, for every
//     key of that trie and some absent ones. VerifyProof must never crash; what it
//     rejects is Corruption.
//   - Soundness: a proof that verifies against a real root must show exactly what the
//     trie holds (the key's value, or its absence), and one that verifies against the
//     empty root must show absence.
// Run: ./trie_proof_fuzz -max_total_time=60 fuzz/corpus/trie_proof

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "base/bytes.h"
#include "crypto/hash.h"
#include "trie/node_store.h"
#include "trie/trie.h"
#include "vellum/check.h"

namespace {

using vellum::Bytes;
using vellum::ByteView;
using vellum::trie::Proof;
using vellum::trie::TrieScheme;

constexpr TrieScheme kSchemes[] = {TrieScheme::kEthereum, TrieScheme::kNative};

// The fixed trie: keys that share prefixes, end inside others, and are long enough
// for hashed (not inlined) nodes, with short and long values.
std::map<Bytes, Bytes> FixedEntries() {
  std::map<Bytes, Bytes> entries;
  auto add = [&](std::string_view key, std::string_view value) {
    entries[vellum::ToBytes(key)] = vellum::ToBytes(value);
  };
  add("do", "verb");
  add("dog", "puppy");
  add("doge", "coin");
  add("dogglesworth", "cat");
  add("horse", "stallion");
  add("", "the empty key");
  add(std::string(32, '\x11'), std::string(40, 'v'));
  add(std::string(31, '\x11') + '\x12', "x");
  add(std::string(32, '\xee'), std::string(100, 'w'));
  add(std::string("\x00\x01", 2), std::string(1, '\0'));
  return entries;
}

// Keys to verify against the real roots: every key of the trie and some absent ones.
std::vector<Bytes> ProbeKeys(const std::map<Bytes, Bytes>& entries) {
  std::vector<Bytes> keys;
  for (const auto& [key, value] : entries) keys.push_back(key);
  for (std::string_view absent : {"d", "dogs", "doe", "cat", "horses"}) {
    keys.push_back(vellum::ToBytes(absent));
  }
  keys.push_back(Bytes(32, 0x12));
  keys.push_back(Bytes{0x00});
  return keys;
}

struct FixedTrie {
  std::map<Bytes, Bytes> entries;
  std::vector<Bytes> probe_keys;
  std::map<TrieScheme, vellum::crypto::Hash256> roots;
};

const FixedTrie& Fixed() {
  static const FixedTrie* const fixed = [] {
    auto* f = new FixedTrie();
    f->entries = FixedEntries();
    f->probe_keys = ProbeKeys(f->entries);
    for (TrieScheme scheme : kSchemes) {
      vellum::trie::MemNodeStore store;
      vellum::trie::TrieOptions options;
      options.scheme = scheme;
      auto trie = vellum::trie::Trie::Open(options, &store);
      VELLUM_CHECK(trie.ok());
      std::vector<vellum::trie::TrieOp> ops;
      for (const auto& [key, value] : f->entries) ops.push_back({key, value});
      auto info = (*trie)->Commit(1, std::move(ops));
      VELLUM_CHECK(info.ok());
      f->roots[scheme] = info->root.hash;
    }
    return f;
  }();
  return *fixed;
}

// Verifies and checks the outcome; `expected` (if set) is what the trie truly holds.
void Verify(TrieScheme scheme, const vellum::crypto::Hash256& root, ByteView key,
            const Proof& proof, const std::optional<std::optional<Bytes>>& expected) {
  auto shown = vellum::trie::VerifyProof(scheme, root, key, proof);
  if (!shown.ok()) {
    VELLUM_CHECK_MSG(shown.status().IsCorruption(), "VerifyProof failed with a non-Corruption");
    return;
  }
  if (shown->has_value()) VELLUM_CHECK(!(*shown)->empty());
  if (expected.has_value()) {
    VELLUM_CHECK_MSG(*shown == *expected,
                     "a proof verified but shows something else than the trie");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const FixedTrie& fixed = Fixed();
  const ByteView input(data, size);

  auto decoded = Proof::Deserialize(input);
  if (!decoded.ok()) {
    const auto& s = decoded.status();
    VELLUM_CHECK(s.IsCorruption() || s.IsNotSupported());
    return 0;
  }
  Proof proof = std::move(decoded).value();

  // Canonical round trip.
  const Bytes again = proof.Serialize();
  VELLUM_CHECK_EQ(again.size(), proof.ByteSize());
  VELLUM_CHECK_LE(again.size(), size);
  auto redecoded = Proof::Deserialize(again);
  VELLUM_CHECK_MSG(redecoded.ok(), "a serialized proof does not decode");
  VELLUM_CHECK(redecoded->scheme == proof.scheme);
  VELLUM_CHECK(redecoded->items == proof.items);
  VELLUM_CHECK(redecoded->Serialize() == again);

  const ByteView input_key = input.first(std::min<size_t>(size, 32));
  vellum::crypto::Hash256 arbitrary_root;
  std::fill(arbitrary_root.begin(), arbitrary_root.end(), uint8_t{0x5a});

  for (TrieScheme scheme : kSchemes) {
    // The same items read under each scheme, whatever the input's scheme byte says.
    Proof as_scheme = proof;
    as_scheme.scheme = scheme;
    // A proof of the other scheme is rejected before any item is read.
    if (proof.scheme != scheme) {
      VELLUM_CHECK(!vellum::trie::VerifyProof(scheme, arbitrary_root, input_key, proof).ok());
    }
    Verify(scheme, arbitrary_root, input_key, as_scheme, std::nullopt);
    Verify(scheme, vellum::trie::EmptyRoot(scheme), input_key, as_scheme,
           std::optional<Bytes>(std::nullopt));

    const vellum::crypto::Hash256& root = fixed.roots.at(scheme);
    auto truth = [&](ByteView key) {
      const auto it = fixed.entries.find(Bytes(key.begin(), key.end()));
      return it == fixed.entries.end() ? std::optional<Bytes>() : std::optional<Bytes>(it->second);
    };
    Verify(scheme, root, input_key, as_scheme, truth(input_key));
    for (const Bytes& key : fixed.probe_keys) Verify(scheme, root, key, as_scheme, truth(key));
  }
  return 0;
}
