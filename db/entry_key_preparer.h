// Copyright (c) Vellum authors.
//
// EntryKeyPreparer: makes the ledger's next log entry key ahead of time, on a thread
// of its own. A log entry's key is fresh, split k-of-n with Shamir's scheme and each
// share sealed to one holder's X25519 key. The shares are sealed by a
// logchain::ShareSealer that serves kEntriesPerSealer keys and is then replaced: its
// X25519 work (1 + n curve operations, about 0.04 ms each) is paid once per sealer,
// not per entry, and memory read later holds no wrapping key for older shares. None
// of it depends on the entry, so while the ledger waits for its next commit the
// preparer makes the key that commit will use; the commit only encrypts its payload.
//
// Each prepared key is handed out once. A key prepared for other holders (they
// changed) is wiped, never used; Take then prepares one on the caller's thread.
//
// Thread safety: every method may be called concurrently.

#ifndef VELLUM_DB_ENTRY_KEY_PREPARER_H_
#define VELLUM_DB_ENTRY_KEY_PREPARER_H_

#include <condition_variable>
#include <mutex>
#include <optional>
#include <thread>

#include "db/logchain/log_entry.h"
#include "db/logchain/share_set.h"

namespace vellum::db {

class EntryKeyPreparer {
 public:
  EntryKeyPreparer() = default;
  ~EntryKeyPreparer();  // stops the thread; wipes a key not taken
  EntryKeyPreparer(const EntryKeyPreparer&) = delete;
  EntryKeyPreparer& operator=(const EntryKeyPreparer&) = delete;

  // An entry key split to `holders` (PrepareEntryKey's errors), then starts preparing
  // the next one for the same holders. Waits for a key being prepared for these
  // holders rather than making a second one beside it.
  Result<logchain::PreparedEntryKey> Take(const logchain::KeyHolders& holders);

  // Stops the thread (idempotent) and wipes the sealer; Take still works, on the
  // caller's thread.
  void Stop();

  // How many entry keys one sealer splits before a new one is made.
  static constexpr uint64_t kEntriesPerSealer = 1024;

 private:
  void Run();
  // One key for `holders` (whose KeyHoldersId is `id`), replacing the sealer first
  // when it was made for other holders or has served kEntriesPerSealer keys. Runs on
  // either thread.
  Result<logchain::PreparedEntryKey> Prepare(const logchain::KeyHolders& holders,
                                             const crypto::Hash256& id);

  std::mutex sealer_mu_;  // guards sealer_ and sealer_uses_
  std::optional<logchain::ShareSealer> sealer_;
  uint64_t sealer_uses_ = 0;

  std::mutex mu_;
  std::condition_variable cv_;
  std::thread thread_;                        // started by the first Take
  std::optional<logchain::KeyHolders> want_;  // what to prepare next; the thread clears it
  bool preparing_ = false;
  crypto::Hash256 preparing_id_{};
  std::optional<logchain::PreparedEntryKey> ready_;
  bool stopping_ = false;
};

}  // namespace vellum::db

#endif  // VELLUM_DB_ENTRY_KEY_PREPARER_H_
