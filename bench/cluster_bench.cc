// Copyright (c) Vellum authors.
//
// `vellum-bench --benchmarks=cluster`: replicated write throughput and latency of a
// 3-node vellum-node cluster beside a 3-node etcd cluster, both run as real processes
// on loopback with the same security and durability: TLS 1.3 with client certificates
// from one CA, peers over mutual TLS, fsync on every commit.
//
// What it does, in a fresh directory T under /tmp with D = T/cluster (T is removed at
// the end, also on failure or Ctrl-C; --cluster_keep_dir keeps it for the logs):
//   1. `vellum-db cluster init --nodes 3 --dir D --base-port P` writes the CA, a client
//      certificate and the node configs; three `vellum-node --config D/nI/node.yaml`
//      are started and polled (GET /v1/status) until one names a leader.
//   2. Three etcd members (--etcd_bin) with certificates issued from D/ca.crt + ca.key
//      (client and peer TLS, client-cert auth on both, default fsync), polled
//      (POST /v3/maintenance/status) until one reports itself as the leader.
//   3. For each --cluster_clients count C: C threads, each with its own HttpsClient (one
//      keep-alive connection), write --value_size-byte values to distinct keys, one
//      request at a time, for 1 s of warm-up and then --seconds. Every client talks to
//      the leader found in steps 1 and 2: a write sent to a follower costs an extra hop
//      (both forward it to their leader), and neither system should pay it here.
//      vellum `PUT /v1/kv/bench/KEY` with the raw value (success: 200), etcd
//      `POST /v3/kv/put` {"key":b64,"value":b64} through its JSON gateway (success: 200).
//      A request counts when it started after the warm-up and completed before the end.
//   4. Prints, per client count, one line per system and a vellum/etcd ratio line.
//   5. Stops the processes one at a time (SIGTERM, SIGKILL after 5 s) and removes T.
//
// Caveat on etcd's figure: the JSON gateway turns each HTTP/1.1 request into an
// in-process gRPC call over a loopback TLS connection, an extra hop that etcd's gRPC
// clients do not pay; the etcd figure is a lower bound for etcd with native clients.
//
// Defaults of this benchmark: --seconds 10 and --value_size 256 when those (shared)
// flags are not given on the command line.

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "bench/bench_flags.h"
#include "bench/bench_harness.h"
#include "crypto/random.h"
#include "crypto/secure_bytes.h"
#include "crypto/x509.h"
#include "node/http/https_client.h"
#include "vellum/result.h"
#include "vellum/status.h"

DECLARE_uint64(value_size);
DEFINE_string(cluster_systems, "vellum,etcd", "Systems for the cluster benchmark: vellum, etcd.");
DEFINE_string(cluster_clients, "1,64", "Concurrent client counts for the cluster benchmark.");
DEFINE_int32(cluster_base_port, 27100,
             "Ports of the cluster benchmark: vellum peers P+1..3 and clients P+101..103, "
             "etcd clients P+201..203 and peers P+301..303 (all on 127.0.0.1).");
DEFINE_string(vellum_db_bin, "", "vellum-db binary (default: <build>/tools/vellum-db).");
DEFINE_string(vellum_node_bin, "", "vellum-node binary (default: <build>/tools/vellum-node).");
DEFINE_string(etcd_bin, "/usr/bin/etcd", "etcd binary (Debian etcd-server 3.4).");
DEFINE_double(cluster_ready_seconds, 60, "How long a cluster may take to elect a leader.");
DEFINE_double(cluster_warmup_seconds, 1.0, "Unmeasured writes before each measurement.");
DEFINE_string(cluster_node_flags, "",
              "Extra flags for every vellum-node, comma-separated (e.g. --idle_poll_us=0); "
              "printed with the conditions.");
DEFINE_bool(cluster_keep_dir, false, "Keep the cluster benchmark's directory (logs, data).");

namespace vellum::bench {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;
using Json = nlohmann::json;

constexpr int kNodes = 3;
constexpr auto kStopGrace = std::chrono::seconds(5);
constexpr size_t kLogTailLines = 20;

// Set by SIGINT / SIGTERM while the benchmark runs: every wait and the load loop stop
// early so that the processes are stopped and the directory removed.
std::atomic<bool> g_interrupted{false};
static_assert(std::atomic<bool>::is_always_lock_free);

void OnSignal(int) { g_interrupted.store(true); }

class SignalGuard {
 public:
  SignalGuard() {
    struct sigaction action {};
    action.sa_handler = &OnSignal;
    sigemptyset(&action.sa_mask);
    sigaction(SIGINT, &action, &old_int_);
    sigaction(SIGTERM, &action, &old_term_);
  }
  ~SignalGuard() {
    sigaction(SIGINT, &old_int_, nullptr);
    sigaction(SIGTERM, &old_term_, nullptr);
  }
  SignalGuard(const SignalGuard&) = delete;
  SignalGuard& operator=(const SignalGuard&) = delete;

