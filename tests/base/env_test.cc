// Copyright (c) Vellum authors.
//
// The Env contract, checked against both the POSIX Env (in a fresh temporary
// directory) and the in-memory Env, so that tests written against a MemEnv say
// something about the real thing.

#include "vellum/env.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdint>
#include <ctime>
#include <filesystem>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "tests/test_util.h"
#include "vellum/status.h"

namespace vellum {
namespace {

enum class EnvKind { kPosix, kMem };

std::string KindName(const ::testing::TestParamInfo<EnvKind>& info) {
  return info.param == EnvKind::kPosix ? "Posix" : "Mem";
}

// A pattern whose bytes depend on their offset, so misplaced reads are caught.
std::string Pattern(size_t n, uint32_t salt = 0) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>((i * 131 + i / 251 + salt) & 0xff);
  return s;
}

class EnvTest : public ::testing::TestWithParam<EnvKind> {
 protected:
  void SetUp() override {
    if (GetParam() == EnvKind::kPosix) {
      env_ = Env::Default();
      std::string dir_template =
          (std::filesystem::path(::testing::TempDir()) / "vellum_env_test_XXXXXX").string();
      ASSERT_NE(::mkdtemp(dir_template.data()), nullptr);
      root_ = dir_template;
    } else {
      mem_env_ = NewMemEnv(42);
      env_ = mem_env_.get();
      root_ = "/vellum_env_test";
      ASSERT_OK(env_->CreateDirIfMissing(root_));
    }
  }

  void TearDown() override {
    if (GetParam() == EnvKind::kPosix && !root_.empty()) {
      std::error_code ec;
      std::filesystem::remove_all(root_, ec);
    }
  }

  std::string Path(const std::string& name) const { return root_ + "/" + name; }

  void Write(const std::string& name, const std::string& data) {
    ASSERT_OK(WriteStringToFile(env_, data, Path(name), /*sync=*/false));
  }

  std::string Read(const std::string& name) {
    std::string data;
    Status s = ReadFileToString(env_, Path(name), &data);
    EXPECT_TRUE(s.ok()) << s.ToString();
    return data;
  }

  std::vector<std::string> Children(const std::string& dir) {
    std::vector<std::string> names;
    Status s = env_->GetChildren(dir, &names);
    EXPECT_TRUE(s.ok()) << s.ToString();
    std::sort(names.begin(), names.end());
    return names;
  }

