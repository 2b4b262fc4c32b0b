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
  std::lock_guard lock(mu_);
  ready_.reset();
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
  return logchain::PrepareEntryKey(holders, crypto::SystemRandom());
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
    lock.unlock();
    Result<logchain::PreparedEntryKey> key =
        logchain::PrepareEntryKey(holders, crypto::SystemRandom());
    lock.lock();
    preparing_ = false;
    // A failure is left for Take to meet (and report) on the caller's thread.
    if (key.ok() && !stopping_) ready_ = std::move(key).value();
    cv_.notify_all();
  }
}

}  // namespace vellum::db
