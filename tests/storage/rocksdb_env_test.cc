// Copyright (c) Vellum authors.

#include "storage/rocksdb_env.h"

#include <gtest/gtest.h>
#include <rocksdb/db.h>
#include <rocksdb/env.h>
#include <rocksdb/file_system.h>
#include <rocksdb/iterator.h>
#include <rocksdb/options.h>
#include <rocksdb/system_clock.h>
#include <rocksdb/write_batch.h>
#include <stdlib.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <system_error>
#include <vector>

#include "base/fault_injection_env.h"
#include "tests/test_util.h"
#include "vellum/env.h"
#include "vellum/status.h"

namespace vellum::storage {
namespace {

// Asserts that a rocksdb::Status is OK, printing it otherwise.
#define ASSERT_ROCKS_OK(expr)                                 \
  do {                                                        \
    const ::rocksdb::Status rs_ = (expr);                     \
    ASSERT_TRUE(rs_.ok()) << #expr << ": " << rs_.ToString(); \
  } while (false)
#define EXPECT_ROCKS_OK(expr)                                 \
  do {                                                        \
    const ::rocksdb::Status rs_ = (expr);                     \
    EXPECT_TRUE(rs_.ok()) << #expr << ": " << rs_.ToString(); \
  } while (false)

using Oracle = std::map<std::string, std::string>;

rocksdb::Options TestOptions(rocksdb::Env* env) {
  rocksdb::Options options;
  options.env = env;
  options.create_if_missing = true;
  // Small buffers and files, so that a few thousand keys make several SST files and
  // the background compactions run.
  options.write_buffer_size = 64 << 10;
  options.target_file_size_base = 64 << 10;
  options.max_bytes_for_level_base = 256 << 10;
  return options;
}

Status Open(const rocksdb::Options& options, const std::string& path,
            std::unique_ptr<rocksdb::DB>* db) {
  db->reset();
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(options, path, &raw);
  db->reset(raw);
  return FromRocksStatus(s, "opening " + path);
}

// Everything in the database, by a forward iteration.
Oracle Contents(rocksdb::DB* db) {
  Oracle out;
  std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions()));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    out.emplace(it->key().ToString(), it->value().ToString());
  }
  EXPECT_ROCKS_OK(it->status());
  return out;
}

std::string Key(uint64_t n) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "key%08llu", static_cast<unsigned long long>(n));
  return buf;
}

std::string RandomValue(std::mt19937_64& rng) {
  std::string v(rng() % 300, '\0');
  for (char& c : v) c = static_cast<char>(rng());
  return v;
}

// --- the same workload on three Envs ---------------------------------------------------

enum class EnvKind { kMem, kFault, kPosix };

std::string KindName(const ::testing::TestParamInfo<EnvKind>& info) {
  switch (info.param) {
    case EnvKind::kMem:
      return "Mem";
    case EnvKind::kFault:
      return "FaultInjection";
    case EnvKind::kPosix:
      return "Posix";
  }
  return "?";
}

class RocksEnvOnEnvTest : public ::testing::TestWithParam<EnvKind> {
 protected:
  void SetUp() override {
    switch (GetParam()) {
      case EnvKind::kMem:
        mem_ = NewMemEnv(7);
        env_ = mem_.get();
        dir_ = "/rocks";
        break;
      case EnvKind::kFault:
        mem_ = NewMemEnv(7);
        fault_ = std::make_unique<FaultInjectionEnv>(mem_.get(), 11);
        env_ = fault_.get();
        dir_ = "/rocks";
        break;
      case EnvKind::kPosix: {
        env_ = Env::Default();
        std::string tmpl =
            (std::filesystem::path(::testing::TempDir()) / "vellum_rocks_env_XXXXXX").string();
        ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
        posix_root_ = tmpl;
        dir_ = tmpl + "/db";
        break;
      }
    }
    rocks_env_ = NewRocksEnvOnVellumEnv(env_);
  }

  void TearDown() override {
    if (!posix_root_.empty()) {
      std::error_code ec;
      std::filesystem::remove_all(posix_root_, ec);
    }
  }

  std::unique_ptr<Env> mem_;
  std::unique_ptr<FaultInjectionEnv> fault_;
  Env* env_ = nullptr;
  std::string posix_root_;
  std::string dir_;
  std::unique_ptr<rocksdb::Env> rocks_env_;
};

INSTANTIATE_TEST_SUITE_P(RocksEnv, RocksEnvOnEnvTest,
                         ::testing::Values(EnvKind::kMem, EnvKind::kFault, EnvKind::kPosix),
                         KindName);

