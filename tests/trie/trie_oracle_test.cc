// Copyright (c) Vellum authors.
//
// Oracle test: thousands of random batches of puts and deletes, applied incrementally
// to the trie and, after every batch, compared with a root computed from scratch by a
// naive builder written here from the format documents (docs/formats/trie.md for
// native, the Yellow Paper for Ethereum) — it shares no code with trie.cc. Reads,
// iteration, proofs and reopening are checked against a std::map along the way.
// The seed is printed; rerun with VELLUM_TEST_SEED=<seed> to replay a failure.

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <map>
#include <random>
#include <string>

#include "crypto/hash.h"
#include "tests/test_util.h"
#include "tests/trie/scheme_param.h"
#include "tests/trie/trie_test_util.h"
#include "trie/nibbles.h"
#include "trie/rlp.h"
#include "trie/trie.h"

namespace vellum::trie {
namespace {

using crypto::Hash256;

// --- the naive builder -------------------------------------------------------------

struct Entry {
  Nibbles key;
  const Bytes* value;
};

// A node's reference as its parent holds it: a hash, or (Ethereum) an inline encoding.
struct Ref {
  std::string bytes;  // 32 = hash; < 32 = inline encoding; empty = none
};

std::string Packed(const Nibbles& n, size_t from, size_t to) {
  std::string out;
  PutVarint64(&out, to - from);
  for (size_t i = from; i < to; i += 2) {
    const uint8_t hi = n[i];
    const uint8_t lo = i + 1 < to ? n[i + 1] : 0;
    out.push_back(static_cast<char>((hi << 4) | lo));
  }
  return out;
}

std::string H(const std::string& s) {
  const Hash256 h = crypto::Sha256(AsBytes(s));
  return std::string(h.begin(), h.end());
}

std::string NativeValueHash(const Bytes& v) {
  return H(std::string(1, '\x04') + std::string(AsChars(v)));
}

std::string NativePair(const std::string& l, const std::string& r) {
  const std::string zero(32, '\0');
  if (l == zero && r == zero) return zero;
  return H(std::string(1, '\x03') + l + r);
}

std::string HexPrefix(const Nibbles& n, size_t from, size_t to, bool leaf) {
  std::string out;
  const size_t count = to - from;
  uint8_t flag = leaf ? 2 : 0;
  size_t i = from;
  if (count % 2 == 1) {
    out.push_back(static_cast<char>(((flag + 1) << 4) | n[i]));
    ++i;
  } else {
    out.push_back(static_cast<char>(flag << 4));
  }
  for (; i < to; i += 2) out.push_back(static_cast<char>((n[i] << 4) | n[i + 1]));
  return out;
}

std::string RlpString(const std::string& s) {
  std::string out;
  rlp::AppendString(AsBytes(s), &out);
  return out;
}

std::string RlpList(const std::string& payload) {
  std::string out;
  rlp::AppendListHeader(payload.size(), &out);
  return out + payload;
}

class NaiveBuilder {
 public:
  explicit NaiveBuilder(TrieScheme scheme) : scheme_(scheme) {}

  std::string Root(const Model& model) {
    if (model.empty()) {
      const Hash256 e = EmptyRoot(scheme_);
      return std::string(e.begin(), e.end());
    }
    std::vector<Entry> entries;
    for (const auto& [k, v] : model) entries.push_back({ToNibbles(k), &v});
    const std::string enc = Build(entries, 0);
    if (scheme_ == TrieScheme::kNative) return enc;  // native Build returns the hash
    const Hash256 h = crypto::Keccak256(AsBytes(enc));
    return std::string(h.begin(), h.end());
  }

 private:
  // Native: returns the node hash. Ethereum: returns the node's RLP encoding.
  std::string Build(const std::vector<Entry>& entries, size_t depth) {
    if (entries.size() == 1 && entries[0].key.size() >= depth) {
      return Leaf(entries[0].key, depth, *entries[0].value);
    }
    // Longest common prefix of every key from `depth`.
    size_t common = SIZE_MAX;
    for (const Entry& e : entries) {
      size_t c = 0;
      while (depth + c < e.key.size() && depth + c < entries[0].key.size() &&
             e.key[depth + c] == entries[0].key[depth + c]) {
        ++c;
      }
      common = std::min(common, std::min(c, e.key.size() - depth));
    }
    if (common > 0) {
      const std::string child = Build(entries, depth + common);
      return Extension(entries[0].key, depth, depth + common, child);
    }
    const Bytes* value = nullptr;
    std::vector<Entry> groups[16];
    for (const Entry& e : entries) {
      if (e.key.size() == depth) {
        value = e.value;
      } else {
        groups[e.key[depth]].push_back(e);
      }
    }
    std::string children[16];
    for (int i = 0; i < 16; ++i) {
      if (!groups[i].empty()) children[i] = Build(groups[i], depth + 1);
    }
    return Branch(children, value);
  }