  std::unique_ptr<Env> mem_env_;
  Env* env_ = nullptr;
  std::string root_;
};

INSTANTIATE_TEST_SUITE_P(Envs, EnvTest, ::testing::Values(EnvKind::kPosix, EnvKind::kMem),
                         KindName);

TEST_P(EnvTest, WriteThenReadSequentially) {
  std::unique_ptr<WritableFile> file;
  ASSERT_OK(env_->NewWritableFile(Path("f"), &file));
  EXPECT_EQ(file->Size(), 0u);
  ASSERT_OK(file->Append("hello "));
  ASSERT_OK(file->Append(""));
  ASSERT_OK(file->Append("world"));
  EXPECT_EQ(file->Size(), 11u);
  ASSERT_OK(file->Close());

  std::unique_ptr<SequentialFile> in;
  ASSERT_OK(env_->NewSequentialFile(Path("f"), &in));
  std::string chunk;
  ASSERT_OK(in->Read(5, &chunk));
  EXPECT_EQ(chunk, "hello");
  ASSERT_OK(in->Skip(1));
  ASSERT_OK(in->Read(100, &chunk));
  EXPECT_EQ(chunk, "world");
  ASSERT_OK(in->Read(10, &chunk));
  EXPECT_EQ(chunk, "");
  ASSERT_OK(in->Skip(1000));  // Past the end: stays at the end.
  ASSERT_OK(in->Read(10, &chunk));
  EXPECT_EQ(chunk, "");
}

TEST_P(EnvTest, SkipPastEndStaysAtEnd) {
  Write("f", "0123456789");
  std::unique_ptr<SequentialFile> in;
  ASSERT_OK(env_->NewSequentialFile(Path("f"), &in));
  std::string chunk;
  ASSERT_OK(in->Skip(3));
  ASSERT_OK(in->Read(2, &chunk));
  EXPECT_EQ(chunk, "34");
  ASSERT_OK(in->Skip(UINT64_MAX));
  ASSERT_OK(in->Read(10, &chunk));
  EXPECT_EQ(chunk, "");
}

TEST_P(EnvTest, LargeAndMixedAppendsRoundTrip) {
  // Sizes around and above the POSIX write buffer (64 KiB) exercise the buffered and
  // the direct paths and the switch between them.
  const std::string data = Pattern(400 * 1024);
  std::unique_ptr<WritableFile> file;
  ASSERT_OK(env_->NewWritableFile(Path("big"), &file));
  size_t pos = 0;
  const size_t sizes[] = {1, 100, 65535, 65536, 65537, 3, 200000};
  for (size_t i = 0; pos < data.size(); ++i) {
    const size_t n = std::min(sizes[i % std::size(sizes)], data.size() - pos);
    ASSERT_OK(file->Append(std::string_view(data).substr(pos, n)));
    pos += n;
  }
  EXPECT_EQ(file->Size(), data.size());
  ASSERT_OK(file->Sync());
  ASSERT_OK(file->Close());
  EXPECT_EQ(Read("big"), data);
  uint64_t size = 0;
  ASSERT_OK(env_->GetFileSize(Path("big"), &size));
  EXPECT_EQ(size, data.size());
}

TEST_P(EnvTest, RandomAccessReadsAtOffsets) {
  const std::string data = Pattern(10000);
  Write("f", data);
  std::unique_ptr<RandomAccessFile> file;
  ASSERT_OK(env_->NewRandomAccessFile(Path("f"), &file));
  std::string out;
  ASSERT_OK(file->Read(0, 10, &out));
  EXPECT_EQ(out, data.substr(0, 10));
  ASSERT_OK(file->Read(5000, 1234, &out));
  EXPECT_EQ(out, data.substr(5000, 1234));
  ASSERT_OK(file->Read(9990, 100, &out));  // Short only at the end.
  EXPECT_EQ(out, data.substr(9990));
  ASSERT_OK(file->Read(10000, 5, &out));
  EXPECT_EQ(out, "");
  ASSERT_OK(file->Read(20000, 5, &out));
  EXPECT_EQ(out, "");
}

TEST_P(EnvTest, ReopenForAppend) {
  Write("f", "abc");
  std::unique_ptr<WritableFile> file;
  ASSERT_OK(env_->NewAppendableFile(Path("f"), &file));
  EXPECT_EQ(file->Size(), 3u);
  ASSERT_OK(file->Append("def"));
  EXPECT_EQ(file->Size(), 6u);
  ASSERT_OK(file->Close());
  EXPECT_EQ(Read("f"), "abcdef");

  // A missing file is created.
  ASSERT_OK(env_->NewAppendableFile(Path("g"), &file));
  EXPECT_EQ(file->Size(), 0u);
  ASSERT_OK(file->Append("x"));
  ASSERT_OK(file->Close());
  EXPECT_EQ(Read("g"), "x");
}

TEST_P(EnvTest, NewWritableFileTruncates) {
  Write("f", "old contents");
  std::unique_ptr<WritableFile> file;
  ASSERT_OK(env_->NewWritableFile(Path("f"), &file));
  EXPECT_EQ(file->Size(), 0u);
  ASSERT_OK(file->Append("new"));
  ASSERT_OK(file->Close());
  EXPECT_EQ(Read("f"), "new");
}

TEST_P(EnvTest, FlushMakesDataVisibleToReaders) {
  std::unique_ptr<WritableFile> writer;
  ASSERT_OK(env_->NewWritableFile(Path("f"), &writer));
  ASSERT_OK(writer->Append("first"));
  ASSERT_OK(writer->Flush());
  std::unique_ptr<RandomAccessFile> reader;
  ASSERT_OK(env_->NewRandomAccessFile(Path("f"), &reader));
  std::string out;
  ASSERT_OK(reader->Read(0, 100, &out));
  EXPECT_EQ(out, "first");
  // An open reader sees later appends too.
  ASSERT_OK(writer->Append("second"));
  ASSERT_OK(writer->Flush());
  ASSERT_OK(reader->Read(0, 100, &out));
  EXPECT_EQ(out, "firstsecond");
  ASSERT_OK(writer->Close());
}

TEST_P(EnvTest, ZeroFillAheadKeepsTheDataAndCloseTrimsTheZeros) {
  std::unique_ptr<WritableFile> writer;
  ASSERT_OK(env_->NewWritableFile(Path("wal"), &writer));
  writer->ZeroFillAheadOnSync(64 << 10);
  std::string expected;
  for (int i = 0; i < 100; ++i) {
    std::string record = "record " + std::to_string(i) + std::string(1000, 'x');
    ASSERT_OK(writer->Append(record));
    ASSERT_OK(writer->Sync());
    expected += record;
    ASSERT_EQ(writer->Size(), expected.size());
    uint64_t on_disk = 0;
    ASSERT_OK(env_->GetFileSize(Path("wal"), &on_disk));
    ASSERT_GE(on_disk, expected.size());
    if (GetParam() == EnvKind::kPosix) {
      // Zeros stand ahead of the data, as a crash would leave them.
      EXPECT_GE(on_disk, expected.size() + (32 << 10));
      std::string data = Read("wal");
      ASSERT_EQ(data.substr(0, expected.size()), expected);
      EXPECT_EQ(data.find_first_not_of('\0', expected.size()), std::string::npos);
    }
  }
  ASSERT_OK(writer->Close());
  EXPECT_EQ(Read("wal"), expected);
}

TEST_P(EnvTest, ZeroFillAheadIsIgnoredWhenAppending) {
  Write("log", "old");
  std::unique_ptr<WritableFile> writer;
  ASSERT_OK(env_->NewAppendableFile(Path("log"), &writer));
  writer->ZeroFillAheadOnSync(64 << 10);
  ASSERT_OK(writer->Append("new"));
  ASSERT_OK(writer->Sync());
  EXPECT_EQ(Read("log"), "oldnew");
  ASSERT_OK(writer->Close());
  EXPECT_EQ(Read("log"), "oldnew");
}

TEST_P(EnvTest, UseAfterCloseFails) {
  std::unique_ptr<WritableFile> file;
  ASSERT_OK(env_->NewWritableFile(Path("f"), &file));
  ASSERT_OK(file->Append("x"));
  ASSERT_OK(file->Close());
  EXPECT_CODE(file->Append("y"), kFailedPrecondition);
  EXPECT_CODE(file->Flush(), kFailedPrecondition);
  EXPECT_CODE(file->Sync(), kFailedPrecondition);
  EXPECT_CODE(file->Close(), kFailedPrecondition);
  EXPECT_EQ(Read("f"), "x");
}

TEST_P(EnvTest, DestructorClosesAndFlushes) {
  {
    std::unique_ptr<WritableFile> file;
    ASSERT_OK(env_->NewWritableFile(Path("f"), &file));
    ASSERT_OK(file->Append("buffered"));
  }
  EXPECT_EQ(Read("f"), "buffered");
}

TEST_P(EnvTest, OpenHandlesSurviveRenameAndRemove) {
  Write("f", "payload");
  std::unique_ptr<RandomAccessFile> reader;
  ASSERT_OK(env_->NewRandomAccessFile(Path("f"), &reader));
  ASSERT_OK(env_->RenameFile(Path("f"), Path("g")));
  ASSERT_OK(env_->RemoveFile(Path("g")));
  std::string out;
  ASSERT_OK(reader->Read(0, 100, &out));
  EXPECT_EQ(out, "payload");
}

TEST_P(EnvTest, GetChildrenListsNamesOfDirectEntries) {
  EXPECT_TRUE(Children(root_).empty());
  Write("a", "1");
  Write("b", "2");
  ASSERT_OK(env_->CreateDir(Path("d")));
  Write("d/inner", "3");
  EXPECT_EQ(Children(root_), (std::vector<std::string>{"a", "b", "d"}));
  EXPECT_EQ(Children(Path("d")), (std::vector<std::string>{"inner"}));
  EXPECT_EQ(Children(root_ + "/"), (std::vector<std::string>{"a", "b", "d"}));
}

TEST_P(EnvTest, FileExistsAndGetFileSize) {
  Write("f", "12345");
  EXPECT_OK(env_->FileExists(Path("f")));
  EXPECT_OK(env_->FileExists(root_));
  uint64_t size = 99;
  ASSERT_OK(env_->GetFileSize(Path("f"), &size));
  EXPECT_EQ(size, 5u);
  Write("empty", "");
  ASSERT_OK(env_->GetFileSize(Path("empty"), &size));
  EXPECT_EQ(size, 0u);
}

TEST_P(EnvTest, RenameReplacesTarget) {
  Write("a", "new");
  Write("b", "old and longer");
  ASSERT_OK(env_->RenameFile(Path("a"), Path("b")));
  EXPECT_EQ(Read("b"), "new");
  EXPECT_CODE(env_->FileExists(Path("a")), kNotFound);
  EXPECT_EQ(Children(root_), (std::vector<std::string>{"b"}));
  // Renaming onto itself is a no-op.
  ASSERT_OK(env_->RenameFile(Path("b"), Path("b")));
  EXPECT_EQ(Read("b"), "new");
}

TEST_P(EnvTest, RenameDirectoryMovesItsFiles) {
  ASSERT_OK(env_->CreateDirIfMissing(Path("d/sub")));
  Write("d/f", "1");
  Write("d/sub/g", "2");
  ASSERT_OK(env_->RenameFile(Path("d"), Path("e")));
  EXPECT_CODE(env_->FileExists(Path("d")), kNotFound);
  EXPECT_EQ(Children(Path("e")), (std::vector<std::string>{"f", "sub"}));
  EXPECT_EQ(Read("e/f"), "1");
  EXPECT_EQ(Read("e/sub/g"), "2");
}

TEST_P(EnvTest, RemoveFile) {
  Write("f", "x");
  ASSERT_OK(env_->RemoveFile(Path("f")));
  EXPECT_CODE(env_->FileExists(Path("f")), kNotFound);
  EXPECT_CODE(env_->RemoveFile(Path("f")), kNotFound);
}

TEST_P(EnvTest, CreateDir) {
  ASSERT_OK(env_->CreateDir(Path("d")));
  EXPECT_OK(env_->FileExists(Path("d")));
  EXPECT_CODE(env_->CreateDir(Path("d")), kAlreadyExists);
  EXPECT_CODE(env_->CreateDir(Path("missing/d")), kNotFound);
  Write("f", "x");
  EXPECT_CODE(env_->CreateDir(Path("f")), kAlreadyExists);
}

TEST_P(EnvTest, CreateDirIfMissingMakesParents) {
  ASSERT_OK(env_->CreateDirIfMissing(Path("x/y/z")));
  EXPECT_OK(env_->FileExists(Path("x")));
  EXPECT_OK(env_->FileExists(Path("x/y")));
  EXPECT_OK(env_->FileExists(Path("x/y/z")));
  ASSERT_OK(env_->CreateDirIfMissing(Path("x/y/z")));  // Idempotent.
  ASSERT_OK(env_->CreateDirIfMissing(Path("x/y/")));
  EXPECT_EQ(Children(Path("x")), (std::vector<std::string>{"y"}));
  Write("x/y/z/f", "1");
  EXPECT_EQ(Read("x/y/z/f"), "1");
  // A file in the way is an error, not silently accepted.
  Write("file", "x");
  EXPECT_CODE(env_->CreateDirIfMissing(Path("file")), kIOError);
}

TEST_P(EnvTest, RemoveDir) {
  ASSERT_OK(env_->CreateDir(Path("d")));
  Write("d/f", "x");
  EXPECT_CODE(env_->RemoveDir(Path("d")), kIOError);  // Not empty.
  ASSERT_OK(env_->RemoveFile(Path("d/f")));
  ASSERT_OK(env_->RemoveDir(Path("d")));
  EXPECT_CODE(env_->FileExists(Path("d")), kNotFound);
  EXPECT_CODE(env_->RemoveDir(Path("d")), kNotFound);
}

TEST_P(EnvTest, MissingThingsAreNotFound) {
  std::unique_ptr<SequentialFile> seq;
  std::unique_ptr<RandomAccessFile> ra;
  std::unique_ptr<WritableFile> w;
  std::vector<std::string> names;
  uint64_t size = 0;
  EXPECT_CODE(env_->NewSequentialFile(Path("nope"), &seq), kNotFound);
  EXPECT_EQ(seq, nullptr);
  EXPECT_CODE(env_->NewRandomAccessFile(Path("nope"), &ra), kNotFound);
  EXPECT_CODE(env_->FileExists(Path("nope")), kNotFound);
  EXPECT_CODE(env_->GetFileSize(Path("nope"), &size), kNotFound);
  EXPECT_CODE(env_->GetChildren(Path("nope"), &names), kNotFound);
  EXPECT_CODE(env_->RenameFile(Path("nope"), Path("other")), kNotFound);
  EXPECT_CODE(env_->TruncateFile(Path("nope"), 0), kNotFound);
  EXPECT_CODE(env_->SyncDir(Path("nope")), kNotFound);
  // As on POSIX, a file needs an existing parent directory.
  EXPECT_CODE(env_->NewWritableFile(Path("nodir/f"), &w), kNotFound);
  EXPECT_CODE(env_->NewAppendableFile(Path("nodir/f"), &w), kNotFound);
  EXPECT_CODE(env_->CreateDir(Path("nodir/d")), kNotFound);
  Write("f", "x");
  Status s = env_->RenameFile(Path("f"), Path("nodir/g"));
  EXPECT_CODE(s, kNotFound);
  EXPECT_NE(s.message().find("nodir"), std::string::npos) << s.ToString();
  // Messages name the path.
  s = env_->NewSequentialFile(Path("nope"), &seq);
  EXPECT_NE(s.message().find(Path("nope")), std::string::npos) << s.ToString();
}

TEST_P(EnvTest, LockFileIsExclusiveUntilReleased) {
  std::unique_ptr<FileLock> lock;
  ASSERT_OK(env_->LockFile(Path("LOCK"), &lock));
  ASSERT_NE(lock, nullptr);
  EXPECT_OK(env_->FileExists(Path("LOCK")));  // Created on demand.

  std::unique_ptr<FileLock> second;
  Status s = env_->LockFile(Path("LOCK"), &second);
  EXPECT_CODE(s, kUnavailable);
  EXPECT_EQ(second, nullptr);
  EXPECT_NE(s.message().find(Path("LOCK")), std::string::npos) << s.ToString();

  // Other paths are independent.
  std::unique_ptr<FileLock> other;
  ASSERT_OK(env_->LockFile(Path("LOCK2"), &other));

  lock.reset();
  ASSERT_OK(env_->LockFile(Path("LOCK"), &second));
  EXPECT_CODE(env_->LockFile(Path("LOCK"), &lock), kUnavailable);
  EXPECT_CODE(env_->LockFile(Path("nodir/LOCK"), &lock), kNotFound);
}

TEST_P(EnvTest, TruncateFile) {
  Write("f", "0123456789");
  ASSERT_OK(env_->TruncateFile(Path("f"), 4));
  EXPECT_EQ(Read("f"), "0123");
  ASSERT_OK(env_->TruncateFile(Path("f"), 7));
  EXPECT_EQ(Read("f"), std::string("0123\0\0\0", 7));
  ASSERT_OK(env_->TruncateFile(Path("f"), 0));
  EXPECT_EQ(Read("f"), "");
}

TEST_P(EnvTest, SyncDirAndSyncSucceed) {
  std::unique_ptr<WritableFile> file;
  ASSERT_OK(env_->NewWritableFile(Path("f"), &file));
  ASSERT_OK(file->Append("x"));
  ASSERT_OK(file->Sync());
  ASSERT_OK(file->Close());
  ASSERT_OK(env_->SyncDir(root_));
}

TEST_P(EnvTest, WriteAndReadWholeFiles) {
  const std::string data = Pattern(200000, 7);
  ASSERT_OK(WriteStringToFile(env_, data, Path("f"), /*sync=*/true));
  std::string out = "stale";
  ASSERT_OK(ReadFileToString(env_, Path("f"), &out));
  EXPECT_EQ(out, data);
  ASSERT_OK(WriteStringToFile(env_, "", Path("f"), /*sync=*/false));
  ASSERT_OK(ReadFileToString(env_, Path("f"), &out));
  EXPECT_EQ(out, "");
  EXPECT_CODE(ReadFileToString(env_, Path("nope"), &out), kNotFound);
  EXPECT_EQ(out, "");
  EXPECT_CODE(WriteStringToFile(env_, "x", Path("nodir/f"), false), kNotFound);
}

TEST_P(EnvTest, ClockNeverGoesBackwards) {
  uint64_t last = env_->NowMicros();
  for (int i = 0; i < 1000; ++i) {
    const uint64_t now = env_->NowMicros();
    EXPECT_GE(now, last);
    last = now;
  }
  const uint64_t before = env_->NowMicros();
  env_->SleepForMicros(2000);
  EXPECT_GE(env_->NowMicros() - before, 2000u);
}

TEST_P(EnvTest, UniformStaysInBounds) {
  RandomSource& random = env_->Random();
  for (uint64_t bound : {uint64_t{1}, uint64_t{2}, uint64_t{3}, uint64_t{7}, uint64_t{1000},
                         (uint64_t{1} << 63) + 1, UINT64_MAX}) {
    for (int i = 0; i < 200; ++i) EXPECT_LT(random.Uniform(bound), bound);
  }
  EXPECT_EQ(random.Uniform(1), 0u);
  // Every value of a small range shows up.
  std::set<uint64_t> seen;
  for (int i = 0; i < 1000; ++i) seen.insert(random.Uniform(5));
  EXPECT_EQ(seen.size(), 5u);
}

TEST_P(EnvTest, RandomFillsBytes) {
  uint8_t a[64] = {};
  uint8_t b[64] = {};
  env_->Random().Fill(a);
  env_->Random().Fill(b);
  EXPECT_NE(std::vector<uint8_t>(a, a + 64), std::vector<uint8_t>(b, b + 64));
  EXPECT_NE(std::vector<uint8_t>(a, a + 64), std::vector<uint8_t>(64, 0));
}

TEST_P(EnvTest, ConcurrentRandomAccessReadsWhileAppending) {
  const std::string data = Pattern(256 * 1024, 3);
  Write("f", data);
  std::unique_ptr<RandomAccessFile> file;
  ASSERT_OK(env_->NewRandomAccessFile(Path("f"), &file));
  std::unique_ptr<WritableFile> appender;
  ASSERT_OK(env_->NewAppendableFile(Path("f"), &appender));

  std::atomic<int> failures{0};
  std::vector<std::thread> readers;
  for (uint32_t t = 0; t < 4; ++t) {
    readers.emplace_back([&, t] {
      std::mt19937_64 rng(t);
      std::string out;
      for (int i = 0; i < 500; ++i) {
        const uint64_t offset = rng() % data.size();
        const size_t n = static_cast<size_t>(rng() % 4096);
        if (!file->Read(offset, n, &out).ok()) {
          ++failures;
          continue;
        }
        // The file only grows, so the original bytes read back unchanged.
        const size_t expected = std::min<size_t>(n, data.size() - offset);
        if (out.size() < expected || out.compare(0, expected, data, offset, expected) != 0) {
          ++failures;
        }
      }
    });
  }
  // Another handle appends meanwhile.
  for (int i = 0; i < 200; ++i) {
    ASSERT_OK(appender->Append(Pattern(1000, static_cast<uint32_t>(i))));
    ASSERT_OK(appender->Flush());
  }
  for (std::thread& t : readers) t.join();
  ASSERT_OK(appender->Close());
  EXPECT_EQ(failures.load(), 0);
  uint64_t size = 0;
  ASSERT_OK(env_->GetFileSize(Path("f"), &size));
  EXPECT_EQ(size, data.size() + 200 * 1000);
}

TEST_P(EnvTest, ConcurrentUseOfTheEnv) {
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 50; ++i) {
        const std::string name = Path("t" + std::to_string(t) + "_" + std::to_string(i));
        const std::string data = Pattern(100, static_cast<uint32_t>(i));
        std::string out;
        std::vector<std::string> names;
        if (!WriteStringToFile(env_, data, name, false).ok() ||
            !ReadFileToString(env_, name, &out).ok() || out != data ||
            !env_->GetChildren(root_, &names).ok() || !env_->RemoveFile(name).ok()) {
          ++failures;
        }
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_TRUE(Children(root_).empty());
}

// --- POSIX only ------------------------------------------------------------------------

class PosixEnvTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string dir_template =
        (std::filesystem::path(::testing::TempDir()) / "vellum_posix_env_test_XXXXXX").string();
    ASSERT_NE(::mkdtemp(dir_template.data()), nullptr);
    root_ = dir_template;
  }
  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove_all(root_, ec);
  }
  std::string root_;
};

