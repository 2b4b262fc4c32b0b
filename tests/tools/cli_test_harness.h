// Copyright (c) Vellum authors.
//
// Runs vellum-db for the CLI tests, two ways: in-process through RunVellumDb, and as
// the real binary (fork+exec, stdin/stdout/stderr redirected to temporary files). A
// value-parameterised suite over Runner, instantiated with
// VELLUM_INSTANTIATE_FOR_RUNNERS, runs each of its tests both ways.

#ifndef VELLUM_TESTS_TOOLS_CLI_TEST_HARNESS_H_
#define VELLUM_TESTS_TOOLS_CLI_TEST_HARNESS_H_

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <ostream>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "tools/cli.h"

namespace vellum::tools {

// What a run of vellum-db gave: its exit code and everything it wrote.
struct Outcome {
  int exit_code = -1;
  std::string out;
  std::string err;
};

inline std::ostream& operator<<(std::ostream& os, const Outcome& o) {
  return os << "exit " << o.exit_code << ", stdout: " << o.out << ", stderr: " << o.err;
}

// Runs vellum-db with `args` in this process, reading `input` as stdin.
inline Outcome RunInProcess(std::vector<std::string> args, const std::string& input = "") {
  std::istringstream in(input);
  std::ostringstream out;
  std::ostringstream err;
  Outcome outcome;
  outcome.exit_code = RunVellumDb(DefaultRegistry(), std::move(args), in, out, err);
  outcome.out = out.str();
  outcome.err = err.str();
  return outcome;
}

// A file under the test temp dir, removed when this goes out of scope.
class TempFile {
 public:
  TempFile() {
    std::string pattern = ::testing::TempDir() + "vellum_cli_XXXXXX";
    const int fd = mkstemp(pattern.data());
    EXPECT_GE(fd, 0) << "mkstemp failed, errno " << errno;
    if (fd >= 0) close(fd);
    path_ = pattern;
  }
  explicit TempFile(const std::string& contents) : TempFile() { Write(contents); }
  ~TempFile() { std::remove(path_.c_str()); }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;

  const std::string& path() const { return path_; }
  void Write(const std::string& data) const {
    std::ofstream f(path_, std::ios::binary | std::ios::trunc);
    f.write(data.data(), static_cast<std::streamsize>(data.size()));
  }
  std::string Read() const {
    std::ifstream f(path_, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
  }

 private:
  std::string path_;
};

inline const char* BinaryPath() { return VELLUM_BINARY_DIR "/tools/vellum-db"; }

// Runs the vellum-db binary with `args`, stdin read from a file holding `input`.
inline Outcome RunBinary(std::vector<std::string> args, const std::string& input = "") {
  TempFile in(input);
  TempFile out;
  TempFile err;
  std::vector<std::string> argv_storage = {BinaryPath()};
  argv_storage.insert(argv_storage.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& arg : argv_storage) argv.push_back(arg.data());
  argv.push_back(nullptr);

  const pid_t pid = fork();
  if (pid == 0) {
    const int in_fd = open(in.path().c_str(), O_RDONLY);
    const int out_fd = open(out.path().c_str(), O_WRONLY | O_TRUNC);
    const int err_fd = open(err.path().c_str(), O_WRONLY | O_TRUNC);
    if (in_fd < 0 || out_fd < 0 || err_fd < 0) _exit(126);
    if (dup2(in_fd, 0) < 0 || dup2(out_fd, 1) < 0 || dup2(err_fd, 2) < 0) _exit(126);
    execv(argv[0], argv.data());
    _exit(127);
  }
  Outcome outcome;
  EXPECT_GT(pid, 0) << "fork failed";
  if (pid <= 0) return outcome;
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  EXPECT_TRUE(WIFEXITED(status)) << "vellum-db did not exit normally (status " << status << ")";
  outcome.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  outcome.out = out.Read();
  outcome.err = err.Read();
  EXPECT_NE(outcome.exit_code, 127) << "could not run " << BinaryPath();
  return outcome;
}

// Either way of running vellum-db (RunInProcess or RunBinary), for tests that should
// hold for each.
using Runner = Outcome (*)(std::vector<std::string>, const std::string&);

// "InProcess" or "Binary", in the order VELLUM_INSTANTIATE_FOR_RUNNERS gives them.
inline std::string RunnerParamName(const ::testing::TestParamInfo<Runner>& param) {
  return std::string(param.index == 0 ? "InProcess" : "Binary");
}

// Test names: <suite>.<Name>/InProcess and <suite>.<Name>/Binary.
#define VELLUM_INSTANTIATE_FOR_RUNNERS(suite)                                                  \
  INSTANTIATE_TEST_SUITE_P(                                                                    \
      , suite, ::testing::Values(&::vellum::tools::RunInProcess, &::vellum::tools::RunBinary), \
      ::vellum::tools::RunnerParamName)

}  // namespace vellum::tools

#endif  // VELLUM_TESTS_TOOLS_CLI_TEST_HARNESS_H_
