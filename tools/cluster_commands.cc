// Copyright (c) Vellum authors.

#include "tools/cluster_commands.h"

#include <memory>
#include <optional>

#include "tools/db_commands.h"
#include "tools/ledger_json.h"

namespace vellum::tools {

namespace {

// The one thing both cluster commands need: --dir, and no positional arguments.
Result<std::string> ClusterDir(const ParsedArgs& args) {
  VELLUM_RETURN_IF_ERROR(ExpectPositional(args, {}));
  const std::optional<std::string> dir = args.Get("dir");
  if (!dir.has_value() || dir->empty()) return Status::InvalidArgument("missing --dir DIR");
  return *dir;
}

}  // namespace

void RegisterClusterCommands(CommandRegistry& registry) {
  registry.AddGroup("cluster", "Set up replicated vellum-node clusters");
  registry.AddCommand("cluster init",
                      "Write certificates, keys and node configs for a local cluster",
                      [] { return std::make_unique<ClusterInitCommand>(); });
  registry.AddCommand("cluster add-node",
                      "Write the certificate, keys and config of one more node of a cluster",
                      [] { return std::make_unique<ClusterAddNodeCommand>(); });
}

std::vector<FlagSpec> ClusterInitCommand::Flags() const {
  return {
      FlagSpec::Value("nodes", "N", "how many nodes: 1..9 (default 3)"),
      FlagSpec::Value("dir", "DIR", "where to write everything (created; must be empty)"),
      FlagSpec::Value("host", "ADDR", "the address the nodes listen on (default 127.0.0.1)"),
      FlagSpec::Value("base-port", "P",
                      "node I listens for peers on P+I and for clients on P+100+I (default 7100)"),
  };
}

std::string ClusterInitCommand::Synopsis() const {
  return "--dir DIR [--nodes N] [--host ADDR] [--base-port P]";
}

std::string ClusterInitCommand::Description() const {
  return "Writes everything a local cluster of vellum-node daemons needs into DIR:\n"
         "  ca.crt, ca.key          the cluster CA (ca.key mode 0600; keep it to add nodes)\n"
         "  client.crt, client.key  a client certificate (CN 'client') for the client API\n"
         "  master.key              the ledger master secret the nodes share\n"
         "  endpoints               one client URL per line, node 1 first\n"
         "  nI/node.yaml            node I's config (edit it; paths are relative to nI/)\n"
         "  nI/node.crt, node.key   node I's certificate (CN 'node-I') and key\n"
         "  nI/signing.key          node I's own Ed25519 signing key\n"
         "  nI/holder.key           node I's X25519 log key holder key (any majority of\n"
         "                          these decrypts the ledgers' logs: keep them apart)\n"
         "Secret files get mode 0600 and no file is ever overwritten (DIR must be empty).\n"
         "Then prints the command that starts each node.\n"
         "With --json: {\"configs\":[...],\"endpoints\":[...],\"ca\":..,\"client_cert\":..,"
         "\"client_key\":..}.\n";
}

std::string ClusterInitCommand::Examples() const {
  return "  vellum-db cluster init --nodes 3 --dir /tmp/vc\n"
         "  vellum-node --config /tmp/vc/n1/node.yaml &\n"
         "  curl --cacert /tmp/vc/ca.crt --cert /tmp/vc/client.crt --key /tmp/vc/client.key \\\n"
         "       -X PUT --data-binary 100 \"$(head -1 /tmp/vc/endpoints)/v1/kv/accounts/alice\"\n";
}

Status ClusterInitCommand::Init(const ParsedArgs& args, const GlobalOptions& globals) {
  VELLUM_ASSIGN_OR_RETURN(options_.dir, ClusterDir(args));
  VELLUM_ASSIGN_OR_RETURN(std::optional<int64_t> nodes, ParseIntFlag(args, "nodes", 1, 9));
  if (nodes) options_.nodes = static_cast<int>(*nodes);
  VELLUM_ASSIGN_OR_RETURN(std::optional<int64_t> port,
                          ParseIntFlag(args, "base-port", 1024, 65426));
  if (port) options_.base_port = static_cast<int>(*port);
  if (const std::optional<std::string> host = args.Get("host"); host.has_value()) {
    if (host->empty()) return Status::InvalidArgument("--host must not be empty");
    options_.host = *host;
  }
  json_ = globals.json;
  return Status::OK();
}

Status ClusterInitCommand::Run(CommandIo& io) {
  VELLUM_ASSIGN_OR_RETURN(node::LocalClusterLayout layout, node::InitLocalCluster(options_));
  if (json_) {
    OrderedJson j;
    j["configs"] = layout.config_files;
    j["endpoints"] = layout.endpoints;
    j["endpoints_file"] = layout.endpoints_file;
    j["ca"] = layout.ca_certificate_file;
    j["client_cert"] = layout.client_certificate_file;
    j["client_key"] = layout.client_key_file;
    return WriteJsonLine(io.out, j);
  }
  std::string text = "Wrote a " + std::to_string(layout.config_files.size()) + "-node cluster to " +
                     options_.dir + ". Start each node with:\n";
  for (const std::string& config : layout.config_files) {
    text += "  vellum-node --config " + config + "\n";
  }
  text += "Client endpoints are in " + layout.endpoints_file + "; use --cacert " +
          layout.ca_certificate_file + " --cert " + layout.client_certificate_file + " --key " +
          layout.client_key_file + " with curl.";
  return WriteOutLine(io.out, text);
}

std::vector<FlagSpec> ClusterAddNodeCommand::Flags() const {
  return {
      FlagSpec::Value("dir", "DIR", "a directory 'cluster init' wrote (its CA signs the node)"),
      FlagSpec::Value("id", "N", "the new node's id, 1..99, not yet in DIR"),
  };
}

std::string ClusterAddNodeCommand::Synopsis() const { return "--dir DIR --id N"; }

std::string ClusterAddNodeCommand::Description() const {
  return "Writes DIR/nN/ for one more node of the cluster in DIR: its certificate (CN\n"
         "'node-N', signed with DIR/ca.key), signing and holder keys, and a node.yaml with\n"
         "'join: true', on the directory's host and port scheme. Its initial_members are\n"
         "those of DIR's lowest-numbered node plus itself (edit them if the membership has\n"
         "changed since). Appends its client URL to DIR/endpoints, writes the member\n"
         "record to POST to the leader's /v1/members to DIR/nN/member.json, and prints it\n"
         "and the command that starts the node.\n"
         "With --json: {\"config\":..,\"endpoint\":..,\"member_record\":{...}}.\n";
}

std::string ClusterAddNodeCommand::Examples() const {
  return "  vellum-db cluster add-node --dir /tmp/vc --id 4\n"
         "  curl --cacert /tmp/vc/ca.crt --cert /tmp/vc/client.crt --key /tmp/vc/client.key \\\n"
         "       -X POST --data-binary @/tmp/vc/n4/member.json \"$LEADER/v1/members\"\n"
         "  vellum-node --config /tmp/vc/n4/node.yaml\n";
}

Status ClusterAddNodeCommand::Init(const ParsedArgs& args, const GlobalOptions& globals) {
  VELLUM_ASSIGN_OR_RETURN(options_.dir, ClusterDir(args));
  VELLUM_ASSIGN_OR_RETURN(std::optional<int64_t> id, ParseIntFlag(args, "id", 1, 99));
  if (!id.has_value()) return Status::InvalidArgument("missing --id N");
  options_.id = static_cast<uint64_t>(*id);
  json_ = globals.json;
  return Status::OK();
}

Status ClusterAddNodeCommand::Run(CommandIo& io) {
  VELLUM_ASSIGN_OR_RETURN(node::AddedNode added, node::AddLocalClusterNode(options_));
  if (json_) {
    OrderedJson j;
    j["config"] = added.config_file;
    j["endpoint"] = added.endpoint;
    j["member_record"] = OrderedJson::parse(added.member_record_json);
    return WriteJsonLine(io.out, j);
  }
  return WriteOutLine(io.out,
                      "Wrote node " + std::to_string(options_.id) + " to " + added.config_file +
                          ". Add it with POST /v1/members to the leader, with this body:\n  " +
                          added.member_record_json + "\nthen start it:\n  vellum-node --config " +
                          added.config_file);
}

}  // namespace vellum::tools
