// Copyright (c) Vellum authors.
//
// InitLocalCluster: everything a local test cluster of vellum-node daemons needs, in
// one directory — a cluster CA, a client certificate, the shared ledger master key,
// and for each node its certificate, its own signing key and its node.yaml — plus
// DIR/endpoints (one client URL per line, in node order). `vellum-db cluster init`
// is a thin command over it.
//
// Layout (docs/CLI.md, "cluster init"):
//   DIR/ca.crt  DIR/ca.key            the cluster CA (ca.key: mode 0600)
//   DIR/client.crt  DIR/client.key    a client certificate (CN "client")
//   DIR/master.key                    the ledger master secret all nodes share
//   DIR/endpoints                     https://HOST:PORT per line, node 1 first
//   DIR/nI/node.yaml                  node I's config (paths relative to nI/)
//   DIR/nI/node.crt  DIR/nI/node.key  node I's certificate (CN "node-I")
//   DIR/nI/signing.key                node I's Ed25519 signing key
//   DIR/nI/holder.key                 node I's X25519 log key holder key
// Secret files are created with mode 0600; no file is ever overwritten.
//
// AddLocalClusterNode: the same for one more node of such a directory (its CA signs
// the new node's certificate), with `join: true` in its node.yaml, and the member
// record to POST to /v1/members (also in DIR/nI/member.json).
//
// Thread safety: a function; call it from one thread for a given directory.

#ifndef VELLUM_NODE_CLUSTER_INIT_H_
#define VELLUM_NODE_CLUSTER_INIT_H_

#include <string>
#include <vector>

#include "vellum/result.h"

namespace vellum::node {

struct LocalClusterOptions {
  int nodes = 3;  // 1..9
  // Created if missing; must be empty if it exists.
  std::string dir;
  // The address every node listens on and is reached at (loopback by default).
  std::string host = "127.0.0.1";
  // Node I's peer port is base_port + I; its client port base_port + 100 + I.
  int base_port = 7100;
  int validity_days = 825;
};

struct LocalClusterLayout {
  std::vector<std::string> config_files;  // DIR/nI/node.yaml, node 1 first
  std::vector<std::string> endpoints;     // the client URLs, node 1 first
  std::string endpoints_file;
  std::string ca_certificate_file;
  std::string client_certificate_file;
  std::string client_key_file;
};

// InvalidArgument for bad options; AlreadyExists if DIR is not empty; IOError when
// a file cannot be written.
Result<LocalClusterLayout> InitLocalCluster(const LocalClusterOptions& options);

struct AddNodeOptions {
  std::string dir;  // written by InitLocalCluster
  uint64_t id = 0;  // 1..99; DIR/n<id> must not exist yet
  int validity_days = 825;
};

struct AddedNode {
  std::string config_file;  // DIR/n<id>/node.yaml
  std::string endpoint;     // its client URL (also appended to DIR/endpoints)
  // The body of POST /v1/members that adds it: {"id":..,"peer_address":..,...}.
  std::string member_record_json;
};

// The new node's host and ports follow the directory's scheme (those of its
// lowest-numbered node); its initial_members are that node's plus itself (edit them
// if the membership has changed since). InvalidArgument for bad options or a
// directory cluster init did not write; AlreadyExists if the node directory exists.
Result<AddedNode> AddLocalClusterNode(const AddNodeOptions& options);

}  // namespace vellum::node

#endif  // VELLUM_NODE_CLUSTER_INIT_H_
