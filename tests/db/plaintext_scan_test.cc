// Copyright (c) Vellum authors.
//
// Nothing written to a ledger appears in the clear on disk: known marker strings are
// used as table names, keys and values in many records (self-held ledgers and ledgers
// with log key holders), and every file in the ledger directory — write-ahead logs,
// table files, the MANIFEST, RocksDB's info logs, everything — is scanned for each
// marker, raw and hex-encoded. The scan runs after Close, while the ledger is still
// open (so that memtable data, present only in the WAL, is covered), and after a
// Forget (which rewrites the log's share sets).

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/db/db_test_util.h"
#include "tests/db/safety_test_util.h"
#include "vellum/db.h"

namespace vellum {
namespace {

using testing::LedgerDir;

const std::vector<std::string> kMarkers = {"MARKER-KEY-8c1f", "MARKER-VALUE-77ad",
                                           "MARKER-TABLE-51e2"};

// "<file>: <marker> (<encoding>)" for each marker found in any file under `dir`.
std::string FindMarkers(const std::string& dir) {
  std::vector<std::pair<std::string, std::string>> needles;  // (bytes, description)
  for (const auto& marker : kMarkers) {
    needles.emplace_back(marker, marker + " (raw)");
    needles.emplace_back(HexEncode(AsBytes(marker)), marker + " (hex)");
  }
  std::string found;
  size_t files = 0, bytes = 0;
  for (const auto& name : testing::ListFiles(dir)) {
    std::string data = testing::ReadWholeFile(dir + "/" + name);
    ++files;
    bytes += data.size();
    for (const auto& [needle, description] : needles) {
      if (data.find(needle) != std::string::npos) found += name + ": " + description + "\n";
    }
  }
  EXPECT_GT(files, 3u);
  EXPECT_GT(bytes, 0u);
  return found;
}

// Many records carrying the markers: a marker table, marker keys (alone and inside
// longer keys), marker values; overwrites, deletions, a transaction.
void WriteMarkers(DB& db) {
  const std::string table = kMarkers[2];
  const std::string key = kMarkers[0];
  const std::string value = kMarkers[1];
  WriteBatch create;
  create.CreateTable(table);
  create.CreateTable("plain");
  testing::MustWrite(db, create);
  for (int i = 0; i < 40; ++i) {
    WriteBatch batch;
    batch.Put(table, key, value + std::to_string(i));
    batch.Put(table, key + "/" + std::to_string(i), value);
    batch.Put("plain", "k" + std::to_string(i), "prefix " + value + " suffix");
    batch.Put("plain", std::to_string(i) + key, std::to_string(i));
    if (i % 7 == 3) batch.Delete(table, key + "/" + std::to_string(i - 1));
    testing::MustWrite(db, batch);
  }
  auto txn = db.BeginTransaction();
  auto read = txn->Get(table, key);
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  ASSERT_EQ(*read, std::optional<std::string>(value + "39"));
  txn->Put(table, key, value);
  ASSERT_TRUE(txn->Commit().ok());
  // A big value, so that some records span blocks.
  testing::MustPut(db, "plain", "big", std::string(64 << 10, 'z') + value);
  EXPECT_EQ(testing::GetString(db, table, key), value);
}

class PlaintextScanTest : public ::testing::TestWithParam<bool> {
 protected:
  // With log key holders (GetParam()) or self-held.
  Options MakeOptions(const LedgerDir& dir) {
    Options options = dir.DefaultOptions();
    if (GetParam()) {
      for (int i = 0; i < 3; ++i) {
        holders_.push_back(HolderKey::Generate());
        options.log_key_holders.push_back(holders_.back().public_key());
      }
      options.log_threshold = 2;
    }
    return options;
  }
  std::vector<HolderKey> holders_;
};

std::string LedgerKind(const ::testing::TestParamInfo<bool>& param_info) {
  return param_info.param ? "WithHolders" : "SelfHeld";
}
INSTANTIATE_TEST_SUITE_P(Ledgers, PlaintextScanTest, ::testing::Bool(), LedgerKind);

// The scan can fail: a file that does hold a marker is reported.
TEST(PlaintextScan, FindsAMarkerThatIsThere) {
  LedgerDir dir;
  std::filesystem::create_directories(dir.ledger() + "/sub");
  testing::WriteWholeFile(dir.ledger() + "/a", "nothing");
  testing::WriteWholeFile(dir.ledger() + "/b", "nothing");
  testing::WriteWholeFile(dir.ledger() + "/c", "nothing");
  testing::WriteWholeFile(dir.ledger() + "/sub/d", "..." + HexEncode(AsBytes(kMarkers[1])));
  EXPECT_EQ(FindMarkers(dir.ledger()), "sub/d: " + kMarkers[1] + " (hex)\n");
}

TEST_P(PlaintextScanTest, NoMarkerInAnyFileWhileOpen) {
  LedgerDir dir;
  auto db = dir.Open(MakeOptions(dir));
  ASSERT_TRUE(db);
  ASSERT_NO_FATAL_FAILURE(WriteMarkers(*db));
  // Everything so far is in the memtable and the write-ahead log.
  EXPECT_EQ(FindMarkers(dir.ledger()), "");
  ASSERT_TRUE(db->Close().ok());
}

TEST_P(PlaintextScanTest, NoMarkerInAnyFileAfterCloseAndReopen) {
  LedgerDir dir;
  {
    auto db = dir.Open(MakeOptions(dir));
    ASSERT_TRUE(db);
    ASSERT_NO_FATAL_FAILURE(WriteMarkers(*db));
    ASSERT_TRUE(db->Close().ok());
  }
  EXPECT_EQ(FindMarkers(dir.ledger()), "");
  // Reopening moves the write-ahead log into table files.
  {
    auto db = dir.Open(dir.DefaultOptions(/*create=*/false));
    ASSERT_TRUE(db);
    EXPECT_EQ(testing::GetString(*db, kMarkers[2], kMarkers[0]), kMarkers[1]);
    auto report = db->Verify();
    ASSERT_TRUE(report.ok());
    EXPECT_TRUE(report->ok());
    ASSERT_TRUE(db->Close().ok());
  }
  bool has_table_file = false;
  for (const auto& name : testing::ListFiles(dir.ledger())) {
    has_table_file = has_table_file || name.ends_with(".sst");
  }
  EXPECT_TRUE(has_table_file);
  EXPECT_EQ(FindMarkers(dir.ledger()), "");
}

TEST_P(PlaintextScanTest, NoMarkerInAnyFileAfterForget) {
  LedgerDir dir;
  auto db = dir.Open(MakeOptions(dir));
  ASSERT_TRUE(db);
  ASSERT_NO_FATAL_FAILURE(WriteMarkers(*db));
  auto forgotten = db->Forget(1, db->Latest().log_index / 2);
  ASSERT_TRUE(forgotten.ok()) << forgotten.status().ToString();
  EXPECT_GT(*forgotten, 0u);
  EXPECT_EQ(FindMarkers(dir.ledger()), "");
  ASSERT_TRUE(db->Close().ok());
  EXPECT_EQ(FindMarkers(dir.ledger()), "");
}

}  // namespace
}  // namespace vellum
