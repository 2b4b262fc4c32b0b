// Copyright (c) Vellum authors.
//
// Helpers shared by the trie tests: the std::map model of a trie's contents, and
// reading a version of a trie into one.

#ifndef VELLUM_TESTS_TRIE_TRIE_TEST_UTIL_H_
#define VELLUM_TESTS_TRIE_TRIE_TEST_UTIL_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "base/bytes.h"
#include "trie/trie.h"
#include "vellum/status.h"

namespace vellum::trie {

// What a version of a trie holds, key -> value.
using Model = std::map<Bytes, Bytes>;

// Applies a batch to a model the way a commit applies it to a trie (an empty value
// deletes).
inline void ApplyToModel(const std::vector<TrieOp>& batch, Model* model) {
  for (const TrieOp& op : batch) {
    if (op.value.empty()) {
      model->erase(op.key);
    } else {
      (*model)[op.key] = op.value;
    }
  }
}

// Adds every entry ForEach visits at `version` to *out.
inline Status CollectEntries(const Trie& trie, uint64_t version, Model* out) {
  return trie.ForEach(version, [out](ByteView k, ByteView v) {
    (*out)[Bytes(k.begin(), k.end())] = Bytes(v.begin(), v.end());
    return true;
  });
}

// What a store key (of a trie with an empty key prefix) holds, by the layout of
// docs/formats/trie.md: 'n' BE64(version) then BE16(nibble count) and the packed path
// for a node, FF FE for the version's stale record, FF FF for its version record.
enum class StoredKind { kNode, kStale, kVersion, kOther };
inline StoredKind KindOfKey(const std::string& key) {
  if (key.size() < 11 || key[0] != 'n') return StoredKind::kOther;
  const unsigned suffix = (static_cast<uint8_t>(key[9]) << 8) | static_cast<uint8_t>(key[10]);
  if (key.size() == 11 && suffix == 0xfffe) return StoredKind::kStale;
  if (key.size() == 11 && suffix == 0xffff) return StoredKind::kVersion;
  return StoredKind::kNode;
}

}  // namespace vellum::trie

#endif  // VELLUM_TESTS_TRIE_TRIE_TEST_UTIL_H_
