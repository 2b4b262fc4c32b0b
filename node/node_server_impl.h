// Copyright (c) Vellum authors.
//
// The insides of NodeServer, shared by node_server.cc (start-up, the event loop, the
// peers) and client_api.cc (the HTTP handlers). Not a public header.

#ifndef VELLUM_NODE_NODE_SERVER_IMPL_H_
#define VELLUM_NODE_NODE_SERVER_IMPL_H_

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "node/http/https_server.h"
#include "node/http/metrics.h"
#include "node/http/router.h"
#include "node/membership.h"
#include "node/node_config.h"
#include "node/node_log.h"
#include "node/node_server.h"
#include "node/replicated_ledger.h"
#include "raft/peer_envelope.h"
#include "raft/transport/peer_transport.h"

namespace vellum::node {

// What /v1/status, /healthz and /metrics show, copied out of the loop after each round.
struct NodeStatusSnapshot {
  uint64_t node_id = 0;
  std::string role = "follower";
  uint64_t term = 0;
  uint64_t leader = 0;
  uint64_t commit_index = 0;
  uint64_t applied_index = 0;
  uint64_t applied_version = 0;
  Hash state_root{};
  std::vector<uint64_t> voters;
  std::vector<uint64_t> learners;
  std::string alarm;  // empty while the node applies
};

// The node's own series in the metrics registry, looked up once (the registry's
// lookups take a lock and a map search; these are updated every loop round).
struct NodeMetrics {
  explicit NodeMetrics(http::MetricsRegistry& registry);
  http::Gauge* term;
  http::Gauge* commit_index;
  http::Gauge* applied_index;
  http::Gauge* is_leader;
  http::Gauge* ledger_version;
  http::Gauge* alarm;
  http::Counter* peer_messages_refused;
  http::Counter* peer_messages_dropped;
};

struct NodeServer::Impl {
  NodeConfig config;
  std::shared_ptr<NodeLog> log;
  std::shared_ptr<http::MetricsRegistry> metrics;
  std::unique_ptr<NodeMetrics> node_metrics;
  std::unique_ptr<Membership> membership;
  std::unique_ptr<raft::MessageSealer> sealer;
  std::unique_ptr<raft::MessageOpener> opener;  // used only on the transport I/O thread
  std::unique_ptr<ReplicatedLedger> ledger;     // the loop thread's, once started
  std::unique_ptr<raft::PeerTransport> transport;
  std::unique_ptr<http::HttpsServer> server;

  // The event loop.
  std::thread loop_thread;
  std::mutex mu;
  std::condition_variable cv;
  std::deque<std::function<void()>> tasks;
  std::atomic<bool> tasks_pending{false};  // written under mu, read by the idle poll
  bool loop_stopping = false;
  bool stopped = false;

  mutable std::mutex status_mu;
  NodeStatusSnapshot status;

  // The ledger (thread-safe), for reads off the loop. A snapshot from the leader
  // replaces it: the loop sets it to null while the old one closes (readers answer
  // 503 meanwhile; installing waits until no reader holds the old one) and then to
  // the new one.
  mutable std::mutex ledger_db_mu;
  std::shared_ptr<DB> ledger_db;  // guarded by ledger_db_mu
  std::shared_ptr<DB> LedgerDb() const;

  // Credentials for fetching a snapshot from a peer's internal endpoint with this
  // node's own certificate.
  std::string ca_pem;
  std::string cert_pem;
  crypto::SecureBytes tls_key;
  // Serving GET /internal/v1/snapshot: one checkpoint at a time, made off the I/O
  // threads.
  std::mutex snapshot_serve_mu;
  bool snapshot_serving = false;  // guarded by snapshot_serve_mu
  std::thread snapshot_worker;    // guarded by snapshot_serve_mu
  uint64_t snapshot_serial = 0;   // guarded by snapshot_serve_mu

  // Loop-thread state.
  std::string last_role;
  size_t peer_alarms_logged = 0;
  bool alarm_logged = false;
  std::vector<raft::Message> outbox;
  // The log key holders last given to the ledger (a majority of them decrypts).
  std::vector<HolderKey::PublicKey> log_key_holders;
  uint64_t snapshot_failures_logged = 0;
  uint64_t snapshots_installed_logged = 0;
  uint64_t snapshots_taken_logged = 0;

  // Runs `task` on the loop thread; false once the loop is stopping (the task is
  // dropped).
  bool Post(std::function<void()> task);
  void Loop();
  // After each batch of tasks or tick: persist, send, apply, publish the status.
  void Round(bool ticked);
  // Seals each message in its envelope and queues it on the transport.
  void SendToPeers(std::vector<raft::Message>& messages);
  void OnFrame(uint64_t from, Bytes frame);
  void OnMembershipChange(const raft::ConfChange& change, const raft::ConfState& conf);
  void PromoteCaughtUpLearners();
  // Makes the members' holder keys the ledger's log key holders (a majority needed to
  // decrypt) for the entries it writes from now on, if they changed.
  void UpdateLogKeyHolders();
  // Fetches node `from`'s ledger checkpoint into `into` (ReplicatedLedger's hook).
  Status FetchSnapshot(uint64_t from, const std::string& into);
  // The ledger changed under the node (a snapshot was installed): reload the
  // membership and the log key holders from it.
  void OnLedgerReplaced(std::shared_ptr<DB> db);
  void LogSnapshotActivity();
  void PublishStatus();
  NodeStatusSnapshot Snapshot() const;
  void StopAll();

  // client_api.cc
  http::Router MakeRouter();
  // Makes a checkpoint of the ledger in `dir` and answers it as one archive (the
  // internal snapshot endpoint), for member `peer`.
  http::Response ServeSnapshot(const std::string& dir, uint64_t peer);
};

}  // namespace vellum::node

#endif  // VELLUM_NODE_NODE_SERVER_IMPL_H_
