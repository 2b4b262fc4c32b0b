// Copyright (c) Vellum authors.
//
// Digests and their consistency proofs (docs/formats/digest.md).

#include "vellum/digest.h"

#include <nlohmann/json.hpp>

#include "base/bytes.h"
#include "crypto/ed25519.h"
#include "db/logchain/merkle_log.h"

namespace vellum {
namespace {

constexpr std::string_view kDigestFormat = "vellum-digest-v1";
constexpr std::string_view kProofFormat = "vellum-digest-consistency-v1";

template <size_t N>
Result<std::array<uint8_t, N>> FixedHex(const nlohmann::json& j, const char* field,
                                        std::string_view what) {
  if (!j.contains(field) || !j[field].is_string()) {
    return Status::InvalidArgument(std::string(what) + ": \"" + field + "\" is missing");
  }
  auto bytes = HexDecode(j[field].get<std::string>());
  if (!bytes.ok() || bytes->size() != N) {
    return Status::InvalidArgument(std::string(what) + ": \"" + field + "\" is not " +
                                   std::to_string(N) + " bytes of hex");
  }
  std::array<uint8_t, N> out;
  std::copy(bytes->begin(), bytes->end(), out.begin());
  return out;
}

Result<uint64_t> Number(const nlohmann::json& j, const char* field, std::string_view what) {
  if (!j.contains(field) || !j[field].is_number_unsigned()) {
    return Status::InvalidArgument(std::string(what) + ": \"" + field +
                                   "\" is missing or not a number");
  }
  return j[field].get<uint64_t>();
}

Result<nlohmann::json> ParseObject(std::string_view json, std::string_view format,
                                   std::string_view what) {
  nlohmann::json j = nlohmann::json::parse(json, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return Status::InvalidArgument(std::string(what) + ": not a JSON object");
  }
  if (!j.contains("format") || j["format"] != format) {
    return Status::InvalidArgument(std::string(what) + ": \"format\" is not \"" +
                                   std::string(format) + "\"");
  }
  return j;
}

std::string Describe(const Digest& d) { return "digest of version " + std::to_string(d.version); }

}  // namespace

std::string Digest::SignedBytes() const {
  Bytes out = ToBytes(kDigestFormat);
  out.push_back(0);
  out.insert(out.end(), ledger_id.begin(), ledger_id.end());
  out.push_back(0);
  PutFixed64BE(&out, version);
  out.insert(out.end(), state_root.begin(), state_root.end());
  PutFixed64BE(&out, log_size);
  out.insert(out.end(), log_head_hash.begin(), log_head_hash.end());
  out.insert(out.end(), log_root.begin(), log_root.end());
  out.insert(out.end(), public_key.begin(), public_key.end());
  return std::string(AsChars(out));
}

std::string Digest::ToJson() const {
  nlohmann::ordered_json j;
  j["format"] = kDigestFormat;
  j["ledger_id"] = ledger_id;
  j["version"] = version;
  j["state_root"] = HexEncode(state_root);
  j["log_size"] = log_size;
  j["log_head_hash"] = HexEncode(log_head_hash);
  j["log_root"] = HexEncode(log_root);
  j["public_key"] = HexEncode(public_key);
  j["signature"] = HexEncode(signature);
  return j.dump();
}

Result<Digest> Digest::FromJson(std::string_view json) {
  constexpr std::string_view kWhat = "digest JSON";
  VELLUM_ASSIGN_OR_RETURN(nlohmann::json j, ParseObject(json, kDigestFormat, kWhat));
  Digest d;
  if (!j.contains("ledger_id") || !j["ledger_id"].is_string()) {
    return Status::InvalidArgument("digest JSON: \"ledger_id\" is missing");
  }
  d.ledger_id = j["ledger_id"].get<std::string>();
  VELLUM_ASSIGN_OR_RETURN(d.version, Number(j, "version", kWhat));
  VELLUM_ASSIGN_OR_RETURN(d.state_root, FixedHex<32>(j, "state_root", kWhat));
  VELLUM_ASSIGN_OR_RETURN(d.log_size, Number(j, "log_size", kWhat));
  VELLUM_ASSIGN_OR_RETURN(d.log_head_hash, FixedHex<32>(j, "log_head_hash", kWhat));
  VELLUM_ASSIGN_OR_RETURN(d.log_root, FixedHex<32>(j, "log_root", kWhat));
  VELLUM_ASSIGN_OR_RETURN(d.public_key, FixedHex<32>(j, "public_key", kWhat));
  VELLUM_ASSIGN_OR_RETURN(d.signature, FixedHex<64>(j, "signature", kWhat));
  return d;
}

Status VerifyDigestSignature(const Digest& digest,
                             const std::optional<std::array<uint8_t, 32>>& expected_public_key) {
  if (expected_public_key && *expected_public_key != digest.public_key) {
    return Status::Corruption(Describe(digest) + " is signed by another key than the ledger's");
  }
  std::string message = digest.SignedBytes();
  Status status = crypto::Ed25519Verify(digest.public_key, AsBytes(message), digest.signature);
  if (!status.ok()) return Status::Corruption(Describe(digest) + ": the signature does not verify");
  return Status::OK();
}

std::string DigestConsistencyProof::ToJson() const {
  nlohmann::ordered_json j;
  j["format"] = kProofFormat;
  j["old_size"] = old_size;
  j["new_size"] = new_size;
  for (auto [field, hashes] : {std::pair{"consistency", &consistency},
                               std::pair{"old_head_inclusion", &old_head_inclusion},
                               std::pair{"new_head_inclusion", &new_head_inclusion}}) {
    j[field] = nlohmann::ordered_json::array();
    for (const auto& h : *hashes) j[field].push_back(HexEncode(h));
  }
  return j.dump();
}

Result<DigestConsistencyProof> DigestConsistencyProof::FromJson(std::string_view json) {
  constexpr std::string_view kWhat = "consistency proof JSON";
  VELLUM_ASSIGN_OR_RETURN(nlohmann::json j, ParseObject(json, kProofFormat, kWhat));
  DigestConsistencyProof proof;
  VELLUM_ASSIGN_OR_RETURN(proof.old_size, Number(j, "old_size", kWhat));
  VELLUM_ASSIGN_OR_RETURN(proof.new_size, Number(j, "new_size", kWhat));
  for (auto [field, hashes] : {std::pair{"consistency", &proof.consistency},
                               std::pair{"old_head_inclusion", &proof.old_head_inclusion},
                               std::pair{"new_head_inclusion", &proof.new_head_inclusion}}) {
    if (!j.contains(field) || !j[field].is_array()) {
      return Status::InvalidArgument(std::string(kWhat) + ": \"" + field + "\" is missing");
    }
    for (const auto& item : j[field]) {
      auto bytes = item.is_string() ? HexDecode(item.get<std::string>())
                                    : Result<Bytes>(Status::InvalidArgument("not a string"));
      if (!bytes.ok() || bytes->size() != 32) {
        return Status::InvalidArgument(std::string(kWhat) + ": \"" + field +
                                       "\" holds something that is not a hash");
      }
      Hash h;
      std::copy(bytes->begin(), bytes->end(), h.begin());
      hashes->push_back(h);
    }
  }
  return proof;
}

Status VerifyDigestConsistency(const Digest& old_digest, const Digest& new_digest,
                               const DigestConsistencyProof& proof,
                               const std::optional<std::array<uint8_t, 32>>& expected_public_key) {
  auto pinned = expected_public_key ? expected_public_key : std::optional(old_digest.public_key);
  VELLUM_RETURN_IF_ERROR(VerifyDigestSignature(old_digest, pinned));
  VELLUM_RETURN_IF_ERROR(VerifyDigestSignature(new_digest, pinned));
  if (old_digest.ledger_id != new_digest.ledger_id) {
    return Status::Corruption("the digests are of different ledgers");
  }
  if (proof.old_size != old_digest.log_size || proof.new_size != new_digest.log_size) {
    return Status::Corruption("the proof is for other log sizes than the digests'");
  }
  if (old_digest.log_size > new_digest.log_size || old_digest.version > new_digest.version) {
    return Status::Corruption("the newer digest's log is shorter than the older one's");
  }
  auto check_head = [](const Digest& d, const std::vector<Hash>& inclusion) -> Status {
    if (d.log_size == 0) {
      if (d.log_root != logchain::MerkleEmptyRoot() || !inclusion.empty()) {
        return Status::Corruption(Describe(d) + ": an empty log with a non-empty root");
      }
      return Status::OK();
    }
    Status s = logchain::VerifyMerkleInclusion(d.log_size - 1, d.log_size, d.log_head_hash,
                                               inclusion, d.log_root);
    if (!s.ok()) {
      return Status::Corruption(Describe(d) + ": its head entry is not the last leaf of its log (" +
                                s.message() + ")");
    }
    return Status::OK();
  };
  VELLUM_RETURN_IF_ERROR(check_head(old_digest, proof.old_head_inclusion));
  VELLUM_RETURN_IF_ERROR(check_head(new_digest, proof.new_head_inclusion));
  if (old_digest.log_size > 0) {
    Status s = logchain::VerifyMerkleConsistency(old_digest.log_size, new_digest.log_size,
                                                 old_digest.log_root, new_digest.log_root,
                                                 proof.consistency);
    if (!s.ok()) {
      return Status::Corruption("the newer log does not extend the older one: " + s.message());
    }
  }
  return Status::OK();
}

}  // namespace vellum
