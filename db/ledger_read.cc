// Copyright (c) Vellum authors.
//
// Reads: every one resolves the table in the top trie of the version read, walks the
// table's trie (each node re-hashed against its parent), then fetches the value by its
// keyed hash, decrypts it (AES-SIV, bound to table and hash) and re-hashes it.

#include <rocksdb/iterator.h>

#include <algorithm>

#include "db/ledger_impl.h"

namespace vellum::db {
namespace {

crypto::Hash256 ToHash(ByteView bytes) {
  crypto::Hash256 hash{};
  std::copy_n(bytes.begin(), std::min(bytes.size(), hash.size()), hash.begin());
  return hash;
}

std::string Short(const crypto::Hash256& hash) { return HexEncode(hash).substr(0, 16); }

}  // namespace

Result<LedgerImpl::VersionView> LedgerImpl::ViewAt(const State& state,
                                                   std::optional<uint64_t> version) {
  if (!version || *version == state.version) return VersionView{state.version, state.top_root};
  if (*version > state.version) {
    return Status::NotFound("version " + std::to_string(*version) + " does not exist (latest is " +
                            std::to_string(state.version) + ")");
  }
  if (*version < state.oldest_version) {
    return Status::NotFound("version " + std::to_string(*version) +
                            " is older than the retention window (oldest readable is " +
                            std::to_string(state.oldest_version) + ")");
  }
  if (*version == 0) {
    return VersionView{0, trie::TrieRoot{trie::EmptyRoot(trie::TrieScheme::kNative), 0}};
  }
  VELLUM_ASSIGN_OR_RETURN(trie::TrieRoot root, VerifiedRootAt(state, *version));
  return VersionView{*version, root};
}

Result<LedgerImpl::ResolvedTable> LedgerImpl::ResolveTable(const State& state,
                                                           const VersionView& view,
                                                           std::string_view name) {
  if (view.version == state.version) {
    auto it = state.tables.find(name);
    if (it == state.tables.end()) {
      return Status::NotFound("table '" + std::string(name) + "' does not exist at version " +
                              std::to_string(view.version));
    }
    return ResolvedTable{it->second.id, it->second.root, it->second.name_hash};
  }
  crypto::Hash256 name_hash = keys_->table_name_hash().Hash(AsBytes(name));
  VELLUM_ASSIGN_OR_RETURN(auto entry, top_->GetAtRoot(view.top_root, name_hash));
  if (!entry) {
    return Status::NotFound("table '" + std::string(name) + "' does not exist at version " +
                            std::to_string(view.version));
  }
  VELLUM_ASSIGN_OR_RETURN(format::TableEntry table, format::DecodeTableEntry(*entry));
  return ResolvedTable{table.table_id, table.root, name_hash};
}

Result<std::string> LedgerImpl::ReadSealed(int family, std::string_view what,
                                           const std::string& key, ByteView ad,
                                           const crypto::AesSiv& siv,
                                           const crypto::KeyedHasher& hasher,
                                           const crypto::Hash256& hash, uint64_t table_id) {
  const std::string record = std::string(what) + "s table: the record of " + std::string(what) +
                             " hash " + Short(hash) + " (table id " + std::to_string(table_id) +
                             ")";
  rocksdb::PinnableSlice sealed;
  rocksdb::Status s = rocks_->Get(rocksdb::ReadOptions(), cf(family), key, &sealed);
  if (s.IsNotFound()) return Status::Corruption(record + " is missing");
  if (!s.ok()) return RocksStatus(s, "reading a " + std::string(what));
  ByteView ads[] = {ad};
  auto plain = siv.Open(AsBytes(sealed.ToStringView()), ads);
  if (!plain.ok()) return Status::Corruption(record + " fails authentication (altered or moved)");
  if (hasher.Hash(*plain) != hash) {
    return Status::Corruption(record + " does not hash to it");
  }
  return std::string(AsChars(*plain));
}

Result<std::string> LedgerImpl::ReadValue(uint64_t table_id, const TableKeys& keys,
                                          const crypto::Hash256& value_hash) {
  return ReadSealed(kValues, "value", format::ValueRecordKey(table_id, value_hash),
                    format::ValueAd(table_id, value_hash), keys.value_siv, keys.value_hash,
                    value_hash, table_id);
}

Result<std::string> LedgerImpl::ReadKey(uint64_t table_id, const TableKeys& keys,
                                        const crypto::Hash256& key_hash) {
  return ReadSealed(kKeys, "key", format::KeyRecordKey(table_id, key_hash),
                    format::KeyAd(table_id, key_hash), keys.key_siv, keys.key_hash, key_hash,
                    table_id);
}

Result<std::optional<std::string>> LedgerImpl::GetVerified(const ResolvedTable& table,
                                                           std::string_view key) {
  VELLUM_ASSIGN_OR_RETURN(auto keys, keys_->ForTable(table.id));
  crypto::Hash256 key_hash = keys->key_hash.Hash(AsBytes(key));
  VELLUM_ASSIGN_OR_RETURN(trie::Trie * trie, TableTrie(table.id));
  VELLUM_ASSIGN_OR_RETURN(auto value_hash, trie->GetAtRoot(table.root, key_hash));
  if (!value_hash) return std::optional<std::string>();
  if (value_hash->size() != 32) {
    return Status::Corruption("table trie: the entry of key hash " + Short(key_hash) +
                              " is not a value hash");
  }
  VELLUM_ASSIGN_OR_RETURN(std::string value, ReadValue(table.id, *keys, ToHash(*value_hash)));
  return std::optional<std::string>(std::move(value));
}

Status LedgerImpl::PrunedWhileRead(uint64_t version) const {
  return Status::NotFound("version " + std::to_string(version) +
                          " was pruned while it was being read (Options::retained_versions = " +
                          std::to_string(options_.retained_versions) + ")");
}

template <typename ReadFn>
auto LedgerImpl::ReadRacingPrune(const ReadOptions& options, const ReadFn& read)
    -> decltype(read(std::declval<const State&>(), std::declval<const VersionView&>())) {
  // Readers do not hold versions: when commits move the retention window past the
  // version a read is walking, pruning can delete nodes under it and the read fails as
  // if data were missing. Such a failure is told apart from damage by the pruning
  // floor, which moves before anything is deleted: a read of the latest version is
  // retried on the newer state, a read of a given version reports it pruned.
  constexpr int kAttempts = 3;
  for (int attempt = 1;; ++attempt) {
    std::shared_ptr<const State> state = CurrentState();
    VELLUM_ASSIGN_OR_RETURN(VersionView view, ViewAt(*state, options.version));
    auto result = read(*state, view);
    if (result.ok() || view.version >= prune_floor_.load()) return result;
    if (options.version.has_value() || attempt == kAttempts) return PrunedWhileRead(view.version);
  }
}

Result<std::optional<std::string>> LedgerImpl::Get(const ReadOptions& options,
                                                   std::string_view table, std::string_view key) {
  VELLUM_RETURN_IF_ERROR(RequireKeys("reading"));
  return ReadRacingPrune(
      options,
      [&](const State& state, const VersionView& view) -> Result<std::optional<std::string>> {
        VELLUM_ASSIGN_OR_RETURN(ResolvedTable resolved, ResolveTable(state, view, table));
        return GetVerified(resolved, key);
      });
}

Result<std::optional<std::string>> LedgerImpl::GetAt(const State& state, std::string_view table,
                                                     std::string_view key) {
  Result<std::optional<std::string>> result = [&]() -> Result<std::optional<std::string>> {
    VELLUM_ASSIGN_OR_RETURN(ResolvedTable resolved,
                            ResolveTable(state, VersionView{state.version, state.top_root}, table));
    return GetVerified(resolved, key);
  }();
  if (!result.ok() && state.version < prune_floor_.load()) {
    return Status::Aborted("the transaction's snapshot (version " + std::to_string(state.version) +
                           ") was pruned while it was being read; retry the transaction");
  }
  return result;
}

Result<LedgerProof> LedgerImpl::GetWithProof(const ReadOptions& options, std::string_view table,
                                             std::string_view key) {
  VELLUM_RETURN_IF_ERROR(RequireKeys("proving"));
  return ReadRacingPrune(options, [&](const State& state, const VersionView& view) {
    return ProveAt(state, view, table, key);
  });
}

Result<LedgerProof> LedgerImpl::ProveAt(const State& state, const VersionView& view,
                                        std::string_view table, std::string_view key) {
  VELLUM_ASSIGN_OR_RETURN(ResolvedTable resolved, ResolveTable(state, view, table));
  VELLUM_ASSIGN_OR_RETURN(auto keys, keys_->ForTable(resolved.id));
  VELLUM_ASSIGN_OR_RETURN(trie::Trie * table_trie, TableTrie(resolved.id));

  LedgerProof proof;
  proof.ledger_id = HexEncode(ledger_id_);
  proof.version = view.version;
  proof.state_root = view.top_root.hash;
  proof.table = std::string(table);
  proof.key = std::string(key);
  proof.table_hash = resolved.name_hash;
  proof.key_hash = keys->key_hash.Hash(AsBytes(key));
  proof.table_entry = std::string(AsChars(format::EncodeTableEntry({resolved.id, resolved.root})));
  VELLUM_ASSIGN_OR_RETURN(trie::Proof top_proof,
                          top_->ProveAtRoot(view.top_root, resolved.name_hash));
  VELLUM_ASSIGN_OR_RETURN(trie::Proof table_proof,
                          table_trie->ProveAtRoot(resolved.root, proof.key_hash));
  for (const auto& item : top_proof.items) proof.top_proof.emplace_back(AsChars(item));
  for (const auto& item : table_proof.items) proof.table_proof.emplace_back(AsChars(item));
  // The value, read and verified the same way as Get.
  VELLUM_ASSIGN_OR_RETURN(auto value_hash, table_trie->GetAtRoot(resolved.root, proof.key_hash));
  if (value_hash) {
    if (value_hash->size() != 32) {
      return Status::Corruption("table trie: an entry is not a value hash");
    }
    proof.value_hash = ToHash(*value_hash);
    VELLUM_ASSIGN_OR_RETURN(proof.value, ReadValue(resolved.id, *keys, *proof.value_hash));
  }
  return proof;
}

Result<std::optional<crypto::Hash256>> LedgerImpl::OpenHistoryRecord(
    const TableKeys& keys, uint64_t table_id, const crypto::Hash256& key_hash, uint64_t version,
    std::string_view record) {
  const std::string where = "key history: the record of key hash " + Short(key_hash) +
                            " at version " + std::to_string(version);
  if (record.size() != 32 && record.size() != 64)
    return Status::Corruption(where + " is malformed");
  std::optional<crypto::Hash256> value_hash;
  if (record.size() == 64) value_hash = ToHash(AsBytes(record.substr(0, 32)));
  crypto::Hash256 tag =
      keys.history_mac.Hash(format::HistoryMacInput(table_id, key_hash, version, value_hash));
  if (!ConstantTimeEquals(tag, AsBytes(record.substr(record.size() - 32)))) {
    return Status::Corruption(where + " fails its authentication check (altered or moved)");
  }
  return value_hash;
}

Result<std::vector<HistoryEntry>> LedgerImpl::History(std::string_view table, std::string_view key,
                                                      size_t limit) {
  VELLUM_RETURN_IF_ERROR(RequireKeys("reading history"));
  std::shared_ptr<const State> state = CurrentState();
  VELLUM_ASSIGN_OR_RETURN(VersionView latest, ViewAt(*state, std::nullopt));
  VELLUM_ASSIGN_OR_RETURN(ResolvedTable resolved, ResolveTable(*state, latest, table));
  VELLUM_ASSIGN_OR_RETURN(auto keys, keys_->ForTable(resolved.id));
  VELLUM_ASSIGN_OR_RETURN(trie::Trie * table_trie, TableTrie(resolved.id));
  crypto::Hash256 key_hash = keys->key_hash.Hash(AsBytes(key));

  struct Change {
    uint64_t version;
    std::optional<crypto::Hash256> value_hash;
  };
  std::vector<Change> changes;
  std::string prefix = format::HistoryPrefix(resolved.id, key_hash);
  std::unique_ptr<rocksdb::Iterator> it(rocks_->NewIterator(rocksdb::ReadOptions(), cf(kHistory)));
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
    rocksdb::Slice k = it->key();
    if (k.size() != prefix.size() + 8) {
      return Status::Corruption("key history: a record of table '" + std::string(table) +
                                "' has a malformed key");
    }
    uint64_t version = DecodeFixed64BE(reinterpret_cast<const uint8_t*>(k.data()) + prefix.size());
    if (version > state->version) continue;  // written by a commit not yet visible
    VELLUM_ASSIGN_OR_RETURN(
        auto value_hash,
        OpenHistoryRecord(*keys, resolved.id, key_hash, version, it->value().ToStringView()));
    changes.push_back({version, value_hash});
  }
  if (!it->status().ok()) return RocksStatus(it->status(), "reading key history");

