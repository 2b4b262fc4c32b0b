// Copyright (c) Vellum authors.
//
// Crash safety with a real process and a real kill: tests/db/crash_writer_main.cc
// commits to a ledger (sync on) and prints each acknowledged write; the test kills it
// with SIGKILL at a random moment, reopens the ledger and checks that every
// acknowledged write is there — at its version, and at the latest version unless a
// later commit changed the key — that the ledger is at least as new as the last
// acknowledgement, and that Verify() is clean. Several rounds run on the same ledger,
// so later rounds also recover from the earlier kills. The seed is printed; rerun
// with VELLUM_TEST_SEED=<seed> to replay the same delays.

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "tests/db/db_test_util.h"
#include "tests/db/safety_test_util.h"
#include "vellum/db.h"

extern char** environ;

namespace vellum {
namespace {

using testing::LedgerDir;

constexpr const char* kTable = "crash";

struct Ack {
  uint64_t version = 0;
  std::string key;
  std::string value;  // "-" for a deletion
};

struct RunResult {
  std::vector<Ack> acks;
  bool opened = false;
  bool killed = false;  // ended by our SIGKILL (not on its own)
  std::string output;   // stdout, for messages
};

// Runs the writer until `delay_ms` after it starts (or, with `after_open`, after it
// reports the ledger open), then kills it with SIGKILL.
RunResult RunAndKill(const LedgerDir& dir, int round, int delay_ms, bool after_open,
                     const std::string& stderr_path) {
  RunResult result;
  int pipe_fds[2];
  VELLUM_CHECK(::pipe(pipe_fds) == 0);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], STDOUT_FILENO);
  posix_spawn_file_actions_addclose(&actions, pipe_fds[0]);
  posix_spawn_file_actions_addclose(&actions, pipe_fds[1]);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, stderr_path.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0600);
  std::string binary = VELLUM_CRASH_WRITER;
  std::string ledger = dir.ledger();
  std::string key_file = dir.key_file();
  std::string round_text = std::to_string(round);
  char* args[] = {binary.data(), ledger.data(), key_file.data(), round_text.data(), nullptr};
  pid_t pid = 0;
  int spawned = ::posix_spawn(&pid, binary.c_str(), &actions, nullptr, args, environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(pipe_fds[1]);
  if (spawned != 0) {
    ADD_FAILURE() << "cannot start " << binary << ": " << spawned;
    ::close(pipe_fds[0]);
    return result;
  }

  using Clock = std::chrono::steady_clock;
  auto deadline = Clock::now() + std::chrono::milliseconds(delay_ms);
  // If the writer never reports the ledger open, give up on waiting for it after a
  // while (it is then killed as usual, and the test reports it).
  auto open_deadline = Clock::now() + std::chrono::seconds(60);
  bool waiting_for_open = after_open;
  bool eof = false;
  std::string buffer;
  auto read_some = [&](int timeout_ms) {
    pollfd pfd{pipe_fds[0], POLLIN, 0};
    if (::poll(&pfd, 1, timeout_ms) <= 0) return;
    char chunk[4096];
    ssize_t n = ::read(pipe_fds[0], chunk, sizeof chunk);
    if (n <= 0) {
      eof = true;
      return;
    }
    buffer.append(chunk, static_cast<size_t>(n));
    if (waiting_for_open && buffer.find("opened ") != std::string::npos) {
      waiting_for_open = false;
      deadline = Clock::now() + std::chrono::milliseconds(delay_ms);
    }
  };
  while (!eof) {
    auto now = Clock::now();
    if (waiting_for_open ? now >= open_deadline : now >= deadline) break;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        (waiting_for_open ? open_deadline : deadline) - now);
    read_some(static_cast<int>(std::max<int64_t>(1, left.count())));
  }
  ::kill(pid, SIGKILL);
  while (!eof) read_some(1000);  // what it wrote before dying
  ::close(pipe_fds[0]);
  int status = 0;
  VELLUM_CHECK(::waitpid(pid, &status, 0) == pid);
  result.killed = WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
  result.output = buffer;

  // Only complete lines: a line cut by the kill was never fully acknowledged to us.
  std::istringstream lines(buffer.substr(0, buffer.rfind('\n') + 1));
  std::string line;
  while (std::getline(lines, line)) {
    std::istringstream fields(line);
    std::string word;
    fields >> word;
    if (word == "opened") {
      result.opened = true;
    } else if (word == "acked") {
      Ack ack;
      fields >> ack.version >> ack.key >> ack.value;
      EXPECT_FALSE(fields.fail()) << "bad line from the writer: " << line;
      result.acks.push_back(ack);
    } else {
      ADD_FAILURE() << "unexpected line from the writer: " << line;
    }
  }
  return result;
}

