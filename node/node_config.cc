// Copyright (c) Vellum authors.

#include "node/node_config.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <initializer_list>
#include <set>
#include <sstream>

#include "base/path.h"
#include "vellum/env.h"

namespace vellum::node {

namespace {

// Reads the keys of one YAML mapping, remembering which were used so that unknown
// (misspelt) keys can be reported.
class MappingReader {
 public:
  MappingReader(const YAML::Node& node, std::string where)
      : node_(node), where_(std::move(where)) {}

  Status CheckIsMapping() const {
    if (!node_.IsMap()) return Status::InvalidArgument(where_ + " must be a mapping");
    return Status::OK();
  }
  YAML::Node Get(const std::string& key) const { return node_[key]; }
  bool Has(const std::string& key) const { return node_[key].IsDefined(); }
  std::string Name(const std::string& key) const {
    return where_.empty() ? key : where_ + "." + key;
  }

  Status String(const std::string& key, bool required, std::string* out) {
    YAML::Node n = Get(key);
    if (!n.IsDefined() || n.IsNull()) {
      return required ? Status::InvalidArgument("missing " + Name(key)) : Status::OK();
    }
    if (!n.IsScalar()) return Status::InvalidArgument(Name(key) + " must be a string");
    *out = n.Scalar();
    return Status::OK();
  }
  template <typename T>
  Status Number(const std::string& key, bool required, T* out) {
    YAML::Node n = Get(key);
    if (!n.IsDefined() || n.IsNull()) {
      return required ? Status::InvalidArgument("missing " + Name(key)) : Status::OK();
    }
    T value{};
    if (!n.IsScalar() || !YAML::convert<T>::decode(n, value)) {
      return Status::InvalidArgument(Name(key) + " must be a number");
    }
    *out = value;
    return Status::OK();
  }
  Status Bool(const std::string& key, bool* out) {
    YAML::Node n = Get(key);
    if (!n.IsDefined() || n.IsNull()) return Status::OK();
    bool value = false;
    if (!n.IsScalar() || !YAML::convert<bool>::decode(n, value)) {
      return Status::InvalidArgument(Name(key) + " must be true or false");
    }
    *out = value;
    return Status::OK();
  }
  // InvalidArgument naming the first key that is not in `known` (checked before
  // anything else, so a misspelt key is reported as such rather than as missing).
  Status CheckOnly(std::initializer_list<std::string_view> known) const {
    for (const auto& kv : node_) {
      const std::string key = kv.first.Scalar();
      if (std::find(known.begin(), known.end(), key) == known.end()) {
        return Status::InvalidArgument("unknown key " + Name(key));
      }
    }
    return Status::OK();
  }

