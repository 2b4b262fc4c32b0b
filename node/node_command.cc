// Copyright (c) Vellum authors.

#include "node/node_command.h"

#include <string>

#include "crypto/aead.h"
#include "crypto/hkdf.h"
#include "vellum/check.h"

namespace vellum::node {

namespace {

constexpr uint8_t kCommandVersion = 1;
constexpr std::string_view kPayloadAd = "vellum-node-command-v1";

}  // namespace

Bytes EncodeNodeCommand(const NodeCommand& c) {
  VELLUM_CHECK(!c.writes.empty() && c.writes.size() <= kMaxWritesPerCommand);
  Bytes out;
  out.push_back(kCommandVersion);
  PutVarint64(&out, c.attested_version);
  out.insert(out.end(), c.attested_root.begin(), c.attested_root.end());
  PutVarint64(&out, c.writes.size());
  for (const ClientWrite& w : c.writes) {
    PutVarint64(&out, w.request_id);
    const Bytes ops = logchain::EncodeWriteSet(w.ops);
    PutVarint64(&out, ops.size());
    out.insert(out.end(), ops.begin(), ops.end());
  }
  return out;
}

Result<NodeCommand> DecodeNodeCommand(ByteView in) {
  auto bad = [](const char* what) {
    return Status::Corruption(std::string("malformed node command: bad ") + what);
  };
  if (in.empty()) return bad("version");
  if (in[0] != kCommandVersion) {
    return Status::NotSupported("node command version " + std::to_string(in[0]) +
                                " is not supported");
  }
  in = in.subspan(1);
  NodeCommand c;
  if (!GetVarint64(&in, &c.attested_version)) return bad("attested version");
  if (in.size() < c.attested_root.size()) return bad("attested root");
  std::copy(in.begin(), in.begin() + static_cast<ptrdiff_t>(c.attested_root.size()),
            c.attested_root.begin());
  in = in.subspan(c.attested_root.size());
  uint64_t count = 0;
  if (!GetVarint64(&in, &count) || count == 0 || count > kMaxWritesPerCommand) {
    return bad("write count");
  }
  c.writes.resize(count);
  for (ClientWrite& w : c.writes) {
    uint64_t size = 0;
    if (!GetVarint64(&in, &w.request_id)) return bad("request id");
    if (!GetVarint64(&in, &size) || size > in.size()) return bad("write length");
    auto ops = logchain::DecodeWriteSet(in.subspan(0, size));
    if (!ops.ok()) return ops.status();
    w.ops = std::move(ops).value();
    in = in.subspan(size);
  }
  if (!in.empty()) return bad("length (bytes after the last write)");
  return c;
}

Result<crypto::SecureBytes> DeriveReplicationKey(const crypto::SecureBytes& master_secret) {
  return crypto::DeriveKey(master_secret, "vellum/node/replication-payload",
                           crypto::XChaCha20Poly1305::kKeySize);
}

Result<Bytes> SealCommand(const crypto::SecureBytes& key, const NodeCommand& command,
                          RandomSource& random) {
  return crypto::XChaCha20Poly1305::Seal(key, EncodeNodeCommand(command), AsBytes(kPayloadAd),
                                         random);
}

Result<NodeCommand> OpenCommand(const crypto::SecureBytes& key, ByteView sealed) {
  auto plain = crypto::XChaCha20Poly1305::Open(key, sealed, AsBytes(kPayloadAd));
  if (!plain.ok()) {
    return Status::Corruption("a replicated command does not decrypt (" + plain.status().message() +
                              ")");
  }
  return DecodeNodeCommand(*plain);
}

}  // namespace vellum::node
