// Copyright (c) Vellum authors.
//
// Optimistic transactions: reads come from the snapshot taken at Begin (verified, as
// Get) or from the transaction's own writes; Commit hands the writes and the set of
// keys and tables used to the commit pipeline, which aborts the commit if any of
// them changed after the snapshot.

#include <map>

#include "db/ledger_impl.h"

namespace vellum::db {
namespace {

class TransactionImpl final : public Transaction {
 public:
  TransactionImpl(LedgerImpl* db, std::shared_ptr<const LedgerImpl::State> snapshot)
      : db_(db), snapshot_(std::move(snapshot)) {
    reads_.snapshot_version = snapshot_->version;
  }

  uint64_t snapshot_version() const override { return snapshot_->version; }

  Result<std::optional<std::string>> Get(std::string_view table, std::string_view key) override {
    VELLUM_RETURN_IF_ERROR(CheckActive());
    NoteTable(table);
    reads_.keys.emplace(std::string(table), std::string(key));
    auto table_it = local_tables_.find(table);
    if (table_it != local_tables_.end()) {
      if (!table_it->second) {
        return Status::NotFound("table '" + std::string(table) +
                                "' was dropped in this transaction");
      }
    }
    auto it = writes_.find({std::string(table), std::string(key)});
    if (it != writes_.end()) return it->second;
    if (table_it != local_tables_.end() && !snapshot_->tables.contains(table)) {
      return std::optional<std::string>();  // created in this transaction
    }
    return db_->GetAt(*snapshot_, table, key);
  }

  void Put(std::string_view table, std::string_view key, std::string_view value) override {
    if (finished_) return;
    NoteTable(table);
    reads_.keys.emplace(std::string(table), std::string(key));
    writes_[{std::string(table), std::string(key)}] = std::string(value);
    batch_.Put(table, key, value);
  }

  void Delete(std::string_view table, std::string_view key) override {
    if (finished_) return;
    NoteTable(table);
    reads_.keys.emplace(std::string(table), std::string(key));
    writes_[{std::string(table), std::string(key)}] = std::nullopt;
    batch_.Delete(table, key);
  }

  void CreateTable(std::string_view table) override {
    if (finished_) return;
    NoteTable(table);
    local_tables_[std::string(table)] = true;
    DropLocalWrites(table);
    batch_.CreateTable(table);
  }

  void DropTable(std::string_view table) override {
    if (finished_) return;
    NoteTable(table);
    local_tables_[std::string(table)] = false;
    DropLocalWrites(table);
    batch_.DropTable(table);
  }

  Result<CommitInfo> Commit(const WriteOptions& options) override {
    VELLUM_RETURN_IF_ERROR(CheckActive());
    finished_ = true;
    if (batch_.Count() == 0) {
      return CommitInfo{snapshot_->version, snapshot_->top_root.hash, snapshot_->log_size,
                        snapshot_->log_head};
    }
    return db_->CommitWrites(batch_.ops(), &reads_, options.sync.value_or(db_->default_sync()));
  }

  void Rollback() override {
    finished_ = true;
    batch_.Clear();
    writes_.clear();
  }

 private:
  Status CheckActive() const {
    if (finished_) return Status::FailedPrecondition("the transaction has already finished");
    return Status::OK();
  }

  void NoteTable(std::string_view table) {
    if (reads_.tables.contains(table)) return;
    auto it = snapshot_->tables.find(table);
    reads_.tables.emplace(std::string(table), it == snapshot_->tables.end() ? 0 : it->second.id);
  }

  // After creating or dropping a table, earlier writes to it no longer show.
  void DropLocalWrites(std::string_view table) {
    for (auto it = writes_.begin(); it != writes_.end();) {
      it = it->first.first == table ? writes_.erase(it) : std::next(it);
    }
  }

  LedgerImpl* const db_;
  const std::shared_ptr<const LedgerImpl::State> snapshot_;
  LedgerImpl::ReadSet reads_;
  WriteBatch batch_;
  std::map<std::pair<std::string, std::string>, std::optional<std::string>> writes_;
  std::map<std::string, bool, std::less<>> local_tables_;  // created (true) / dropped
  bool finished_ = false;
};

}  // namespace

std::unique_ptr<Transaction> LedgerImpl::BeginTransaction() {
  return std::make_unique<TransactionImpl>(this, CurrentState());
}

}  // namespace vellum::db