 private:
  struct sigaction old_int_ {};
  struct sigaction old_term_ {};
};

Status Interrupted() { return Status::Aborted("interrupted"); }

// Sleeps `d` unless interrupted first; false when interrupted.
bool SleepFor(Clock::duration d) {
  const auto until = Clock::now() + d;
  while (Clock::now() < until) {
    if (g_interrupted.load()) return false;
    std::this_thread::sleep_for(std::min<Clock::duration>(milliseconds(20), until - Clock::now()));
  }
  return !g_interrupted.load();
}

// --- small helpers ------------------------------------------------------------------------

std::vector<std::string> SplitList(const std::string& list) {
  std::vector<std::string> out;
  std::stringstream in(list);
  std::string item;
  while (std::getline(in, item, ',')) {
    if (!item.empty()) out.push_back(item);
  }
  return out;
}

Result<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::IOError("cannot read " + path);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

// A key file's contents in guarded memory; the ordinary copy is wiped.
Result<crypto::SecureBytes> ReadSecret(const std::string& path) {
  VELLUM_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  crypto::SecureBytes secret = crypto::SecureBytes::CopyFrom(AsBytes(text));
  crypto::SecureWipe(text.data(), text.size());
  return secret;
}

Status WriteFile(const std::string& path, std::string_view data, bool secret) {
  const int fd =
      ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, secret ? 0600 : 0644);
  if (fd < 0) return Status::IOError("cannot create " + path + ": " + std::strerror(errno));
  size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      ::close(fd);
      return Status::IOError("cannot write " + path);
    }
    done += static_cast<size_t>(n);
  }
  return ::close(fd) == 0 ? Status::OK() : Status::IOError("cannot write " + path);
}

// The last lines of a log file, for a failure message.
std::string LogTail(const std::string& path) {
  Result<std::string> text = ReadFile(path);
  if (!text.ok()) return "  (no log at " + path + ")\n";
  std::deque<std::string> lines;
  std::stringstream in(*text);
  std::string line;
  while (std::getline(in, line)) {
    lines.push_back(line.substr(0, 400));
    if (lines.size() > kLogTailLines) lines.pop_front();
  }
  std::string out = "  last lines of " + path + ":\n";
  for (const std::string& l : lines) out += "    " + l + "\n";
  return out;
}