 private:
  const YAML::Node node_;
  const std::string where_;
};

std::string Resolve(const std::string& base_dir, const std::string& path) {
  if (path.empty() || path.front() == '/' || base_dir.empty()) return path;
  return NormalizePath(base_dir + "/" + path);
}

bool ValidHostPort(const std::string& s) {
  const size_t colon = s.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == s.size()) return false;
  const std::string port = s.substr(colon + 1);
  if (port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos) return false;
  return std::stoul(port) <= 65535;
}

Status ParseDocument(const YAML::Node& root, const std::string& base_dir, NodeConfig* c) {
  MappingReader top(root, "");
  if (!root.IsMap()) return Status::InvalidArgument("the node config must be a YAML mapping");
  VELLUM_RETURN_IF_ERROR(
      top.CheckOnly({"node_id", "data_dir", "peer_listen", "client_listen", "initial_members",
                     "tls", "keys", "raft", "sync", "idle_poll_us", "log_format", "join"}));
  VELLUM_RETURN_IF_ERROR(top.Number("node_id", true, &c->node_id));
  VELLUM_RETURN_IF_ERROR(top.String("data_dir", true, &c->data_dir));
  VELLUM_RETURN_IF_ERROR(top.String("peer_listen", true, &c->peer_listen));
  VELLUM_RETURN_IF_ERROR(top.String("client_listen", true, &c->client_listen));
  VELLUM_RETURN_IF_ERROR(top.Bool("sync", &c->sync));
  VELLUM_RETURN_IF_ERROR(top.Bool("join", &c->join));
  VELLUM_RETURN_IF_ERROR(top.Number("idle_poll_us", false, &c->idle_poll_us));
  VELLUM_RETURN_IF_ERROR(top.String("log_format", false, &c->log_format));

  YAML::Node members = top.Get("initial_members");
  if (members.IsDefined() && !members.IsNull()) {
    if (!members.IsSequence()) return Status::InvalidArgument("initial_members must be a list");
    for (size_t i = 0; i < members.size(); ++i) {
      MappingReader m(members[i], "initial_members[" + std::to_string(i) + "]");
      VELLUM_RETURN_IF_ERROR(m.CheckIsMapping());
      VELLUM_RETURN_IF_ERROR(m.CheckOnly(
          {"id", "peer_address", "client_url", "signing_public_key", "holder_public_key"}));
      ClusterMember member;
      VELLUM_RETURN_IF_ERROR(m.Number("id", true, &member.id));
      VELLUM_RETURN_IF_ERROR(m.String("peer_address", true, &member.peer_address));
      VELLUM_RETURN_IF_ERROR(m.String("client_url", false, &member.client_url));
      VELLUM_RETURN_IF_ERROR(m.String("signing_public_key", true, &member.signing_public_key));
      VELLUM_RETURN_IF_ERROR(m.String("holder_public_key", true, &member.holder_public_key));
      c->initial_members.push_back(std::move(member));
    }
  }

  YAML::Node tls_node = top.Get("tls");
  MappingReader tls(tls_node, "tls");
  if (!tls_node.IsDefined()) return Status::InvalidArgument("missing tls");
  VELLUM_RETURN_IF_ERROR(tls.CheckIsMapping());
  VELLUM_RETURN_IF_ERROR(tls.CheckOnly({"ca_certificate", "certificate", "private_key"}));
  VELLUM_RETURN_IF_ERROR(tls.String("ca_certificate", true, &c->ca_certificate_file));
  VELLUM_RETURN_IF_ERROR(tls.String("certificate", true, &c->certificate_file));
  VELLUM_RETURN_IF_ERROR(tls.String("private_key", true, &c->private_key_file));

  YAML::Node keys_node = top.Get("keys");
  MappingReader keys(keys_node, "keys");
  if (!keys_node.IsDefined()) return Status::InvalidArgument("missing keys");
  VELLUM_RETURN_IF_ERROR(keys.CheckIsMapping());
  VELLUM_RETURN_IF_ERROR(keys.CheckOnly({"master_key", "signing_key", "holder_key"}));
  VELLUM_RETURN_IF_ERROR(keys.String("master_key", true, &c->master_key_file));
  VELLUM_RETURN_IF_ERROR(keys.String("signing_key", true, &c->signing_key_file));
  VELLUM_RETURN_IF_ERROR(keys.String("holder_key", true, &c->holder_key_file));

  YAML::Node raft_node = top.Get("raft");
  if (raft_node.IsDefined() && !raft_node.IsNull()) {
    MappingReader raft(raft_node, "raft");
    VELLUM_RETURN_IF_ERROR(raft.CheckIsMapping());
    VELLUM_RETURN_IF_ERROR(raft.CheckOnly({"tick_ms", "election_ticks", "heartbeat_ticks",
                                           "snapshot_interval_entries", "snapshot_tail_entries",
                                           "snapshot_max_bytes", "snapshot_fetch_timeout_ms"}));
    VELLUM_RETURN_IF_ERROR(raft.Number("tick_ms", false, &c->tick_ms));
    VELLUM_RETURN_IF_ERROR(raft.Number("election_ticks", false, &c->election_ticks));
    VELLUM_RETURN_IF_ERROR(raft.Number("heartbeat_ticks", false, &c->heartbeat_ticks));
    VELLUM_RETURN_IF_ERROR(
        raft.Number("snapshot_interval_entries", false, &c->snapshot_interval_entries));
    VELLUM_RETURN_IF_ERROR(raft.Number("snapshot_tail_entries", false, &c->snapshot_tail_entries));
    VELLUM_RETURN_IF_ERROR(raft.Number("snapshot_max_bytes", false, &c->snapshot_max_bytes));
    VELLUM_RETURN_IF_ERROR(
        raft.Number("snapshot_fetch_timeout_ms", false, &c->snapshot_fetch_timeout_ms));
  }

  for (std::string* path :
       {&c->data_dir, &c->ca_certificate_file, &c->certificate_file, &c->private_key_file,
        &c->master_key_file, &c->signing_key_file, &c->holder_key_file}) {
    *path = Resolve(base_dir, *path);
  }
  return Status::OK();
}

}  // namespace