// Runs `fn` in a child process and returns its exit code. The tests that call it run
// no threads of their own, so the child may use the heap and the Env.
template <typename Fn>
int InChild(Fn fn) {
  const pid_t pid = ::fork();
  if (pid == 0) ::_exit(fn());
  int status = 0;
  EXPECT_EQ(::waitpid(pid, &status, 0), pid);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// 0 if the child got the lock, 1 if it is held, 2 on other errors.
int TryLockInChild(const std::string& path) {
  return InChild([&] {
    const int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
    if (fd < 0) return 2;
    struct flock fl = {};
    fl.l_type = F_WRLCK;
    fl.l_whence = SEEK_SET;
    if (::fcntl(fd, F_SETLK, &fl) == 0) return 0;
    return (errno == EAGAIN || errno == EACCES) ? 1 : 2;
  });
}

TEST_F(PosixEnvTest, LockExcludesOtherProcesses) {
  Env* env = Env::Default();
  const std::string path = root_ + "/LOCK";
  std::unique_ptr<FileLock> lock;
  ASSERT_OK(env->LockFile(path, &lock));
  EXPECT_EQ(TryLockInChild(path), 1);
  // A refused second LockFile in this process must not release the lock we hold
  // (closing any descriptor of the file would drop a fcntl lock).
  std::unique_ptr<FileLock> again;
  EXPECT_CODE(env->LockFile(path, &again), kUnavailable);
  EXPECT_EQ(TryLockInChild(path), 1);
  lock.reset();
  EXPECT_EQ(TryLockInChild(path), 0);
}

TEST_F(PosixEnvTest, WallClockIsUnixTime) {
  const uint64_t wall = Env::Default()->WallMicros();
  const uint64_t now = static_cast<uint64_t>(std::time(nullptr)) * 1000000u;
  EXPECT_LT(wall > now ? wall - now : now - wall, 10u * 1000000u);
}

TEST_F(PosixEnvTest, DefaultIsASingleton) { EXPECT_EQ(Env::Default(), Env::Default()); }

TEST_F(PosixEnvTest, OsErrorsNameThePathAndTheCause) {
  std::unique_ptr<WritableFile> file;
  const std::string path = root_ + "/missing/f";
  Status s = Env::Default()->NewWritableFile(path, &file);
  EXPECT_CODE(s, kNotFound);
  EXPECT_NE(s.message().find(path), std::string::npos) << s.ToString();
  EXPECT_NE(s.message().find("No such file or directory"), std::string::npos) << s.ToString();
}

TEST_F(PosixEnvTest, PermissionDenied) {
  const std::string dir = root_ + "/read_only";
  ASSERT_OK(Env::Default()->CreateDir(dir));
  ASSERT_EQ(::chmod(dir.c_str(), 0555), 0);
  const std::string path = dir + "/f";
  auto attempt = [&path] {
    std::unique_ptr<WritableFile> file;
    const Status s = Env::Default()->NewWritableFile(path, &file);
    return s.IsPermissionDenied() && s.message().find(path) != std::string::npos ? 0 : 1;
  };
  if (::geteuid() == 0) {
    // Root ignores file modes; try as "nobody" in a child process instead.
    EXPECT_EQ(InChild([&] { return ::setuid(65534) == 0 ? attempt() : 2; }), 0);
  } else {
    EXPECT_EQ(attempt(), 0);
  }
  ASSERT_EQ(::chmod(dir.c_str(), 0700), 0);
}

// --- MemEnv only -----------------------------------------------------------------------

TEST(MemEnvTest, ClockStartsAtZeroAndMovesOnlyWhenTold) {
  std::unique_ptr<Env> env = NewMemEnv(1);
  EXPECT_EQ(env->NowMicros(), 0u);
  EXPECT_EQ(env->WallMicros(), 0u);
  EXPECT_EQ(env->NowMicros(), 0u);
  AdvanceMemEnvClock(env.get(), 1500);
  EXPECT_EQ(env->NowMicros(), 1500u);
  env->SleepForMicros(500);
  EXPECT_EQ(env->NowMicros(), 2000u);
  EXPECT_EQ(env->WallMicros(), 2000u);
}

TEST(MemEnvTest, ClocksAreIndependentPerEnv) {
  std::unique_ptr<Env> a = NewMemEnv(1);
  std::unique_ptr<Env> b = NewMemEnv(1);
  AdvanceMemEnvClock(a.get(), 10);
  EXPECT_EQ(a->NowMicros(), 10u);
  EXPECT_EQ(b->NowMicros(), 0u);
}

TEST(MemEnvDeathTest, AdvanceClockOfAnotherEnvAborts) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(AdvanceMemEnvClock(Env::Default(), 1), "NewMemEnv");
}

