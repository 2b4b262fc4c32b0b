// Copyright (c) Vellum authors.
//
// Bad input: a wrong master secret, a key file that is not a master key, an unknown
// table, oversized keys, values and table names, a corrupt directory (CURRENT
// truncated or pointing nowhere, the MANIFEST damaged or truncated, CURRENT gone), a
// directory that is some other RocksDB database, a path that is a file. Each is a
// clear error, and nothing stored is changed: the ledger's records are compared before
// and after through RocksDB, and where the failure comes before the database is
// opened for writing, every file is compared byte for byte (RocksDB's info logs aside:
// RocksDB appends to them whenever it looks at a directory).

#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "tests/db/db_test_util.h"
#include "tests/db/safety_test_util.h"
#include "vellum/db.h"

namespace vellum {
namespace {

using testing::LedgerDir;
using testing::RawLedger;

// A ledger with a little data, closed.
void MakeLedger(const LedgerDir& dir) {
  auto db = dir.Open();
  ASSERT_TRUE(db);
  testing::MustCreateTable(*db, "t");
  testing::MustPut(*db, "t", "k", "v1");
  testing::MustPut(*db, "t", "k", "v2");
  ASSERT_TRUE(db->Close().ok());
}

// Every record of every column family, read without changing anything.
std::string Records(const std::string& path) {
  RawLedger raw(path, /*read_only=*/true);
  EXPECT_TRUE(raw.ok()) << raw.status();
  return raw.ok() ? raw.Dump() : "";
}

// What a directory holds: its files byte for byte, and (for a ledger) its records.
struct Snapshot {
  std::map<std::string, std::string> files;
  std::string records;
};
Snapshot Take(const std::string& path, bool with_records = true) {
  Snapshot snapshot;
  snapshot.files = testing::HashDirectory(path);
  if (with_records) snapshot.records = Records(path);
  return snapshot;
}

void ExpectSameFiles(const Snapshot& before, const std::string& path) {
  EXPECT_EQ(testing::DescribeDifference(before.files, testing::HashDirectory(path)), "")
      << "files of " << path << " changed";
}
void ExpectSameRecords(const Snapshot& before, const std::string& path) {
  EXPECT_EQ(Records(path), before.records) << "records of " << path << " changed";
}

// The ledger still opens with the right key and reads what was written.
void ExpectLedgerIntact(const LedgerDir& dir) {
  auto db = dir.Open(dir.DefaultOptions(/*create=*/false));
  ASSERT_TRUE(db);
  EXPECT_EQ(db->Latest().version, 3u);
  EXPECT_EQ(testing::GetString(*db, "t", "k"), "v2");
  EXPECT_EQ(testing::GetString(*db, "t", "k", 2), "v1");
  auto report = db->Verify();
  ASSERT_TRUE(report.ok());
  EXPECT_TRUE(report->ok());
}

Status TryOpen(const Options& options, const std::string& path) {
  std::unique_ptr<DB> db;
  Status status = DB::Open(options, path, &db);
  EXPECT_EQ(status.ok(), db != nullptr);
  return status;
}

// --- keys --------------------------------------------------------------------------

TEST(BadInput, WrongMasterKeyFileChangesNoRecord) {
  LedgerDir dir;
  ASSERT_NO_FATAL_FAILURE(MakeLedger(dir));
  Snapshot before = Take(dir.ledger());
  std::string other = dir.root() + "/other.key";
  ASSERT_TRUE(MasterKey::Generate().WriteFile(other).ok());
  Options options = dir.DefaultOptions(/*create=*/false);
  options.key_file = other;
  Status status = TryOpen(options, dir.ledger());
  EXPECT_EQ(status.code(), StatusCode::kPermissionDenied) << status.ToString();
  EXPECT_NE(status.message().find("master key"), std::string::npos) << status.ToString();
  // Also with create_if_missing: an existing ledger is never re-created.
  options.create_if_missing = true;
  EXPECT_EQ(TryOpen(options, dir.ledger()).code(), StatusCode::kPermissionDenied);
  ExpectSameRecords(before, dir.ledger());
  ExpectLedgerIntact(dir);
}

// A wrong key is refused before the database is opened for writing, so not a byte of
// the directory changes.
// (The key is checked on a read-only open, before RocksDB's read-write open could
// replay and flush the write-ahead log or write a new MANIFEST.)
TEST(BadInput, WrongMasterKeyChangesNoFile) {
  LedgerDir dir;
  ASSERT_NO_FATAL_FAILURE(MakeLedger(dir));
  Snapshot before = Take(dir.ledger(), /*with_records=*/false);
  Options options = dir.DefaultOptions(/*create=*/false);
  options.key_file.clear();
  options.master_key_provider = [] { return MasterKey::FromBytes(std::string(32, '\x01')); };
  EXPECT_EQ(TryOpen(options, dir.ledger()).code(), StatusCode::kPermissionDenied);
  ExpectSameFiles(before, dir.ledger());
}

TEST(BadInput, WrongSecretFromAProviderChangesNoRecord) {
  LedgerDir dir;
  ASSERT_NO_FATAL_FAILURE(MakeLedger(dir));
  Snapshot before = Take(dir.ledger());
  Options options = dir.DefaultOptions(/*create=*/false);
  options.key_file.clear();
  options.master_key_provider = [] { return MasterKey::FromBytes(std::string(32, '\x01')); };
  EXPECT_EQ(TryOpen(options, dir.ledger()).code(), StatusCode::kPermissionDenied);
  // A provider that fails: its error, unchanged.
  options.master_key_provider = []() -> Result<MasterKey> {
    return Status::Unavailable("the vault is sealed");
  };
  Status status = TryOpen(options, dir.ledger());
  EXPECT_EQ(status.code(), StatusCode::kUnavailable) << status.ToString();
  // A secret of the wrong size never becomes a key.
  EXPECT_EQ(MasterKey::FromBytes(std::string(31, 'x')).status().code(),
            StatusCode::kInvalidArgument);
  ExpectSameRecords(before, dir.ledger());
  ExpectLedgerIntact(dir);
}

TEST(BadInput, KeyFilesThatAreNotMasterKeysChangeNoFile) {
  LedgerDir dir;
  ASSERT_NO_FATAL_FAILURE(MakeLedger(dir));
  Snapshot before = Take(dir.ledger(), /*with_records=*/false);
  const std::string holder = dir.root() + "/holder.key";
  ASSERT_TRUE(HolderKey::Generate().WriteFile(holder).ok());
  const std::string garbage = dir.root() + "/garbage.key";
  testing::WriteWholeFile(garbage, "vellum-master-key-v1 not-hex-at-all\n");
  const std::string empty = dir.root() + "/empty.key";
  testing::WriteWholeFile(empty, "");
  for (const auto& file : {holder, garbage, empty}) {
    SCOPED_TRACE(file);
    Options options = dir.DefaultOptions(/*create=*/false);
    options.key_file = file;
    Status status = TryOpen(options, dir.ledger());
    EXPECT_EQ(status.code(), StatusCode::kInvalidArgument) << status.ToString();
    // The message names the file, never its contents.
    EXPECT_NE(status.message().find(file), std::string::npos) << status.ToString();
    EXPECT_EQ(status.message().find("not-hex"), std::string::npos) << status.ToString();
  }
  ExpectSameFiles(before, dir.ledger());
  ExpectLedgerIntact(dir);
}

// --- operations ----------------------------------------------------------------------

TEST(BadInput, UnknownTableIsNotFoundAndChangesNothing) {
  LedgerDir dir;
  ASSERT_NO_FATAL_FAILURE(MakeLedger(dir));
  Snapshot before = Take(dir.ledger());
  {
    auto db = dir.Open(dir.DefaultOptions(/*create=*/false));
    ASSERT_TRUE(db);
    const CommitInfo latest = db->Latest();
    EXPECT_EQ(db->Get({}, "nope", "k").status().code(), StatusCode::kNotFound);
    EXPECT_EQ(db->GetWithProof({}, "nope", "k").status().code(), StatusCode::kNotFound);
    EXPECT_EQ(db->History("nope", "k").status().code(), StatusCode::kNotFound);
    EXPECT_EQ(db->Scan({}, "nope", [](std::string_view, std::string_view) { return true; }).code(),
              StatusCode::kNotFound);
    // Version 1 only created the table; it did not exist before.
    ReadOptions before_table;
    before_table.version = 0;
    EXPECT_EQ(db->Get(before_table, "t", "k").status().code(), StatusCode::kNotFound);
    for (auto kind :
         {WriteBatch::OpKind::kPut, WriteBatch::OpKind::kDelete, WriteBatch::OpKind::kDropTable}) {
      WriteBatch batch;
      batch.Put("t", "k", "written with a bad op");  // must not land either
      if (kind == WriteBatch::OpKind::kPut) batch.Put("nope", "k", "v");
      if (kind == WriteBatch::OpKind::kDelete) batch.Delete("nope", "k");
      if (kind == WriteBatch::OpKind::kDropTable) batch.DropTable("nope");
      EXPECT_EQ(db->Write({}, batch).status().code(), StatusCode::kNotFound);
    }
    WriteBatch twice;
    twice.CreateTable("t");
    EXPECT_EQ(db->Write({}, twice).status().code(), StatusCode::kAlreadyExists);
    auto txn = db->BeginTransaction();
    EXPECT_EQ(txn->Get("nope", "k").status().code(), StatusCode::kNotFound);
    txn->Put("t", "k", "written with a bad op");
    txn->Put("nope", "k", "v");
    EXPECT_EQ(txn->Commit().status().code(), StatusCode::kNotFound);
    EXPECT_EQ(db->Latest().version, latest.version);
    EXPECT_EQ(db->Latest().state_root, latest.state_root);
    EXPECT_EQ(db->Latest().log_index, latest.log_index);
    EXPECT_EQ(testing::GetString(*db, "t", "k"), "v2");
    ASSERT_TRUE(db->Close().ok());
  }
  ExpectSameRecords(before, dir.ledger());
}

TEST(BadInput, OversizedKeysValuesAndTableNamesAreRejectedWhole) {
  LedgerDir dir;
  ASSERT_NO_FATAL_FAILURE(MakeLedger(dir));
  Snapshot before = Take(dir.ledger());
  {
    Options options = dir.DefaultOptions(/*create=*/false);
    options.max_key_size = 32;
    options.max_value_size = 64;
    auto db = dir.Open(options);
    ASSERT_TRUE(db);
    const CommitInfo latest = db->Latest();
    struct Bad {
      std::string table, key, value;
    };
    for (const Bad& bad : {Bad{"t", std::string(33, 'k'), "v"}, Bad{"t", "k", std::string(65, 'v')},
                           Bad{std::string(256, 'n'), "k", "v"}, Bad{"", "k", "v"}}) {
      WriteBatch batch;
      batch.Put("t", "k", "written with a bad op");
      batch.Put(bad.table, bad.key, bad.value);
      batch.Put("t", "other", "also not");
      Status status = db->Write({}, batch).status();
      EXPECT_EQ(status.code(), StatusCode::kInvalidArgument) << status.ToString();
      auto txn = db->BeginTransaction();
      txn->Put("t", "k", "written with a bad op");
      txn->Put(bad.table, bad.key, bad.value);
      status = txn->Commit().status();
      EXPECT_EQ(status.code(), StatusCode::kInvalidArgument) << status.ToString();
    }
    WriteBatch long_name;
    long_name.CreateTable(std::string(256, 'n'));
    EXPECT_EQ(db->Write({}, long_name).status().code(), StatusCode::kInvalidArgument);
    // The limits are inclusive.
    WriteBatch at_limit;
    at_limit.Put("t", std::string(32, 'k'), std::string(64, 'v'));
    EXPECT_TRUE(db->Write({}, at_limit).ok());
    EXPECT_EQ(db->Latest().version, latest.version + 1);
    EXPECT_EQ(testing::GetString(*db, "t", "k"), "v2");
    EXPECT_EQ(testing::GetString(*db, "t", "other"), "<absent>");
    ASSERT_TRUE(db->Close().ok());
  }
  // Only the one good commit changed anything.
  EXPECT_NE(Records(dir.ledger()), before.records);
}

TEST(BadInput, KeylessOpenRefusesWritesAndChangesNoRecord) {
  LedgerDir dir;
  ASSERT_NO_FATAL_FAILURE(MakeLedger(dir));
  Snapshot before = Take(dir.ledger());
  {
    Options options = dir.DefaultOptions(/*create=*/false);
    options.key_file.clear();
    auto db = dir.Open(options);
    ASSERT_TRUE(db);
    WriteBatch batch;
    batch.Put("t", "k", "v3");
    EXPECT_EQ(db->Write({}, batch).status().code(), StatusCode::kFailedPrecondition);
    EXPECT_EQ(db->Forget(1, 1).status().code(), StatusCode::kFailedPrecondition);
    ASSERT_TRUE(db->Close().ok());
  }
  ExpectSameRecords(before, dir.ledger());
  ExpectLedgerIntact(dir);
}

// --- corrupt and foreign directories --------------------------------------------------

std::string FileStartingWith(const std::string& dir, const std::string& prefix) {
  for (const auto& name : testing::ListFiles(dir)) {
    if (name.starts_with(prefix)) return name;
  }
  return "";
}

struct DirectoryDamage {
  const char* name;
  // Damages the ledger at `path`; returns the file it changed (to restore it).
  std::string (*damage)(const std::string& path);
  bool creating;  // open with create_if_missing
};

std::string TruncateCurrent(const std::string& path) {
  testing::WriteWholeFile(path + "/CURRENT", "");
  return "CURRENT";
}
std::string CurrentNamesAMissingManifest(const std::string& path) {
  testing::WriteWholeFile(path + "/CURRENT", "MANIFEST-999999\n");
  return "CURRENT";
}
std::string FlipManifestByte(const std::string& path) {
  std::string manifest = FileStartingWith(path, "MANIFEST-");
  std::string data = testing::ReadWholeFile(path + "/" + manifest);
  data[data.size() / 2] = static_cast<char>(data[data.size() / 2] ^ 0x10);
  testing::WriteWholeFile(path + "/" + manifest, data);
  return manifest;
}
std::string TruncateManifest(const std::string& path) {
  std::string manifest = FileStartingWith(path, "MANIFEST-");
  std::string data = testing::ReadWholeFile(path + "/" + manifest);
  testing::WriteWholeFile(path + "/" + manifest, data.substr(0, data.size() / 3));
  return manifest;
}
std::string RemoveCurrent(const std::string& path) {
  std::filesystem::remove(path + "/CURRENT");
  return "CURRENT";
}

void PrintTo(const DirectoryDamage& damage, std::ostream* os) { *os << damage.name; }

std::string DamageName(const ::testing::TestParamInfo<DirectoryDamage>& param_info) {
  return param_info.param.name;
}

class CorruptDirectoryTest : public ::testing::TestWithParam<DirectoryDamage> {};

TEST_P(CorruptDirectoryTest, IsAClearErrorAndChangesNoFile) {
  const DirectoryDamage& damage = GetParam();
  LedgerDir dir;
  ASSERT_NO_FATAL_FAILURE(MakeLedger(dir));
  // A reopen leaves the data in table files, so the MANIFEST names some.
  dir.Open(dir.DefaultOptions(/*create=*/false)).reset();
  const std::string saved = dir.root() + "/saved";
  std::filesystem::copy(dir.ledger(), saved, std::filesystem::copy_options::recursive);
  const std::string file = damage.damage(dir.ledger());
  ASSERT_FALSE(file.empty());
  Snapshot before = Take(dir.ledger(), /*with_records=*/false);

  Options options = dir.DefaultOptions(damage.creating);
  Status status = TryOpen(options, dir.ledger());
  EXPECT_FALSE(status.ok());
  // Without CURRENT there is no database: "no ledger here" (NotFound) unless creating.
  const bool no_current = !std::filesystem::exists(dir.ledger() + "/CURRENT");
  EXPECT_TRUE(status.code() == StatusCode::kCorruption ||
              status.code() == StatusCode::kInvalidArgument ||
              (status.code() == StatusCode::kNotFound && !damage.creating && no_current))
      << status.ToString();
  EXPECT_NE(status.message().find(dir.ledger()), std::string::npos)
      << "the error does not name the directory: " << status.ToString();
  ExpectSameFiles(before, dir.ledger());
  // Undoing the damage gives back the ledger, whole.
  std::filesystem::copy_file(saved + "/" + file, dir.ledger() + "/" + file,
                             std::filesystem::copy_options::overwrite_existing);
  ExpectLedgerIntact(dir);
}

INSTANTIATE_TEST_SUITE_P(
    Damage, CorruptDirectoryTest,
    ::testing::Values(DirectoryDamage{"CurrentTruncated", TruncateCurrent, false},
                      DirectoryDamage{"CurrentTruncatedCreating", TruncateCurrent, true},
                      DirectoryDamage{"ManifestByteFlipped", FlipManifestByte, false},
                      DirectoryDamage{"ManifestByteFlippedCreating", FlipManifestByte, true},
                      DirectoryDamage{"CurrentRemoved", RemoveCurrent, false},
                      DirectoryDamage{"CurrentRemovedCreating", RemoveCurrent, true}),
    DamageName);

// A MANIFEST cut short or missing: RocksDB would "recover" the database it described
// earlier and delete the table files the lost part named, so the ledger checks the
// directory on a read-only open first and reports Corruption.
INSTANTIATE_TEST_SUITE_P(
    DamagedManifest, CorruptDirectoryTest,
    ::testing::Values(
        DirectoryDamage{"ManifestTruncated", TruncateManifest, false},
        DirectoryDamage{"ManifestTruncatedCreating", TruncateManifest, true},
        DirectoryDamage{"CurrentNamesMissingManifest", CurrentNamesAMissingManifest, false},
        DirectoryDamage{"CurrentNamesMissingManifestCreating", CurrentNamesAMissingManifest, true}),
    DamageName);

// A RocksDB database with column families of its own is not a ledger.
TEST(BadInput, ForeignDatabaseWithOtherColumnFamiliesChangesNoFile) {
  LedgerDir dir;
  {
    rocksdb::Options options;
    options.create_if_missing = true;
    options.create_missing_column_families = true;
    std::vector<rocksdb::ColumnFamilyDescriptor> families = {
        {"default", rocksdb::ColumnFamilyOptions()}, {"orders", rocksdb::ColumnFamilyOptions()}};
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    rocksdb::DB* db = nullptr;
    ASSERT_TRUE(rocksdb::DB::Open(options, dir.ledger(), families, &handles, &db).ok());
    ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), handles[1], "order-1", "someone's data").ok());
    for (auto* handle : handles) ASSERT_TRUE(db->DestroyColumnFamilyHandle(handle).ok());
    ASSERT_TRUE(db->Close().ok());
    delete db;
  }
  Snapshot before = Take(dir.ledger(), /*with_records=*/false);
  for (bool create : {false, true}) {
    Status status = TryOpen(dir.DefaultOptions(create), dir.ledger());
    EXPECT_EQ(status.code(), StatusCode::kInvalidArgument) << status.ToString();
    EXPECT_NE(status.message().find("not a ledger"), std::string::npos) << status.ToString();
  }
  ExpectSameFiles(before, dir.ledger());
}

