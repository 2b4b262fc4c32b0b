// Copyright (c) Vellum authors.
//
// The log side of the ledger: entries, digests and consistency proofs, decryption
// with holder keys, Forget (crypto-shredding), and statistics.

#include <rocksdb/write_batch.h>

#include "db/key_impl.h"
#include "db/ledger_impl.h"
#include "db/logchain/write_set.h"
#include "storage/rocksdb_env.h"

namespace vellum::db {
namespace {

// Merkle nodes read from the log column family. What they say is checked by whoever
// uses them: proofs by their verifier, the accumulator by Verify().
class LogNodeSource final : public logchain::MerkleNodeSource {
 public:
  LogNodeSource(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* cf) : db_(db), cf_(cf) {}
  Result<crypto::Hash256> GetNode(int level, uint64_t index) const override {
    std::string value;
    rocksdb::Status s =
        db_->Get(rocksdb::ReadOptions(), cf_, format::MerkleNodeKey(level, index), &value);
    std::string where = "log Merkle node (level " + std::to_string(level) + ", index " +
                        std::to_string(index) + ")";
    if (s.IsNotFound()) return Status::Corruption(where + " is missing");
    if (!s.ok()) return storage::FromRocksStatus(s, "reading " + where);
    if (value.size() != 32) return Status::Corruption(where + " has the wrong size");
    crypto::Hash256 hash;
    std::copy(value.begin(), value.end(), hash.begin());
    return hash;
  }