std::vector<uint8_t> RandomBytes(Env* env, size_t n) {
  std::vector<uint8_t> out(n);
  env->Random().Fill(out);
  return out;
}

TEST(MemEnvTest, RandomnessIsDeterminedBySeed) {
  std::unique_ptr<Env> a = NewMemEnv(7);
  std::unique_ptr<Env> b = NewMemEnv(7);
  std::unique_ptr<Env> c = NewMemEnv(8);
  const std::vector<uint8_t> first = RandomBytes(a.get(), 100);
  EXPECT_EQ(first, RandomBytes(b.get(), 100));
  EXPECT_NE(first, RandomBytes(c.get(), 100));
  // A fill of 13 bytes from a fresh Env is a prefix of a fill of 100, and the stream
  // goes on rather than repeating.
  std::unique_ptr<Env> d = NewMemEnv(7);
  const std::vector<uint8_t> odd = RandomBytes(d.get(), 13);
  EXPECT_TRUE(std::equal(odd.begin(), odd.end(), first.begin()));
  EXPECT_NE(RandomBytes(a.get(), 100), first);
  // Uniform is deterministic too.
  std::unique_ptr<Env> e = NewMemEnv(99);
  std::unique_ptr<Env> f = NewMemEnv(99);
  for (int i = 0; i < 20; ++i) EXPECT_EQ(e->Random().Uniform(1000), f->Random().Uniform(1000));
}

