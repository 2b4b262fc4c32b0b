// Copyright (c) Vellum authors.

#include "node/cluster_init.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>
#include <optional>

#include "base/bytes.h"
#include "crypto/random.h"
#include "crypto/x509.h"
#include "node/node_config.h"
#include "vellum/env.h"
#include "vellum/keys.h"

namespace vellum::node {

namespace {

Status MakeDir(const std::string& path) {
  if (::mkdir(path.c_str(), 0755) == 0) return Status::OK();
  const int err = errno;
  if (err == EEXIST) return Status::OK();
  return Status::IOError("cannot create directory " + path + ": " + std::strerror(err));
}

// OK when `path` does not exist or is an empty directory.
Status CheckEmptyOrMissing(const std::string& path) {
  DIR* d = ::opendir(path.c_str());
  if (d == nullptr) {
    if (errno == ENOENT) return Status::OK();
    return Status::InvalidArgument(path + " exists and is not a readable directory");
  }
  bool empty = true;
  while (dirent* e = ::readdir(d)) {
    const std::string_view name = e->d_name;
    if (name != "." && name != "..") {
      empty = false;
      break;
    }
  }
  ::closedir(d);
  if (!empty) {
    return Status::AlreadyExists(path + " is not empty; cluster init never overwrites files");
  }
  return Status::OK();
}

// Writes a new file (never an existing one) with `mode`.
Status WriteNewFile(const std::string& path, ByteView data, mode_t mode) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) {
    const int err = errno;
    if (err == EEXIST) return Status::AlreadyExists(path + " already exists");
    return Status::IOError("cannot create " + path + ": " + std::strerror(err));
  }
  size_t written = 0;
  while (written < data.size()) {
    const ssize_t n = ::write(fd, data.data() + written, data.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int err = errno;
      ::close(fd);
      return Status::IOError("cannot write " + path + ": " + std::strerror(err));
    }
    written += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    return Status::IOError("cannot sync " + path + ": " + std::strerror(errno));
  }
  return Status::OK();
}

Status WriteCertifiedKey(const crypto::CertifiedKey& key, const std::string& cert_path,
                         const std::string& key_path) {
  VELLUM_RETURN_IF_ERROR(WriteNewFile(cert_path, AsBytes(key.certificate_pem), 0644));
  return WriteNewFile(key_path, ByteView(key.private_key_pem.data(), key.private_key_pem.size()),
                      0600);
}

std::string NodeDir(const std::string& dir, uint64_t id) { return dir + "/n" + std::to_string(id); }

// Node `id`'s directory with its signing and holder keys; its record for the configs.
Result<ClusterMember> MakeNodeKeys(const std::string& dir, uint64_t id, const std::string& host,
                                   int base_port) {
  const std::string node_dir = NodeDir(dir, id);
  VELLUM_RETURN_IF_ERROR(MakeDir(node_dir));
  const NodeSigningKey signing = NodeSigningKey::Generate();
  VELLUM_RETURN_IF_ERROR(signing.WriteFile(node_dir + "/signing.key"));
  const HolderKey holder = HolderKey::Generate();
  VELLUM_RETURN_IF_ERROR(holder.WriteFile(node_dir + "/holder.key"));
  ClusterMember m;
  m.id = id;
  m.peer_address = host + ":" + std::to_string(base_port + static_cast<int>(id));
  m.client_url = "https://" + host + ":" + std::to_string(base_port + 100 + static_cast<int>(id));
  m.signing_public_key = HexEncode(signing.public_key());
  m.holder_public_key = PublicKeyToHex(holder.public_key());
  return m;
}

