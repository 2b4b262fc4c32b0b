// Copyright (c) Vellum authors.

#include "db/entry_key_preparer.h"

#include <utility>

#include "crypto/random.h"

namespace vellum::db {

EntryKeyPreparer::~EntryKeyPreparer() { Stop(); }

void EntryKeyPreparer::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    want_.reset();
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  {
    std::lock_guard lock(mu_);
    ready_.reset();
  }
  std::lock_guard lock(sealer_mu_);
  sealer_.reset();
}

Result<logchain::PreparedEntryKey> EntryKeyPreparer::Prepare(const logchain::KeyHolders& holders,
                                                             const crypto::Hash256& id) {
  std::lock_guard lock(sealer_mu_);
  if (!sealer_.has_value() || sealer_uses_ >= kEntriesPerSealer || sealer_->holders_id() != id) {
    sealer_.reset();  // wiped before its successor exists
    VELLUM_ASSIGN_OR_RETURN(logchain::ShareSealer sealer,
                            logchain::ShareSealer::Create(holders, crypto::SystemRandom()));
    sealer_.emplace(std::move(sealer));
    sealer_uses_ = 0;
  }
  ++sealer_uses_;
  return logchain::PrepareEntryKey(*sealer_, crypto::SystemRandom());
}

Result<logchain::PreparedEntryKey> EntryKeyPreparer::Take(const logchain::KeyHolders& holders) {
  const crypto::Hash256 id = logchain::KeyHoldersId(holders);
  std::optional<logchain::PreparedEntryKey> taken;
  {
    std::unique_lock lock(mu_);
    // A key on its way for these holders comes sooner than a new one made here.
    cv_.wait(lock, [&] { return !preparing_ || preparing_id_ != id; });
    if (ready_.has_value() && ready_->holders_id == id) taken = std::move(ready_);
    ready_.reset();  // for other holders: wiped, never used
    if (!stopping_) {
      want_ = holders;
      if (!thread_.joinable()) thread_ = std::thread([this] { Run(); });
    }
  }
  cv_.notify_all();
  if (taken.has_value()) return std::move(taken).value();
  return Prepare(holders, id);
}

void EntryKeyPreparer::Run() {
  std::unique_lock lock(mu_);
  for (;;) {
    cv_.wait(lock, [&] { return stopping_ || want_.has_value(); });
    if (stopping_) return;
    logchain::KeyHolders holders = std::move(want_).value();
    want_.reset();
    preparing_ = true;
    preparing_id_ = logchain::KeyHoldersId(holders);
    const crypto::Hash256 id = preparing_id_;
    lock.unlock();
    Result<logchain::PreparedEntryKey> key = Prepare(holders, id);
    lock.lock();
    preparing_ = false;
    // A failure is left for Take to meet (and report) on the caller's thread.
    if (key.ok() && !stopping_) ready_ = std::move(key).value();
    cv_.notify_all();
  }
}

}  // namespace vellum::db
