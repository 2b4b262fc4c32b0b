// Copyright (c) Vellum authors.

#include "node/cluster_init.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "base/bytes.h"
#include "crypto/random.h"
#include "crypto/x509.h"
#include "node/node_config.h"
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

  // Every node's signing key first: each config lists all members' public keys.
  std::vector<ClusterMember> members;
  for (int i = 1; i <= o.nodes; ++i) {
    const std::string node_dir = dir + "/n" + std::to_string(i);
    VELLUM_RETURN_IF_ERROR(MakeDir(node_dir));
    const NodeSigningKey signing = NodeSigningKey::Generate();
    VELLUM_RETURN_IF_ERROR(signing.WriteFile(node_dir + "/signing.key"));
    const HolderKey holder = HolderKey::Generate();
    VELLUM_RETURN_IF_ERROR(holder.WriteFile(node_dir + "/holder.key"));
    ClusterMember m;
    m.id = static_cast<uint64_t>(i);
    m.peer_address = o.host + ":" + std::to_string(o.base_port + i);
    m.client_url = "https://" + o.host + ":" + std::to_string(o.base_port + 100 + i);
    m.signing_public_key = HexEncode(signing.public_key());
    m.holder_public_key = PublicKeyToHex(holder.public_key());
    members.push_back(std::move(m));
  }

  std::string endpoints;
  for (int i = 1; i <= o.nodes; ++i) {
    const std::string node_dir = dir + "/n" + std::to_string(i);
    crypto::CertificateRequest request;
    request.common_name = "node-" + std::to_string(i);
    request.usage = crypto::CertificateUsage::kServerAndClient;
    request.validity_days = o.validity_days;
    if (o.host.find_first_not_of("0123456789.:") == std::string::npos) {
      request.ip_addresses.push_back(o.host);
    } else {
      request.dns_names.push_back(o.host);
    }
    VELLUM_ASSIGN_OR_RETURN(crypto::CertifiedKey cert,
                            crypto::IssueCertificate(ca, request, random));
    VELLUM_RETURN_IF_ERROR(WriteCertifiedKey(cert, node_dir + "/node.crt", node_dir + "/node.key"));

    NodeConfig config;
    config.node_id = static_cast<uint64_t>(i);
    config.data_dir = "data";
    config.peer_listen = members[i - 1].peer_address;
    config.client_listen = o.host + ":" + std::to_string(o.base_port + 100 + i);
    config.initial_members = members;
    config.ca_certificate_file = "../ca.crt";
    config.certificate_file = "node.crt";
    config.private_key_file = "node.key";
    config.master_key_file = "../master.key";
    config.signing_key_file = "signing.key";
    config.holder_key_file = "holder.key";
    VELLUM_RETURN_IF_ERROR(config.Validate());
    const std::string config_file = node_dir + "/node.yaml";
    VELLUM_RETURN_IF_ERROR(WriteNewFile(config_file, AsBytes(FormatNodeConfig(config)), 0644));
    layout.config_files.push_back(config_file);
    layout.endpoints.push_back(members[i - 1].client_url);
    endpoints += members[i - 1].client_url + "\n";
  }
  layout.endpoints_file = dir + "/endpoints";
  VELLUM_RETURN_IF_ERROR(WriteNewFile(layout.endpoints_file, AsBytes(endpoints), 0644));
  return layout;
}

}  // namespace vellum::node