Status NodeConfig::Validate() const {
  if (node_id == 0) return Status::InvalidArgument("node_id must be a positive integer");
  if (data_dir.empty()) return Status::InvalidArgument("data_dir must not be empty");
  if (!ValidHostPort(peer_listen)) {
    return Status::InvalidArgument("peer_listen must be host:port, got '" + peer_listen + "'");
  }
  if (!ValidHostPort(client_listen)) {
    return Status::InvalidArgument("client_listen must be host:port, got '" + client_listen + "'");
  }
  std::set<uint64_t> ids;
  for (const ClusterMember& m : initial_members) {
    if (m.id == 0) return Status::InvalidArgument("initial_members: an id must be positive");
    if (!ids.insert(m.id).second) {
      return Status::InvalidArgument("initial_members: node " + std::to_string(m.id) +
                                     " is listed twice");
    }
    for (const auto& [name, key] : {std::pair{"signing_public_key", &m.signing_public_key},
                                    std::pair{"holder_public_key", &m.holder_public_key}}) {
      if (key->size() != 64 || key->find_first_not_of("0123456789abcdef") != std::string::npos) {
        return Status::InvalidArgument("initial_members: node " + std::to_string(m.id) + " " +
                                       name + " must be 64 lower-case hex digits");
      }
    }
    if (!ValidHostPort(m.peer_address)) {
      return Status::InvalidArgument("initial_members: node " + std::to_string(m.id) +
                                     " peer_address must be host:port");
    }
  }
  if (!initial_members.empty() && !ids.contains(node_id)) {
    return Status::InvalidArgument("initial_members does not list this node (" +
                                   std::to_string(node_id) + ")");
  }
  if (tick_ms == 0 || tick_ms > 60'000) {
    return Status::InvalidArgument("raft.tick_ms must be 1 to 60000");
  }
  if (heartbeat_ticks <= 0 || election_ticks <= heartbeat_ticks) {
    return Status::InvalidArgument(
        "raft.heartbeat_ticks must be positive and raft.election_ticks greater than it");
  }
  if (snapshot_max_bytes < (uint64_t{1} << 20)) {
    return Status::InvalidArgument("raft.snapshot_max_bytes must be at least 1048576");
  }
  if (snapshot_fetch_timeout_ms < 1000) {
    return Status::InvalidArgument("raft.snapshot_fetch_timeout_ms must be at least 1000");
  }
  if (idle_poll_us > 100'000) {
    return Status::InvalidArgument("idle_poll_us must be 0 to 100000 (microseconds), got " +
                                   std::to_string(idle_poll_us));
  }
  if (log_format != "json" && log_format != "text") {
    return Status::InvalidArgument("log_format must be json or text, got '" + log_format + "'");
  }
  return Status::OK();
}

Result<NodeConfig> ParseNodeConfig(std::string_view yaml, const std::string& base_dir) {
  NodeConfig config;
  try {
    const YAML::Node root = YAML::Load(std::string(yaml));
    VELLUM_RETURN_IF_ERROR(ParseDocument(root, base_dir, &config));
  } catch (const YAML::Exception& e) {
    // The mark says where; the message is yaml-cpp's description of the syntax
    // error (never the document's contents).
    return Status::InvalidArgument("node config is not valid YAML at line " +
                                   std::to_string(e.mark.line + 1) + ", column " +
                                   std::to_string(e.mark.column + 1) + ": " + e.msg);
  }
  VELLUM_RETURN_IF_ERROR(config.Validate());
  return config;
}