  std::string Leaf(const Nibbles& key, size_t depth, const Bytes& value) {
    if (scheme_ == TrieScheme::kNative) {
      return H(std::string(1, '\x00') + Packed(key, depth, key.size()) + NativeValueHash(value));
    }
    return RlpList(RlpString(HexPrefix(key, depth, key.size(), true)) +
                   RlpString(std::string(AsChars(value))));
  }

  // `child` is the child's hash (native) or encoding (Ethereum).
  std::string Extension(const Nibbles& key, size_t from, size_t to, const std::string& child) {
    if (scheme_ == TrieScheme::kNative) {
      return H(std::string(1, '\x01') + Packed(key, from, to) + child);
    }
    return RlpList(RlpString(HexPrefix(key, from, to, false)) + EthRef(child));
  }

  std::string Branch(const std::string children[16], const Bytes* value) {
    if (scheme_ == TrieScheme::kNative) {
      const std::string zero(32, '\0');
      std::vector<std::string> level;
      for (int i = 0; i < 16; ++i) level.push_back(children[i].empty() ? zero : children[i]);
      while (level.size() > 1) {
        std::vector<std::string> up;
        for (size_t i = 0; i < level.size(); i += 2)
          up.push_back(NativePair(level[i], level[i + 1]));
        level = up;
      }
      const std::string v = value == nullptr ? zero : NativeValueHash(*value);
      return H(std::string(1, '\x02') + v + level[0]);
    }
    std::string payload;
    for (int i = 0; i < 16; ++i)
      payload += children[i].empty() ? RlpString("") : EthRef(children[i]);
    payload += RlpString(value == nullptr ? "" : std::string(AsChars(*value)));
    return RlpList(payload);
  }

  static std::string EthRef(const std::string& encoding) {
    if (encoding.size() < 32) return encoding;
    const Hash256 h = crypto::Keccak256(AsBytes(encoding));
    return RlpString(std::string(h.begin(), h.end()));
  }