 private:
  rocksdb::DB* db_;
  rocksdb::ColumnFamilyHandle* cf_;
};

}  // namespace

std::unique_ptr<logchain::MerkleNodeSource> LedgerImpl::LogNodes() const {
  return std::make_unique<LogNodeSource>(rocks_, cf(kLog));
}

CommitInfo LedgerImpl::Latest() {
  std::shared_ptr<const State> state = CurrentState();
  return CommitInfo{state->version, state->top_root.hash, state->log_size, state->log_head};
}

Result<logchain::StoredEntry> LedgerImpl::ReadEntry(uint64_t index) {
  std::string record;
  rocksdb::Status s =
      rocks_->Get(rocksdb::ReadOptions(), cf(kLog), format::LogEntryKey(index), &record);
  if (s.IsNotFound()) {
    return Status::Corruption("log entry " + std::to_string(index) + " is missing");
  }
  if (!s.ok()) return RocksStatus(s, "reading log entry " + std::to_string(index));
  auto entry = logchain::DecodeStoredEntry(AsBytes(record));
  if (!entry.ok()) return entry.status().WithContext("log entry " + std::to_string(index));
  if (entry->header.index != index) {
    return Status::Corruption("log entry " + std::to_string(index) + " claims to be entry " +
                              std::to_string(entry->header.index));
  }
  return entry;
}

Result<logchain::StoredEntry> LedgerImpl::ReadVerifiedEntry(const State& state, uint64_t index) {
  VELLUM_ASSIGN_OR_RETURN(logchain::StoredEntry entry, ReadEntry(index));
  if (index == state.log_size) {
    if (entry.entry_hash != state.log_head) {
      return Status::Corruption("log entry " + std::to_string(index) +
                                " is not the head entry the ledger recorded (altered)");
    }
    return entry;
  }
  auto nodes = LogNodes();
  auto proof = logchain::MerkleInclusionProof(index - 1, state.log_size, *nodes);
  Status included = proof.ok()
                        ? logchain::VerifyMerkleInclusion(
                              index - 1, state.log_size, entry.entry_hash, *proof, state.log.Root())
                        : proof.status();
  if (!included.ok()) {
    return Status::Corruption(
        "log entry " + std::to_string(index) +
        " is not the entry the log's Merkle root commits to (altered): " + included.message());
  }
  return entry;
}

Result<trie::TrieRoot> LedgerImpl::VerifiedRootAt(const State& state, uint64_t version) {
  constexpr size_t kMaxCachedRoots = 4096;
  {
    std::lock_guard lock(roots_mu_);
    auto it = verified_roots_.find(version);
    if (it != verified_roots_.end()) return it->second;
  }
  VELLUM_ASSIGN_OR_RETURN(trie::TrieRoot root, top_->RootAt(version));
  VELLUM_ASSIGN_OR_RETURN(logchain::StoredEntry entry, ReadVerifiedEntry(state, version));
  if (entry.header.version != version || entry.header.state_root_after != root.hash) {
    return Status::Corruption("state trie: the version record of version " +
                              std::to_string(version) +
                              " disagrees with the state root its log entry records (altered)");
  }
  std::lock_guard lock(roots_mu_);
  if (verified_roots_.size() >= kMaxCachedRoots) verified_roots_.erase(verified_roots_.begin());
  verified_roots_.emplace(version, root);
  return root;
}

Result<std::optional<std::string>> LedgerImpl::ReadShareSet(uint64_t index) {
  std::string shares;
  rocksdb::Status s =
      rocks_->Get(rocksdb::ReadOptions(), cf(kLog), format::ShareSetKey(index), &shares);
  if (s.IsNotFound()) {
    return Status::Corruption("the key shares of log entry " + std::to_string(index) +
                              " are missing");
  }
  if (!s.ok()) return RocksStatus(s, "reading a share set");
  if (format::IsForgetMark(shares)) {
    VELLUM_ASSIGN_OR_RETURN(uint64_t when, format::DecodeForgetMark(keys_.get(), index, shares));
    (void)when;
    return std::optional<std::string>();
  }
  return std::optional<std::string>(std::move(shares));
}

Result<LogEntryInfo> LedgerImpl::GetLogEntry(uint64_t index) {
  std::shared_ptr<const State> state = CurrentState();
  if (index == 0 || index > state->log_size) {
    return Status::NotFound("log entry " + std::to_string(index) + " does not exist (the log has " +
                            std::to_string(state->log_size) + " entries)");
  }
  VELLUM_ASSIGN_OR_RETURN(logchain::StoredEntry entry, ReadVerifiedEntry(*state, index));
  LogEntryInfo info;
  info.index = entry.header.index;
  info.term = entry.header.term;
  info.version = entry.header.version;
  info.time_micros = entry.header.time_micros;
  info.prev_entry_hash = entry.header.prev_entry_hash;
  info.state_root_after = entry.header.state_root_after;
  info.payload_hash = entry.header.payload_hash;
  info.key_share_set_id = entry.header.key_share_set_id;
  info.entry_hash = entry.entry_hash;
  info.payload_bytes = entry.payload_ciphertext.size();
  VELLUM_ASSIGN_OR_RETURN(std::optional<std::string> shares, ReadShareSet(index));
  if (!shares) {
    info.forgotten = true;
    return info;
  }
  if (logchain::ShareSetId(AsBytes(*shares)) != entry.header.key_share_set_id) {
    return Status::Corruption("the key shares of log entry " + std::to_string(index) +
                              " are not the ones its header commits to (altered)");
  }
  VELLUM_ASSIGN_OR_RETURN(auto set, logchain::DecodeShareSet(AsBytes(*shares)));
  info.threshold = set.threshold;
  info.holders = static_cast<int>(set.shares.size());
  return info;
}

Result<std::vector<LogOp>> LedgerImpl::DecryptLogEntry(uint64_t index,
                                                       std::span<const HolderKey* const> keys) {
  std::shared_ptr<const State> state = CurrentState();
  if (index == 0 || index > state->log_size) {
    return Status::NotFound("log entry " + std::to_string(index) + " does not exist (the log has " +
                            std::to_string(state->log_size) + " entries)");
  }
  VELLUM_ASSIGN_OR_RETURN(logchain::StoredEntry entry, ReadVerifiedEntry(*state, index));
  VELLUM_ASSIGN_OR_RETURN(std::optional<std::string> shares, ReadShareSet(index));
  if (!shares) {
    return Status::FailedPrecondition("log entry " + std::to_string(index) +
                                      " was forgotten: its key shares were destroyed, so its "
                                      "payload can no longer be decrypted");
  }
  std::vector<crypto::X25519KeyPair> pairs;
  bool self_held;
  {
    std::lock_guard lock(config_mu_);
    self_held = config_.holders.empty();
  }
  if (self_held) {
    VELLUM_RETURN_IF_ERROR(RequireKeys("decrypting a log entry of a self-held ledger"));
  }
  if (keys_ != nullptr) {
    // The ledger's own holder key: it holds the shares of entries written while the
    // ledger was its own holder (the holders can change, SetLogKeyHolders), and no
    // share of the others, where it is ignored.
    VELLUM_ASSIGN_OR_RETURN(
        auto own, crypto::X25519KeyPair::FromSecretKey(keys_->own_holder_key().secret_key()));
    pairs.push_back(std::move(own));
  }
  for (const HolderKey* key : keys) {
    VELLUM_ASSIGN_OR_RETURN(
        auto pair, crypto::X25519KeyPair::FromSecretKey(key->impl().key_pair.secret_key()));
    pairs.push_back(std::move(pair));
  }
  auto payload = logchain::OpenLogEntry(entry, AsBytes(*shares), pairs);
  if (!payload.ok()) {
    const std::string name = "log entry " + std::to_string(index);
    if (payload.status().message().find(name) != std::string::npos) return payload.status();
    return payload.status().WithContext(name);
  }
  VELLUM_ASSIGN_OR_RETURN(auto write_set, logchain::DecodeWriteSet(*payload));
  std::vector<LogOp> ops;
  ops.reserve(write_set.size());
  for (auto& op : write_set) {
    ops.push_back(LogOp{static_cast<WriteBatch::OpKind>(op.kind), std::move(op.table),
                        std::string(AsChars(op.key)), std::string(AsChars(op.value))});
  }
  return ops;
}

Result<uint64_t> LedgerImpl::Forget(uint64_t first, uint64_t last) {
  VELLUM_RETURN_IF_ERROR(RequireKeys("forgetting log entries"));
  std::shared_ptr<const State> state = CurrentState();
  if (first == 0 || first > last || last > state->log_size) {
    return Status::InvalidArgument("forget range " + std::to_string(first) + ".." +
                                   std::to_string(last) + " is not within the log (entries 1.." +
                                   std::to_string(state->log_size) + ")");
  }
  rocksdb::WriteBatch batch;
  uint64_t forgotten = 0;
  uint64_t now = env_->WallMicros();
  for (uint64_t index = first; index <= last; ++index) {
    std::string shares;
    rocksdb::Status s =
        rocks_->Get(rocksdb::ReadOptions(), cf(kLog), format::ShareSetKey(index), &shares);
    if (!s.ok() && !s.IsNotFound()) return RocksStatus(s, "reading a share set");
    if (s.ok() && format::IsForgetMark(shares)) continue;
    batch.Put(cf(kLog), format::ShareSetKey(index), format::EncodeForgetMark(*keys_, index, now));
    ++forgotten;
  }
  rocksdb::WriteOptions write_options;
  write_options.sync = true;
  rocksdb::Status s = rocks_->Write(write_options, &batch);
  if (!s.ok()) return RocksStatus(s, "writing forget marks");
  // The old share sets still sit in the memtable, the WAL and older table files until
  // they are rewritten: flush, then compact the range so that no file keeps them.
  // (Once flushed, the WAL files that held them are deleted.)
  s = rocks_->Flush(rocksdb::FlushOptions(), cf(kLog));
  if (!s.ok()) return RocksStatus(s, "flushing after forget");
  std::string begin = format::ShareSetKey(first);
  std::string end = format::ShareSetKey(last + 1);
  rocksdb::Slice begin_slice(begin), end_slice(end);
  rocksdb::CompactRangeOptions compact;
  compact.bottommost_level_compaction = rocksdb::BottommostLevelCompaction::kForce;
  s = rocks_->CompactRange(compact, cf(kLog), &begin_slice, &end_slice);
  if (!s.ok()) return RocksStatus(s, "compacting after forget");
  return forgotten;
}

Status LedgerImpl::SetLogKeyHolders(std::span<const HolderKey::PublicKey> holders, int threshold) {
  VELLUM_RETURN_IF_ERROR(RequireKeys("changing the log key holders"));
  if (closed_) return Status::FailedPrecondition("the ledger is closed");
  format::ConfigRecord config;
  {
    std::lock_guard lock(config_mu_);
    config = config_;
  }
  config.holders.assign(holders.begin(), holders.end());
  if (holders.empty()) {
    if (threshold != 1) {
      return Status::InvalidArgument("the threshold must be 1 when the ledger is its own holder");
    }
  } else {
    VELLUM_RETURN_IF_ERROR(logchain::ValidateKeyHolders({config.holders, threshold}));
  }
  config.threshold = threshold;
  rocksdb::WriteOptions write_options;
  write_options.sync = options_.sync;
  // Under config_mu_ so that two concurrent changes reach the store and memory in the
  // same order. Commits read the holders (Holders()) under it too: an entry sealed
  // while this runs uses either the old set or the new one, whole.
  std::lock_guard lock(config_mu_);
  rocksdb::Status s =
      rocks_->Put(write_options, cf(kMeta), format::kConfigKey,
                  format::SealMeta(*keys_, format::kConfigKey, format::EncodeConfigBody(config)));
  if (!s.ok()) return RocksStatus(s, "writing the log key holders");
  config_ = std::move(config);
  return Status::OK();
}

Result<Digest> LedgerImpl::GetDigest() {
  VELLUM_RETURN_IF_ERROR(RequireKeys("signing a digest"));
  std::shared_ptr<const State> state = CurrentState();
  Digest digest;
  digest.ledger_id = HexEncode(ledger_id_);
  digest.version = state->version;
  digest.state_root = state->top_root.hash;
  digest.log_size = state->log_size;
  digest.log_head_hash = state->log_head;
  digest.log_root = state->log.Root();
  digest.public_key = keys_->signing_key().public_key();
  std::string message = digest.SignedBytes();
  digest.signature = keys_->signing_key().Sign(AsBytes(message));
  return digest;
}

Result<DigestConsistencyProof> LedgerImpl::ConsistencyProof(const Digest& old_digest,
                                                            const Digest& new_digest) {
  std::shared_ptr<const State> state = CurrentState();
  std::string id = HexEncode(ledger_id_);
  if (old_digest.ledger_id != id || new_digest.ledger_id != id) {
    return Status::InvalidArgument("a digest is of another ledger");
  }
  if (old_digest.log_size > new_digest.log_size || new_digest.log_size > state->log_size) {
    return Status::InvalidArgument("digest log sizes must satisfy old <= new <= " +
                                   std::to_string(state->log_size));
  }
  auto nodes = LogNodes();
  const logchain::MerkleNodeSource& source = *nodes;
  DigestConsistencyProof proof;
  proof.old_size = old_digest.log_size;
  proof.new_size = new_digest.log_size;
  if (proof.old_size > 0) {
    VELLUM_ASSIGN_OR_RETURN(proof.consistency, logchain::MerkleConsistencyProof(
                                                   proof.old_size, proof.new_size, source));
    VELLUM_ASSIGN_OR_RETURN(
        proof.old_head_inclusion,
        logchain::MerkleInclusionProof(proof.old_size - 1, proof.old_size, source));
  }
  if (proof.new_size > 0) {
    VELLUM_ASSIGN_OR_RETURN(
        proof.new_head_inclusion,
        logchain::MerkleInclusionProof(proof.new_size - 1, proof.new_size, source));
  }
  return proof;
}

Result<DBStats> LedgerImpl::GetStats() {
  std::shared_ptr<const State> state = CurrentState();
  DBStats stats;
  stats.version = state->version;
  stats.oldest_version = state->oldest_version;
  stats.log_size = state->log_size;
  stats.tables = state->tables.size();
  for (int i = 1; i < kFamilyCount; ++i) {
    DBStats::ColumnFamily family;
    family.name = handles_[i]->GetName();
    rocks_->GetIntProperty(handles_[i], "rocksdb.total-sst-files-size", &family.sst_bytes);
    rocks_->GetIntProperty(handles_[i], "rocksdb.cur-size-all-mem-tables", &family.memtable_bytes);
    rocks_->GetIntProperty(handles_[i], "rocksdb.estimate-num-keys", &family.estimated_keys);
    stats.column_families.push_back(std::move(family));
  }
  return stats;
}

}  // namespace vellum::db