// A plain RocksDB database (only the default column family) is not a ledger either.
void MakePlainRocksDb(const std::string& path) {
  rocksdb::Options options;
  options.create_if_missing = true;
  rocksdb::DB* db = nullptr;
  ASSERT_TRUE(rocksdb::DB::Open(options, path, &db).ok());
  ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), "user-1", "someone's data").ok());
  ASSERT_TRUE(db->Close().ok());
  delete db;
}

TEST(BadInput, PlainRocksDbIsNotALedger) {
  LedgerDir dir;
  ASSERT_NO_FATAL_FAILURE(MakePlainRocksDb(dir.ledger()));
  Snapshot before = Take(dir.ledger(), /*with_records=*/false);
  Status status = TryOpen(dir.DefaultOptions(/*create=*/false), dir.ledger());
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument) << status.ToString();
  ExpectSameFiles(before, dir.ledger());
}

// Even with Options::create_if_missing (which `vellum-db init` sets), a RocksDB
// database that holds data is never taken for an interrupted creation.
TEST(BadInput, PlainRocksDbIsNotALedgerEvenWhenCreating) {
  LedgerDir dir;
  ASSERT_NO_FATAL_FAILURE(MakePlainRocksDb(dir.ledger()));
  Snapshot before = Take(dir.ledger(), /*with_records=*/false);
  Status status = TryOpen(dir.DefaultOptions(/*create=*/true), dir.ledger());
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument) << status.ToString();
  ExpectSameFiles(before, dir.ledger());
}