// Node `self`'s certificate (from `ca`) and node.yaml; returns the config's path.
Result<std::string> WriteNodeFiles(const crypto::CertifiedKey& ca, const std::string& dir,
                                   const ClusterMember& self,
                                   const std::vector<ClusterMember>& members,
                                   const std::string& host, int validity_days, bool join,
                                   RandomSource& random) {
  const std::string node_dir = NodeDir(dir, self.id);
  crypto::CertificateRequest request;
  request.common_name = "node-" + std::to_string(self.id);
  request.usage = crypto::CertificateUsage::kServerAndClient;
  request.validity_days = validity_days;
  if (host.find_first_not_of("0123456789.:") == std::string::npos) {
    request.ip_addresses.push_back(host);
  } else {
    request.dns_names.push_back(host);
  }
  VELLUM_ASSIGN_OR_RETURN(crypto::CertifiedKey cert, crypto::IssueCertificate(ca, request, random));
  VELLUM_RETURN_IF_ERROR(WriteCertifiedKey(cert, node_dir + "/node.crt", node_dir + "/node.key"));

  NodeConfig config;
  config.node_id = self.id;
  config.data_dir = "data";
  config.peer_listen = self.peer_address;
  config.client_listen = self.client_url.substr(std::string_view("https://").size());
  config.initial_members = members;
  config.join = join;
  config.ca_certificate_file = "../ca.crt";
  config.certificate_file = "node.crt";
  config.private_key_file = "node.key";
  config.master_key_file = "../master.key";
  config.signing_key_file = "signing.key";
  config.holder_key_file = "holder.key";
  VELLUM_RETURN_IF_ERROR(config.Validate());
  const std::string config_file = node_dir + "/node.yaml";
  VELLUM_RETURN_IF_ERROR(WriteNewFile(config_file, AsBytes(FormatNodeConfig(config)), 0644));
  return config_file;
}

}  // namespace

Result<LocalClusterLayout> InitLocalCluster(const LocalClusterOptions& o) {
  if (o.nodes < 1 || o.nodes > 9) return Status::InvalidArgument("--nodes must be 1 to 9");
  if (o.dir.empty()) return Status::InvalidArgument("--dir must name a directory");
  if (o.base_port < 1024 || o.base_port + 100 + o.nodes > 65535) {
    return Status::InvalidArgument(
        "--base-port must leave room for ports up to base+109 (1024..65426)");
  }
  if (o.host.empty()) return Status::InvalidArgument("--host must not be empty");
  VELLUM_RETURN_IF_ERROR(CheckEmptyOrMissing(o.dir));
  VELLUM_RETURN_IF_ERROR(MakeDir(o.dir));
  const std::string dir = o.dir.back() == '/' ? o.dir.substr(0, o.dir.size() - 1) : o.dir;
  RandomSource& random = crypto::SystemRandom();

  LocalClusterLayout layout;
  VELLUM_ASSIGN_OR_RETURN(
      crypto::CertifiedKey ca,
      crypto::CreateCertificateAuthority("Vellum cluster CA", o.validity_days, random));
  layout.ca_certificate_file = dir + "/ca.crt";
  VELLUM_RETURN_IF_ERROR(WriteCertifiedKey(ca, layout.ca_certificate_file, dir + "/ca.key"));

  crypto::CertificateRequest client_request;
  client_request.common_name = "client";
  client_request.usage = crypto::CertificateUsage::kClient;
  client_request.validity_days = o.validity_days;
  VELLUM_ASSIGN_OR_RETURN(crypto::CertifiedKey client,
                          crypto::IssueCertificate(ca, client_request, random));
  layout.client_certificate_file = dir + "/client.crt";
  layout.client_key_file = dir + "/client.key";
  VELLUM_RETURN_IF_ERROR(
      WriteCertifiedKey(client, layout.client_certificate_file, layout.client_key_file));

  VELLUM_RETURN_IF_ERROR(MasterKey::Generate().WriteFile(dir + "/master.key"));

  // Every node's keys first: each config lists all members' public keys.
  std::vector<ClusterMember> members;
  for (int i = 1; i <= o.nodes; ++i) {
    VELLUM_ASSIGN_OR_RETURN(ClusterMember m,
                            MakeNodeKeys(dir, static_cast<uint64_t>(i), o.host, o.base_port));
    members.push_back(std::move(m));
  }

  std::string endpoints;
  for (const ClusterMember& m : members) {
    VELLUM_ASSIGN_OR_RETURN(std::string config_file,
                            WriteNodeFiles(ca, dir, m, members, o.host, o.validity_days,
                                           /*join=*/false, random));
    layout.config_files.push_back(config_file);
    layout.endpoints.push_back(m.client_url);
    endpoints += m.client_url + "\n";
  }
  layout.endpoints_file = dir + "/endpoints";
  VELLUM_RETURN_IF_ERROR(WriteNewFile(layout.endpoints_file, AsBytes(endpoints), 0644));
  return layout;
}