// Random puts, deletes and batches against a std::map oracle; forced flush and
// compaction; then close, reopen and compare everything again.
TEST_P(RocksEnvOnEnvTest, MatchesOracleThroughFlushCompactionAndReopen) {
  const uint64_t seed = 0x5eed0000 + static_cast<uint64_t>(GetParam());
  SCOPED_TRACE(::testing::Message() << "seed " << seed);
  std::mt19937_64 rng(seed);
  const rocksdb::Options options = TestOptions(rocks_env_.get());

  std::unique_ptr<rocksdb::DB> db;
  ASSERT_OK(Open(options, dir_, &db));
  Oracle oracle;
  constexpr int kOps = 4000;
  constexpr uint64_t kKeySpace = 2500;
  for (int i = 0; i < kOps; ++i) {
    const uint64_t r = rng() % 100;
    if (r < 70) {
      const std::string k = Key(rng() % kKeySpace);
      const std::string v = RandomValue(rng);
      ASSERT_ROCKS_OK(db->Put(rocksdb::WriteOptions(), k, v));
      oracle[k] = v;
    } else if (r < 85) {
      const std::string k = Key(rng() % kKeySpace);
      ASSERT_ROCKS_OK(db->Delete(rocksdb::WriteOptions(), k));
      oracle.erase(k);
    } else {
      rocksdb::WriteBatch batch;
      const int n = 1 + static_cast<int>(rng() % 10);
      for (int j = 0; j < n; ++j) {
        const std::string k = Key(rng() % kKeySpace);
        if (rng() % 4 == 0) {
          ASSERT_ROCKS_OK(batch.Delete(k));
          oracle.erase(k);
        } else {
          const std::string v = RandomValue(rng);
          ASSERT_ROCKS_OK(batch.Put(k, v));
          oracle[k] = v;
        }
      }
      ASSERT_ROCKS_OK(db->Write(rocksdb::WriteOptions(), &batch));
    }
    if (i == kOps / 2) ASSERT_ROCKS_OK(db->Flush(rocksdb::FlushOptions()));
  }

  auto check = [&](const char* when) {
    SCOPED_TRACE(when);
    EXPECT_EQ(Contents(db.get()), oracle);
    for (uint64_t n = 0; n < kKeySpace; n += 7) {
      std::string value;
      rocksdb::Status s = db->Get(rocksdb::ReadOptions(), Key(n), &value);
      auto it = oracle.find(Key(n));
      if (it == oracle.end()) {
        EXPECT_TRUE(s.IsNotFound()) << Key(n) << ": " << s.ToString();
      } else {
        ASSERT_ROCKS_OK(s);
        EXPECT_EQ(value, it->second) << Key(n);
      }
    }
    // A bounded range scan from the middle.
    std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions()));
    auto expected = oracle.lower_bound(Key(kKeySpace / 2));
    for (it->Seek(Key(kKeySpace / 2)); it->Valid() && expected != oracle.end();
         it->Next(), ++expected) {
      ASSERT_EQ(it->key().ToString(), expected->first);
    }
    EXPECT_EQ(it->Valid(), expected != oracle.end());
  };

  check("before compaction");
  ASSERT_ROCKS_OK(db->Flush(rocksdb::FlushOptions()));
  rocksdb::CompactRangeOptions compact;
  compact.bottommost_level_compaction = rocksdb::BottommostLevelCompaction::kForce;
  ASSERT_ROCKS_OK(db->CompactRange(compact, nullptr, nullptr));
  check("after compaction");

  ASSERT_ROCKS_OK(db->Close());
  db.reset();
  ASSERT_OK(Open(options, dir_, &db));
  check("after reopen");

  // Unflushed writes (only in the WAL) survive a clean reopen too.
  ASSERT_ROCKS_OK(db->Put(rocksdb::WriteOptions(), "wal-only", "v"));
  oracle["wal-only"] = "v";
  ASSERT_ROCKS_OK(db->Close());
  db.reset();
  ASSERT_OK(Open(options, dir_, &db));
  check("after reopen with WAL replay");
  ASSERT_ROCKS_OK(db->Close());
}

TEST_P(RocksEnvOnEnvTest, SecondOpenOfTheSameDbIsUnavailable) {
  const rocksdb::Options options = TestOptions(rocks_env_.get());
  std::unique_ptr<rocksdb::DB> db;
  ASSERT_OK(Open(options, dir_, &db));
  std::unique_ptr<rocksdb::DB> second;
  Status s = Open(options, dir_, &second);
  EXPECT_TRUE(s.IsUnavailable()) << s.ToString();
  EXPECT_EQ(second, nullptr);
  ASSERT_ROCKS_OK(db->Close());
  db.reset();
  // The lock is released on close.
  ASSERT_OK(Open(options, dir_, &db));
  ASSERT_ROCKS_OK(db->Close());
}

