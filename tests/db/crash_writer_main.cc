// Copyright (c) Vellum authors.
//
// vellum_crash_writer LEDGER KEY_FILE ROUND: the process tests/db/crash_test.cc kills.
// It opens (creating if needed) the ledger with sync on, prints "opened <version>",
// then commits forever — write batches of a few puts and deletes, and every fifth
// commit a transaction — and after each commit returns prints one line per write,
//   acked <version> <key> <value>      ("-" as the value of a deletion)
// flushing stdout, so that every line the test reads is a commit the ledger
// acknowledged. Values name the round and the commit ("r3-c17-1"), so each is unique.
// Any error ends the process with status 2 and a message on stderr.

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "vellum/db.h"

namespace {

constexpr const char* kTable = "crash";
constexpr int kKeys = 23;

int Fail(const std::string& what, const vellum::Status& status) {
  std::fprintf(stderr, "crash writer: %s: %s\n", what.c_str(), status.ToString().c_str());
  return 2;
}

void Ack(uint64_t version, const std::vector<std::pair<std::string, std::string>>& writes) {
  for (const auto& [key, value] : writes) {
    std::printf("acked %llu %s %s\n", static_cast<unsigned long long>(version), key.c_str(),
                value.c_str());
  }
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: vellum_crash_writer LEDGER KEY_FILE ROUND\n");
    return 2;
  }
  const std::string round = argv[3];
  vellum::Options options;
  options.create_if_missing = true;
  options.key_file = argv[2];
  options.sync = true;
  options.node_cache_bytes = 4 << 20;
  options.block_cache_bytes = 8 << 20;
  std::unique_ptr<vellum::DB> db;
  vellum::Status opened = vellum::DB::Open(options, argv[1], &db);
  if (!opened.ok()) return Fail("opening", opened);
  auto tables = db->ListTables();
  if (!tables.ok()) return Fail("listing tables", tables.status());
  if (tables->empty()) {
    vellum::WriteBatch create;
    create.CreateTable(kTable);
    auto created = db->Write({}, create);
    if (!created.ok()) return Fail("creating the table", created.status());
  }
  std::printf("opened %llu\n", static_cast<unsigned long long>(db->Latest().version));
  std::fflush(stdout);

  uint64_t rng = 0x9e3779b97f4a7c15ull ^ std::strtoull(argv[3], nullptr, 10);
  auto next = [&rng]() {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
  };
  for (uint64_t commit = 0;; ++commit) {
    const std::string tag = "r" + round + "-c" + std::to_string(commit) + "-";
    std::vector<std::pair<std::string, std::string>> writes;
    if (commit % 5 == 4) {
      auto txn = db->BeginTransaction();
      std::string key = "key-" + std::to_string(next() % kKeys);
      auto before = txn->Get(kTable, key);
      if (!before.ok()) return Fail("reading in a transaction", before.status());
      std::string value = tag + "t";
      txn->Put(kTable, key, value);
      writes.emplace_back(key, value);
      auto info = txn->Commit();
      if (!info.ok()) return Fail("committing a transaction", info.status());
      Ack(info->version, writes);
      continue;
    }
    vellum::WriteBatch batch;
    const int n = 1 + static_cast<int>(next() % 4);
    for (int i = 0; i < n; ++i) {
      std::string key = "key-" + std::to_string(next() % kKeys);
      bool seen = false;
      for (const auto& w : writes) seen = seen || w.first == key;
      if (seen) continue;  // one write per key and commit keeps the acks unambiguous
      if (next() % 8 == 0) {
        batch.Delete(kTable, key);
        writes.emplace_back(key, "-");
      } else {
        std::string value = tag + std::to_string(i);
        batch.Put(kTable, key, value);
        writes.emplace_back(key, value);
      }
    }
    auto info = db->Write({}, batch);
    if (!info.ok()) return Fail("committing", info.status());
    Ack(info->version, writes);
  }
}
