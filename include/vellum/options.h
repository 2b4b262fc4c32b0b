// Copyright (c) Vellum authors.
//
// Options for opening a ledger (DB::Open), reading and writing.
//
// Thread safety: plain values.

#ifndef VELLUM_OPTIONS_H_
#define VELLUM_OPTIONS_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "vellum/keys.h"
#include "vellum/result.h"

namespace vellum {

class Env;

struct Options {
  // Create the ledger if the directory holds none (the directory itself is created
  // too). Opening a missing ledger without it is NotFound.
  bool create_if_missing = false;
  // Fail with AlreadyExists if the directory already holds a ledger.
  bool error_if_exists = false;
  // The ledger's 16-byte identity, which every key the ledger derives depends on.
  // Empty (the default): a new ledger gets a random one. Replicas of one ledger (the
  // members of a vellum-node cluster) create theirs with the same id, so that the
  // same writes give the same state roots everywhere; opening an existing ledger
  // with an id that differs from its own is FailedPrecondition. Any other length is
  // InvalidArgument.
  std::string ledger_id;

  // Where the master secret comes from: `master_key_provider` if set, otherwise the
  // key file at `key_file`. A wrong key is PermissionDenied and changes nothing.
  // With neither, an existing ledger opens keyless: only what needs no master key
  // works (GetLogEntry, Verify with log_only, Latest, GetStats, ConsistencyProof, and
  // DecryptLogEntry with enough holder keys of a ledger that has external holders);
  // everything else is FailedPrecondition. Creating a ledger needs a key.
  std::string key_file;
  std::function<Result<MasterKey>()> master_key_provider;

  // Who can decrypt log payloads, set when the ledger is created (ignored when
  // opening an existing one; DB::SetLogKeyHolders changes them for the entries
  // written after it): each entry key is split `log_threshold`-of-n across
  // these X25519 public keys. With no holders, the ledger itself is the only holder
  // (a key derived from the master secret, threshold 1), so the master key alone
  // decrypts the log.
  std::vector<HolderKey::PublicKey> log_key_holders;
  int log_threshold = 1;

  // Sync the write-ahead log before a commit returns: a commit that returned
  // survives a crash or power loss. Concurrent committers share one sync (group
  // commit). Off trades the last moments of commits for speed.
  bool sync = true;

  // Memory for verified trie nodes, per table trie (LRU), and for RocksDB's block
  // cache (shared by all column families).
  size_t node_cache_bytes = size_t{64} << 20;
  size_t block_cache_bytes = size_t{128} << 20;

  // Old versions kept readable and provable: the newest `retained_versions`
  // versions (0 keeps every version). Older trie nodes are pruned as commits go by.
  // The log, the history of each key and the values it names are kept regardless.
  // A read of a version that falls out of the window while it is being read fails
  // with NotFound (a read of the latest version is retried on the newer one).
  uint64_t retained_versions = 0;

  // Size limits, checked when a write is committed (InvalidArgument).
  size_t max_key_size = 64 << 10;
  size_t max_value_size = 16 << 20;

  // Threads that hash independent subtries of large commits (1 = the committing
  // thread only).
  int hash_threads = 2;

  // Files, clock and randomness; nullptr means Env::Default(). Not owned.
  Env* env = nullptr;
};

struct ReadOptions {
  // Read the state as of this version (the latest when unset). A version older than
  // the retention window is NotFound. Every read is verified against that version's
  // state root (trie nodes re-hashed, the value decrypted and re-hashed); there is no
  // unverified read.
  std::optional<uint64_t> version;
};

struct WriteOptions {
  // Overrides Options::sync for this commit when set.
  std::optional<bool> sync;
};

}  // namespace vellum

#endif  // VELLUM_OPTIONS_H_
