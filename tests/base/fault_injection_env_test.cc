// Copyright (c) Vellum authors.

#include "base/fault_injection_env.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "tests/test_util.h"
#include "vellum/env.h"
#include "vellum/status.h"

namespace vellum {
namespace {

// An IOError whose message says it was injected and contains `text`.
#define EXPECT_INJECTED(expr, text)                                               \
  do {                                                                            \
    const ::vellum::Status s_ = (expr);                                           \
    EXPECT_TRUE(s_.IsIOError()) << #expr << ": " << s_.ToString();                \
    EXPECT_NE(s_.message().find("injected"), std::string::npos) << s_.ToString(); \
    EXPECT_NE(s_.message().find(text), std::string::npos) << s_.ToString();       \
  } while (false)

std::string Pattern(size_t n, uint32_t salt = 0) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>((i * 131 + i / 251 + salt) & 0xff);
  return s;
}

class FaultInjectionEnvTest : public ::testing::Test {
 protected:
  FaultInjectionEnvTest()
      : base_(NewMemEnv(0)), env_(std::make_unique<FaultInjectionEnv>(base_.get(), 1)) {}

  void SetUp() override { ASSERT_OK(env_->CreateDirIfMissing(kDir)); }

  static std::string Path(const std::string& name) { return std::string(kDir) + "/" + name; }

  std::unique_ptr<WritableFile> Open(const std::string& name) {
    std::unique_ptr<WritableFile> file;
    Status s = env_->NewWritableFile(Path(name), &file);
    EXPECT_TRUE(s.ok()) << s.ToString();
    return file;
  }

  // A file whose contents and name are durable.
  void WriteDurable(const std::string& name, const std::string& data) {
    ASSERT_OK(WriteStringToFile(env_.get(), data, Path(name), /*sync=*/true));
    ASSERT_OK(env_->SyncDir(kDir));
  }

  // The contents on the "disk" (the base Env); "<missing>" if there is no such file.
  std::string Contents(const std::string& name) {
    std::string data;
    Status s = ReadFileToString(base_.get(), Path(name), &data);
    if (s.IsNotFound()) return "<missing>";
    EXPECT_TRUE(s.ok()) << s.ToString();
    return data;
  }

