// Copyright (c) Vellum authors.
//
// NodeConfig: how one vellum-node is set up, read from a YAML file (node.yaml) and
// then overridden by command-line flags. Paths in the file are relative to the
// file's directory. Unknown keys are errors (a misspelt option must not be silently
// ignored), and so are missing required ones; every message names the key.
//
// The file never holds key material: it names the files that do (the cluster's TLS
// key, the ledger master key, this node's signing key), which are read by the node
// at start-up and kept in guarded memory.
//
// Thread safety: a value.

#ifndef VELLUM_NODE_NODE_CONFIG_H_
#define VELLUM_NODE_NODE_CONFIG_H_

#include <cstdint>
#include <string>
#include <vector>

#include "vellum/result.h"

namespace vellum::node {

struct ClusterMember {
  uint64_t id = 0;
  std::string peer_address;  // "host:port" of its peer transport
  std::string client_url;    // "https://host:port" of its client API
  // Its Ed25519 signing public key, 64 hex digits: how the others check its entries,
  // messages and identity statement before the membership table is in the ledger.
  std::string signing_public_key;
  // Its X25519 log key holder public key, 64 hex digits: the shares of every ledger
  // log entry key are sealed to the members' holder keys.
  std::string holder_public_key;
};

struct NodeConfig {
  uint64_t node_id = 0;
  std::string data_dir;
  std::string peer_listen;    // "host:port"
  std::string client_listen;  // "host:port"
  // The voters a new cluster starts with (the same list on every initial member).
  // A node joining an existing cluster lists the members it can reach and is added
  // with POST /v1/members.
  std::vector<ClusterMember> initial_members;
  // This node joins a running cluster (it is added with POST /v1/members): it starts
  // with an empty Raft log and learns the membership from the leader, rather than
  // founding a cluster of initial_members. initial_members then lists the members
  // it may accept messages from until it has caught up (and itself).
  bool join = false;

  // TLS: the cluster CA, and this node's certificate (CN "node-<id>") and key, used
  // both towards peers and for the client API.
  std::string ca_certificate_file;
  std::string certificate_file;
  std::string private_key_file;
  // The ledger master secret every member shares (a vellum-master-key-v1 file).
  std::string master_key_file;
  // This node's own Ed25519 signing key (a vellum-signing-key-v1 file): it seals the
  // log entries it appends as leader and signs its peer messages.
  std::string signing_key_file;
  // This node's X25519 log key holder key (a vellum-holder-key-v1 file). Every
  // member's ledger splits each log entry key across the members' holder public
  // keys, a majority needed to decrypt; the secret half is for `vellum-db log
  // decrypt` and is not read by the node.
  std::string holder_key_file;

  // Raft timing: one tick every tick_ms; elections after election_ticks without a
  // leader (randomized up to twice that); heartbeats every heartbeat_ticks.
  uint32_t tick_ms = 100;
  int election_ticks = 10;
  int heartbeat_ticks = 1;
  // Raft log compaction (raft.snapshot_*). Every snapshot_interval_entries applied
  // entries the node records a snapshot (a descriptor of its ledger) and, once
  // snapshot_tail_entries more are applied, drops the log up to it; 0 never
  // compacts. A follower that needs compacted entries fetches a checkpoint of the
  // leader's ledger over the internal HTTPS endpoint (docs/api.md): the archive is
  // held in memory on both sides, up to snapshot_max_bytes, and the fetch (during
  // which the follower's loop waits) gives up after snapshot_fetch_timeout_ms.
  uint64_t snapshot_interval_entries = 10000;
  uint64_t snapshot_tail_entries = 1000;
  uint64_t snapshot_max_bytes = uint64_t{4} << 30;
  uint32_t snapshot_fetch_timeout_ms = 600'000;
  // fsync the Raft log and the ledger before acknowledging (keep it on: with it off a
  // node may lose acknowledged writes when its machine crashes).
  bool sync = true;
  // A thread of the node (event loop, peer transport, client API) that runs out of
  // work polls for more for up to idle_poll_us before it sleeps, because waking a
  // sleeping thread costs tens of microseconds, several times per write. Adaptive
  // (base/idle_poll.h): a thread stops polling while nothing arrives within the
  // budget, so an idle node barely polls; under light steady load the node's threads
  // keep their CPUs busy. 0 turns it off (every wait sleeps); at most 100000.
  uint32_t idle_poll_us = 1000;
  // "json" (one object per line) or "text" (key=value).
  std::string log_format = "json";

  // InvalidArgument naming the first problem, or OK.
  Status Validate() const;
};

// Parses a YAML document; `base_dir` resolves relative paths.
Result<NodeConfig> ParseNodeConfig(std::string_view yaml, const std::string& base_dir);
// Reads and parses a file (relative paths resolve against its directory).
Result<NodeConfig> LoadNodeConfig(const std::string& path);
// The YAML text of a config (paths as stored), for `vellum-db cluster init`.
std::string FormatNodeConfig(const NodeConfig& config);

}  // namespace vellum::node

#endif  // VELLUM_NODE_NODE_CONFIG_H_
