// Copyright (c) Vellum authors.
//
// What the ledger's safety tests (tamper, plaintext scan, crash, fault injection, bad
// input) share: raw access to a closed ledger's RocksDB database with every column
// family, directory listings and hashes, seeds, and a model of the ledger's contents
// with a reader that turns every kind of read into a comparable line.

#ifndef VELLUM_TESTS_DB_SAFETY_TEST_UTIL_H_
#define VELLUM_TESTS_DB_SAFETY_TEST_UTIL_H_

#include <gtest/gtest.h>
#include <rocksdb/db.h>
#include <rocksdb/iterator.h>
#include <rocksdb/options.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/bytes.h"
#include "crypto/hash.h"
#include "vellum/db.h"

namespace vellum::testing {

// The ledger's column families, in the order the ledger opens them (db/format.h).
inline constexpr const char* kLedgerFamilies[] = {"default", "meta",   "log",    "trie_nodes",
                                                  "keys",    "values", "history"};
enum RawFamily : int {
  kRawDefault,
  kRawMeta,
  kRawLog,
  kRawTrie,
  kRawKeys,
  kRawValues,
  kRawHistory
};

inline std::string BigEndian64(uint64_t v) {
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>(v >> (56 - 8 * i));
  return out;
}
inline uint64_t ReadBigEndian64(std::string_view s, size_t pos) {
  uint64_t v = 0;
  for (size_t i = 0; i < 8; ++i) v = v << 8 | static_cast<uint8_t>(s[pos + i]);
  return v;
}

// The seed of a randomized test: VELLUM_TEST_SEED if set, `fallback` otherwise. Printed
// so that a failing run can be replayed.
inline uint64_t TestSeed(uint64_t fallback) {
  uint64_t seed = fallback;
  if (const char* s = std::getenv("VELLUM_TEST_SEED")) seed = std::strtoull(s, nullptr, 10);
  std::printf("seed %llu (replay with VELLUM_TEST_SEED=%llu)\n",
              static_cast<unsigned long long>(seed), static_cast<unsigned long long>(seed));
  return seed;
}

// A closed ledger's RocksDB database opened directly, with every column family and
// RocksDB's default options, to read and edit records as an attacker or a failing disk
// would.
class RawLedger {
 public:
  explicit RawLedger(const std::string& path, bool read_only = false) {
    std::vector<rocksdb::ColumnFamilyDescriptor> families;
    for (const char* name : kLedgerFamilies) {
      families.emplace_back(name, rocksdb::ColumnFamilyOptions());
    }
    rocksdb::DBOptions options;
    rocksdb::Status s = read_only
                            ? rocksdb::DB::OpenForReadOnly(options, path, families, &handles_, &db_)
                            : rocksdb::DB::Open(options, path, families, &handles_, &db_);
    status_ = s.ToString();
    if (!s.ok()) db_ = nullptr;
  }
  ~RawLedger() {
    if (db_ == nullptr) return;
    for (auto* handle : handles_) db_->DestroyColumnFamilyHandle(handle).PermitUncheckedError();
    db_->Close().PermitUncheckedError();
    delete db_;
  }
  RawLedger(const RawLedger&) = delete;
  RawLedger& operator=(const RawLedger&) = delete;

  bool ok() const { return db_ != nullptr; }
  const std::string& status() const { return status_; }

  std::optional<std::string> Get(int family, std::string_view key) {
    std::string value;
    rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), handles_[family], key, &value);
    if (!s.ok()) return std::nullopt;
    return value;
  }
  bool Put(int family, std::string_view key, std::string_view value) {
    return db_->Put(rocksdb::WriteOptions(), handles_[family], key, value).ok();
  }
  bool Delete(int family, std::string_view key) {
    return db_->Delete(rocksdb::WriteOptions(), handles_[family], key).ok();
  }
  // Every record of `family` whose key starts with `prefix`, in key order.
  std::vector<std::pair<std::string, std::string>> Scan(int family, std::string_view prefix = {}) {
    std::vector<std::pair<std::string, std::string>> out;
    const std::string start(prefix);  // never a null pointer, even when empty
    const rocksdb::Slice start_slice(start);
    std::unique_ptr<rocksdb::Iterator> it(
        db_->NewIterator(rocksdb::ReadOptions(), handles_[family]));
    for (it->Seek(start_slice); it->Valid() && it->key().starts_with(start_slice); it->Next()) {
      out.emplace_back(it->key().ToString(), it->value().ToString());
    }
    EXPECT_TRUE(it->status().ok()) << it->status().ToString();
    return out;
  }
  // Everything, family by family, as one comparable string.
  std::string Dump() {
    std::string out;
    for (int f = 0; f < static_cast<int>(std::size(kLedgerFamilies)); ++f) {
      for (const auto& [k, v] : Scan(f)) {
        out += std::to_string(f) + " " + HexEncode(AsBytes(k)) + " " + HexEncode(AsBytes(v)) + "\n";
      }
    }
    return out;
  }
  bool FlushAll() {
    rocksdb::FlushOptions flush;
    return db_->Flush(flush, handles_).ok();
  }

 private:
  rocksdb::DB* db_ = nullptr;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;
  std::string status_;
};

