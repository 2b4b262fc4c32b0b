// Copyright (c) Vellum authors.
//
// Verify(): the full audit. It trusts nothing it reads back:
//   - the log: every entry decoded (payload hash checked), every chain link, every
//     share set against the id its header commits to (or a valid forget mark), the
//     Merkle accumulator recomputed from the entry hashes and compared with every
//     stored node, and the head record against the last entry;
//   - the state (unless log_only): the latest top trie and every table trie walked
//     through fresh, cache-less tries (every node re-hashed against its parent), each
//     table's name in the catalog, and every key and value decrypted and re-hashed;
//   - optionally, that the ledger extends an earlier digest.
// Findings are collected, not returned at the first one, so one run shows the extent
// of any damage.

#include <rocksdb/iterator.h>

#include <map>

#include "db/ledger_impl.h"
#include "db/logchain/merkle_log.h"

namespace vellum::db {
namespace {

constexpr uint64_t kProgressEvery = 10'000;

std::string EntryName(uint64_t index) { return "log entry " + std::to_string(index); }

}  // namespace

Result<AuditReport> LedgerImpl::Verify(const AuditOptions& options) {
  if (!options.log_only) VELLUM_RETURN_IF_ERROR(RequireKeys("verifying the state"));
  std::shared_ptr<const State> state = CurrentState();
  AuditReport report;
  auto find = [&](std::string location, std::string problem) {
    report.findings.push_back({std::move(location), std::move(problem)});
  };
  auto progress = [&](const std::string& line) {
    if (options.progress) options.progress(line);
  };

  // --- the log
  logchain::MerkleAccumulator log;
  std::optional<logchain::StoredEntry> previous;
  std::map<uint64_t, crypto::Hash256> roots;  // version -> state root, per the log
  for (uint64_t index = 1; index <= state->log_size; ++index) {
    if (index % kProgressEvery == 0) {
      progress("log: " + std::to_string(index) + " of " + std::to_string(state->log_size) +
               " entries checked");
    }
    auto entry = ReadEntry(index);
    if (!entry.ok()) {
      find(EntryName(index), entry.status().message());
      previous.reset();
      // An unreadable entry has no hash: append a zero leaf in its place so that the
      // indexes of later leaves stay right. Stored nodes that cover this leaf then
      // differ and are reported too (they cannot be checked); the others still are.
      log.Append(crypto::Hash256{});
      continue;
    }
    ++report.log_entries;
    roots[entry->header.version] = entry->header.state_root_after;
    if (previous) {
      Status link = logchain::CheckLink(*previous, *entry);
      if (!link.ok()) find(EntryName(index), link.message());
    } else if (index == 1 && entry->header.prev_entry_hash != crypto::Hash256{}) {
      find(EntryName(index), "the first entry links to a previous one");
    }
    // The share set (or the mark of its destruction).
    std::string shares;
    rocksdb::Status s =
        rocks_->Get(rocksdb::ReadOptions(), cf(kLog), format::ShareSetKey(index), &shares);
    if (s.IsNotFound()) {
      find(EntryName(index), "its key share set is missing");
    } else if (!s.ok()) {
      find(EntryName(index), "reading its share set failed: " + s.ToString());
    } else if (format::IsForgetMark(shares)) {
      auto mark = format::DecodeForgetMark(keys_.get(), index, shares);
      if (!mark.ok()) find(EntryName(index), mark.status().message());
    } else if (logchain::ShareSetId(AsBytes(shares)) != entry->header.key_share_set_id) {
      find(EntryName(index), "its key share set is not the one its header commits to");
    } else if (auto set = logchain::DecodeShareSet(AsBytes(shares)); !set.ok()) {
      find(EntryName(index), set.status().message());
    }
    // The accumulator: every node this append completes must be stored as computed.
    log.Append(entry->entry_hash, [&](int level, uint64_t node_index, const crypto::Hash256& h) {
      std::string stored;
      rocksdb::Status ns = rocks_->Get(rocksdb::ReadOptions(), cf(kLog),
                                       format::MerkleNodeKey(level, node_index), &stored);
      if (!ns.ok() || stored != AsChars(h)) {
        find("log Merkle node (level " + std::to_string(level) + ", index " +
                 std::to_string(node_index) + ")",
             ns.ok() ? "does not match the entries it covers" : "is missing or unreadable");
      }
    });
    previous = std::move(entry).value();
  }
  if (previous) {
    if (previous->entry_hash != state->log_head) {
      find("metadata head record", "its log head hash is not the hash of the last entry");
    }
    if (previous->header.state_root_after != state->top_root.hash) {
      find("metadata head record", "its state root differs from the last log entry's");
    }
  }
  if (log.Root() != state->log.Root()) {
    find("log Merkle accumulator",
         "the root recomputed from the entries differs from the "
         "one loaded at open");
  }
  {
    std::string extra;
    rocksdb::Status s = rocks_->Get(rocksdb::ReadOptions(), cf(kLog),
                                    format::LogEntryKey(state->log_size + 1), &extra);
    if (s.ok()) find(EntryName(state->log_size + 1), "an entry beyond the head exists");
  }
  progress("log: " + std::to_string(report.log_entries) + " entries checked");

  // --- an earlier digest
  if (options.against) {
    const Digest& digest = *options.against;
    const std::string where = "digest of version " + std::to_string(digest.version);
    Status signature = keys_ ? VerifyDigestSignature(digest, keys_->signing_key().public_key())
                             : VerifyDigestSignature(digest);
    if (!signature.ok()) find(where, signature.message());
    if (digest.ledger_id != HexEncode(ledger_id_)) find(where, "it is of another ledger");
    if (digest.log_size > state->log_size) {
      find(where, "the ledger's log (" + std::to_string(state->log_size) +
                      " entries) is shorter than the digest's (" + std::to_string(digest.log_size) +
                      "): rolled back or replaced");
    } else if (digest.log_size > 0) {
      // The digest's tree must be a prefix of ours: recompute its root from the nodes
      // (already checked above) and compare the head entry.
      auto nodes = LogNodes();
      auto root = logchain::MerkleRootAt(digest.log_size, *nodes);
      if (!root.ok() || *root != digest.log_root) {
        find(where, "the ledger's log does not extend the digest's log (forked or rewritten)");
      }
      auto head = ReadEntry(digest.log_size);
      if (!head.ok() || head->entry_hash != digest.log_head_hash ||
          head->header.state_root_after != digest.state_root ||
          head->header.version != digest.version) {
        find(where, "the ledger's entry " + std::to_string(digest.log_size) +
                        " is not the head the digest records");
      }
    }
  }
  if (options.log_only) return report;

  // --- the state, through tries that cache nothing.
  trie::TrieOptions fresh;
  fresh.scheme = trie::TrieScheme::kNative;
  fresh.cache_bytes = 0;
  fresh.pinned_levels = 0;
  fresh.key_prefix = std::string(format::kTopTriePrefix);
  auto top = trie::Trie::Open(fresh, node_store_.get());
  if (!top.ok()) {
    find("state trie", top.status().message());
    return report;
  }
  if (state->version == 0) return report;
  auto top_root = (*top)->RootAt(state->version);
  if (!top_root.ok() || top_root->hash != state->top_root.hash) {
    find("state trie", "the version record of version " + std::to_string(state->version) +
                           " differs from the head's state root");
  }
  // Every retained version's record in the top trie against the log.
  for (uint64_t v = std::max<uint64_t>(state->oldest_version, 1); v < state->version; ++v) {
    auto root = (*top)->RootAt(v);
    auto it = roots.find(v);
    if (!root.ok() || it == roots.end() || root->hash != it->second) {
      find("state trie", "the version record of version " + std::to_string(v) +
                             " disagrees with the state root its log entry records");
    }
  }
  struct TableToCheck {
    crypto::Hash256 name_hash;
    format::TableEntry entry;
  };
  std::vector<TableToCheck> tables;
  Status walked = (*top)->ForEach(state->version, [&](ByteView key, ByteView value) {
    crypto::Hash256 name_hash{};
    if (key.size() == 32) std::copy(key.begin(), key.end(), name_hash.begin());
    auto entry = format::DecodeTableEntry(value);
    if (key.size() != 32 || !entry.ok()) {
      find("state trie", "a table entry is malformed");
      return true;
    }
    tables.push_back({name_hash, *entry});
    return true;
  });
  if (!walked.ok()) find("state trie", walked.message());

  for (const auto& table : tables) {
    ++report.tables;
    auto name = ReadTableName(table.name_hash);
    std::string location = name.ok() ? "table '" + *name + "'"
                                     : "table hash " + HexEncode(table.name_hash).substr(0, 16);
    if (!name.ok()) find(location, name.status().message());
    progress("state: checking " + location);
    if (table.entry.root.node_version == 0) continue;  // empty since creation
    auto keys = keys_->ForTable(table.entry.table_id);
    if (!keys.ok()) {
      find(location, keys.status().message());
      continue;
    }
    fresh.key_prefix = format::TableTriePrefix(table.entry.table_id);
    auto table_trie = trie::Trie::Open(fresh, node_store_.get());
    if (!table_trie.ok()) {
      find(location, table_trie.status().message());
      continue;
    }
    uint64_t trie_version = std::min(state->version, (*table_trie)->LatestVersion());
    auto root = (*table_trie)->RootAt(trie_version);
    if (!root.ok() || root->hash != table.entry.root.hash) {
      find(location, "its trie's version record differs from the root the state records");
      continue;
    }
    uint64_t checked = 0;
    Status table_walk =
        (*table_trie)->ForEach(trie_version, [&](ByteView key_hash, ByteView value_hash) {
          crypto::Hash256 kh{}, vh{};
          if (key_hash.size() != 32 || value_hash.size() != 32) {
            find(location, "a trie entry is malformed");
            return true;
          }
          std::copy(key_hash.begin(), key_hash.end(), kh.begin());
          std::copy(value_hash.begin(), value_hash.end(), vh.begin());
          auto key = ReadKey(table.entry.table_id, **keys, kh);
          if (!key.ok()) find(location, key.status().message());
          auto value = ReadValue(table.entry.table_id, **keys, vh);
          if (!value.ok()) find(location, value.status().message());
          ++report.keys;
          ++report.values;
          if (++checked % kProgressEvery == 0) {
            progress("state: " + location + ": " + std::to_string(checked) + " keys checked");
          }
          return true;
        });
    if (!table_walk.ok()) find(location, table_walk.message());
  }
  progress("state: " + std::to_string(report.tables) + " tables, " + std::to_string(report.keys) +
           " keys checked");

  // --- the key history: every record's tag.
  std::unique_ptr<rocksdb::Iterator> it(rocks_->NewIterator(rocksdb::ReadOptions(), cf(kHistory)));
  uint64_t history_records = 0;
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    rocksdb::Slice k = it->key();
    if (k.size() != 8 + 32 + 8) {
      find("key history", "a record has a malformed key");
      continue;
    }
    const auto* p = reinterpret_cast<const uint8_t*>(k.data());
    const uint64_t table_id = DecodeFixed64BE(p);
    crypto::Hash256 key_hash;
    std::copy(p + 8, p + 40, key_hash.begin());
    const uint64_t version = DecodeFixed64BE(p + 40);
    auto keys = keys_->ForTable(table_id);
    if (!keys.ok()) {
      find("key history", keys.status().message());
      continue;
    }
    auto record =
        OpenHistoryRecord(**keys, table_id, key_hash, version, it->value().ToStringView());
    if (!record.ok()) find("key history", record.status().message());
    if (++history_records % (10 * kProgressEvery) == 0) {
      progress("history: " + std::to_string(history_records) + " records checked");
    }
  }
  if (!it->status().ok()) find("key history", "reading it failed: " + it->status().ToString());
  return report;
}

}  // namespace vellum::db