TEST_P(RocksEnvOnEnvTest, OpeningAMissingDbWithoutCreateIsAnError) {
  rocksdb::Options options = TestOptions(rocks_env_.get());
  options.create_if_missing = false;
  std::unique_ptr<rocksdb::DB> db;
  Status s = Open(options, dir_, &db);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find(dir_), std::string::npos) << s.ToString();
}

// --- the in-memory Env really holds the database ----------------------------------------

TEST(RocksEnv, MemEnvHoldsTheFiles) {
  std::unique_ptr<Env> mem = NewMemEnv(1);
  std::unique_ptr<rocksdb::Env> rocks_env = NewRocksEnvOnVellumEnv(mem.get());
  // A path that does not exist on the real disk, so a fall-through to POSIX would fail.
  const std::string dir = "/vellum-rocks-env-test-not-on-disk/db";
  ASSERT_FALSE(std::filesystem::exists("/vellum-rocks-env-test-not-on-disk"));

  rocksdb::Options options = TestOptions(rocks_env.get());
  std::unique_ptr<rocksdb::DB> db;
  ASSERT_OK(Open(options, dir, &db));
  ASSERT_ROCKS_OK(db->Put(rocksdb::WriteOptions(), "k", "v"));
  ASSERT_ROCKS_OK(db->Flush(rocksdb::FlushOptions()));
  ASSERT_ROCKS_OK(db->Put(rocksdb::WriteOptions(), "k2", "v2"));

  std::vector<std::string> names;
  ASSERT_OK(mem->GetChildren(dir, &names));
  auto has = [&](auto pred) { return std::any_of(names.begin(), names.end(), pred); };
  auto ends_with = [](const std::string& s, const std::string& suffix) {
    return s.size() >= suffix.size() &&
           s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
  };
  ::testing::Message listing;
  for (const std::string& n : names) listing << n << " ";
  SCOPED_TRACE(listing);
  EXPECT_TRUE(has([](const std::string& n) { return n == "CURRENT"; }));
  EXPECT_TRUE(has([](const std::string& n) { return n == "LOCK"; }));
  EXPECT_TRUE(has([](const std::string& n) { return n == "IDENTITY"; }));
  EXPECT_TRUE(has([](const std::string& n) { return n.rfind("MANIFEST-", 0) == 0; }));
  EXPECT_TRUE(has([&](const std::string& n) { return ends_with(n, ".log"); }));
  EXPECT_TRUE(has([&](const std::string& n) { return ends_with(n, ".sst"); }));

  // The info LOG goes through our Env too.
  std::string log;
  ASSERT_OK(ReadFileToString(mem.get(), dir + "/LOG", &log));
  EXPECT_NE(log.find("RocksDB version"), std::string::npos);
  EXPECT_FALSE(std::filesystem::exists("/vellum-rocks-env-test-not-on-disk"));
  ASSERT_ROCKS_OK(db->Close());
}