std::string Base64(std::string_view in) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 3 <= in.size(); i += 3) {
    const uint32_t v = static_cast<uint32_t>(static_cast<uint8_t>(in[i])) << 16 |
                       static_cast<uint32_t>(static_cast<uint8_t>(in[i + 1])) << 8 |
                       static_cast<uint8_t>(in[i + 2]);
    out += kAlphabet[v >> 18];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += kAlphabet[v & 63];
  }
  if (i < in.size()) {
    uint32_t v = static_cast<uint32_t>(static_cast<uint8_t>(in[i])) << 16;
    if (i + 1 < in.size()) v |= static_cast<uint32_t>(static_cast<uint8_t>(in[i + 1])) << 8;
    out += kAlphabet[v >> 18];
    out += kAlphabet[(v >> 12) & 63];
    out += i + 1 < in.size() ? kAlphabet[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

// Whether 127.0.0.1:port can be bound now (nothing else listens there).
bool PortFree(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  ::close(fd);
  return ok;
}

Status CheckPortsFree(const std::vector<int>& ports) {
  for (int port : ports) {
    if (port < 1024 || port > 65535 || !PortFree(port)) {
      return Status::FailedPrecondition("port " + std::to_string(port) +
                                        " on 127.0.0.1 is not usable; pick another "
                                        "--cluster_base_port");
    }
  }
  return Status::OK();
}

// A tool from the flag, else the sibling of this binary's directory:
// <build>/bench/vellum-bench -> <build>/tools/NAME.
Result<std::string> FindTool(const std::string& flag_value, const char* flag, const char* name) {
  std::string path = flag_value;
  if (path.empty()) {
    std::error_code ec;
    const std::filesystem::path self = std::filesystem::read_symlink("/proc/self/exe", ec);
    if (ec) {
      return Status::FailedPrecondition(std::string("cannot locate ") + name + "; pass --" + flag);
    }
    path = (self.parent_path().parent_path() / "tools" / name).string();
  }
  if (::access(path.c_str(), X_OK) != 0) {
    return Status::FailedPrecondition(std::string(name) + " not found at " + path +
                                      " (build its target, or pass --" + flag + ")");
  }
  return path;
}

// --- processes ----------------------------------------------------------------------------

// Child processes of one cluster: started with fork/exec in process groups of their own
// (Ctrl-C reaches the benchmark, which stops them in order), killed if the benchmark
// dies (PR_SET_PDEATHSIG), stopped with SIGTERM then SIGKILL.
class Processes {
 public:
  Processes() = default;
  ~Processes() { StopAll(); }
  Processes(const Processes&) = delete;
  Processes& operator=(const Processes&) = delete;

  // Starts argv[0] with stdout and stderr to `log_path` (stdin /dev/null).
  Status Spawn(const std::string& name, const std::vector<std::string>& argv,
               const std::string& log_path) {
    // Everything the child needs is prepared before fork: after it, only
    // async-signal-safe calls.
    std::vector<char*> args;
    for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    const int log_fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (log_fd < 0) return Status::IOError("cannot create " + log_path);
    const int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    int exec_pipe[2];
    if (null_fd < 0 || ::pipe2(exec_pipe, O_CLOEXEC) != 0) {
      ::close(log_fd);
      if (null_fd >= 0) ::close(null_fd);
      return Status::IOError("pipe2 failed");
    }
    const pid_t parent = ::getpid();
    const pid_t pid = ::fork();
    if (pid == 0) {
      ::setpgid(0, 0);
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (::getppid() != parent) ::_exit(127);  // the benchmark died already
      ::dup2(null_fd, STDIN_FILENO);
      ::dup2(log_fd, STDOUT_FILENO);
      ::dup2(log_fd, STDERR_FILENO);
      ::execv(args[0], args.data());
      const int error = errno;
      [[maybe_unused]] const ssize_t ignored = ::write(exec_pipe[1], &error, sizeof(error));
      ::_exit(127);
    }
    ::close(log_fd);
    ::close(null_fd);
    ::close(exec_pipe[1]);
    if (pid < 0) {
      ::close(exec_pipe[0]);
      return Status::IOError("fork failed: " + std::string(std::strerror(errno)));
    }
    int exec_error = 0;
    ssize_t n;
    do {
      n = ::read(exec_pipe[0], &exec_error, sizeof(exec_error));
    } while (n < 0 && errno == EINTR);
    ::close(exec_pipe[0]);
    if (n == static_cast<ssize_t>(sizeof(exec_error))) {
      ::waitpid(pid, nullptr, 0);
      return Status::FailedPrecondition("cannot run " + argv[0] + ": " + std::strerror(exec_error));
    }
    std::fprintf(stderr, "cluster: started %s (pid %d), log %s\n", name.c_str(),
                 static_cast<int>(pid), log_path.c_str());
    procs_.push_back({name, pid, log_path, false, 0});
    return Status::OK();
  }

  // OK while every process runs; otherwise which one exited, and its log's tail.
  Status CheckAlive() {
    for (Proc& p : procs_) {
      Reap(p, /*block=*/false);
      if (p.reaped) {
        return Status::Unavailable(p.name + " exited (" + Describe(p.status) + ")\n" +
                                   LogTail(p.log));
      }
    }
    return Status::OK();
  }

  // Waits for the single process `name` to exit by itself; its exit code must be 0.
  Status WaitSuccess(const std::string& name, Clock::duration timeout) {
    for (Proc& p : procs_) {
      if (p.name != name) continue;
      const auto deadline = Clock::now() + timeout;
      while (!p.reaped && Clock::now() < deadline && !g_interrupted.load()) {
        Reap(p, /*block=*/false);
        if (!p.reaped) std::this_thread::sleep_for(milliseconds(10));
      }
      if (!p.reaped)
        return g_interrupted.load() ? Interrupted() : Status::Unavailable(name + " hung");
      if (!WIFEXITED(p.status) || WEXITSTATUS(p.status) != 0) {
        return Status::Unavailable(name + " failed (" + Describe(p.status) + ")\n" +
                                   LogTail(p.log));
      }
      return Status::OK();
    }
    return Status::NotFound(name);
  }

  // One at a time, last started first: SIGTERM, then SIGKILL after kStopGrace. One at a
  // time because a member that stops while its peers stop too can spend its grace
  // waiting for them (an etcd leader hands leadership to a live follower first, and
  // waits out its request timeout when every follower is going away at once).
  void StopAll() {
    for (auto p = procs_.rbegin(); p != procs_.rend(); ++p) {
      if (p->reaped) continue;
      ::kill(p->pid, SIGTERM);
      const auto deadline = Clock::now() + kStopGrace;
      while (!p->reaped && Clock::now() < deadline) {
        Reap(*p, /*block=*/false);
        if (!p->reaped) std::this_thread::sleep_for(milliseconds(10));
      }
      if (p->reaped) continue;
      std::fprintf(stderr, "cluster: %s still running 5 s after SIGTERM; SIGKILL\n",
                   p->name.c_str());
      ::kill(p->pid, SIGKILL);
      Reap(*p, /*block=*/true);
    }
    procs_.clear();
  }

 private:
  struct Proc {
    std::string name;
    pid_t pid;
    std::string log;
    bool reaped;
    int status;
  };

  static void Reap(Proc& p, bool block) {
    if (p.reaped) return;
    int status = 0;
    pid_t r;
    do {
      r = ::waitpid(p.pid, &status, block ? 0 : WNOHANG);
    } while (r < 0 && errno == EINTR);
    if (r == p.pid || (r < 0 && errno == ECHILD)) {
      p.reaped = true;
      p.status = status;
    }
  }

  static std::string Describe(int status) {
    if (WIFEXITED(status)) return "exit code " + std::to_string(WEXITSTATUS(status));
    if (WIFSIGNALED(status)) return "signal " + std::to_string(WTERMSIG(status));
    return "status " + std::to_string(status);
  }

  std::vector<Proc> procs_;
};

// A fresh directory under /tmp, removed with everything in it (unless kept).
class ScratchDirectory {
 public:
  ScratchDirectory() {
    char tmpl[] = "/tmp/vellum-cluster-bench-XXXXXX";
    if (::mkdtemp(tmpl) != nullptr) path_ = tmpl;
  }
  ~ScratchDirectory() {
    if (path_.empty()) return;
    if (FLAGS_cluster_keep_dir) {
      std::fprintf(stderr, "cluster: kept %s\n", path_.c_str());
      return;
    }
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
    if (ec) {
      std::fprintf(stderr, "cluster: could not remove %s: %s\n", path_.c_str(),
                   ec.message().c_str());
    }
  }
  ScratchDirectory(const ScratchDirectory&) = delete;
  ScratchDirectory& operator=(const ScratchDirectory&) = delete;

  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// --- the client side ----------------------------------------------------------------------

// Where the load goes and the credentials to get there.
struct Endpoint {
  std::string url;
  std::string ca_pem;
  std::string cert_pem;
  const crypto::SecureBytes* key_pem = nullptr;
};

Result<std::unique_ptr<http::HttpsClient>> Connect(const Endpoint& e, uint32_t request_timeout_ms) {
  http::HttpsClientOptions options;
  options.ca_certificate_pem = e.ca_pem;
  options.certificate_pem = e.cert_pem;
  options.private_key_pem = e.key_pem->Clone();
  options.connect_timeout_ms = std::min<uint32_t>(request_timeout_ms, 5000);
  options.request_timeout_ms = request_timeout_ms;
  return http::HttpsClient::Create(e.url, std::move(options));
}

// One request of the load: what to send for write number `seq` of client `client`.
struct WriteRequest {
  std::string method;
  std::string target;
  std::string body;
};
using MakeWrite =
    std::function<WriteRequest(size_t client, uint64_t seq, const std::string& value)>;

struct LoadResult {
  size_t clients = 0;
  double seconds = 0;
  uint64_t writes = 0;  // answered 200
  uint64_t errors = 0;  // anything else, in the measured window
  std::vector<double> latencies_ms;
  uint64_t connections = 0;
  std::string first_error;

  double rate() const { return static_cast<double>(writes) / seconds; }
  double Percentile(double q) const {
    if (latencies_ms.empty()) return std::nan("");
    const size_t rank =
        static_cast<size_t>(std::ceil(q * static_cast<double>(latencies_ms.size())));
    return latencies_ms[std::min(latencies_ms.size() - 1, rank == 0 ? 0 : rank - 1)];
  }
};

// `clients` threads writing through their own connections: warm-up, then `seconds`.
Result<LoadResult> RunLoad(const Endpoint& endpoint, size_t clients, double seconds,
                           size_t value_size, const MakeWrite& make) {
  struct PerClient {
    std::unique_ptr<http::HttpsClient> client;
    std::vector<double> latencies_ms;
    uint64_t writes = 0;
    uint64_t errors = 0;
    std::string first_error;
  };
  std::vector<PerClient> per(clients);
  for (size_t i = 0; i < clients; ++i) {
    VELLUM_ASSIGN_OR_RETURN(per[i].client, Connect(endpoint, 10000));
  }
  std::atomic<bool> go{false};
  Clock::time_point measure_start;
  Clock::time_point end;
  std::vector<std::thread> threads;
  threads.reserve(clients);
  for (size_t i = 0; i < clients; ++i) {
    threads.emplace_back([&, i] {
      PerClient& me = per[i];
      std::mt19937_64 rng(1000 + i);
      std::string value(value_size, '\0');
      for (char& c : value) c = static_cast<char>(rng());
      while (!go.load()) std::this_thread::sleep_for(milliseconds(1));
      me.latencies_ms.reserve(static_cast<size_t>(seconds * 2000));
      for (uint64_t seq = 0; !g_interrupted.load(); ++seq) {
        const Clock::time_point t0 = Clock::now();
        if (t0 >= end) break;
        const WriteRequest w = make(i, seq, value);
        Result<http::ClientResponse> r = me.client->Send(w.method, w.target, w.body);
        const Clock::time_point t1 = Clock::now();
        const bool ok = r.ok() && r->status == 200;
        if (t0 >= measure_start && t1 <= end) {
          if (ok) {
            ++me.writes;
            me.latencies_ms.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
          } else {
            ++me.errors;
          }
        }
        if (!ok) {
          if (me.first_error.empty()) {
            me.first_error =
                r.ok() ? "HTTP " + std::to_string(r->status) + ": " + r->body.substr(0, 200)
                       : r.status().ToString();
          }
          std::this_thread::sleep_for(milliseconds(10));  // no hot loop on a refusing server
        }
      }
    });
  }
  const Clock::time_point start = Clock::now();
  measure_start = start + std::chrono::duration_cast<Clock::duration>(
                              std::chrono::duration<double>(FLAGS_cluster_warmup_seconds));
  end = measure_start +
        std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  go.store(true);  // publishes measure_start and end
  for (std::thread& t : threads) t.join();
  if (g_interrupted.load()) return Interrupted();

  LoadResult result;
  result.clients = clients;
  result.seconds = seconds;
  for (PerClient& p : per) {
    result.writes += p.writes;
    result.errors += p.errors;
    result.connections += p.client->connections_opened();
    result.latencies_ms.insert(result.latencies_ms.end(), p.latencies_ms.begin(),
                               p.latencies_ms.end());
    if (result.first_error.empty()) result.first_error = p.first_error;
  }
  std::sort(result.latencies_ms.begin(), result.latencies_ms.end());
  return result;
}

// Polls `probe` on every endpoint until one names the leader; returns its index.
// `probe` returns the leader's index when this endpoint knows it, nullopt otherwise.
Result<size_t> WaitForLeader(
    Processes& procs, const std::vector<Endpoint>& endpoints,
    const std::function<std::optional<size_t>(size_t index, http::HttpsClient& client)>& probe,
    const char* system) {
  std::vector<std::unique_ptr<http::HttpsClient>> clients;
  for (const Endpoint& e : endpoints) {
    VELLUM_ASSIGN_OR_RETURN(std::unique_ptr<http::HttpsClient> c, Connect(e, 2000));
    clients.push_back(std::move(c));
  }
  const auto deadline =
      Clock::now() + std::chrono::duration_cast<Clock::duration>(
                         std::chrono::duration<double>(FLAGS_cluster_ready_seconds));
  while (Clock::now() < deadline) {
    VELLUM_RETURN_IF_ERROR(procs.CheckAlive());
    for (size_t i = 0; i < clients.size(); ++i) {
      if (std::optional<size_t> leader = probe(i, *clients[i]); leader.has_value()) {
        return *leader;
      }
    }
    if (!SleepFor(milliseconds(200))) return Interrupted();
  }
  return Status::Unavailable(std::string(system) + ": no leader within " +
                             std::to_string(FLAGS_cluster_ready_seconds) + " s");
}

// --- the systems ---------------------------------------------------------------------------

// The measurement, with the news of any process that died meanwhile: the likely cause of
// a failure, and worth a warning beside figures that count errors.
Result<std::vector<LoadResult>> WithProcessState(Result<std::vector<LoadResult>> results,
                                                 Processes& procs) {
  const Status alive = procs.CheckAlive();
  if (alive.ok()) return results;
  if (results.ok()) {
    std::fprintf(stderr, "cluster: warning: %s\n", alive.message().c_str());
    return results;
  }
  return Status(results.status().code(), results.status().message() + "; " + alive.message());
}

struct Setup {
  std::string root;    // the scratch directory: logs of the set-up
  std::string dir;     // D = root/cluster: everything else
  std::string ca_pem;  // D/ca.crt
  std::string client_cert_pem;
  crypto::SecureBytes client_key_pem;
  int base_port = 0;
  double seconds = 0;
  size_t value_size = 0;
  std::vector<size_t> client_counts;
};

// vellum-db cluster init: the CA, the client certificate and the node configs.
Status InitCluster(Setup& s, Processes& procs) {
  VELLUM_ASSIGN_OR_RETURN(std::string db_bin,
                          FindTool(FLAGS_vellum_db_bin, "vellum_db_bin", "vellum-db"));
  VELLUM_RETURN_IF_ERROR(procs.Spawn("vellum-db cluster init",
                                     {db_bin, "cluster", "init", "--nodes", std::to_string(kNodes),
                                      "--dir", s.dir, "--base-port", std::to_string(s.base_port)},
                                     s.root + "/cluster-init.log"));
  VELLUM_RETURN_IF_ERROR(procs.WaitSuccess("vellum-db cluster init", std::chrono::seconds(60)));
  VELLUM_ASSIGN_OR_RETURN(s.ca_pem, ReadFile(s.dir + "/ca.crt"));
  VELLUM_ASSIGN_OR_RETURN(s.client_cert_pem, ReadFile(s.dir + "/client.crt"));
  VELLUM_ASSIGN_OR_RETURN(s.client_key_pem, ReadSecret(s.dir + "/client.key"));
  return Status::OK();
}

Result<std::vector<LoadResult>> MeasureAll(const Setup& s, const Endpoint& leader,
                                           const char* system, const MakeWrite& make) {
  std::vector<LoadResult> results;
  for (size_t clients : s.client_counts) {
    std::fprintf(stderr, "cluster: %s, %zu clients, %.0f s ...\n", system, clients, s.seconds);
    VELLUM_ASSIGN_OR_RETURN(LoadResult r, RunLoad(leader, clients, s.seconds, s.value_size, make));
    if (r.errors > 0) {
      std::fprintf(stderr, "cluster: %s, %zu clients: %llu errors; first: %s\n", system, clients,
                   static_cast<unsigned long long>(r.errors), r.first_error.c_str());
    }
    results.push_back(std::move(r));
  }
  return results;
}

Result<std::vector<LoadResult>> RunVellum(const Setup& s) {
  VELLUM_ASSIGN_OR_RETURN(std::string node_bin,
                          FindTool(FLAGS_vellum_node_bin, "vellum_node_bin", "vellum-node"));
  std::vector<int> ports;
  for (int i = 1; i <= kNodes; ++i) {
    ports.push_back(s.base_port + i);
    ports.push_back(s.base_port + 100 + i);
  }
  VELLUM_RETURN_IF_ERROR(CheckPortsFree(ports));
  VELLUM_ASSIGN_OR_RETURN(std::string endpoints_text, ReadFile(s.dir + "/endpoints"));
  const std::vector<std::string> urls = SplitList([&] {
    std::replace(endpoints_text.begin(), endpoints_text.end(), '\n', ',');
    return endpoints_text;
  }());
  if (urls.size() != kNodes) return Status::Corruption(s.dir + "/endpoints: expected 3 URLs");

  Processes procs;
  for (int i = 1; i <= kNodes; ++i) {
    const std::string n = "n" + std::to_string(i);
    std::vector<std::string> argv = {node_bin, "--config", s.dir + "/" + n + "/node.yaml"};
    for (const std::string& flag : SplitList(FLAGS_cluster_node_flags)) argv.push_back(flag);
    VELLUM_RETURN_IF_ERROR(procs.Spawn("vellum-node " + n, argv, s.dir + "/vellum-" + n + ".log"));
  }
  std::vector<Endpoint> endpoints;
  for (const std::string& url : urls) {
    endpoints.push_back({url, s.ca_pem, s.client_cert_pem, &s.client_key_pem});
  }
  // Ready: a 200 from /v1/status naming a leader (non-zero); the leader's own endpoint
  // ("role":"leader") is preferred, else the leader's client URL, else node id I -> URL I.
  VELLUM_ASSIGN_OR_RETURN(
      size_t leader,
      WaitForLeader(
          procs, endpoints,
          [&](size_t index, http::HttpsClient& client) -> std::optional<size_t> {
            Result<http::ClientResponse> r = client.Send("GET", "/v1/status");
            if (!r.ok() || r->status != 200) return std::nullopt;
            const Json j = Json::parse(r->body, nullptr, /*allow_exceptions=*/false);
            if (!j.is_object()) return std::nullopt;
            if (const auto role = j.find("role");
                role != j.end() && role->is_string() && role->get<std::string>() == "leader") {
              return index;
            }
            const auto id = j.find("leader");
            if (id == j.end() || !id->is_number_unsigned() || id->get<uint64_t>() == 0) {
              return std::nullopt;
            }
            if (const auto url = j.find("leader_url"); url != j.end() && url->is_string()) {
              for (size_t k = 0; k < urls.size(); ++k) {
                if (urls[k] == url->get<std::string>()) return k;
              }
            }
            const uint64_t node = id->get<uint64_t>();
            return node >= 1 && node <= urls.size() ? std::optional<size_t>(node - 1)
                                                    : std::nullopt;
          },
          "vellum"));
  std::fprintf(stderr, "cluster: vellum leader is node %zu (%s)\n", leader + 1,
               urls[leader].c_str());

  const MakeWrite make = [](size_t client, uint64_t seq, const std::string& value) {
    return WriteRequest{
        "PUT", "/v1/kv/bench/c" + std::to_string(client) + "-" + std::to_string(seq), value};
  };
  Result<std::vector<LoadResult>> results = MeasureAll(s, endpoints[leader], "vellum", make);
  return WithProcessState(std::move(results), procs);
}

// Certificates for the etcd members from the cluster CA: server and client use (the
// JSON gateway dials its own gRPC server with the member's certificate), SAN 127.0.0.1.
Status WriteEtcdCertificates(const Setup& s) {
  VELLUM_ASSIGN_OR_RETURN(std::string ca_key_text, ReadFile(s.dir + "/ca.key"));
  crypto::CertifiedKey ca;
  ca.certificate_pem = s.ca_pem;
  ca.private_key_pem = crypto::SecureBytes::CopyFrom(AsBytes(ca_key_text));
  crypto::SecureWipe(ca_key_text.data(), ca_key_text.size());
  for (int i = 1; i <= kNodes; ++i) {
    crypto::CertificateRequest request;
    request.common_name = "etcd-" + std::to_string(i);
    request.ip_addresses = {"127.0.0.1"};
    request.dns_names = {"localhost"};
    request.usage = crypto::CertificateUsage::kServerAndClient;
    request.validity_days = 2;
    VELLUM_ASSIGN_OR_RETURN(crypto::CertifiedKey cert,
                            crypto::IssueCertificate(ca, request, crypto::SystemRandom()));
    const std::string base = s.dir + "/etcd-" + std::to_string(i);
    VELLUM_RETURN_IF_ERROR(WriteFile(base + ".crt", cert.certificate_pem, /*secret=*/false));
    VELLUM_RETURN_IF_ERROR(
        WriteFile(base + ".key",
                  std::string_view(reinterpret_cast<const char*>(cert.private_key_pem.data()),
                                   cert.private_key_pem.size()),
                  /*secret=*/true));
  }
  return Status::OK();
}

Result<std::vector<LoadResult>> RunEtcd(const Setup& s) {
  if (::access(FLAGS_etcd_bin.c_str(), X_OK) != 0) {
    return Status::FailedPrecondition("etcd not found at " + FLAGS_etcd_bin +
                                      " (apt-get install etcd-server, or pass --etcd_bin)");
  }
  std::vector<int> ports;
  for (int i = 1; i <= kNodes; ++i) {
    ports.push_back(s.base_port + 200 + i);
    ports.push_back(s.base_port + 300 + i);
  }
  VELLUM_RETURN_IF_ERROR(CheckPortsFree(ports));
  VELLUM_RETURN_IF_ERROR(WriteEtcdCertificates(s));

  const auto client_url = [&](int i) {
    return "https://127.0.0.1:" + std::to_string(s.base_port + 200 + i);
  };
  const auto peer_url = [&](int i) {
    return "https://127.0.0.1:" + std::to_string(s.base_port + 300 + i);
  };
  std::string initial_cluster;
  for (int i = 1; i <= kNodes; ++i) {
    if (i > 1) initial_cluster += ",";
    initial_cluster += "etcd-" + std::to_string(i) + "=" + peer_url(i);
  }
  Processes procs;
  for (int i = 1; i <= kNodes; ++i) {
    const std::string name = "etcd-" + std::to_string(i);
    const std::string base = s.dir + "/" + name;
    VELLUM_RETURN_IF_ERROR(procs.Spawn(name,
                                       {FLAGS_etcd_bin,
                                        "--name",
                                        name,
                                        "--data-dir",
                                        base + ".data",
                                        "--listen-client-urls",
                                        client_url(i),
                                        "--advertise-client-urls",
                                        client_url(i),
                                        "--listen-peer-urls",
                                        peer_url(i),
                                        "--initial-advertise-peer-urls",
                                        peer_url(i),
                                        "--initial-cluster",
                                        initial_cluster,
                                        "--initial-cluster-state",
                                        "new",
                                        "--initial-cluster-token",
                                        "vellum-bench",
                                        "--client-cert-auth",
                                        "--trusted-ca-file",
                                        s.dir + "/ca.crt",
                                        "--cert-file",
                                        base + ".crt",
                                        "--key-file",
                                        base + ".key",
                                        "--peer-client-cert-auth",
                                        "--peer-trusted-ca-file",
                                        s.dir + "/ca.crt",
                                        "--peer-cert-file",
                                        base + ".crt",
                                        "--peer-key-file",
                                        base + ".key",
                                        "--logger",
                                        "zap",
                                        "--log-outputs",
                                        "stderr"},
                                       base + ".log"));
  }
  std::vector<Endpoint> endpoints;
  for (int i = 1; i <= kNodes; ++i) {
    endpoints.push_back({client_url(i), s.ca_pem, s.client_cert_pem, &s.client_key_pem});
  }
  // The leader: the member whose maintenance status names itself (etcd's gateway
  // writes 64-bit ids as JSON strings).
  VELLUM_ASSIGN_OR_RETURN(
      size_t leader,
      WaitForLeader(
          procs, endpoints,
          [](size_t index, http::HttpsClient& client) -> std::optional<size_t> {
            Result<http::ClientResponse> r = client.Send("POST", "/v3/maintenance/status", "{}");
            if (!r.ok() || r->status != 200) return std::nullopt;
            const Json j = Json::parse(r->body, nullptr, /*allow_exceptions=*/false);
            if (!j.is_object() || !j.contains("header") || !j["header"].is_object()) {
              return std::nullopt;
            }
            const Json member = j["header"].value("member_id", Json());
            const Json leader = j.value("leader", Json());
            if (member.is_null() || leader.is_null() || member != leader) return std::nullopt;
            return index;
          },
          "etcd"));
  std::fprintf(stderr, "cluster: etcd leader is %s\n", endpoints[leader].url.c_str());

  const MakeWrite make = [](size_t client, uint64_t seq, const std::string& value) {
    // The value's base64 is the same for every write of a client: keep it.
    thread_local std::string value_b64;
    thread_local std::string encoded_from;
    if (encoded_from != value) {
      encoded_from = value;
      value_b64 = Base64(value);
    }
    const std::string key = "bench/c" + std::to_string(client) + "-" + std::to_string(seq);
    return WriteRequest{"POST", "/v3/kv/put",
                        R"({"key":")" + Base64(key) + R"(","value":")" + value_b64 + R"("})"};
  };
  Result<std::vector<LoadResult>> results = MeasureAll(s, endpoints[leader], "etcd", make);
  return WithProcessState(std::move(results), procs);
}

// --- reporting ------------------------------------------------------------------------------

std::string Conditions(const Setup& s) {
  char buf[320];
  std::snprintf(buf, sizeof(buf),
                "%d nodes loopback, TLS 1.3 mTLS, fsync on, value %llu B, %.0f s after %.0f s "
                "warm-up, every client to the leader over one keep-alive connection",
                kNodes, static_cast<unsigned long long>(s.value_size), s.seconds,
                FLAGS_cluster_warmup_seconds);
  std::string conditions = buf;
  conditions += FLAGS_cluster_node_flags.empty() ? ", vellum-node defaults"
                                                 : ", vellum-node " + FLAGS_cluster_node_flags;
  return conditions;
}

std::string Line(const char* system, const LoadResult& r) {
  char buf[256];
  std::snprintf(buf, sizeof(buf),
                "%s clients=%zu writes/s=%.0f p50_ms=%.2f p99_ms=%.2f errors=%llu connections=%llu",
                system, r.clients, r.rate(), r.Percentile(0.50), r.Percentile(0.99),
                static_cast<unsigned long long>(r.errors),
                static_cast<unsigned long long>(r.connections));
  return buf;
}

}  // namespace

VELLUM_BENCHMARK(cluster,
                 "Replicated writes: 3 vellum-node vs 3 etcd on loopback, TLS 1.3 mTLS, fsync "
                 "(--cluster_systems, --cluster_clients; --seconds default 10, --value_size 256)") {
  Setup s;
  s.seconds = gflags::GetCommandLineFlagInfoOrDie("seconds").is_default ? 10.0 : FLAGS_seconds;
  s.value_size = gflags::GetCommandLineFlagInfoOrDie("value_size").is_default
                     ? 256
                     : static_cast<size_t>(FLAGS_value_size);
  s.base_port = FLAGS_cluster_base_port;
  s.client_counts = ParseSizes(FLAGS_cluster_clients);
  bool run_vellum = false;
  bool run_etcd = false;
  for (const std::string& system : SplitList(FLAGS_cluster_systems)) {
    if (system == "vellum") {
      run_vellum = true;
    } else if (system == "etcd") {
      run_etcd = true;
    } else {
      std::fprintf(stderr, "vellum-bench: --cluster_systems: unknown system '%s'\n",
                   system.c_str());
      std::exit(2);
    }
  }
  for (size_t c : s.client_counts) {
    if (c == 0 || c > 1024) {
      std::fprintf(stderr, "vellum-bench: --cluster_clients: counts must be 1..1024\n");
      std::exit(2);
    }
  }

  bool failed = false;
  std::optional<std::vector<LoadResult>> vellum;
  std::optional<std::vector<LoadResult>> etcd;
  {
    SignalGuard signals;
    ScratchDirectory dir;
    if (dir.path().empty()) {
      std::fprintf(stderr, "cluster: cannot create a directory under /tmp\n");
      std::exit(1);
    }
    s.root = dir.path();
    s.dir = s.root + "/cluster";
    Status init;
    {
      Processes procs;
      init = InitCluster(s, procs);
    }
    if (!init.ok()) {
      std::fprintf(stderr, "cluster: setup failed: %s\n", init.ToString().c_str());
      failed = true;
    }
    if (!failed && run_vellum && !g_interrupted.load()) {
      Result<std::vector<LoadResult>> r = RunVellum(s);
      if (r.ok()) {
        vellum = std::move(r).value();
      } else {
        std::fprintf(stderr, "cluster: vellum failed: %s\n", r.status().ToString().c_str());
        failed = true;
      }
    }
    if (init.ok() && run_etcd && !g_interrupted.load()) {
      Result<std::vector<LoadResult>> r = RunEtcd(s);
      if (r.ok()) {
        etcd = std::move(r).value();
      } else {
        std::fprintf(stderr, "cluster: etcd failed: %s\n", r.status().ToString().c_str());
        failed = true;
      }
    }
  }  // processes stopped, directory removed

  const std::string conditions = Conditions(s);
  for (size_t i = 0; i < s.client_counts.size(); ++i) {
    const LoadResult* v = vellum.has_value() ? &(*vellum)[i] : nullptr;
    const LoadResult* e = etcd.has_value() ? &(*etcd)[i] : nullptr;
    if (v != nullptr) run.Report(Line("vellum", *v), conditions);
    if (e != nullptr) run.Report(Line("etcd", *e), conditions);
    if (v != nullptr && e != nullptr) {
      char buf[256];
      std::snprintf(buf, sizeof(buf), "vellum/etcd clients=%zu writes/s=%.2fx p50=%.2fx p99=%.2fx",
                    v->clients, v->rate() / e->rate(), v->Percentile(0.5) / e->Percentile(0.5),
                    v->Percentile(0.99) / e->Percentile(0.99));
      run.Report(buf, conditions);
    }
  }
  if (g_interrupted.load()) {
    std::fprintf(stderr, "cluster: interrupted\n");
    std::exit(130);
  }
  if (failed) std::exit(1);
}

}  // namespace vellum::bench
