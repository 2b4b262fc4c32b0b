// Copyright (c) Vellum authors.

#include "raft/entry_auth.h"

#include <string>

#include "crypto/hash.h"
#include "raft/codec.h"

namespace vellum::raft {

namespace {

constexpr uint8_t kSealVersion = 1;
constexpr std::string_view kEntryHashLabel = "vellum-raft-entry-hash-v1";
constexpr std::string_view kSignLabel = "vellum-raft-entry-seal-v1";
// A signature is at most this long (Ed25519 is 64 bytes; room for other schemes).
constexpr uint64_t kMaxSignatureBytes = 512;

// What the leader signs: everything about the entry except the signature itself.
Bytes SigningMessage(const Entry& entry, ByteView prev_hash, NodeId signer) {
  Bytes msg(kSignLabel.begin(), kSignLabel.end());
  PutFixed64BE(&msg, entry.term);
  PutFixed64BE(&msg, entry.index);
  msg.push_back(static_cast<uint8_t>(entry.type));
  const crypto::Hash256 data_hash = crypto::Sha256(entry.data);
  msg.insert(msg.end(), data_hash.begin(), data_hash.end());
  msg.insert(msg.end(), prev_hash.begin(), prev_hash.end());
  PutFixed64BE(&msg, signer);
  return msg;
}

std::string EntryName(const Entry& entry) {
  return "raft entry " + std::to_string(entry.index) + " (term " + std::to_string(entry.term) + ")";
}

}  // namespace

Bytes EntryHash(const Entry& entry) {
  crypto::Sha256Hasher hasher;
  hasher.Update(AsBytes(kEntryHashLabel));
  hasher.Update(EncodeEntry(entry));
  const crypto::Hash256 h = hasher.Finish();
  return Bytes(h.begin(), h.end());
}

Bytes GenesisEntryHash() { return Bytes(kEntryHashSize, 0); }

Status SealEntry(MemberAuthenticator& authenticator, NodeId signer, ByteView prev_hash,
                 Entry* entry) {
  if (prev_hash.size() != kEntryHashSize) {
    return Status::InvalidArgument("previous entry hash must be 32 bytes");
  }
  auto signature = authenticator.Sign(SigningMessage(*entry, prev_hash, signer));
  if (!signature.ok()) return signature.status();
  Bytes seal;
  seal.push_back(kSealVersion);
  seal.insert(seal.end(), prev_hash.begin(), prev_hash.end());
  PutVarint64(&seal, signer);
  PutVarint64(&seal, signature->size());
  seal.insert(seal.end(), signature->begin(), signature->end());
  entry->seal = std::move(seal);
  return Status::OK();
}

Result<NodeId> VerifyEntrySeal(const MemberAuthenticator& authenticator, ByteView prev_hash,
                               const Entry& entry) {
  ByteView in(entry.seal);
  if (in.empty()) return Status::Corruption(EntryName(entry) + " carries no seal");
  if (in[0] != kSealVersion) {
    return Status::Corruption(EntryName(entry) + " has a seal of unknown version " +
                              std::to_string(in[0]));
  }
  in = in.subspan(1);
  if (in.size() < kEntryHashSize) return Status::Corruption(EntryName(entry) + ": truncated seal");
  const ByteView link = in.first(kEntryHashSize);
  in = in.subspan(kEntryHashSize);
  uint64_t signer = 0;
  uint64_t signature_size = 0;
  if (!GetVarint64(&in, &signer) || signer == kNoNode || !GetVarint64(&in, &signature_size) ||
      signature_size > kMaxSignatureBytes || signature_size != in.size()) {
    return Status::Corruption(EntryName(entry) + ": malformed seal");
  }
  if (!ConstantTimeEquals(link, prev_hash)) {
    return Status::Corruption(EntryName(entry) +
                              " does not chain to the entry before it (hash mismatch)");
  }
  Status s = authenticator.Verify(signer, SigningMessage(entry, prev_hash, signer), in);
  if (!s.ok()) {
    return Status(s.code(), EntryName(entry) + " signed by node " + std::to_string(signer) + ": " +
                                s.message());
  }
  return signer;
}

}  // namespace vellum::raft