TEST(RocksEnv, ClockComesFromTheEnv) {
  std::unique_ptr<Env> mem = NewMemEnv(1);
  std::unique_ptr<rocksdb::Env> rocks_env = NewRocksEnvOnVellumEnv(mem.get());
  const std::shared_ptr<rocksdb::SystemClock>& clock = rocks_env->GetSystemClock();

  AdvanceMemEnvClock(mem.get(), 1'700'000'000'000'000);  // Some time in 2023.
  EXPECT_EQ(clock->NowMicros(), mem->NowMicros());
  EXPECT_EQ(rocks_env->NowMicros(), mem->NowMicros());
  EXPECT_EQ(clock->NowNanos(), mem->NowMicros() * 1000);
  int64_t unix_time = 0;
  ASSERT_ROCKS_OK(clock->GetCurrentTime(&unix_time));
  EXPECT_EQ(unix_time, 1'700'000'000);

  // Sleeping moves the MemEnv clock (and returns at once).
  const uint64_t before = mem->NowMicros();
  clock->SleepForMicroseconds(2500);
  EXPECT_EQ(mem->NowMicros(), before + 2500);
  rocks_env->SleepForMicroseconds(500);
  EXPECT_EQ(mem->NowMicros(), before + 3000);
}

TEST(RocksEnv, RocksDbUsesTheEnvClock) {
  std::unique_ptr<Env> mem = NewMemEnv(1);
  AdvanceMemEnvClock(mem.get(), 123456789);
  std::unique_ptr<rocksdb::Env> rocks_env = NewRocksEnvOnVellumEnv(mem.get());
  const rocksdb::Options options = TestOptions(rocks_env.get());
  for (int i = 0; i < 2; ++i) {
    std::unique_ptr<rocksdb::DB> db;
    ASSERT_OK(Open(options, "/db", &db));
    ASSERT_ROCKS_OK(db->Close());
  }
  // RocksDB names the previous info log after its clock's NowMicros.
  EXPECT_OK(mem->FileExists("/db/LOG.old.123456789"));
}

// The file system directly, for what a database run does not show.
TEST(RocksEnv, FileSystemTranslatesEachCall) {
  std::unique_ptr<Env> mem = NewMemEnv(1);
  AdvanceMemEnvClock(mem.get(), 5'000'000);
  std::unique_ptr<rocksdb::Env> rocks_env = NewRocksEnvOnVellumEnv(mem.get());
  rocksdb::FileSystem* fs = rocks_env->GetFileSystem().get();
  const rocksdb::IOOptions io;
  const rocksdb::FileOptions fo;
  ASSERT_ROCKS_OK(fs->CreateDirIfMissing("/d/sub", io, nullptr));

  // Write, reopen for append, read back sequentially and at offsets.
  {
    std::unique_ptr<rocksdb::FSWritableFile> f;
    ASSERT_ROCKS_OK(fs->NewWritableFile("/d//f", fo, &f, nullptr));  // "//" is one "/".
    ASSERT_ROCKS_OK(f->Append("hello ", io, nullptr));
    ASSERT_ROCKS_OK(f->Sync(io, nullptr));
    EXPECT_EQ(f->GetFileSize(io, nullptr), 6u);
    EXPECT_TRUE(f->PositionedAppend("x", 6, io, nullptr).IsNotSupported());
    ASSERT_ROCKS_OK(f->Close(io, nullptr));
    ASSERT_ROCKS_OK(fs->ReopenWritableFile("/d/f", fo, &f, nullptr));
    EXPECT_EQ(f->GetFileSize(io, nullptr), 6u);
    ASSERT_ROCKS_OK(f->Append("world", io, nullptr));
    ASSERT_ROCKS_OK(f->Fsync(io, nullptr));
    ASSERT_ROCKS_OK(f->Close(io, nullptr));
  }
  {
    std::unique_ptr<rocksdb::FSSequentialFile> f;
    ASSERT_ROCKS_OK(fs->NewSequentialFile("/d/f", fo, &f, nullptr));
    char scratch[64];
    rocksdb::Slice result;
    ASSERT_ROCKS_OK(f->Skip(1));
    ASSERT_ROCKS_OK(f->Read(4, io, &result, scratch, nullptr));
    EXPECT_EQ(result.ToString(), "ello");
    EXPECT_EQ(result.data(), scratch);
    ASSERT_ROCKS_OK(f->Read(64, io, &result, scratch, nullptr));
    EXPECT_EQ(result.ToString(), " world");
    ASSERT_ROCKS_OK(f->Read(64, io, &result, scratch, nullptr));
    EXPECT_TRUE(result.empty());
  }
  {
    std::unique_ptr<rocksdb::FSRandomAccessFile> f;
    ASSERT_ROCKS_OK(fs->NewRandomAccessFile("/d/f", fo, &f, nullptr));
    char scratch[64];
    rocksdb::Slice result;
    ASSERT_ROCKS_OK(f->Read(6, 5, io, &result, scratch, nullptr));
    EXPECT_EQ(result.ToString(), "world");
    EXPECT_EQ(result.data(), scratch);
    ASSERT_ROCKS_OK(f->Read(8, 100, io, &result, scratch, nullptr));
    EXPECT_EQ(result.ToString(), "rld");
    ASSERT_ROCKS_OK(f->Read(100, 4, io, &result, scratch, nullptr));
    EXPECT_TRUE(result.empty());
  }

  uint64_t size = 0;
  ASSERT_ROCKS_OK(fs->GetFileSize("/d/f", io, &size, nullptr));
  EXPECT_EQ(size, 11u);
  ASSERT_ROCKS_OK(fs->Truncate("/d/f", 5, io, nullptr));
  ASSERT_ROCKS_OK(fs->GetFileSize("/d/f", io, &size, nullptr));
  EXPECT_EQ(size, 5u);
  uint64_t mtime = 0;
  ASSERT_ROCKS_OK(fs->GetFileModificationTime("/d/f", io, &mtime, nullptr));
  EXPECT_EQ(mtime, 5u);  // The Env's wall clock, in seconds, at the call.

  // Listing, with attributes (a subdirectory has size 0).
  std::vector<std::string> names;
  ASSERT_ROCKS_OK(fs->GetChildren("/d", io, &names, nullptr));
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{"f", "sub"}));
  std::vector<rocksdb::FileAttributes> attributes;
  ASSERT_ROCKS_OK(fs->GetChildrenFileAttributes("/d", io, &attributes, nullptr));
  ASSERT_EQ(attributes.size(), 2u);
  for (const rocksdb::FileAttributes& a : attributes) {
    EXPECT_EQ(a.size_bytes, a.name == "f" ? 5u : 0u) << a.name;
  }
  bool is_dir = false;
  ASSERT_ROCKS_OK(fs->IsDirectory("/d/sub", io, &is_dir, nullptr));
  EXPECT_TRUE(is_dir);
  ASSERT_ROCKS_OK(fs->IsDirectory("/d/f", io, &is_dir, nullptr));
  EXPECT_FALSE(is_dir);

  // Rename, reuse (rename + truncate), delete.
  ASSERT_ROCKS_OK(fs->RenameFile("/d/f", "/d/g", io, nullptr));
  EXPECT_TRUE(fs->FileExists("/d/f", io, nullptr).IsNotFound());
  {
    std::unique_ptr<rocksdb::FSWritableFile> f;
    ASSERT_ROCKS_OK(fs->ReuseWritableFile("/d/h", "/d/g", fo, &f, nullptr));
    EXPECT_EQ(f->GetFileSize(io, nullptr), 0u);
    ASSERT_ROCKS_OK(f->Close(io, nullptr));
  }
  EXPECT_TRUE(fs->FileExists("/d/g", io, nullptr).IsNotFound());
  ASSERT_ROCKS_OK(fs->FileExists("/d/h", io, nullptr));
  ASSERT_ROCKS_OK(fs->DeleteFile("/d/h", io, nullptr));
  ASSERT_ROCKS_OK(fs->DeleteDir("/d/sub", io, nullptr));

  // Directories: Fsync reaches SyncDir; a missing one cannot be opened.
  std::unique_ptr<rocksdb::FSDirectory> dir;
  ASSERT_ROCKS_OK(fs->NewDirectory("/d", io, &dir, nullptr));
  ASSERT_ROCKS_OK(dir->Fsync(io, nullptr));
  ASSERT_ROCKS_OK(dir->Close(io, nullptr));
  EXPECT_FALSE(fs->NewDirectory("/missing", io, &dir, nullptr).ok());
  ASSERT_ROCKS_OK(fs->CreateDir("/d/new", io, nullptr));
  EXPECT_FALSE(fs->CreateDir("/d/new", io, nullptr).ok());

  // Missing paths: NotFound from FileExists and GetChildren, "path not found" elsewhere.
  EXPECT_TRUE(fs->FileExists("/nope", io, nullptr).IsNotFound());
  EXPECT_TRUE(fs->GetChildren("/nope", io, &names, nullptr).IsNotFound());
  EXPECT_TRUE(fs->GetFileSize("/nope", io, &size, nullptr).IsPathNotFound());
  EXPECT_TRUE(fs->DeleteFile("/nope", io, nullptr).IsPathNotFound());
  std::unique_ptr<rocksdb::FSSequentialFile> seq;
  EXPECT_TRUE(fs->NewSequentialFile("/nope", fo, &seq, nullptr).IsPathNotFound());
  EXPECT_TRUE(fs->GetFileModificationTime("/nope", io, &mtime, nullptr).IsPathNotFound());

  // Locks: exclusive until unlocked.
  rocksdb::FileLock* lock = nullptr;
  ASSERT_ROCKS_OK(fs->LockFile("/d/LOCK", io, &lock, nullptr));
  rocksdb::FileLock* second = nullptr;
  EXPECT_TRUE(fs->LockFile("/d/LOCK", io, &second, nullptr).IsBusy());
  EXPECT_EQ(second, nullptr);
  ASSERT_ROCKS_OK(fs->UnlockFile(lock, io, nullptr));
  ASSERT_ROCKS_OK(fs->LockFile("/d/LOCK", io, &lock, nullptr));
  ASSERT_ROCKS_OK(fs->UnlockFile(lock, io, nullptr));

  // Paths as given; what a vellum::Env cannot do is NotSupported.
  std::string path;
  ASSERT_ROCKS_OK(fs->GetAbsolutePath("/d/x/", io, &path, nullptr));
  EXPECT_EQ(path, "/d/x");
  ASSERT_ROCKS_OK(fs->GetAbsolutePath("rel/db", io, &path, nullptr));
  EXPECT_EQ(path, "rel/db");
  EXPECT_TRUE(fs->LinkFile("/d/LOCK", "/d/L2", io, nullptr).IsNotSupported());
  rocksdb::FileOptions direct;
  direct.use_direct_reads = true;
  std::unique_ptr<rocksdb::FSRandomAccessFile> raf;
  EXPECT_TRUE(fs->NewRandomAccessFile("/d/LOCK", direct, &raf, nullptr).IsNotSupported());
  rocksdb::FileOptions mmap_writes;
  mmap_writes.use_mmap_writes = true;
  std::unique_ptr<rocksdb::FSWritableFile> wf;
  EXPECT_TRUE(fs->NewWritableFile("/d/m", mmap_writes, &wf, nullptr).IsNotSupported());
  ASSERT_ROCKS_OK(fs->GetTestDirectory(io, &path, nullptr));
  EXPECT_OK(mem->FileExists(path));

  // The info logger writes through the Env.
  std::shared_ptr<rocksdb::Logger> logger;
  ASSERT_ROCKS_OK(fs->NewLogger("/d/LOG", io, &logger, nullptr));
  rocksdb::Log(rocksdb::InfoLogLevel::WARN_LEVEL, logger, "answer %d", 42);
  const std::string long_line(2000, 'x');  // Longer than the logger's stack buffer.
  rocksdb::Log(rocksdb::InfoLogLevel::WARN_LEVEL, logger, "%s!", long_line.c_str());
  EXPECT_GT(logger->GetLogFileSize(), 0u);
  ASSERT_ROCKS_OK(logger->Close());
  std::string log;
  ASSERT_OK(ReadFileToString(mem.get(), "/d/LOG", &log));
  EXPECT_NE(log.find("1970/01/01-00:00:05.000000"), std::string::npos) << log;
  EXPECT_NE(log.find("answer 42\n"), std::string::npos) << log;
  EXPECT_NE(log.find(long_line + "!\n"), std::string::npos);
}

