// Copyright (c) Vellum authors.
//
// What the ledger tests share: a fresh directory with a master key file, and
// helpers to open, write and read with assertions.

#ifndef VELLUM_TESTS_DB_DB_TEST_UTIL_H_
#define VELLUM_TESTS_DB_DB_TEST_UTIL_H_

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "vellum/db.h"

namespace vellum::testing {

// A temporary directory (removed at destruction) holding a master key file
// ("master.key") and room for ledgers.
class LedgerDir {
 public:
  LedgerDir() {
    std::string tmpl = (std::filesystem::path(::testing::TempDir()) / "vellum_db_XXXXXX").string();
    VELLUM_CHECK(::mkdtemp(tmpl.data()) != nullptr);
    root_ = tmpl;
    VELLUM_CHECK(MasterKey::Generate().WriteFile(key_file()).ok());
  }
  ~LedgerDir() {
    std::error_code ignored;
    std::filesystem::remove_all(root_, ignored);
  }
  LedgerDir(const LedgerDir&) = delete;
  LedgerDir& operator=(const LedgerDir&) = delete;

  std::string root() const { return root_; }
  std::string key_file() const { return root_ + "/master.key"; }
  std::string ledger() const { return root_ + "/ledger"; }

  Options DefaultOptions(bool create = true) const {
    Options options;
    options.create_if_missing = create;
    options.key_file = key_file();
    options.sync = false;
    options.node_cache_bytes = 4 << 20;
    options.block_cache_bytes = 8 << 20;
    return options;
  }

  std::unique_ptr<DB> Open(const Options& options) const {
    std::unique_ptr<DB> db;
    Status status = DB::Open(options, ledger(), &db);
    EXPECT_TRUE(status.ok()) << status.ToString();
    return db;
  }
  std::unique_ptr<DB> Open() const { return Open(DefaultOptions()); }

 private:
  std::string root_;
};

inline CommitInfo MustWrite(DB& db, const WriteBatch& batch) {
  auto result = db.Write({}, batch);
  VELLUM_CHECK_MSG(result.ok(), result.status().ToString().c_str());
  return *result;
}

inline CommitInfo MustPut(DB& db, std::string_view table, std::string_view key,
                          std::string_view value) {
  WriteBatch batch;
  batch.Put(table, key, value);
  return MustWrite(db, batch);
}

inline CommitInfo MustCreateTable(DB& db, std::string_view table) {
  WriteBatch batch;
  batch.CreateTable(table);
  return MustWrite(db, batch);
}

// The value, "<absent>", or "<error: ...>".
inline std::string GetString(DB& db, std::string_view table, std::string_view key,
                             std::optional<uint64_t> version = std::nullopt) {
  ReadOptions options;
  options.version = version;
  auto value = db.Get(options, table, key);
  if (!value.ok()) return "<error: " + value.status().ToString() + ">";
  return value->has_value() ? **value : "<absent>";
}

}  // namespace vellum::testing

#endif  // VELLUM_TESTS_DB_DB_TEST_UTIL_H_