  // The key's value hash in the state at `version`: absent where the table did not
  // exist (or was another table of the same name).
  auto in_state = [&](uint64_t version) -> Result<std::optional<crypto::Hash256>> {
    if (version == 0) return std::optional<crypto::Hash256>();
    VELLUM_ASSIGN_OR_RETURN(VersionView view, ViewAt(*state, version));
    auto at = ResolveTable(*state, view, table);
    if (!at.ok() && at.status().code() == StatusCode::kNotFound) {
      return std::optional<crypto::Hash256>();
    }
    VELLUM_RETURN_IF_ERROR(at.status());
    if (at->id != resolved.id) return std::optional<crypto::Hash256>();
    VELLUM_ASSIGN_OR_RETURN(auto found, table_trie->GetAtRoot(at->root, key_hash));
    if (!found) return std::optional<crypto::Hash256>();
    if (found->size() != 32) return Status::Corruption("table trie: an entry is not a hash");
    return std::optional<crypto::Hash256>(ToHash(*found));
  };

  const size_t first_shown = limit > 0 && changes.size() > limit ? changes.size() - limit : 0;
  std::vector<HistoryEntry> history;
  for (size_t i = first_shown; i < changes.size(); ++i) {
    const Change& change = changes[i];
    HistoryEntry entry;
    entry.version = change.version;
    if (change.value_hash) {
      VELLUM_ASSIGN_OR_RETURN(entry.value, ReadValue(resolved.id, *keys, *change.value_hash));
    }
    if (change.version >= state->oldest_version) {
      // The change must be what the state at that version says, and the state just
      // before it must still hold the previous change: a record removed from the
      // history shows up as a gap.
      std::optional<crypto::Hash256> before =
          i > 0 ? changes[i - 1].value_hash : std::optional<crypto::Hash256>();
      VELLUM_ASSIGN_OR_RETURN(auto now, in_state(change.version));
      bool matches = now == change.value_hash;
      if (matches && change.version - 1 >= state->oldest_version) {
        VELLUM_ASSIGN_OR_RETURN(auto previous, in_state(change.version - 1));
        matches = previous == before;
      }
      if (!matches) {
        return Status::Corruption("key history of table '" + std::string(table) +
                                  "': the change recorded at version " +
                                  std::to_string(change.version) +
                                  " disagrees with the states around it (a record altered, "
                                  "missing or moved)");
      }
      entry.verified = true;
    }
    history.push_back(std::move(entry));
  }
  return history;
}