TEST(RocksEnv, StatusesMapByTheCallersNextStep) {
  EXPECT_TRUE(FromRocksStatus(rocksdb::Status::OK(), "x").ok());
  EXPECT_TRUE(FromRocksStatus(rocksdb::Status::NotFound("m"), "x").IsNotFound());
  EXPECT_TRUE(FromRocksStatus(rocksdb::Status::PathNotFound("m"), "x").IsNotFound());
  EXPECT_TRUE(FromRocksStatus(rocksdb::Status::Corruption("m"), "x").IsCorruption());
  EXPECT_TRUE(FromRocksStatus(rocksdb::Status::IOError("m"), "x").IsIOError());
  EXPECT_TRUE(FromRocksStatus(rocksdb::Status::Busy("m"), "x").IsUnavailable());
  EXPECT_TRUE(FromRocksStatus(rocksdb::Status::TryAgain("m"), "x").IsUnavailable());
  EXPECT_TRUE(FromRocksStatus(rocksdb::Status::TimedOut("m"), "x").IsUnavailable());
  EXPECT_TRUE(FromRocksStatus(rocksdb::Status::InvalidArgument("m"), "x").IsInvalidArgument());
  EXPECT_TRUE(FromRocksStatus(rocksdb::Status::NotSupported("m"), "x").IsNotSupported());
  EXPECT_TRUE(FromRocksStatus(rocksdb::Status::Aborted("m"), "x").IsIOError());
  EXPECT_TRUE(FromRocksStatus(rocksdb::Status::Incomplete("m"), "x").IsIOError());
  const Status s = FromRocksStatus(rocksdb::Status::Corruption("bad block"), "reading /db/1.sst");
  EXPECT_EQ(s.message().rfind("reading /db/1.sst: ", 0), 0u) << s.ToString();
  EXPECT_NE(s.message().find("bad block"), std::string::npos) << s.ToString();

  EXPECT_TRUE(ToRocksIOStatus(Status::OK()).ok());
  EXPECT_TRUE(ToRocksIOStatus(Status::NotFound("m")).IsPathNotFound());
  EXPECT_TRUE(ToRocksIOStatus(Status::Corruption("m")).IsCorruption());
  EXPECT_TRUE(ToRocksIOStatus(Status::Unavailable("m")).IsBusy());
  EXPECT_TRUE(ToRocksIOStatus(Status::InvalidArgument("m")).IsInvalidArgument());
  EXPECT_TRUE(ToRocksIOStatus(Status::NotSupported("m")).IsNotSupported());
  const rocksdb::IOStatus full = ToRocksIOStatus(Status::ResourceExhausted("disk full"));
  EXPECT_TRUE(full.IsIOError());
  EXPECT_FALSE(full.IsNoSpace());
  EXPECT_FALSE(full.GetRetryable());
  EXPECT_NE(full.ToString().find("ResourceExhausted"), std::string::npos) << full.ToString();
}