// Regular files under `dir` (recursively), as paths relative to it, sorted.
inline std::vector<std::string> ListFiles(const std::string& dir) {
  std::vector<std::string> files;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir)) {
    if (entry.is_regular_file()) {
      files.push_back(std::filesystem::relative(entry.path(), dir).string());
    }
  }
  std::sort(files.begin(), files.end());
  return files;
}

inline std::string ReadWholeFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

inline void WriteWholeFile(const std::string& path, std::string_view data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(data.data(), static_cast<std::streamsize>(data.size()));
}

// RocksDB's info logs (LOG, LOG.old.*) are diagnostics RocksDB appends to whenever it
// opens a directory; they hold no ledger data.
inline bool IsInfoLog(const std::string& name) {
  std::string base = std::filesystem::path(name).filename().string();
  return base == "LOG" || base.starts_with("LOG.old");
}

// name -> SHA-256 of the contents of every file under `dir` except the info logs.
inline std::map<std::string, std::string> HashDirectory(const std::string& dir) {
  std::map<std::string, std::string> hashes;
  for (const auto& name : ListFiles(dir)) {
    if (IsInfoLog(name)) continue;
    std::string data = ReadWholeFile(dir + "/" + name);
    hashes[name] = HexEncode(crypto::Sha256(AsBytes(data)));
  }
  return hashes;
}

// Lines describing how two directory hashes differ ("" when equal).
inline std::string DescribeDifference(const std::map<std::string, std::string>& before,
                                      const std::map<std::string, std::string>& after) {
  std::string out;
  for (const auto& [name, hash] : before) {
    auto it = after.find(name);
    if (it == after.end()) {
      out += "removed " + name + "\n";
    } else if (it->second != hash) {
      out += "changed " + name + "\n";
    }
  }
  for (const auto& [name, hash] : after) {
    if (!before.contains(name)) out += "added " + name + "\n";
  }
  return out;
}

// --- a model of the ledger's contents ------------------------------------------------

// table -> key -> value: the state of the ledger at one version.
using LedgerState = std::map<std::string, std::map<std::string, std::string>>;

inline void ApplyOps(const std::vector<WriteBatch::Op>& ops, LedgerState* state) {
  for (const auto& op : ops) {
    switch (op.kind) {
      case WriteBatch::OpKind::kCreateTable:
        (*state)[op.table];
        break;
      case WriteBatch::OpKind::kDropTable:
        state->erase(op.table);
        break;
      case WriteBatch::OpKind::kPut:
        (*state)[op.table][op.key] = op.value;
        break;
      case WriteBatch::OpKind::kDelete:
        (*state)[op.table].erase(op.key);
        break;
    }
  }
}

inline std::string StatusLine(const Status& status) {
  return "error " + std::string(StatusCodeName(status.code()));
}

// Every read the public API offers, over the tables and keys of `universe`, at every
// version 1..latest, each as "name" -> "outcome". Outcomes are "error <Code>" or the
// data read; error messages are collected in `messages` (name -> message).
struct Observation {
  std::map<std::string, std::string> outcomes;
  std::map<std::string, std::string> messages;
  std::optional<AuditReport> audit;
  std::string audit_error;
};

struct ReadUniverse {
  std::map<std::string, std::vector<std::string>> keys;  // table -> keys to read
  std::vector<const HolderKey*> holders;                 // for DecryptLogEntry
  uint64_t log_entries = 0;
};

