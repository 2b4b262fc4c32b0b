// Copyright (c) Vellum authors.
//
// vellum-db cluster init: writes a CA, a client certificate, the shared master key,
// and per node a certificate, signing and holder keys and a node.yaml, for a local
// cluster of vellum-node daemons (node/cluster_init.h), then prints the commands that
// start it. vellum-db cluster add-node: the same for one more node, which joins the
// running cluster.
//
// Thread safety: a command object is used by one thread at a time.

#ifndef VELLUM_TOOLS_CLUSTER_COMMANDS_H_
#define VELLUM_TOOLS_CLUSTER_COMMANDS_H_

#include <string>
#include <vector>

#include "node/cluster_init.h"
#include "tools/cli.h"

namespace vellum::tools {

// Registers the "cluster" group and its commands.
void RegisterClusterCommands(CommandRegistry& registry);

class ClusterInitCommand final : public Command {
 public:
  std::vector<FlagSpec> Flags() const override;
  unsigned UsedGlobals() const override { return kGlobalJson; }
  std::string Synopsis() const override;
  std::string Description() const override;
  std::string Examples() const override;
  Status Init(const ParsedArgs& args, const GlobalOptions& globals) override;
  Status Run(CommandIo& io) override;

 private:
  node::LocalClusterOptions options_;
  bool json_ = false;
};

class ClusterAddNodeCommand final : public Command {
 public:
  std::vector<FlagSpec> Flags() const override;
  unsigned UsedGlobals() const override { return kGlobalJson; }
  std::string Synopsis() const override;
  std::string Description() const override;
  std::string Examples() const override;
  Status Init(const ParsedArgs& args, const GlobalOptions& globals) override;
  Status Run(CommandIo& io) override;

 private:
  node::AddNodeOptions options_;
  bool json_ = false;
};

}  // namespace vellum::tools

#endif  // VELLUM_TOOLS_CLUSTER_COMMANDS_H_