// --- crashes ------------------------------------------------------------------------

// Batch i puts `Size(i)` keys "b<i>-<j>" and sets the shared key "last" to i, so a
// recovered state shows both which batches survived and whether any survived in part.
class RocksEnvCrashTest : public ::testing::TestWithParam<bool> {
 protected:
  static constexpr const char* kDir = "/crash/db";

  static size_t Size(int i) { return 1 + static_cast<size_t>(i * 7) % 13; }
  static std::string BatchKey(int i, size_t j) {
    return "b" + std::to_string(i) + "-" + std::to_string(j);
  }
  static std::string BatchValue(int i, size_t j) {
    return std::string(20 + (i + j) % 50, static_cast<char>('a' + (i + j) % 26));
  }

  static rocksdb::WriteBatch MakeBatch(int i) {
    rocksdb::WriteBatch batch;
    for (size_t j = 0; j < Size(i); ++j) {
      EXPECT_ROCKS_OK(batch.Put(BatchKey(i, j), BatchValue(i, j)));
    }
    EXPECT_ROCKS_OK(batch.Put("last", std::to_string(i)));
    return batch;
  }

  // How many of batch i's keys are present with the right value (-1: a wrong value).
  static int Present(rocksdb::DB* db, int i) {
    int present = 0;
    for (size_t j = 0; j < Size(i); ++j) {
      std::string value;
      rocksdb::Status s = db->Get(rocksdb::ReadOptions(), BatchKey(i, j), &value);
      if (s.IsNotFound()) continue;
      EXPECT_TRUE(s.ok()) << s.ToString();
      if (value != BatchValue(i, j)) return -1;
      ++present;
    }
    return present;
  }

