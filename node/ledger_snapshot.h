// Copyright (c) Vellum authors.
//
// The ledger snapshot descriptor: the `data` of a Raft snapshot a vellum-node records
// when it compacts its Raft log (docs/formats/ledger-snapshot.md). It is not the
// ledger itself — a ledger can be gigabytes, and a Raft message carries it whole — but
// a small, fixed-size statement of what the ledger looked like at the snapshot's Raft
// index: the ledger version, its state root and its log head. A follower that receives
// the snapshot fetches a checkpoint of the leader's ledger out of band
// (node/checkpoint_archive.h) and accepts it only if that ledger's log entry at the
// descriptor's version has the descriptor's state root and log entry hash. The
// descriptor arrives in a signed, authenticated Raft message, so those two hashes
// bind the unauthenticated archive to what the leader committed.
//
// Thread safety: plain functions over values.

#ifndef VELLUM_NODE_LEDGER_SNAPSHOT_H_
#define VELLUM_NODE_LEDGER_SNAPSHOT_H_

#include <cstdint>

#include "base/bytes.h"
#include "vellum/hash.h"
#include "vellum/result.h"

namespace vellum::node {

inline constexpr uint8_t kLedgerSnapshotFormatVersion = 1;
// The encoded size: every descriptor of format version 1 has exactly this length.
inline constexpr size_t kLedgerSnapshotDescriptorSize = 4 + 1 + 8 + 8 + 32 + 32 + 32;

struct LedgerSnapshotDescriptor {
  uint64_t raft_index = 0;      // the Raft index the snapshot covers (never 0)
  uint64_t ledger_version = 0;  // the ledger's latest version after applying raft_index
  Hash state_root{};            // the state root of ledger_version
  // The entry hash of ledger log entry `ledger_version` (all zeros for version 0,
  // which has no log entry).
  Hash log_head{};

  bool operator==(const LedgerSnapshotDescriptor&) const = default;
};

Bytes EncodeLedgerSnapshot(const LedgerSnapshotDescriptor& descriptor);
// Corruption for anything but a well-formed descriptor: a wrong length, magic or
// checksum; NotSupported for a format version this build does not know.
Result<LedgerSnapshotDescriptor> DecodeLedgerSnapshot(ByteView encoded);

}  // namespace vellum::node

#endif  // VELLUM_NODE_LEDGER_SNAPSHOT_H_
