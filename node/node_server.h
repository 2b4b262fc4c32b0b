// Copyright (c) Vellum authors.
//
// NodeServer: a running vellum-node — the replicated ledger driven by one event-loop
// thread, the peer transport (TLS 1.3, mutual authentication, identity statements),
// and the client API over HTTPS (docs/api.md). `vellum-node` is a thin main over it.
//
// The event loop owns the ReplicatedLedger: it runs the tasks other threads post
// (client requests, peer messages), ticks the Raft core every tick_ms, and after each
// round persists, sends and applies (ReplicatedLedger::Process). Client requests never
// block an HTTP thread: they post a task and answer from the loop when the write is
// applied or the read is confirmed.
//
// Start-up: reads the key files named by the config (into guarded memory), bumps the
// node's boot epoch (DATA_DIR/boot_epoch, the peer envelopes' replay counter),
// measures the running binary (SHA-256 of /proc/self/exe, sent in the identity
// statement), opens the ledger, then starts the transport and the client API.
//
// Thread safety: Start, Stop and the accessors may be called from any thread; Stop
// must not be called from a callback of the node itself.

#ifndef VELLUM_NODE_NODE_SERVER_H_
#define VELLUM_NODE_NODE_SERVER_H_

#include <cstdint>
#include <memory>

#include "node/node_config.h"
#include "node/node_log.h"
#include "vellum/result.h"

namespace vellum::node {

class NodeServer {
 public:
  // Everything must be ready before it returns: InvalidArgument for a bad config or
  // key file, IOError when a port cannot be bound or the data directory written,
  // Unavailable when another process has the data directory open.
  static Result<std::unique_ptr<NodeServer>> Start(const NodeConfig& config,
                                                   std::shared_ptr<NodeLog> log);
  ~NodeServer();  // Stop()s
  NodeServer(const NodeServer&) = delete;
  NodeServer& operator=(const NodeServer&) = delete;

  uint16_t client_port() const;
  uint16_t peer_port() const;

  // Graceful stop: the client API stops accepting and finishes the requests in flight
  // (for up to 5 s), then the loop stops, the transport closes and the ledger is
  // closed. Idempotent.
  void Stop();

  // Non-OK once the node has stopped applying (see ReplicatedLedger::alarm).
  Status alarm() const;

  struct Impl;

 private:
  explicit NodeServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace vellum::node

#endif  // VELLUM_NODE_NODE_SERVER_H_