// A database with the ledger's column families whose format record is someone else's.
TEST(BadInput, ForeignFormatRecordIsNotALedger) {
  LedgerDir dir;
  ASSERT_NO_FATAL_FAILURE(MakeLedger(dir));
  {
    RawLedger raw(dir.ledger());
    ASSERT_TRUE(raw.ok()) << raw.status();
    ASSERT_TRUE(raw.Put(testing::kRawMeta, "format", "some-other-format v7"));
  }
  Snapshot before = Take(dir.ledger());
  for (bool create : {false, true}) {
    Status status = TryOpen(dir.DefaultOptions(create), dir.ledger());
    EXPECT_EQ(status.code(), StatusCode::kInvalidArgument) << status.ToString();
    EXPECT_NE(status.message().find("not a ledger"), std::string::npos) << status.ToString();
  }
  ExpectSameRecords(before, dir.ledger());
}

TEST(BadInput, PathThatIsAFileIsAnErrorAndTheFileIsUnchanged) {
  LedgerDir dir;
  const std::string path = dir.root() + "/a-file";
  testing::WriteWholeFile(path, "just a file");
  for (bool create : {false, true}) {
    Status status = TryOpen(dir.DefaultOptions(create), path);
    EXPECT_FALSE(status.ok());
    // "No ledger in <path>" is a fair answer when not creating.
    if (create) {
      EXPECT_NE(status.code(), StatusCode::kNotFound) << status.ToString();
    }
    EXPECT_EQ(testing::ReadWholeFile(path), "just a file");
  }
  EXPECT_FALSE(TryOpen(dir.DefaultOptions(), "").ok());
}

}  // namespace
}  // namespace vellum