  // Writes `n` batches on a fresh database, crashes (power loss while the DB is
  // open: its shutdown writes fail), recovers and reopens. Returns the reopened DB.
  void WriteCrashReopen(uint64_t seed, bool torn, bool sync, int n, int flush_at,
                        std::unique_ptr<rocksdb::DB>* reopened) {
    mem_ = NewMemEnv(seed);
    fault_ = std::make_unique<FaultInjectionEnv>(mem_.get(), seed);
    fault_->SetTornWrites(torn);
    rocks_env_ = NewRocksEnvOnVellumEnv(fault_.get());
    const rocksdb::Options options = TestOptions(rocks_env_.get());
    ASSERT_OK(mem_->CreateDirIfMissing("/crash"));

    std::unique_ptr<rocksdb::DB> db;
    ASSERT_OK(Open(options, kDir, &db));
    rocksdb::WriteOptions write_options;
    write_options.sync = sync;
    for (int i = 0; i < n; ++i) {
      rocksdb::WriteBatch batch = MakeBatch(i);
      ASSERT_ROCKS_OK(db->Write(write_options, &batch));
      if (i == flush_at) ASSERT_ROCKS_OK(db->Flush(rocksdb::FlushOptions()));
    }

    // Power loss: an unacknowledged batch is in flight, then the process dies.
    fault_->SetFilesystemActive(false);
    rocksdb::WriteBatch doomed = MakeBatch(n);
    EXPECT_FALSE(db->Write(write_options, &doomed).ok());
    db.reset();
    fault_->SetFilesystemActive(true);
    ASSERT_OK(fault_->DropUnsyncedData());

    ASSERT_OK(Open(options, kDir, reopened));
  }

  std::unique_ptr<Env> mem_;
  std::unique_ptr<FaultInjectionEnv> fault_;
  std::unique_ptr<rocksdb::Env> rocks_env_;
};

std::string TornName(const ::testing::TestParamInfo<bool>& param_info) {
  return param_info.param ? "TornWrites" : "CleanCuts";
}

INSTANTIATE_TEST_SUITE_P(RocksEnv, RocksEnvCrashTest, ::testing::Bool(), TornName);

