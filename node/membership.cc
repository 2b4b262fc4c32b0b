// Copyright (c) Vellum authors.

#include "node/membership.h"

#include <mutex>
#include <nlohmann/json.hpp>

namespace vellum::node {

std::string EncodeMemberRecord(const MemberRecord& record) {
  nlohmann::ordered_json j;
  j["peer_address"] = record.peer_address;
  j["client_url"] = record.client_url;
  j["signing_public_key"] = HexEncode(record.signing_public_key);
  j["holder_public_key"] = HexEncode(record.holder_public_key);
  return j.dump();
}

Result<MemberRecord> DecodeMemberRecord(std::string_view json) {
  nlohmann::json j = nlohmann::json::parse(json, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return Status::InvalidArgument("a member record must be a JSON object");
  MemberRecord record;
  for (const auto& [name, value] : j.items()) {
    if (!value.is_string()) {
      return Status::InvalidArgument("member record field '" + name + "' must be a string");
    }
    const std::string& text = value.get_ref<const std::string&>();
    if (name == "peer_address") {
      record.peer_address = text;
    } else if (name == "client_url") {
      record.client_url = text;
    } else if (name == "signing_public_key") {
      Result<Bytes> key = HexDecode(text);
      if (!key.ok() || key->size() != 32) {
        return Status::InvalidArgument("signing_public_key must be 64 hex digits");
      }
      record.signing_public_key = std::move(key).value();
    } else if (name == "holder_public_key") {
      Result<Bytes> key = HexDecode(text);
      if (!key.ok() || key->size() != 32) {
        return Status::InvalidArgument("holder_public_key must be 64 hex digits");
      }
      record.holder_public_key = std::move(key).value();
    } else {
      return Status::InvalidArgument("unknown member record field '" + name + "'");
    }
  }
  if (record.peer_address.empty()) return Status::InvalidArgument("peer_address is required");
  if (record.signing_public_key.empty()) {
    return Status::InvalidArgument("signing_public_key is required");
  }
  if (record.holder_public_key.empty()) {
    return Status::InvalidArgument("holder_public_key is required");
  }
  return record;
}

Membership::Membership(uint64_t self, std::unique_ptr<crypto::Signer> signer)
    : self_(self), signer_(std::move(signer)) {}

void Membership::Set(uint64_t id, MemberRecord record) {
  std::unique_lock lock(mu_);
  former_keys_.erase(id);
  members_[id] = std::move(record);
}

void Membership::Remove(uint64_t id) {
  std::unique_lock lock(mu_);
  auto it = members_.find(id);
  if (it == members_.end()) return;
  former_keys_[id] = it->second.signing_public_key;
  members_.erase(it);
}

std::optional<MemberRecord> Membership::Get(uint64_t id) const {
  std::shared_lock lock(mu_);
  auto it = members_.find(id);
  if (it == members_.end()) return std::nullopt;
  return it->second;
}

std::map<uint64_t, MemberRecord> Membership::Members() const {
  std::shared_lock lock(mu_);
  return members_;
}

Status Membership::AuthorizePeer(const raft::PeerIdentity& identity) const {
  std::shared_lock lock(mu_);
  auto it = members_.find(identity.node_id);
  if (it == members_.end()) {
    return Status::PermissionDenied("node " + std::to_string(identity.node_id) +
                                    " is not a member of this cluster");
  }
  if (it->second.signing_public_key != identity.signing_public_key) {
    return Status::PermissionDenied("node " + std::to_string(identity.node_id) +
                                    " presented a signing key other than the one on record");
  }
  return Status::OK();
}

Result<Bytes> Membership::Sign(ByteView message) { return signer_->Sign(message); }

Status Membership::Verify(uint64_t signer, ByteView message, ByteView signature) const {
  Bytes key;
  {
    std::shared_lock lock(mu_);
    if (auto it = members_.find(signer); it != members_.end()) {
      key = it->second.signing_public_key;
    } else if (auto f = former_keys_.find(signer); f != former_keys_.end()) {
      key = f->second;
    } else {
      return Status::PermissionDenied("node " + std::to_string(signer) + " is not a member");
    }
  }
  return crypto::VerifySignature(crypto::SignatureScheme::kEd25519, key, message, signature);
}

}  // namespace vellum::node