std::string Read(DB& db, const std::string& key, std::optional<uint64_t> version) {
  ReadOptions options;
  options.version = version;
  auto value = db.Get(options, kTable, key);
  if (!value.ok()) return "<error: " + value.status().ToString() + ">";
  return value->has_value() ? **value : "-";
}

TEST(CrashTest, KilledWriterLosesNoAcknowledgedCommit) {
  LedgerDir dir;
  const uint64_t seed = testing::TestSeed(std::random_device()());
  std::mt19937_64 rng(seed);
  std::vector<Ack> all;                 // every acknowledged write, in order
  std::map<std::string, Ack> last_ack;  // key -> its last acknowledged write
  std::set<uint64_t> acked_versions;
  uint64_t last_acked_version = 0;
  uint64_t previous_latest = 0;
  int rounds_with_acks = 0;
  // Changes (key, version) by commits the writer died before acknowledging.
  std::set<std::pair<std::string, uint64_t>> unacknowledged_changes;
  constexpr int kRounds = 8;
  for (int round = 0; round < kRounds; ++round) {
    const int delay_ms = 50 + static_cast<int>(rng() % 351);
    // Even rounds time the kill from the moment the ledger is open (so it lands in
    // the commit loop); odd rounds from the start (so it may land in recovery).
    const bool after_open = round % 2 == 0;
    SCOPED_TRACE("VELLUM_TEST_SEED=" + std::to_string(seed) + " round " + std::to_string(round) +
                 " delay " + std::to_string(delay_ms) + " ms" +
                 (after_open ? " after open" : " after start"));
    const std::string stderr_path = dir.root() + "/writer.stderr";
    RunResult run = RunAndKill(dir, round, delay_ms, after_open, stderr_path);
    ASSERT_TRUE(run.killed) << "the writer ended on its own:\n"
                            << testing::ReadWholeFile(stderr_path) << "\nstdout:\n"
                            << run.output.substr(0, 2000);
    if (after_open) {
      ASSERT_TRUE(run.opened) << testing::ReadWholeFile(stderr_path);
    }
    for (const Ack& ack : run.acks) {
      ASSERT_GT(ack.version, previous_latest) << "a version was acknowledged twice";
      all.push_back(ack);
      last_ack[ack.key] = ack;
      acked_versions.insert(ack.version);
      last_acked_version = std::max(last_acked_version, ack.version);
    }
    if (!run.acks.empty()) ++rounds_with_acks;
    std::printf("round %d: killed after %d ms, %zu writes acknowledged, last version %llu\n", round,
                delay_ms, run.acks.size(), static_cast<unsigned long long>(last_acked_version));
    if (!run.opened && round == 0) continue;  // killed before the ledger existed

    auto db = dir.Open(dir.DefaultOptions(/*create=*/false));
    ASSERT_TRUE(db);
    const uint64_t latest = db->Latest().version;
    EXPECT_GE(latest, last_acked_version) << "acknowledged commits were lost";
    EXPECT_GE(latest, previous_latest) << "the ledger went back in time";
    previous_latest = latest;
    // This round's writes at their versions (all rounds' on the last one).
    for (const Ack& ack : round + 1 == kRounds ? all : run.acks) {
      EXPECT_EQ(Read(*db, ack.key, ack.version), ack.value)
          << ack.key << " at version " << ack.version;
    }
    // Every key's last acknowledged write is its latest value, unless a commit the
    // writer did not live to acknowledge changed it later.
    for (const auto& [key, ack] : last_ack) {
      auto history = db->History(kTable, key);
      ASSERT_TRUE(history.ok()) << history.status().ToString();
      uint64_t last_change = 0;
      for (const auto& entry : *history) {
        EXPECT_TRUE(entry.verified) << key << " at " << entry.version;
        if (entry.version > ack.version) {
          EXPECT_FALSE(acked_versions.contains(entry.version))
              << key << " changed at version " << entry.version
              << " by an acknowledged commit that did not acknowledge the change";
          unacknowledged_changes.emplace(key, entry.version);
        }
        last_change = std::max(last_change, entry.version);
      }
      EXPECT_GE(last_change, ack.version) << key << ": its acknowledged change is not in history";
      if (last_change == ack.version) {
        EXPECT_EQ(Read(*db, key, std::nullopt), ack.value) << key;
      }
    }
    auto report = db->Verify();
    ASSERT_TRUE(report.ok()) << report.status().ToString();
    for (const auto& finding : report->findings) {
      ADD_FAILURE() << finding.location << ": " << finding.problem;
    }
    ASSERT_TRUE(db->Close().ok());
  }
  std::printf("%zu changes by commits killed before their acknowledgement\n",
              unacknowledged_changes.size());
  // The run must really have killed a writer in the middle of committing.
  EXPECT_GE(rounds_with_acks, 2);
}

}  // namespace
}  // namespace vellum
