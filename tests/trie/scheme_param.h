// Copyright (c) Vellum authors.
//
// Runs a parameterized trie test once per node scheme, named by the scheme.

#ifndef VELLUM_TESTS_TRIE_SCHEME_PARAM_H_
#define VELLUM_TESTS_TRIE_SCHEME_PARAM_H_

#include <gtest/gtest.h>

#include <string>

#include "trie/trie.h"

namespace vellum::trie {

inline std::string SchemeParamName(const ::testing::TestParamInfo<TrieScheme>& param) {
  return std::string(TrieSchemeName(param.param));
}

#define VELLUM_INSTANTIATE_FOR_SCHEMES(suite)                                             \
  INSTANTIATE_TEST_SUITE_P(Schemes, suite,                                                \
                           ::testing::Values(TrieScheme::kNative, TrieScheme::kEthereum), \
                           ::vellum::trie::SchemeParamName)

}  // namespace vellum::trie

#endif  // VELLUM_TESTS_TRIE_SCHEME_PARAM_H_