Result<AddedNode> AddLocalClusterNode(const AddNodeOptions& o) {
  if (o.dir.empty()) return Status::InvalidArgument("--dir must name a cluster directory");
  if (o.id < 1 || o.id > 99) return Status::InvalidArgument("--id must be 1 to 99");
  const std::string dir = o.dir.back() == '/' ? o.dir.substr(0, o.dir.size() - 1) : o.dir;
  const std::string node_dir = NodeDir(dir, o.id);
  struct stat st;
  if (::stat(node_dir.c_str(), &st) == 0) {
    return Status::AlreadyExists(node_dir + " already exists; pick another --id");
  }

  // The directory's scheme, from its lowest-numbered node.
  std::optional<NodeConfig> model;
  for (uint64_t i = 1; i <= 99 && !model.has_value(); ++i) {
    const std::string config_file = NodeDir(dir, i) + "/node.yaml";
    if (::stat(config_file.c_str(), &st) != 0) continue;
    VELLUM_ASSIGN_OR_RETURN(NodeConfig config, LoadNodeConfig(config_file));
    model = std::move(config);
  }
  if (!model.has_value()) {
    return Status::InvalidArgument(dir +
                                   " holds no node configs (n1/node.yaml ...): is it a "
                                   "directory 'vellum-db cluster init' wrote?");
  }
  const size_t colon = model->peer_listen.rfind(':');
  const std::string host = model->peer_listen.substr(0, colon);
  const int base_port =
      std::stoi(model->peer_listen.substr(colon + 1)) - static_cast<int>(model->node_id);
  if (base_port < 1 || base_port + 100 + static_cast<int>(o.id) > 65535) {
    return Status::InvalidArgument("node " + std::to_string(o.id) +
                                   "'s ports would fall outside 1..65535");
  }
  for (const ClusterMember& m : model->initial_members) {
    if (m.id == o.id) {
      return Status::AlreadyExists("node " + std::to_string(o.id) + " is already a member in " +
                                   NodeDir(dir, model->node_id) + "/node.yaml");
    }
  }

  std::string ca_pem, ca_key_pem;
  VELLUM_RETURN_IF_ERROR(ReadFileToString(Env::Default(), dir + "/ca.crt", &ca_pem));
  VELLUM_RETURN_IF_ERROR(ReadFileToString(Env::Default(), dir + "/ca.key", &ca_key_pem)
                             .WithContext("the cluster CA's key (needed to add a node)"));
  crypto::CertifiedKey ca;
  ca.certificate_pem = std::move(ca_pem);
  ca.private_key_pem = crypto::SecureBytes::CopyFrom(AsBytes(ca_key_pem));
  std::fill(ca_key_pem.begin(), ca_key_pem.end(), '\0');

  VELLUM_ASSIGN_OR_RETURN(ClusterMember self, MakeNodeKeys(dir, o.id, host, base_port));
  std::vector<ClusterMember> members = model->initial_members;
  members.push_back(self);
  AddedNode added;
  VELLUM_ASSIGN_OR_RETURN(added.config_file,
                          WriteNodeFiles(ca, dir, self, members, host, o.validity_days,
                                         /*join=*/true, crypto::SystemRandom()));
  added.endpoint = self.client_url;
  std::string endpoints;
  VELLUM_RETURN_IF_ERROR(ReadFileToString(Env::Default(), dir + "/endpoints", &endpoints));
  endpoints += self.client_url + "\n";
  const std::string next = dir + "/endpoints.new";
  ::unlink(next.c_str());
  VELLUM_RETURN_IF_ERROR(WriteNewFile(next, AsBytes(endpoints), 0644));
  if (::rename(next.c_str(), (dir + "/endpoints").c_str()) != 0) {
    return Status::IOError("cannot replace " + dir + "/endpoints: " + std::strerror(errno));
  }

  nlohmann::ordered_json record;
  record["id"] = self.id;
  record["peer_address"] = self.peer_address;
  record["client_url"] = self.client_url;
  record["signing_public_key"] = self.signing_public_key;
  record["holder_public_key"] = self.holder_public_key;
  added.member_record_json = record.dump();
  VELLUM_RETURN_IF_ERROR(
      WriteNewFile(node_dir + "/member.json", AsBytes(added.member_record_json + "\n"), 0644));
  return added;
}

}  // namespace vellum::node