TEST(MemEnvTest, EnvsDoNotShareFiles) {
  std::unique_ptr<Env> a = NewMemEnv(1);
  std::unique_ptr<Env> b = NewMemEnv(1);
  ASSERT_OK(WriteStringToFile(a.get(), "x", "f", false));
  EXPECT_OK(a->FileExists("f"));
  EXPECT_CODE(b->FileExists("f"), kNotFound);
}

TEST(MemEnvTest, BareNamesAndRootNeedNoDirectory) {
  std::unique_ptr<Env> env = NewMemEnv(1);
  ASSERT_OK(WriteStringToFile(env.get(), "x", "bare", false));
  ASSERT_OK(WriteStringToFile(env.get(), "y", "/rooted", false));
  std::vector<std::string> names;
  ASSERT_OK(env->GetChildren("/", &names));
  EXPECT_EQ(names, (std::vector<std::string>{"rooted"}));
  EXPECT_CODE(env->CreateDir("/"), kAlreadyExists);
}

TEST(MemEnvTest, FileLockMayOutliveTheEnv) {
  std::unique_ptr<FileLock> lock;
  {
    std::unique_ptr<Env> env = NewMemEnv(1);
    ASSERT_OK(env->LockFile("LOCK", &lock));
  }
  lock.reset();  // Must not touch the destroyed Env (ASan checks).
}

TEST(MemEnvTest, TruncationByANewWriterIsSeenByOpenReaders) {
  std::unique_ptr<Env> env = NewMemEnv(1);
  ASSERT_OK(WriteStringToFile(env.get(), "long contents", "f", false));
  std::unique_ptr<RandomAccessFile> reader;
  ASSERT_OK(env->NewRandomAccessFile("f", &reader));
  std::unique_ptr<WritableFile> writer;
  ASSERT_OK(env->NewWritableFile("f", &writer));
  std::string out;
  ASSERT_OK(reader->Read(0, 100, &out));
  EXPECT_EQ(out, "");
}

}  // namespace
}  // namespace vellum
