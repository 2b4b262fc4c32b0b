// Copyright (c) Vellum authors.
//
// The ethereum/tests trie vectors (tests/data/ethereum/, see its README) against
// Trie with TrieScheme::kEthereum: every case must reach the published root
//   - applying its operations in order, one Commit per operation;
//   - applying them all as one batch in a single Commit (last op for a key wins);
//   - for the any-order files, also in reversed and in shuffled order;
// and every key of a case must prove (eth_getProof shape) and verify to its final
// value, or to absent for a deleted key.

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <exception>
#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <ostream>
#include <random>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "base/bytes.h"
#include "crypto/hash.h"
#include "tests/test_util.h"
#include "trie/node_store.h"
#include "trie/rlp.h"
#include "trie/trie.h"

namespace vellum::trie {
namespace {

constexpr char kEmptyRootHex[] = "56e81f171bcc55a6ff8345e692c0f86e5b48e01b996cadc001622fb5e363b421";

struct Op {
  Bytes key;
  std::optional<Bytes> value;  // nullopt: delete
};

struct VectorCase {
  std::string file;
  std::string name;
  bool any_order = false;
  std::vector<Op> ops;
  std::string root_hex;    // without 0x, lower case
  std::string load_error;  // set when the case could not be read
};

// gtest prints the parameter of a failing test; the case name is what matters.
void PrintTo(const VectorCase& c, std::ostream* os) { *os << c.file << " / " << c.name; }

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string StripHexPrefix(const std::string& s) {
  if (s.size() >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) return s.substr(2);
  return s;
}

// A key or value of a vector: "0x..." is hex (as is everything when hex_encoded),
// anything else its raw UTF-8 bytes. Throws on bad hex, caught by the loader.
Bytes ParseBytes(const std::string& s, bool hex_encoded) {
  const bool hex = hex_encoded || (s.size() >= 2 && s[0] == '0' && s[1] == 'x');
  if (!hex) return ToBytes(s);
  Result<Bytes> bytes = HexDecode(StripHexPrefix(s));
  if (!bytes.ok()) throw std::runtime_error("bad hex '" + s + "': " + bytes.status().ToString());
  return std::move(bytes).value();
}

std::optional<Bytes> ParseValue(const nlohmann::ordered_json& j, bool hex_encoded) {
  if (j.is_null()) return std::nullopt;
  Bytes v = ParseBytes(j.get<std::string>(), hex_encoded);
  if (v.empty()) return std::nullopt;  // an empty value deletes, as in Ethereum
  return v;
}

Bytes MaybeHashKey(Bytes key, bool secure) {
  if (!secure) return key;
  const crypto::Hash256 h = crypto::Keccak256(key);
  return Bytes(h.begin(), h.end());
}

// Loads every case of `file`. `secure`: keys are Keccak-256 hashed. Object-valued
// "in" maps keep their order in the file (ordered_json). Never throws: a file that
// cannot be read becomes one case carrying the error, which then fails.
std::vector<VectorCase> LoadCases(const std::string& file, bool secure) {
  std::vector<VectorCase> cases;
  const std::string path = std::string(VELLUM_TEST_DATA_DIR) + "/ethereum/" + file;
  try {
    std::ifstream in(path);
    if (!in) throw std::runtime_error("cannot open " + path);
    const nlohmann::ordered_json doc = nlohmann::ordered_json::parse(in);
    for (const auto& [name, c] : doc.items()) {
      VectorCase vc;
      vc.file = file;
      vc.name = name;
      const bool hex_encoded = c.contains("hexEncoded") && c.at("hexEncoded").get<bool>();
      const auto& ops = c.at("in");
      if (ops.is_object()) {
        vc.any_order = true;
        for (const auto& [k, v] : ops.items()) {
          vc.ops.push_back(
              {MaybeHashKey(ParseBytes(k, hex_encoded), secure), ParseValue(v, hex_encoded)});
        }
      } else {
        for (const auto& pair : ops) {
          if (!pair.is_array() || pair.size() != 2) {
            throw std::runtime_error(name + ": an operation is not a [key, value] pair");
          }
          vc.ops.push_back(
              {MaybeHashKey(ParseBytes(pair[0].get<std::string>(), hex_encoded), secure),
               ParseValue(pair[1], hex_encoded)});
        }
      }
      vc.root_hex = Lower(StripHexPrefix(c.at("root").get<std::string>()));
      cases.push_back(std::move(vc));
    }
  } catch (const std::exception& e) {
    VectorCase bad;
    bad.file = file;
    bad.name = "load_error";
    bad.load_error = path + ": " + e.what();
    cases.push_back(std::move(bad));
  }
  return cases;
}

std::string Hex(const crypto::Hash256& h) { return HexEncode(h); }

std::unique_ptr<Trie> OpenTrie(NodeStore* store, const std::string& where) {
  TrieOptions options;
  options.scheme = TrieScheme::kEthereum;
  auto trie = Trie::Open(options, store);
  if (!trie.ok()) {
    ADD_FAILURE() << where << ": Open: " << trie.status().ToString();
    return nullptr;
  }
  return std::move(trie).value();
}

TrieOp ToTrieOp(const Op& op) { return TrieOp{op.key, op.value.value_or(Bytes())}; }

// Applies `ops` one Commit each (versions 1, 2, ...) to a fresh trie; returns the
// final root hex ("" after a failure, which has been reported).
std::string RootOneByOne(const std::vector<Op>& ops, const std::string& where) {
  MemNodeStore store;
  auto trie = OpenTrie(&store, where);
  if (trie == nullptr) return "";
  uint64_t version = 0;
  for (const Op& op : ops) {
    ++version;
    std::vector<TrieOp> batch;
    batch.push_back(ToTrieOp(op));
    auto info = trie->Commit(version, std::move(batch));
    if (!info.ok()) {
      ADD_FAILURE() << where << ": Commit of op " << version << ": " << info.status().ToString();
      return "";
    }
    EXPECT_EQ(info->version, version) << where;
    EXPECT_EQ(Hex(info->root.hash), Hex(trie->LatestRoot().hash)) << where << " op " << version;
  }
  EXPECT_EQ(trie->LatestVersion(), version) << where;
  return Hex(trie->LatestRoot().hash);
}

// The final state: the last operation on each key.
std::map<Bytes, std::optional<Bytes>> FinalState(const std::vector<Op>& ops) {
  std::map<Bytes, std::optional<Bytes>> state;
  for (const Op& op : ops) state[op.key] = op.value;
  return state;
}

// Checks the proof of every key of the case against the trie built in one batch.
void CheckProofs(Trie& trie, const VectorCase& c, const std::string& where) {
  const crypto::Hash256 root = trie.LatestRoot().hash;
  const uint64_t version = trie.LatestVersion();
  for (const auto& [key, value] : FinalState(c.ops)) {
    const std::string at = where + " key " + HexEncode(key);

    auto got = trie.Get(version, key);
    ASSERT_TRUE(got.ok()) << at << ": Get: " << got.status().ToString();
    EXPECT_EQ(*got, value) << at << ": Get";

    auto proof = trie.Prove(version, key);
    ASSERT_TRUE(proof.ok()) << at << ": Prove: " << proof.status().ToString();
    EXPECT_EQ(proof->scheme, TrieScheme::kEthereum) << at;
    // eth_getProof shape: RLP nodes from the root down.
    for (size_t i = 0; i < proof->items.size(); ++i) {
      auto item = rlp::Decode(proof->items[i]);
      EXPECT_TRUE(item.ok()) << at << ": proof item " << i
                             << " is not RLP: " << item.status().ToString();
    }
    if (Hex(root) != kEmptyRootHex) {
      ASSERT_FALSE(proof->items.empty()) << at << ": empty proof for a non-empty trie";
    }
    if (!proof->items.empty()) {
      EXPECT_EQ(Hex(crypto::Keccak256(proof->items[0])), Hex(root))
          << at << ": the first proof item does not hash to the root";
    }
    if (value.has_value()) {
      const Bytes& last = proof->items.back();
      EXPECT_TRUE(std::search(last.begin(), last.end(), value->begin(), value->end()) != last.end())
          << at << ": the last proof item does not hold the value";
    }

    auto verified = VerifyProof(TrieScheme::kEthereum, root, key, *proof);
    ASSERT_TRUE(verified.ok()) << at << ": VerifyProof: " << verified.status().ToString();
    EXPECT_EQ(*verified, value) << at << ": VerifyProof";

    // The serialized proof round-trips and still verifies.
    auto again = Proof::Deserialize(proof->Serialize());
    ASSERT_TRUE(again.ok()) << at << ": Deserialize: " << again.status().ToString();
    EXPECT_EQ(again->items, proof->items) << at;
    auto verified_again = VerifyProof(TrieScheme::kEthereum, root, key, *again);
    ASSERT_TRUE(verified_again.ok()) << at << ": " << verified_again.status().ToString();
    EXPECT_EQ(*verified_again, value) << at;

    // The proof does not verify against another root.
    crypto::Hash256 other = root;
    other[0] ^= 1;
    auto wrong = VerifyProof(TrieScheme::kEthereum, other, key, *proof);
    if (wrong.ok()) {
      EXPECT_FALSE(wrong->has_value()) << at << ": a proof verified against the wrong root";
      EXPECT_TRUE(proof->items.empty()) << at << ": a proof verified against the wrong root";
    }
  }
}

class EthereumVectorsCase : public ::testing::TestWithParam<VectorCase> {};

TEST_P(EthereumVectorsCase, Root) {
  const VectorCase& c = GetParam();
  const std::string where = c.file + " / " + c.name;
  SCOPED_TRACE(where);
  ASSERT_TRUE(c.load_error.empty()) << c.load_error;
  ASSERT_FALSE(c.ops.empty()) << where << ": no operations";

  // In order, one Commit per operation.
  EXPECT_EQ(RootOneByOne(c.ops, where + " (one commit per op)"), c.root_hex)
      << where << ": one commit per op";

  if (c.any_order) {
    std::vector<Op> reversed(c.ops.rbegin(), c.ops.rend());
    EXPECT_EQ(RootOneByOne(reversed, where + " (reversed)"), c.root_hex)
        << where << ": reversed order";
    for (uint32_t seed : {1u, 2u, 3u}) {
      std::vector<Op> shuffled = c.ops;
      std::mt19937 rng(seed);
      // A Fisher-Yates shuffle of our own: std::shuffle differs between libraries.
      for (size_t i = shuffled.size(); i > 1; --i) {
        std::swap(shuffled[i - 1], shuffled[rng() % i]);
      }
      EXPECT_EQ(RootOneByOne(shuffled, where + " (shuffled)"), c.root_hex)
          << where << ": shuffled with seed " << seed;
    }
  }

  // All operations as one batch in a single Commit.
  MemNodeStore store;
  auto trie = OpenTrie(&store, where);
  ASSERT_NE(trie, nullptr) << where;
  std::vector<TrieOp> batch;
  for (const Op& op : c.ops) batch.push_back(ToTrieOp(op));
  auto info = trie->Commit(1, std::move(batch));
  ASSERT_TRUE(info.ok()) << where << ": batch Commit: " << info.status().ToString();
  EXPECT_EQ(Hex(info->root.hash), c.root_hex) << where << ": one batch";
  EXPECT_EQ(Hex(trie->LatestRoot().hash), c.root_hex) << where << ": one batch";
  auto at = trie->RootAt(1);
  ASSERT_TRUE(at.ok()) << where << ": RootAt: " << at.status().ToString();
  EXPECT_EQ(Hex(at->hash), c.root_hex) << where << ": RootAt";

  CheckProofs(*trie, c, where);

  // ForEach sees exactly the live entries of the final state, in key order.
  std::vector<std::pair<Bytes, Bytes>> expected;
  for (const auto& [key, value] : FinalState(c.ops)) {
    if (value.has_value()) expected.emplace_back(key, *value);
  }
  std::vector<std::pair<Bytes, Bytes>> seen;
  ASSERT_OK(trie->ForEach(1, [&](ByteView k, ByteView v) {
    seen.emplace_back(Bytes(k.begin(), k.end()), Bytes(v.begin(), v.end()));
    return true;
  }));
  EXPECT_EQ(seen, expected) << where << ": ForEach";
}

std::string CaseName(const ::testing::TestParamInfo<VectorCase>& info) {
  std::string name = info.param.name;
  for (char& ch : name) {
    if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
  }
  return name;
}

INSTANTIATE_TEST_SUITE_P(EthereumVectorsTrie, EthereumVectorsCase,
                         ::testing::ValuesIn(LoadCases("trietest.json", false)), CaseName);
INSTANTIATE_TEST_SUITE_P(EthereumVectorsSecureTrie, EthereumVectorsCase,
                         ::testing::ValuesIn(LoadCases("trietest_secureTrie.json", true)),
                         CaseName);
INSTANTIATE_TEST_SUITE_P(EthereumVectorsAnyOrder, EthereumVectorsCase,
                         ::testing::ValuesIn(LoadCases("trieanyorder.json", false)), CaseName);
INSTANTIATE_TEST_SUITE_P(EthereumVectorsAnyOrderSecure, EthereumVectorsCase,
                         ::testing::ValuesIn(LoadCases("trieanyorder_secureTrie.json", true)),
                         CaseName);
// The file name says "securetrie" and its roots are those of Keccak-256 hashed keys
// (the README: hexEncoded keys and values; secure tries hash their keys).
INSTANTIATE_TEST_SUITE_P(EthereumVectorsHexEncodedSecure, EthereumVectorsCase,
                         ::testing::ValuesIn(LoadCases("hex_encoded_securetrie_test.json", true)),
                         CaseName);

TEST(EthereumVectors, CaseCounts) {
  EXPECT_EQ(LoadCases("trietest.json", false).size(), 5u);
  EXPECT_EQ(LoadCases("trietest_secureTrie.json", true).size(), 3u);
  EXPECT_EQ(LoadCases("trieanyorder.json", false).size(), 7u);
  EXPECT_EQ(LoadCases("trieanyorder_secureTrie.json", true).size(), 7u);
  EXPECT_EQ(LoadCases("hex_encoded_securetrie_test.json", true).size(), 3u);
}

TEST(EthereumVectors, EmptyRoot) {
  EXPECT_EQ(Hex(EmptyRoot(TrieScheme::kEthereum)), kEmptyRootHex);
  const uint8_t empty_string = 0x80;  // RLP("")
  EXPECT_EQ(Hex(crypto::Keccak256(ByteView(&empty_string, 1))), kEmptyRootHex);

  MemNodeStore store;
  auto trie = OpenTrie(&store, "empty trie");
  ASSERT_NE(trie, nullptr);
  EXPECT_EQ(trie->LatestVersion(), 0u);
  EXPECT_EQ(Hex(trie->LatestRoot().hash), kEmptyRootHex);

  // A batch that only deletes a missing key leaves the empty root.
  std::vector<TrieOp> deletes;
  deletes.push_back(TrieOp{ToBytes("dog"), Bytes()});
  auto info = trie->Commit(1, std::move(deletes));
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_EQ(Hex(info->root.hash), kEmptyRootHex);
  EXPECT_EQ(Hex(trie->LatestRoot().hash), kEmptyRootHex);

  // An exclusion proof in the empty trie verifies as absent.
  auto proof = trie->Prove(1, ToBytes("dog"));
  ASSERT_TRUE(proof.ok()) << proof.status().ToString();
  auto verified =
      VerifyProof(TrieScheme::kEthereum, EmptyRoot(TrieScheme::kEthereum), ToBytes("dog"), *proof);
  ASSERT_TRUE(verified.ok()) << verified.status().ToString();
  EXPECT_FALSE(verified->has_value());
}

}  // namespace
}  // namespace vellum::trie