inline Observation ObserveLedger(DB& db, const ReadUniverse& universe, uint64_t latest) {
  Observation obs;
  auto record = [&](const std::string& name, const Status& status, std::string ok_text) {
    if (status.ok()) {
      obs.outcomes[name] = "ok " + ok_text;
    } else {
      obs.outcomes[name] = StatusLine(status);
      obs.messages[name] = status.message();
    }
  };
  CommitInfo head = db.Latest();
  obs.outcomes["latest"] = "ok " + std::to_string(head.version) + " " + HexEncode(head.state_root) +
                           " " + std::to_string(head.log_index);
  for (uint64_t v = 1; v <= latest; ++v) {
    const std::string at = " @" + std::to_string(v);
    ReadOptions options;
    options.version = v;
    for (const auto& [table, keys] : universe.keys) {
      for (const auto& key : keys) {
        auto value = db.Get(options, table, key);
        record("get " + table + "/" + key + at, value.status(),
               value.ok() ? (value->has_value() ? "=" + **value : "absent") : "");
      }
      std::vector<std::pair<std::string, std::string>> rows;
      Status scanned = db.Scan(options, table, [&](std::string_view k, std::string_view val) {
        rows.emplace_back(k, val);
        return true;
      });
      std::sort(rows.begin(), rows.end());
      std::string joined;
      for (const auto& [k, val] : rows) joined += k + "=" + val + ";";
      record("scan " + table + at, scanned, joined);
    }
    auto tables = db.ListTables(options);
    std::string names;
    if (tables.ok()) {
      for (const auto& name : *tables) names += name + ";";
    }
    record("list" + at, tables.status(), names);
  }
  for (const auto& [table, keys] : universe.keys) {
    for (const auto& key : keys) {
      auto history = db.History(table, key);
      std::string text;
      if (history.ok()) {
        for (const auto& entry : *history) {
          text += std::to_string(entry.version) + (entry.value ? "=" + *entry.value : " deleted") +
                  (entry.verified ? "" : " (unverified)") + ";";
        }
      }
      record("history " + table + "/" + key, history.status(), text);
      auto proof = db.GetWithProof({}, table, key);
      std::string proved;
      Status proof_status = proof.status();
      if (proof.ok()) {
        auto check = VerifyLedgerProof(*proof, head.state_root);
        proof_status = check.status();
        if (check.ok()) proved = check->value ? "=" + *check->value : "absent";
      }
      record("proof " + table + "/" + key, proof_status, proved);
    }
  }
  for (uint64_t i = 1; i <= universe.log_entries; ++i) {
    const std::string name = " " + std::to_string(i);
    auto info = db.GetLogEntry(i);
    record("log entry" + name, info.status(),
           info.ok() ? HexEncode(info->entry_hash) + " v" + std::to_string(info->version) + " " +
                           std::to_string(info->threshold) + "/" + std::to_string(info->holders)
                     : "");
    auto ops = db.DecryptLogEntry(i, universe.holders);
    std::string text;
    if (ops.ok()) {
      for (const auto& op : *ops) {
        text += std::to_string(static_cast<int>(op.kind)) + ":" + op.table + "/" + op.key + "=" +
                op.value + ";";
      }
    }
    record("decrypt" + name, ops.status(), text);
  }
  auto digest = db.GetDigest();
  record("digest", digest.status(),
         digest.ok() ? std::to_string(digest->version) + " " + HexEncode(digest->state_root) + " " +
                           std::to_string(digest->log_size) + " " +
                           HexEncode(digest->log_head_hash) + " " + HexEncode(digest->log_root)
                     : "");
  auto audit = db.Verify();
  if (audit.ok()) {
    obs.audit = *audit;
  } else {
    obs.audit_error = audit.status().ToString();
  }
  return obs;
}

// The outcomes a model predicts for the state reads of ObserveLedger (gets, scans,
// lists), for checking that an undamaged ledger reads back exactly what was written.
inline std::map<std::string, std::string> PredictStateReads(const std::vector<LedgerState>& states,
                                                            const ReadUniverse& universe) {
  std::map<std::string, std::string> out;
  for (uint64_t v = 1; v < states.size(); ++v) {
    const std::string at = " @" + std::to_string(v);
    const LedgerState& state = states[v];
    for (const auto& [table, keys] : universe.keys) {
      auto t = state.find(table);
      for (const auto& key : keys) {
        std::string outcome = "error NotFound";
        if (t != state.end()) {
          auto k = t->second.find(key);
          outcome = k == t->second.end() ? "ok absent" : "ok =" + k->second;
        }
        out["get " + table + "/" + key + at] = outcome;
      }
      std::string rows = "error NotFound";
      if (t != state.end()) {
        rows = "ok ";
        for (const auto& [k, value] : t->second) rows += k + "=" + value + ";";
      }
      out["scan " + table + at] = rows;
    }
    std::string names = "ok ";
    for (const auto& [table, keys] : state) names += table + ";";
    out["list" + at] = names;
  }
  return out;
}

}  // namespace vellum::testing

#endif  // VELLUM_TESTS_DB_SAFETY_TEST_UTIL_H_
