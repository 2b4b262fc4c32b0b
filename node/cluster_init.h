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
// Secret files are created with mode 0600; no file is ever overwritten.
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

}  // namespace vellum::node

#endif  // VELLUM_NODE_CLUSTER_INIT_H_
