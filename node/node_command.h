// Copyright (c) Vellum authors.
//
// NodeCommand: what a vellum-node replicates through Raft in one log entry — the
// client writes its proposer gathered in one round of its event loop (each with its
// request id and operations), and the proposer's attestation of its own state (the
// ledger version it had applied and that version's state root), which every node
// checks against its own root when it applies the command. A command is applied as
// one ledger version: concurrent clients share one entry, one signature, one fsync
// and one ledger commit. In the Raft log the command is encrypted
// (XChaCha20-Poly1305 under a key derived from the ledger master secret every member
// holds), so the log on disk holds no plaintext. Format: docs/formats/node-command.md.
//
// Thread safety: pure functions; the structs are values.

#ifndef VELLUM_NODE_NODE_COMMAND_H_
#define VELLUM_NODE_NODE_COMMAND_H_

#include <cstdint>
#include <vector>

#include "base/bytes.h"
#include "crypto/secure_bytes.h"
#include "db/logchain/write_set.h"
#include "vellum/env.h"
#include "vellum/hash.h"
#include "vellum/result.h"

namespace vellum::node {

// One client's write: all of its operations or none.
struct ClientWrite {
  // A random 64-bit id the proposer chose (unique among its requests in flight,
  // across restarts); routes the result back to the waiting client on that node.
  uint64_t request_id = 0;
  std::vector<logchain::WriteSetOp> ops;

  bool operator==(const ClientWrite&) const = default;
};

struct NodeCommand {
  // The proposer's last applied ledger version when it proposed (0: none yet), and
  // the state root it had at that version.
  uint64_t attested_version = 0;
  Hash attested_root{};
  std::vector<ClientWrite> writes;  // at least one

  bool operator==(const NodeCommand&) const = default;
};

// The most writes one command carries.
inline constexpr size_t kMaxWritesPerCommand = 4096;

// Every op must be valid (logchain::ValidateWriteSetOp).
Bytes EncodeNodeCommand(const NodeCommand& command);
// Strict and safe on untrusted bytes: Corruption naming what failed.
Result<NodeCommand> DecodeNodeCommand(ByteView encoded);

// The payload key: derived from the ledger master secret with the label
// "vellum/node/replication-payload".
Result<crypto::SecureBytes> DeriveReplicationKey(const crypto::SecureBytes& master_secret);
// Encrypts an encoded command for the Raft log (a fresh nonce from `random`).
Result<Bytes> SealCommand(const crypto::SecureBytes& key, const NodeCommand& command,
                          RandomSource& random);
// Decrypts and decodes; Corruption when the ciphertext or the command is not intact.
Result<NodeCommand> OpenCommand(const crypto::SecureBytes& key, ByteView sealed);

}  // namespace vellum::node

#endif  // VELLUM_NODE_NODE_COMMAND_H_
