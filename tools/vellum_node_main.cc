// Copyright (c) Vellum authors.
//
// vellum-node: one member of a replicated Vellum ledger. A thin main over
// node::NodeServer: reads the YAML config (--config), applies the command-line
// overrides, starts the node, and stops it gracefully on SIGTERM or SIGINT.
// docs/api.md describes the client API; `vellum-db cluster init` writes configs for a
// local cluster.

#include <gflags/gflags.h>
#include <signal.h>

#include <cstdio>
#include <cstring>
#include <iostream>
#include <memory>
#include <string>

#include "node/node_config.h"
#include "node/node_log.h"
#include "node/node_server.h"

DEFINE_string(config, "", "Path of the node's YAML config file (node.yaml). Required.");
DEFINE_string(data_dir, "", "Overrides data_dir: where the ledger and the Raft log live.");
DEFINE_string(peer_listen, "", "Overrides peer_listen: host:port of the peer transport.");
DEFINE_string(client_listen, "", "Overrides client_listen: host:port of the client API.");
DEFINE_uint32(tick_ms, 0, "Overrides tick_ms: the Raft tick in milliseconds.");
DEFINE_int32(election_ticks, 0, "Overrides election_ticks.");
DEFINE_int32(heartbeat_ticks, 0, "Overrides heartbeat_ticks.");
DEFINE_int64(idle_poll_us, -1,
             "Overrides idle_poll_us: how long (microseconds) an idle node thread polls for "
             "work before it sleeps; 0 never polls (-1: the config file's value).");
DEFINE_string(log_format, "", "Overrides log_format: json or text.");
DEFINE_string(sync, "", "Overrides sync: true or false (keep it true in production).");

namespace {

constexpr char kUsage[] =
    "vellum-node --config DIR/nI/node.yaml [overrides]\n\n"
    "Runs one member of a replicated Vellum ledger: Raft over mutual TLS between the\n"
    "members, and the client API (HTTP/1.1 + JSON over TLS with client certificates,\n"
    "docs/api.md) on client_listen. Flags override the config file's values.\n"
    "`vellum-db cluster init --nodes 3 --dir DIR` writes a local cluster's configs.\n"
    "Stops gracefully on SIGTERM or SIGINT. Logs go to stderr, one event per line.\n\n"
    "Exit codes: 0 stopped by a signal; 1 the node could not start; 2 usage error.";

bool Overridden(const char* name) {
  gflags::CommandLineFlagInfo info;
  return gflags::GetCommandLineFlagInfo(name, &info) && !info.is_default;
}

}  // namespace

int main(int argc, char** argv) {
  gflags::SetUsageMessage(kUsage);
  gflags::SetVersionString(VELLUM_VERSION);
  gflags::ParseCommandLineFlags(&argc, &argv, /*remove_flags=*/true);
  if (argc > 1) {
    std::cerr << "vellum-node: unexpected argument '" << argv[1] << "' (see --help)\n";
    return 2;
  }
  if (FLAGS_config.empty()) {
    std::cerr << "vellum-node: --config is required (see --help)\n";
    return 2;
  }
  vellum::Result<vellum::node::NodeConfig> loaded = vellum::node::LoadNodeConfig(FLAGS_config);
  if (!loaded.ok()) {
    std::cerr << "vellum-node: " << loaded.status().ToString() << "\n";
    return 2;
  }
  vellum::node::NodeConfig config = std::move(loaded).value();
  if (Overridden("data_dir")) config.data_dir = FLAGS_data_dir;
  if (Overridden("peer_listen")) config.peer_listen = FLAGS_peer_listen;
  if (Overridden("client_listen")) config.client_listen = FLAGS_client_listen;
  if (Overridden("tick_ms")) config.tick_ms = FLAGS_tick_ms;
  if (Overridden("election_ticks")) config.election_ticks = FLAGS_election_ticks;
  if (Overridden("heartbeat_ticks")) config.heartbeat_ticks = FLAGS_heartbeat_ticks;
  if (Overridden("idle_poll_us")) {
    if (FLAGS_idle_poll_us < 0 || FLAGS_idle_poll_us > 100'000) {
      std::cerr << "vellum-node: --idle_poll_us must be 0 to 100000\n";
      return 2;
    }
    config.idle_poll_us = static_cast<uint32_t>(FLAGS_idle_poll_us);
  }
  if (Overridden("log_format")) config.log_format = FLAGS_log_format;
  if (Overridden("sync")) {
    if (FLAGS_sync != "true" && FLAGS_sync != "false") {
      std::cerr << "vellum-node: --sync must be true or false\n";
      return 2;
    }
    config.sync = FLAGS_sync == "true";
  }
  if (vellum::Status valid = config.Validate(); !valid.ok()) {
    std::cerr << "vellum-node: " << valid.ToString() << "\n";
    return 2;
  }

  // SIGTERM and SIGINT are taken by sigwait below, never delivered to a thread;
  // blocked before any thread starts so every thread inherits the mask. A peer or
  // client that hangs up must not kill the process.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  auto log = std::make_shared<vellum::node::NodeLog>(config.log_format == "text"
                                                         ? vellum::node::NodeLog::Format::kText
                                                         : vellum::node::NodeLog::Format::kJson,
                                                     config.node_id);
  vellum::Result<std::unique_ptr<vellum::node::NodeServer>> server =
      vellum::node::NodeServer::Start(config, log);
  if (!server.ok()) {
    log->Event("start_failed", {{"reason", server.status().ToString()}});
    return 1;
  }
  int signal_number = 0;
  sigwait(&stop_signals, &signal_number);
  log->Event("signal", {{"signal", strsignal(signal_number)}});
  (*server)->Stop();
  return 0;
}
