// Copyright (c) Vellum authors.
//
// Crash safety of trie commits on RocksDB over the fault-injecting Env: commits with
// sync, faults injected into the Nth write or sync, power losses (with torn writes)
// at random moments, then recovery. After every recovery the trie must hold exactly
// a prefix of the commits — every acknowledged one — and every version it claims must
// be completely readable: never a half-written version. The same again with pipelined
// commits (Trie::CommitPipelined), whose writes run on a background thread. Seeds are
// printed; rerun with VELLUM_TEST_SEED=<seed> to replay one.

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <future>
#include <map>
#include <optional>
#include <random>

#include "base/fault_injection_env.h"
#include "tests/test_util.h"
#include "tests/trie/scheme_param.h"
#include "tests/trie/trie_test_util.h"
#include "trie/rocks_node_store.h"
#include "trie/trie.h"

namespace vellum::trie {
namespace {

using ::vellum::testing::RandomBytes;

class TrieCrashTest : public ::testing::TestWithParam<TrieScheme> {};

// `pipelined`: commit with CommitPipelined, which acknowledges a commit through its
// future; a failed write fails every later commit too.
void RunCrashRounds(TrieScheme scheme, bool pipelined) {
  uint64_t first_seed = 1;
  int rounds = 12;
  if (const char* s = std::getenv("VELLUM_TEST_SEED")) {
    first_seed = std::strtoull(s, nullptr, 10);
    rounds = 1;
  }
  int acknowledged = 0, failed = 0, survived_unacknowledged = 0;
  for (uint64_t seed = first_seed; seed < first_seed + static_cast<uint64_t>(rounds); ++seed) {
    SCOPED_TRACE("VELLUM_TEST_SEED=" + std::to_string(seed));
    std::mt19937_64 rng(seed);
    std::unique_ptr<Env> mem = NewMemEnv(seed);
    FaultInjectionEnv fault(mem.get(), seed);
    fault.SetTornWrites(rng() % 2 == 0);

    RocksNodeStoreOptions store_options;
    store_options.env = &fault;
    store_options.block_cache_bytes = 1 << 20;
    TrieOptions options;
    options.scheme = scheme;
    options.sync = true;
    options.cache_bytes = 1 << 20;

    std::map<uint64_t, Model> committed;  // acknowledged versions and their contents
    committed[0] = Model();
    Model model;
    uint64_t version = 0;
    for (int life = 0; life < 4; ++life) {
      auto store_or = RocksNodeStore::Open(store_options, "/db");
      ASSERT_TRUE(store_or.ok()) << store_or.status().ToString();
      std::unique_ptr<RocksNodeStore> store = std::move(store_or).value();
      auto trie_or = Trie::Open(options, store.get());
      ASSERT_TRUE(trie_or.ok()) << trie_or.status().ToString();
      std::unique_ptr<Trie> trie = std::move(trie_or).value();

      // What survived must be a prefix of the commits that includes every
      // acknowledged one, and each surviving version must read back whole.
      const uint64_t latest = trie->LatestVersion();
      ASSERT_GE(latest, committed.rbegin()->first) << "an acknowledged commit was lost";
      ASSERT_LE(latest, version) << "a version that was never committed appeared";
      for (const auto& [v, m] : committed) {
        if (v > latest) continue;
        Model seen;
        ASSERT_OK(CollectEntries(*trie, v, &seen));
        ASSERT_EQ(seen, m) << "version " << v << " after recovery";
      }
      // A failed commit whose write reached the disk anyway is a legitimate survivor:
      // adopt it as the model.
      if (latest > committed.rbegin()->first) {
        Model seen;
        ASSERT_OK(CollectEntries(*trie, latest, &seen));
        committed[latest] = seen;
        ++survived_unacknowledged;
      }
      model = committed.rbegin()->second;
      version = latest;

      // Commit until a fault, then crash.
      const uint64_t fail_after = 1 + rng() % 40;
      if (rng() % 2) {
        fault.FailNthWrite(fail_after);
      } else {
        fault.FailNthSync(1 + rng() % 6);
      }
      // Builds the next batch on `base`; *next is the contents after it.
      auto random_batch = [&rng](const Model& base, Model* next) {
        std::vector<TrieOp> ops;
        *next = base;
        for (int i = 0; i < 1 + static_cast<int>(rng() % 30); ++i) {
          TrieOp op;
          if (!next->empty() && rng() % 3 == 0) {
            auto it = next->begin();
            std::advance(it, static_cast<long>(rng() % next->size()));
            op.key = it->first;
          } else {
            op.key = RandomBytes(rng, 1 + rng() % 8);
          }
          if (rng() % 4 != 0) op.value = RandomBytes(rng, 1 + rng() % 50);
          if (op.value.empty()) {
            next->erase(op.key);
          } else {
            (*next)[op.key] = op.value;
          }
          ops.push_back(std::move(op));
        }
        return ops;
      };
      if (!pipelined) {
        for (int c = 0; c < 15; ++c) {
          Model next;
          std::vector<TrieOp> ops = random_batch(model, &next);
          auto info = trie->Commit(version + 1, std::move(ops));
          if (!info.ok()) {
            // Not acknowledged: the in-memory trie must not have moved.
            EXPECT_EQ(trie->LatestVersion(), version);
            ++failed;
            ++version;  // the failed version may still surface after recovery
            break;
          }
          version = info->version;
          model = next;
          committed[version] = model;
          ++acknowledged;
        }
      } else {
        struct Submitted {
          uint64_t version = 0;
          Model model;
          std::future<Result<CommitInfo>> future;
        };
        std::optional<Submitted> previous;
        uint64_t submitted = version;
        Model submitted_model = model;
        bool stopped = false;
        // Settles `s`: acknowledged, or failed (and with it everything after it).
        auto settle = [&](Submitted& s) {
          Result<CommitInfo> info = s.future.get();
          if (!info.ok()) {
            EXPECT_EQ(trie->LatestVersion(), version) << info.status().ToString();
            ++failed;
            stopped = true;
            return;
          }
          EXPECT_EQ(info->version, s.version);
          version = s.version;
          model = s.model;
          committed[version] = model;
          ++acknowledged;
        };
        for (int c = 0; c < 15 && !stopped; ++c) {
          Model next;
          std::vector<TrieOp> ops = random_batch(submitted_model, &next);
          ++submitted;
          Submitted current{submitted, next, trie->CommitPipelined(submitted, std::move(ops))};
          submitted_model = next;
          if (previous.has_value()) settle(*previous);
          if (stopped) {
            EXPECT_FALSE(current.future.get().ok()) << "a commit after a failed one succeeded";
          }
          previous = std::move(current);
        }
        if (!stopped) {
          if (!trie->FlushPipeline().ok()) {
            EXPECT_FALSE(previous->future.get().ok());
            ++failed;
            stopped = true;
          } else {
            settle(*previous);
          }
        }
        if (stopped) {
          EXPECT_FALSE(trie->FlushPipeline().ok());
          EXPECT_EQ(trie->LatestVersion(), version);
          version = submitted;  // a failed version may still surface after recovery
        }
      }
      fault.FailNthWrite(0);
      fault.FailNthSync(0);
      // Power loss with everything still open.
      fault.SetFilesystemActive(false);
      trie.reset();
      store.reset();
      fault.SetFilesystemActive(true);
      ASSERT_OK(fault.DropUnsyncedData());
    }
  }
  std::printf("commits acknowledged %d, failed %d, failed but durable %d\n", acknowledged, failed,
              survived_unacknowledged);
  // The run must really exercise both paths.
  EXPECT_GT(acknowledged, 0);
  if (rounds > 1) {
    EXPECT_GT(failed, 0);
  }
}

TEST_P(TrieCrashTest, RecoveryKeepsEveryAcknowledgedCommitAndNoHalfVersion) {
  RunCrashRounds(GetParam(), /*pipelined=*/false);
}

TEST_P(TrieCrashTest, PipelinedRecoveryKeepsEveryAcknowledgedCommitAndNoHalfVersion) {
  RunCrashRounds(GetParam(), /*pipelined=*/true);
}

VELLUM_INSTANTIATE_FOR_SCHEMES(TrieCrashTest);

}  // namespace
}  // namespace vellum::trie