  TrieScheme scheme_;
};

// --- the random workload ------------------------------------------------------------

uint64_t TestSeed() {
  if (const char* s = std::getenv("VELLUM_TEST_SEED")) return std::strtoull(s, nullptr, 10);
  return std::random_device{}();
}

class TrieOracleTest : public ::testing::TestWithParam<TrieScheme> {};

// Keys are drawn from a small alphabet and short lengths so that prefixes, shared
// paths, branch values and collapses all happen often.
Bytes RandomKey(std::mt19937_64& rng) {
  const int kind = static_cast<int>(rng() % 10);
  Bytes key;
  if (kind == 0) {
    key.resize(32);  // a ledger-like hashed key
    for (auto& b : key) b = static_cast<uint8_t>(rng());
    return key;
  }
  const size_t len = rng() % 5;
  for (size_t i = 0; i < len; ++i) {
    static constexpr uint8_t kAlphabet[] = {0x00, 0x01, 0x10, 0x11, 0x12, 0xa5, 0xff};
    key.push_back(kAlphabet[rng() % sizeof(kAlphabet)]);
  }
  return key;
}

Bytes RandomValue(std::mt19937_64& rng) {
  // Short values make Ethereum nodes inline; long ones force hashing.
  Bytes v(1 + rng() % (rng() % 4 == 0 ? 60 : 6));
  for (auto& b : v) b = static_cast<uint8_t>(rng());
  return v;
}

TEST_P(TrieOracleTest, RandomBatchesMatchFromScratchRoots) {
  const TrieScheme scheme = GetParam();
  const uint64_t seed = TestSeed();
  SCOPED_TRACE("VELLUM_TEST_SEED=" + std::to_string(seed) + " scheme " +
               std::string(TrieSchemeName(scheme)));
  std::mt19937_64 rng(seed);
  NaiveBuilder naive(scheme);

  MemNodeStore store;
  TrieOptions options;
  options.scheme = scheme;
  options.cache_bytes = (seed % 2 == 0) ? (1 << 20) : 0;  // with and without the cache
  // Every other run applies large batches as parallel per-subtrie tasks.
  std::unique_ptr<TaskRunner> runner;
  if ((seed >> 1) % 2 == 0) {
    runner = NewThreadPoolTaskRunner(2);
    options.task_runner = runner.get();
    options.parallel_hash_min_ops = 8;
  }
  SCOPED_TRACE(runner ? "parallel batches" : "sequential batches");
  // Leaves inside their parents' records, on their own, or some of each (by size);
  // the setting changes at every reopen, so records of both forms meet in one trie.
  const size_t embed_choices[] = {256, 0, 20};
  size_t embed_choice = (seed >> 2) % 3;
  options.max_embedded_leaf_bytes = embed_choices[embed_choice];
  auto trie_or = Trie::Open(options, &store);
  ASSERT_TRUE(trie_or.ok()) << trie_or.status().ToString();
  std::unique_ptr<Trie> trie = std::move(trie_or).value();

  Model model;
  std::map<uint64_t, Model> history;
  std::map<uint64_t, std::string> roots;
  constexpr int kBatches = 1500;
  for (int b = 1; b <= kBatches; ++b) {
    std::vector<TrieOp> ops;
    const size_t n = 1 + rng() % (b % 100 == 0 ? 400 : 12);
    for (size_t i = 0; i < n; ++i) {
      TrieOp op;
      if (!model.empty() && rng() % 3 == 0) {
        auto it = model.begin();
        std::advance(it, static_cast<long>(rng() % model.size()));
        op.key = it->first;  // delete or overwrite an existing key
      } else {
        op.key = RandomKey(rng);
      }
      if (rng() % 3 != 0) op.value = RandomValue(rng);
      if (op.value.empty()) {
        model.erase(op.key);
      } else {
        model[op.key] = op.value;
      }
      ops.push_back(std::move(op));
    }
    auto info = trie->Commit(static_cast<uint64_t>(b), std::move(ops));
    ASSERT_TRUE(info.ok()) << "batch " << b << ": " << info.status().ToString();
    const std::string expected = naive.Root(model);
    ASSERT_EQ(HexEncode(AsBytes(std::string(info->root.hash.begin(), info->root.hash.end()))),
              HexEncode(AsBytes(expected)))
        << "batch " << b << ", " << model.size() << " keys";
    history[static_cast<uint64_t>(b)] = model;
    roots[static_cast<uint64_t>(b)] = expected;

    if (b % 50 == 0) {
      // Reads and iteration at this version and at an older one.
      for (uint64_t v : {static_cast<uint64_t>(b), static_cast<uint64_t>(b / 2 + 1)}) {
        const Model& m = history[v];
        Model seen;
        ASSERT_OK(CollectEntries(*trie, v, &seen));
        ASSERT_EQ(seen, m) << "ForEach at version " << v;
        for (const auto& [k, val] : m) {
          auto got = trie->Get(v, k);
          ASSERT_TRUE(got.ok()) << got.status().ToString();
          ASSERT_TRUE(got->has_value()) << "missing key at version " << v;
          ASSERT_EQ(**got, val);
        }
        for (int i = 0; i < 20; ++i) {
          const Bytes k = RandomKey(rng);
          auto got = trie->Get(v, k);
          ASSERT_TRUE(got.ok());
          ASSERT_EQ(got->has_value(), m.count(k) == 1);
          // Proofs: present and absent keys alike.
          auto proof = trie->Prove(v, k);
          ASSERT_TRUE(proof.ok()) << proof.status().ToString();
          auto root = trie->RootAt(v);
          ASSERT_TRUE(root.ok());
          auto checked = VerifyProof(scheme, root->hash, k, *proof);
          ASSERT_TRUE(checked.ok()) << checked.status().ToString();
          ASSERT_EQ(checked->has_value(), m.count(k) == 1);
          if (checked->has_value()) {
            ASSERT_EQ(**checked, m.at(k));
          }
        }
      }
    }
    if (b % 300 == 0) {
      // Reopen from the store and compare every version's root.
      trie.reset();
      embed_choice = (embed_choice + 1) % 3;
      options.max_embedded_leaf_bytes = embed_choices[embed_choice];
      auto reopened = Trie::Open(options, &store);
      ASSERT_TRUE(reopened.ok()) << reopened.status().ToString();
      trie = std::move(reopened).value();
      ASSERT_EQ(trie->LatestVersion(), static_cast<uint64_t>(b));
      for (const auto& [v, r] : roots) {
        auto root = trie->RootAt(v);
        ASSERT_TRUE(root.ok());
        ASSERT_EQ(std::string(root->hash.begin(), root->hash.end()), r) << "version " << v;
      }
    }
  }
}

VELLUM_INSTANTIATE_FOR_SCHEMES(TrieOracleTest);

}  // namespace
}  // namespace vellum::trie