TEST_P(RocksEnvCrashTest, EveryAcknowledgedSyncedBatchSurvivesPowerLoss) {
  for (uint64_t seed = 1; seed <= 12; ++seed) {
    SCOPED_TRACE(::testing::Message() << "seed " << seed);
    std::mt19937_64 rng(seed);
    const int n = 1 + static_cast<int>(rng() % 40);
    const int flush_at = rng() % 2 == 0 ? static_cast<int>(rng() % n) : -1;
    std::unique_ptr<rocksdb::DB> db;
    ASSERT_NO_FATAL_FAILURE(WriteCrashReopen(seed, GetParam(), /*sync=*/true, n, flush_at, &db));
    for (int i = 0; i < n; ++i) {
      EXPECT_EQ(Present(db.get(), i), static_cast<int>(Size(i))) << "batch " << i;
    }
    // The unacknowledged batch is all or nothing.
    const int doomed = Present(db.get(), n);
    EXPECT_TRUE(doomed == 0 || doomed == static_cast<int>(Size(n))) << doomed;
    std::string last;
    ASSERT_ROCKS_OK(db->Get(rocksdb::ReadOptions(), "last", &last));
    EXPECT_EQ(last, std::to_string(doomed == 0 ? n - 1 : n));
    ASSERT_ROCKS_OK(db->Close());
  }
}

TEST_P(RocksEnvCrashTest, UnsyncedBatchesRecoverToAPrefixOfWholeBatches) {
  int lost_some = 0;
  for (uint64_t seed = 1; seed <= 12; ++seed) {
    SCOPED_TRACE(::testing::Message() << "seed " << seed);
    std::mt19937_64 rng(seed * 1000);
    const int n = 1 + static_cast<int>(rng() % 40);
    const int flush_at = rng() % 2 == 0 ? static_cast<int>(rng() % n) : -1;
    std::unique_ptr<rocksdb::DB> db;
    ASSERT_NO_FATAL_FAILURE(WriteCrashReopen(seed, GetParam(), /*sync=*/false, n, flush_at, &db));
    // Batches 0..k-1 whole, k..n absent.
    int k = 0;
    while (k <= n && Present(db.get(), k) == static_cast<int>(Size(k))) ++k;
    for (int i = k; i <= n; ++i) EXPECT_EQ(Present(db.get(), i), 0) << "batch " << i << " of " << n;
    // Everything up to a flush was made durable by the flush.
    if (flush_at >= 0) {
      EXPECT_GT(k, flush_at);
    }
    std::string last;
    rocksdb::Status s = db->Get(rocksdb::ReadOptions(), "last", &last);
    if (k == 0) {
      EXPECT_TRUE(s.IsNotFound()) << s.ToString();
    } else {
      ASSERT_ROCKS_OK(s);
      EXPECT_EQ(last, std::to_string(k - 1));
    }
    if (k < n) ++lost_some;
    ASSERT_ROCKS_OK(db->Close());
  }
  // Otherwise the test would not be testing a loss.
  EXPECT_GT(lost_some, 0);
}

// A failed WAL sync is reported to the writer; the DB stops accepting writes, and
// after a crash the failed batch is all or nothing.
TEST(RocksEnv, FailedSyncIsReportedAndBatchStaysAtomic) {
  std::unique_ptr<Env> mem = NewMemEnv(3);
  FaultInjectionEnv fault(mem.get(), 3);
  std::unique_ptr<rocksdb::Env> rocks_env = NewRocksEnvOnVellumEnv(&fault);
  const rocksdb::Options options = TestOptions(rocks_env.get());
  std::unique_ptr<rocksdb::DB> db;
  ASSERT_OK(Open(options, "/db", &db));
  rocksdb::WriteOptions sync;
  sync.sync = true;
  ASSERT_ROCKS_OK(db->Put(sync, "a", "1"));

  fault.FailNthSync(1);
  rocksdb::WriteBatch batch;
  ASSERT_ROCKS_OK(batch.Put("b", "2"));
  ASSERT_ROCKS_OK(batch.Put("c", "3"));
  const Status s = FromRocksStatus(db->Write(sync, &batch), "writing batch");
  EXPECT_TRUE(s.IsIOError()) << s.ToString();
  EXPECT_NE(s.message().find("injected"), std::string::npos) << s.ToString();

  fault.SetFilesystemActive(false);
  db.reset();
  fault.SetFilesystemActive(true);
  ASSERT_OK(fault.DropUnsyncedData());
  ASSERT_OK(Open(options, "/db", &db));
  std::string value;
  ASSERT_ROCKS_OK(db->Get(rocksdb::ReadOptions(), "a", &value));
  EXPECT_EQ(value, "1");
  const bool b = db->Get(rocksdb::ReadOptions(), "b", &value).ok();
  const bool c = db->Get(rocksdb::ReadOptions(), "c", &value).ok();
  EXPECT_EQ(b, c);
  ASSERT_ROCKS_OK(db->Close());
}

}  // namespace
}  // namespace vellum::storage
