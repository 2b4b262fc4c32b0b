// Copyright (c) Vellum authors.
//
// EntryKeyPreparer: makes the ledger's next log entry key ahead of time, on a thread
// of its own. A log entry's key is fresh, split k-of-n with Shamir's scheme and each
// share sealed to one holder's X25519 key: two curve operations per holder, about
// 0.1 ms each on a small server, that a commit would otherwise wait for. None of it
// depends on the entry, so while the ledger waits for its next commit the preparer
// makes the key that commit will use; the commit only encrypts its payload.
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

  // Stops the thread (idempotent); Take still works, on the caller's thread.
  void Stop();

 private:
  void Run();

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