Status LedgerImpl::Scan(const ReadOptions& options, std::string_view table, const ScanFn& fn) {
  VELLUM_RETURN_IF_ERROR(RequireKeys("scanning"));
  std::shared_ptr<const State> state = CurrentState();
  VELLUM_ASSIGN_OR_RETURN(VersionView view, ViewAt(*state, options.version));
  VELLUM_ASSIGN_OR_RETURN(ResolvedTable resolved, ResolveTable(*state, view, table));
  if (resolved.root.node_version == 0) return Status::OK();  // an empty table
  VELLUM_ASSIGN_OR_RETURN(auto keys, keys_->ForTable(resolved.id));
  VELLUM_ASSIGN_OR_RETURN(trie::Trie * table_trie, TableTrie(resolved.id));
  // The table trie commits only when the table changes: its version at or below the
  // one read is the table's state then, and must be the root the top trie records.
  uint64_t trie_version = std::min(view.version, table_trie->LatestVersion());
  VELLUM_ASSIGN_OR_RETURN(trie::TrieRoot root, table_trie->RootAt(trie_version));
  if (root.hash != resolved.root.hash) {
    return Status::Corruption("table '" + std::string(table) + "' at version " +
                              std::to_string(view.version) +
                              ": the table trie's version record disagrees with the state root");
  }
  Status inner;
  Status status = table_trie->ForEach(trie_version, [&](ByteView key_hash, ByteView value_hash) {
    if (key_hash.size() != 32 || value_hash.size() != 32) {
      inner =
          Status::Corruption("table trie of '" + std::string(table) + "' has a malformed entry");
      return false;
    }
    auto key = ReadKey(resolved.id, *keys, ToHash(key_hash));
    if (!key.ok()) {
      inner = key.status();
      return false;
    }
    auto value = ReadValue(resolved.id, *keys, ToHash(value_hash));
    if (!value.ok()) {
      inner = value.status();
      return false;
    }
    return fn(*key, *value);
  });
  if (status.ok()) status = inner;
  // A scan cannot be retried (`fn` has seen part of it).
  if (!status.ok() && view.version < prune_floor_.load()) return PrunedWhileRead(view.version);
  return status;
}

Result<std::vector<std::string>> LedgerImpl::ListTables(const ReadOptions& options) {
  VELLUM_RETURN_IF_ERROR(RequireKeys("listing tables"));
  std::shared_ptr<const State> state = CurrentState();
  VELLUM_ASSIGN_OR_RETURN(VersionView view, ViewAt(*state, options.version));
  std::vector<std::string> names;
  if (view.version == state->version) {
    for (const auto& [name, table] : state->tables) names.push_back(name);
    return names;
  }
  if (view.version == 0) return names;
  Status inner;
  Status status = top_->ForEach(view.version, [&](ByteView key, ByteView value) {
    auto entry = format::DecodeTableEntry(value);
    auto name = entry.ok() ? ReadTableName(ToHash(key)) : Result<std::string>(entry.status());
    if (!name.ok()) {
      inner = name.status();
      return false;
    }
    names.push_back(std::move(name).value());
    return true;
  });
  VELLUM_RETURN_IF_ERROR(status);
  VELLUM_RETURN_IF_ERROR(inner);
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace vellum::db
