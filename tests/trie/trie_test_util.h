// Copyright (c) Vellum authors.
//
// Helpers shared by the trie tests: the std::map model of a trie's contents, and
// reading a version of a trie into one.

#ifndef VELLUM_TESTS_TRIE_TRIE_TEST_UTIL_H_
#define VELLUM_TESTS_TRIE_TRIE_TEST_UTIL_H_

#include <cstdint>
#include <map>

#include "base/bytes.h"
#include "trie/trie.h"
#include "vellum/status.h"

namespace vellum::trie {

// What a version of a trie holds, key -> value.
using Model = std::map<Bytes, Bytes>;

// Adds every entry ForEach visits at `version` to *out.
inline Status CollectEntries(const Trie& trie, uint64_t version, Model* out) {
  return trie.ForEach(version, [out](ByteView k, ByteView v) {
    (*out)[Bytes(k.begin(), k.end())] = Bytes(v.begin(), v.end());
    return true;
  });
}

}  // namespace vellum::trie

#endif  // VELLUM_TESTS_TRIE_TRIE_TEST_UTIL_H_