  static constexpr const char* kDir = "/db";
  std::unique_ptr<Env> base_;
  std::unique_ptr<FaultInjectionEnv> env_;
};

// --- unsynced data ---------------------------------------------------------------------

TEST_F(FaultInjectionEnvTest, SyncedDataSurvivesAndUnsyncedTailIsDropped) {
  std::unique_ptr<WritableFile> file = Open("log");
  ASSERT_OK(env_->SyncDir(kDir));
  ASSERT_OK(file->Append("durable-"));
  ASSERT_OK(file->Sync());
  ASSERT_OK(file->Append("lost"));
  ASSERT_OK(file->Flush());
  EXPECT_EQ(Contents("log"), "durable-lost");  // Reached the base Env...
  ASSERT_OK(env_->DropUnsyncedData());
  EXPECT_EQ(Contents("log"), "durable-");  // ...but was never synced.
}

TEST_F(FaultInjectionEnvTest, NothingSyncedLeavesAnEmptyFile) {
  std::unique_ptr<WritableFile> file = Open("log");
  ASSERT_OK(env_->SyncDir(kDir));
  ASSERT_OK(file->Append("never synced"));
  ASSERT_OK(file->Close());
  ASSERT_OK(env_->DropUnsyncedData());
  EXPECT_EQ(Contents("log"), "");
}

TEST_F(FaultInjectionEnvTest, FilesNotWrittenThroughTheEnvAreUntouched) {
  ASSERT_OK(WriteStringToFile(base_.get(), "outside", Path("other"), false));
  std::unique_ptr<WritableFile> file = Open("log");
  ASSERT_OK(file->Append("x"));
  ASSERT_OK(env_->DropUnsyncedData());
  EXPECT_EQ(Contents("other"), "outside");
}

TEST_F(FaultInjectionEnvTest, FileNeverDirSyncedVanishesDirSyncedOneStays) {
  WriteDurable("kept", "k");
  // Data synced, but the new name never made durable.
  ASSERT_OK(WriteStringToFile(env_.get(), "data", Path("vanishes"), /*sync=*/true));
  ASSERT_OK(env_->DropUnsyncedData());
  EXPECT_EQ(Contents("kept"), "k");
  EXPECT_EQ(Contents("vanishes"), "<missing>");
}

TEST_F(FaultInjectionEnvTest, OnlyTheParentDirectorySyncCounts) {
  ASSERT_OK(env_->CreateDir(Path("sub")));
  ASSERT_OK(WriteStringToFile(env_.get(), "a", Path("sub/f"), /*sync=*/true));
  ASSERT_OK(env_->SyncDir(kDir));  // The wrong directory.
  ASSERT_OK(WriteStringToFile(env_.get(), "b", Path("sub/g"), /*sync=*/true));
  ASSERT_OK(env_->SyncDir(Path("sub/")));  // Trailing slash names the same directory.
  ASSERT_OK(WriteStringToFile(env_.get(), "c", Path("sub/h"), /*sync=*/true));
  ASSERT_OK(env_->DropUnsyncedData());
  EXPECT_EQ(Contents("sub/f"), "a");  // Covered by the later sync of sub/.
  EXPECT_EQ(Contents("sub/g"), "b");
  EXPECT_EQ(Contents("sub/h"), "<missing>");
}

TEST_F(FaultInjectionEnvTest, TrackingResetsAfterADrop) {
  std::unique_ptr<WritableFile> file = Open("log");
  ASSERT_OK(env_->SyncDir(kDir));
  ASSERT_OK(file->Append("abc"));
  ASSERT_OK(file->Sync());
  ASSERT_OK(file->Append("def"));
  ASSERT_OK(env_->DropUnsyncedData());
  EXPECT_EQ(Contents("log"), "abc");
  // What survived is durable: a second power loss changes nothing...
  ASSERT_OK(env_->DropUnsyncedData());
  EXPECT_EQ(Contents("log"), "abc");
  // ...and reopening for append counts it as synced, the new tail as not.
  ASSERT_OK(env_->NewAppendableFile(Path("log"), &file));
  EXPECT_EQ(file->Size(), 3u);
  ASSERT_OK(file->Append("ghi"));
  ASSERT_OK(env_->DropUnsyncedData());
  EXPECT_EQ(Contents("log"), "abc");
}

TEST_F(FaultInjectionEnvTest, FilesOpenAtThePowerLossStopWorking) {
  std::unique_ptr<WritableFile> file = Open("log");
  ASSERT_OK(env_->SyncDir(kDir));
  ASSERT_OK(file->Append("abc"));
  ASSERT_OK(file->Sync());
  ASSERT_OK(env_->DropUnsyncedData());
  EXPECT_INJECTED(file->Append("late"), "power loss");
  EXPECT_INJECTED(file->Sync(), "power loss");
  EXPECT_INJECTED(file->Flush(), "power loss");
  EXPECT_OK(file->Close());
  EXPECT_EQ(Contents("log"), "abc");
}

TEST_F(FaultInjectionEnvTest, TruncatingAnExistingFileIsDurableAtOnce) {
  WriteDurable("f", "old contents");
  std::unique_ptr<WritableFile> file = Open("f");
  ASSERT_OK(file->Append("new"));
  ASSERT_OK(env_->DropUnsyncedData());
  EXPECT_EQ(Contents("f"), "");
}

TEST_F(FaultInjectionEnvTest, TruncateFileShrinksDurablyButExtendsVolatilely) {
  WriteDurable("f", "0123456789");
  ASSERT_OK(env_->TruncateFile(Path("f"), 4));
  ASSERT_OK(env_->TruncateFile(Path("f"), 8));
  ASSERT_OK(env_->DropUnsyncedData());
  EXPECT_EQ(Contents("f"), "0123");
}

TEST_F(FaultInjectionEnvTest, SyncThroughAHandleFollowsTheFileAcrossARename) {
  std::unique_ptr<WritableFile> file = Open("tmp");
  ASSERT_OK(file->Append("abc"));
  ASSERT_OK(env_->RenameFile(Path("tmp"), Path("final")));
  ASSERT_OK(env_->SyncDir(kDir));
  ASSERT_OK(file->Sync());
  ASSERT_OK(file->Append("def"));
  ASSERT_OK(env_->DropUnsyncedData());
  EXPECT_EQ(Contents("final"), "abc");
  EXPECT_EQ(Contents("tmp"), "<missing>");
}

// --- renames and removals --------------------------------------------------------------

TEST_F(FaultInjectionEnvTest, RenameOverATargetWithoutDirSyncIsRolledBack) {
  WriteDurable("CURRENT", "old");
  ASSERT_OK(WriteStringToFile(env_.get(), "new", Path("CURRENT.tmp"), /*sync=*/true));
  ASSERT_OK(env_->RenameFile(Path("CURRENT.tmp"), Path("CURRENT")));
  EXPECT_EQ(Contents("CURRENT"), "new");
  ASSERT_OK(env_->DropUnsyncedData());
  EXPECT_EQ(Contents("CURRENT"), "old");
  EXPECT_EQ(Contents("CURRENT.tmp"), "<missing>");  // Its creation was never durable.
}

TEST_F(FaultInjectionEnvTest, RenameOverATargetFollowedByDirSyncIsDurable) {
  WriteDurable("CURRENT", "old");
  ASSERT_OK(WriteStringToFile(env_.get(), "new", Path("CURRENT.tmp"), /*sync=*/true));
  ASSERT_OK(env_->RenameFile(Path("CURRENT.tmp"), Path("CURRENT")));
  ASSERT_OK(env_->SyncDir(kDir));
  ASSERT_OK(env_->DropUnsyncedData());
  EXPECT_EQ(Contents("CURRENT"), "new");
  EXPECT_EQ(Contents("CURRENT.tmp"), "<missing>");
}

TEST_F(FaultInjectionEnvTest, RenamedFileKeepsOnlyItsSyncedData) {
  // Renamed and dir-synced, but the data was never synced: the name is durable, the
  // bytes are not.
  WriteDurable("CURRENT", "old");
  ASSERT_OK(WriteStringToFile(env_.get(), "new", Path("CURRENT.tmp"), /*sync=*/false));
  ASSERT_OK(env_->RenameFile(Path("CURRENT.tmp"), Path("CURRENT")));
  ASSERT_OK(env_->SyncDir(kDir));
  ASSERT_OK(env_->DropUnsyncedData());
  EXPECT_EQ(Contents("CURRENT"), "");
}

TEST_F(FaultInjectionEnvTest, RenameToAFreshNameIsRolledBack) {
  WriteDurable("a", "payload");
  ASSERT_OK(env_->RenameFile(Path("a"), Path("b")));
  ASSERT_OK(env_->DropUnsyncedData());
  EXPECT_EQ(Contents("a"), "payload");
  EXPECT_EQ(Contents("b"), "<missing>");
}

TEST_F(FaultInjectionEnvTest, SwapThroughATemporaryNameIsRolledBack) {
  WriteDurable("a", "A");
  WriteDurable("b", "B");
  ASSERT_OK(env_->RenameFile(Path("a"), Path("t")));
  ASSERT_OK(env_->RenameFile(Path("b"), Path("a")));
  ASSERT_OK(env_->RenameFile(Path("t"), Path("b")));
  EXPECT_EQ(Contents("a"), "B");
  ASSERT_OK(env_->DropUnsyncedData());
  EXPECT_EQ(Contents("a"), "A");
  EXPECT_EQ(Contents("b"), "B");
  EXPECT_EQ(Contents("t"), "<missing>");
}

TEST_F(FaultInjectionEnvTest, SwapFollowedByDirSyncIsDurable) {
  WriteDurable("a", "A");
  WriteDurable("b", "B");
  ASSERT_OK(env_->RenameFile(Path("a"), Path("t")));
  ASSERT_OK(env_->RenameFile(Path("b"), Path("a")));
  ASSERT_OK(env_->RenameFile(Path("t"), Path("b")));
  ASSERT_OK(env_->SyncDir(kDir));
  ASSERT_OK(env_->DropUnsyncedData());
  EXPECT_EQ(Contents("a"), "B");
  EXPECT_EQ(Contents("b"), "A");
}

TEST_F(FaultInjectionEnvTest, RemovalWithoutDirSyncIsRolledBack) {
  std::unique_ptr<WritableFile> file = Open("f");
  ASSERT_OK(env_->SyncDir(kDir));
  ASSERT_OK(file->Append("abc"));
  ASSERT_OK(file->Sync());
  ASSERT_OK(file->Append("def"));
  ASSERT_OK(file->Close());
  WriteDurable("g", "g");
  ASSERT_OK(env_->RemoveFile(Path("f")));
  ASSERT_OK(env_->RemoveFile(Path("g")));
  ASSERT_OK(env_->DropUnsyncedData());
  EXPECT_EQ(Contents("f"), "abc");  // Back, with its durable bytes only.
  EXPECT_EQ(Contents("g"), "g");
}

TEST_F(FaultInjectionEnvTest, RemovalFollowedByDirSyncIsDurable) {
  WriteDurable("f", "abc");
  ASSERT_OK(env_->RemoveFile(Path("f")));
  ASSERT_OK(env_->SyncDir(kDir));
  ASSERT_OK(env_->DropUnsyncedData());
  EXPECT_EQ(Contents("f"), "<missing>");
}

TEST_F(FaultInjectionEnvTest, CreateThenRemoveLeavesNothing) {
  ASSERT_OK(WriteStringToFile(env_.get(), "x", Path("f"), /*sync=*/true));
  ASSERT_OK(env_->RemoveFile(Path("f")));
  ASSERT_OK(env_->DropUnsyncedData());
  EXPECT_EQ(Contents("f"), "<missing>");
}

// --- torn writes -----------------------------------------------------------------------

// Writes 100 synced and 10000 unsynced bytes, drops, and returns what is left.
std::string TornDrop(uint64_t seed, bool torn) {
  std::unique_ptr<Env> base = NewMemEnv(0);
  FaultInjectionEnv env(base.get(), seed);
  env.SetTornWrites(torn);
  const std::string data = Pattern(10100);
  std::unique_ptr<WritableFile> file;
  EXPECT_OK(env.NewWritableFile("f", &file));
  EXPECT_OK(env.SyncDir(""));
  EXPECT_OK(file->Append(std::string_view(data).substr(0, 100)));
  EXPECT_OK(file->Sync());
  EXPECT_OK(file->Append(std::string_view(data).substr(100)));
  EXPECT_OK(env.DropUnsyncedData());
  std::string left;
  EXPECT_OK(ReadFileToString(base.get(), "f", &left));
  return left;
}

TEST(FaultInjectionEnvTornTest, DropKeepsAPrefixBetweenSyncedAndFullSize) {
  const std::string data = Pattern(10100);
  std::set<size_t> sizes;
  for (uint64_t seed = 1; seed <= 16; ++seed) {
    const std::string left = TornDrop(seed, /*torn=*/true);
    EXPECT_GE(left.size(), 100u);
    EXPECT_LE(left.size(), data.size());
    EXPECT_EQ(left, data.substr(0, left.size()));
    EXPECT_EQ(TornDrop(seed, /*torn=*/true), left) << "same seed, same tear";
    sizes.insert(left.size());
  }
  EXPECT_GT(sizes.size(), 8u) << "the tear should vary with the seed";
  EXPECT_EQ(TornDrop(1, /*torn=*/false), data.substr(0, 100));
}

// The n-th append fails with torn writes on; returns what reached the file.
std::string TornFailedWrite(uint64_t seed, size_t size) {
  std::unique_ptr<Env> base = NewMemEnv(0);
  FaultInjectionEnv env(base.get(), seed);
  env.SetTornWrites(true);
  env.FailNthWrite(1);
  std::unique_ptr<WritableFile> file;
  EXPECT_OK(env.NewWritableFile("f", &file));
  EXPECT_INJECTED(file->Append(Pattern(size)), "write failure");
  std::string left;
  EXPECT_OK(ReadFileToString(base.get(), "f", &left));
  return left;
}

TEST(FaultInjectionEnvTornTest, FailedWriteLeavesAStrictPrefix) {
  const std::string data = Pattern(1000);
  std::set<size_t> sizes;
  for (uint64_t seed = 1; seed <= 16; ++seed) {
    const std::string left = TornFailedWrite(seed, data.size());
    EXPECT_LT(left.size(), data.size());
    EXPECT_EQ(left, data.substr(0, left.size()));
    sizes.insert(left.size());
  }
  EXPECT_GT(sizes.size(), 8u) << "the tear should vary with the seed";
  // With two bytes, a tear that could keep the whole write would show up quickly.
  sizes.clear();
  for (uint64_t seed = 1; seed <= 64; ++seed) sizes.insert(TornFailedWrite(seed, 2).size());
  EXPECT_EQ(sizes, (std::set<size_t>{0, 1}));
}

// --- failing writes and syncs ----------------------------------------------------------

TEST_F(FaultInjectionEnvTest, FailNthWriteFailsExactlyThatOne) {
  std::unique_ptr<WritableFile> file = Open("f");
  env_->FailNthWrite(3);
  EXPECT_OK(file->Append("1"));
  EXPECT_OK(file->Append("2"));
  EXPECT_INJECTED(file->Append("3"), "write failure");
  EXPECT_OK(file->Append("4"));
  EXPECT_OK(file->Append("5"));
  EXPECT_EQ(Contents("f"), "1245");  // The failed append wrote nothing.
  EXPECT_EQ(file->Size(), 4u);
  EXPECT_EQ(env_->write_count(), 5u);
}

TEST_F(FaultInjectionEnvTest, FailNthWriteCountsAcrossFiles) {
  std::unique_ptr<WritableFile> a = Open("a");
  std::unique_ptr<WritableFile> b = Open("b");
  env_->FailNthWrite(2);
  EXPECT_OK(a->Append("a"));
  EXPECT_INJECTED(b->Append("b"), "write failure");
  EXPECT_OK(a->Append("a"));
  EXPECT_OK(b->Append("b"));
  EXPECT_EQ(Contents("a"), "aa");
  EXPECT_EQ(Contents("b"), "b");
}

TEST_F(FaultInjectionEnvTest, FailNthWriteZeroDisarms) {
  std::unique_ptr<WritableFile> file = Open("f");
  env_->FailNthWrite(2);
  EXPECT_OK(file->Append("1"));
  env_->FailNthWrite(0);
  for (int i = 0; i < 5; ++i) EXPECT_OK(file->Append("x"));
  // Re-arming counts from now.
  env_->FailNthWrite(1);
  EXPECT_INJECTED(file->Append("y"), "write failure");
  EXPECT_OK(file->Append("z"));
}

TEST_F(FaultInjectionEnvTest, FailedWriteRemovesPartialFileInWriteStringToFile) {
  env_->FailNthWrite(1);
  EXPECT_INJECTED(WriteStringToFile(env_.get(), "data", Path("f"), true), "write failure");
  EXPECT_EQ(Contents("f"), "<missing>");
}

TEST_F(FaultInjectionEnvTest, FailNthSyncFailsExactlyThatOneAndSyncsNothing) {
  std::unique_ptr<WritableFile> file = Open("log");
  ASSERT_OK(env_->SyncDir(kDir));
  env_->FailNthSync(2);
  ASSERT_OK(file->Append("A"));
  EXPECT_OK(file->Sync());
  ASSERT_OK(file->Append("B"));
  EXPECT_INJECTED(file->Sync(), "sync failure");
  EXPECT_EQ(env_->sync_count(), 2u);
  ASSERT_OK(env_->DropUnsyncedData());
  EXPECT_EQ(Contents("log"), "A");  // B was never synced.
}

TEST_F(FaultInjectionEnvTest, SyncAfterAFailedSyncSucceeds) {
  std::unique_ptr<WritableFile> file = Open("log");
  ASSERT_OK(env_->SyncDir(kDir));
  env_->FailNthSync(1);
  ASSERT_OK(file->Append("A"));
  EXPECT_INJECTED(file->Sync(), "sync failure");
  ASSERT_OK(file->Append("B"));
  EXPECT_OK(file->Sync());
  ASSERT_OK(file->Append("C"));
  ASSERT_OK(env_->DropUnsyncedData());
  EXPECT_EQ(Contents("log"), "AB");
}

TEST_F(FaultInjectionEnvTest, CountersCountEveryCall) {
  EXPECT_EQ(env_->write_count(), 0u);
  EXPECT_EQ(env_->sync_count(), 0u);
  std::unique_ptr<WritableFile> file = Open("f");
  env_->FailNthWrite(1);
  EXPECT_INJECTED(file->Append("x"), "write failure");
  ASSERT_OK(file->Append("x"));
  ASSERT_OK(file->Append("y"));
  ASSERT_OK(file->Sync());
  ASSERT_OK(file->Flush());
  EXPECT_EQ(env_->write_count(), 3u);
  EXPECT_EQ(env_->sync_count(), 1u);
  env_->SetFilesystemActive(false);
  EXPECT_INJECTED(file->Append("z"), "inactive");
  EXPECT_INJECTED(file->Sync(), "inactive");
  EXPECT_EQ(env_->write_count(), 4u);
  EXPECT_EQ(env_->sync_count(), 2u);
}

// --- inactive file system --------------------------------------------------------------

TEST_F(FaultInjectionEnvTest, InactiveFileSystemRefusesChangesButServesReads) {
  WriteDurable("existing", "data");
  std::unique_ptr<WritableFile> file = Open("open");
  ASSERT_OK(file->Append("before"));

  env_->SetFilesystemActive(false);
  EXPECT_FALSE(env_->filesystem_active());
  EXPECT_INJECTED(file->Append("after"), "file system inactive");
  EXPECT_INJECTED(file->Flush(), "file system inactive");
  EXPECT_INJECTED(file->Sync(), "file system inactive");
  std::unique_ptr<WritableFile> other;
  EXPECT_INJECTED(env_->NewWritableFile(Path("new"), &other), "file system inactive");
  EXPECT_INJECTED(env_->NewAppendableFile(Path("existing"), &other), "file system inactive");
  EXPECT_INJECTED(env_->RenameFile(Path("existing"), Path("moved")), "file system inactive");
  EXPECT_INJECTED(env_->RemoveFile(Path("existing")), "file system inactive");
  EXPECT_INJECTED(env_->TruncateFile(Path("existing"), 0), "file system inactive");
  EXPECT_INJECTED(env_->CreateDir(Path("d")), "file system inactive");
  EXPECT_INJECTED(env_->CreateDirIfMissing(Path("d")), "file system inactive");
  EXPECT_INJECTED(env_->SyncDir(kDir), "file system inactive");

  // Nothing changed, and reads still work.
  EXPECT_EQ(Contents("new"), "<missing>");
  EXPECT_EQ(Contents("moved"), "<missing>");
  EXPECT_EQ(Contents("open"), "before");
  std::string data;
  ASSERT_OK(ReadFileToString(env_.get(), Path("existing"), &data));
  EXPECT_EQ(data, "data");
  std::vector<std::string> names;
  ASSERT_OK(env_->GetChildren(kDir, &names));
  EXPECT_EQ(names.size(), 2u);

  env_->SetFilesystemActive(true);
  EXPECT_OK(file->Append("again"));
  EXPECT_OK(env_->RenameFile(Path("existing"), Path("moved")));
  EXPECT_EQ(Contents("open"), "beforeagain");
}

// --- forwarding ------------------------------------------------------------------------

TEST_F(FaultInjectionEnvTest, ForwardsClockRandomnessAndLocks) {
  EXPECT_EQ(env_->base(), base_.get());
  AdvanceMemEnvClock(base_.get(), 1234);
  EXPECT_EQ(env_->NowMicros(), 1234u);
  EXPECT_EQ(env_->WallMicros(), base_->WallMicros());
  env_->SleepForMicros(6);
  EXPECT_EQ(base_->NowMicros(), 1240u);
  EXPECT_EQ(&env_->Random(), &base_->Random());

  std::unique_ptr<FileLock> lock;
  ASSERT_OK(env_->LockFile(Path("LOCK"), &lock));
  std::unique_ptr<FileLock> second;
  EXPECT_TRUE(base_->LockFile(Path("LOCK"), &second).IsUnavailable());
  lock.reset();
  EXPECT_OK(base_->LockFile(Path("LOCK"), &second));
}

TEST_F(FaultInjectionEnvTest, ForwardsErrorsOfTheBase) {
  std::unique_ptr<WritableFile> file;
  EXPECT_TRUE(env_->NewWritableFile(Path("nodir/f"), &file).IsNotFound());
  EXPECT_TRUE(env_->RemoveFile(Path("missing")).IsNotFound());
  EXPECT_TRUE(env_->RenameFile(Path("missing"), Path("x")).IsNotFound());
  EXPECT_TRUE(env_->TruncateFile(Path("missing"), 0).IsNotFound());
  // Failed operations leave nothing to roll back.
  ASSERT_OK(env_->DropUnsyncedData());
  EXPECT_EQ(Contents("x"), "<missing>");
}

TEST_F(FaultInjectionEnvTest, DirectoryRenameCarriesPendingState) {
  ASSERT_OK(env_->CreateDir(Path("d")));
  ASSERT_OK(WriteStringToFile(env_.get(), "durable", Path("d/kept"), /*sync=*/true));
  ASSERT_OK(env_->SyncDir(Path("d")));
  ASSERT_OK(WriteStringToFile(env_.get(), "x", Path("d/new"), /*sync=*/true));
  ASSERT_OK(env_->RenameFile(Path("d"), Path("e")));
  ASSERT_OK(env_->DropUnsyncedData());
  EXPECT_EQ(Contents("e/kept"), "durable");
  EXPECT_EQ(Contents("e/new"), "<missing>");
  EXPECT_EQ(Contents("d/kept"), "<missing>");
}

TEST_F(FaultInjectionEnvTest, ConcurrentWritersAndSyncs) {
  constexpr int kThreads = 4;
  std::vector<std::unique_ptr<WritableFile>> files;
  for (int t = 0; t < kThreads; ++t) files.push_back(Open("f" + std::to_string(t)));
  ASSERT_OK(env_->SyncDir(kDir));
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 100; ++i) {
        if (!files[t]->Append("0123456789").ok()) ++failures;
        if (i % 10 == 9 && !files[t]->Sync().ok()) ++failures;
      }
      // A tail that stays unsynced.
      if (!files[t]->Append("tail").ok()) ++failures;
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(env_->write_count(), kThreads * 101u);
  EXPECT_EQ(env_->sync_count(), kThreads * 10u);
  ASSERT_OK(env_->DropUnsyncedData());
  for (int t = 0; t < kThreads; ++t) {
    EXPECT_EQ(Contents("f" + std::to_string(t)).size(), 1000u);
  }
}

}  // namespace
}  // namespace vellum