Result<NodeConfig> LoadNodeConfig(const std::string& path) {
  std::string text;
  VELLUM_RETURN_IF_ERROR(ReadFileToString(Env::Default(), path, &text)
                             .WithContext("reading node config '" + path + "'"));
  auto config = ParseNodeConfig(text, ParentDir(path));
  if (!config.ok()) return config.status().WithContext("node config '" + path + "'");
  return config;
}

std::string FormatNodeConfig(const NodeConfig& c) {
  YAML::Emitter out;
  out << YAML::BeginMap;
  out << YAML::Key << "node_id" << YAML::Value << c.node_id;
  out << YAML::Key << "data_dir" << YAML::Value << c.data_dir;
  out << YAML::Key << "peer_listen" << YAML::Value << c.peer_listen;
  out << YAML::Key << "client_listen" << YAML::Value << c.client_listen;
  out << YAML::Key << "initial_members" << YAML::Value << YAML::BeginSeq;
  for (const ClusterMember& m : c.initial_members) {
    out << YAML::BeginMap << YAML::Key << "id" << YAML::Value << m.id << YAML::Key << "peer_address"
        << YAML::Value << m.peer_address << YAML::Key << "client_url" << YAML::Value << m.client_url
        << YAML::Key << "signing_public_key" << YAML::Value << m.signing_public_key << YAML::Key
        << "holder_public_key" << YAML::Value << m.holder_public_key << YAML::EndMap;
  }
  out << YAML::EndSeq;
  out << YAML::Key << "tls" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "ca_certificate" << YAML::Value << c.ca_certificate_file;
  out << YAML::Key << "certificate" << YAML::Value << c.certificate_file;
  out << YAML::Key << "private_key" << YAML::Value << c.private_key_file;
  out << YAML::EndMap;
  out << YAML::Key << "keys" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "master_key" << YAML::Value << c.master_key_file;
  out << YAML::Key << "signing_key" << YAML::Value << c.signing_key_file;
  out << YAML::Key << "holder_key" << YAML::Value << c.holder_key_file;
  out << YAML::EndMap;
  out << YAML::Key << "raft" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "tick_ms" << YAML::Value << c.tick_ms;
  out << YAML::Key << "election_ticks" << YAML::Value << c.election_ticks;
  out << YAML::Key << "heartbeat_ticks" << YAML::Value << c.heartbeat_ticks;
  // The snapshot settings only when changed: most configs never set them.
  const NodeConfig defaults;
  if (c.snapshot_interval_entries != defaults.snapshot_interval_entries) {
    out << YAML::Key << "snapshot_interval_entries" << YAML::Value << c.snapshot_interval_entries;
  }
  if (c.snapshot_tail_entries != defaults.snapshot_tail_entries) {
    out << YAML::Key << "snapshot_tail_entries" << YAML::Value << c.snapshot_tail_entries;
  }
  if (c.snapshot_max_bytes != defaults.snapshot_max_bytes) {
    out << YAML::Key << "snapshot_max_bytes" << YAML::Value << c.snapshot_max_bytes;
  }
  if (c.snapshot_fetch_timeout_ms != defaults.snapshot_fetch_timeout_ms) {
    out << YAML::Key << "snapshot_fetch_timeout_ms" << YAML::Value << c.snapshot_fetch_timeout_ms;
  }
  out << YAML::EndMap;
  out << YAML::Key << "sync" << YAML::Value << c.sync;
  if (c.idle_poll_us != defaults.idle_poll_us) {
    out << YAML::Key << "idle_poll_us" << YAML::Value << c.idle_poll_us;
  }
  if (c.join) out << YAML::Key << "join" << YAML::Value << true;
  out << YAML::Key << "log_format" << YAML::Value << c.log_format;
  out << YAML::EndMap;
  return std::string(out.c_str()) + "\n";
}

}  // namespace vellum::node
