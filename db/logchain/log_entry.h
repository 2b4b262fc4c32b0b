// Copyright (c) Vellum authors.
//
// Log entries: the header, the stored record, sealing and opening of the payload, the
// entry hash and the link between consecutive entries (docs/formats/log-entry.md).
//
//   header      fixed 161 bytes: format 0x01 | index | term | version | time_micros
//               (BE64 each) | prev_entry_hash | state_root_after | payload_hash |
//               key_share_set_id (32 each)
//   payload     XChaCha20-Poly1305(entry_key, write set,
//                                  ad = "vellum-log-payload-v1" || BE64 index)
//               stored as nonce (24) || ciphertext || tag (16)
//   entry_hash  SHA-256("vellum-log-entry-v1" || header || payload ciphertext)
//
// The entry key is fresh for every entry and split to the key holders (share_set.h);
// the header names the share set by its id, so the share set can be destroyed
// (crypto-shredding the payload) while the chain keeps verifying. Checking integrity
// (payload_hash, entry hashes, links, the Merkle log) needs no key.
//
// Everything decoded here comes from untrusted storage: decoders bounds-check every
// field and return Corruption naming what is wrong, NotSupported for a format version
// this build does not know.
//
// Thread safety: all functions are thread-safe; the structs are values.

#ifndef VELLUM_DB_LOGCHAIN_LOG_ENTRY_H_
#define VELLUM_DB_LOGCHAIN_LOG_ENTRY_H_

#include <cstdint>
#include <span>

#include "base/bytes.h"
#include "crypto/hash.h"
#include "crypto/sealed_box.h"
#include "crypto/secure_bytes.h"
#include "db/logchain/share_set.h"
#include "vellum/env.h"
#include "vellum/result.h"
#include "vellum/status.h"

namespace vellum::logchain {

struct LogEntryHeader {
  uint64_t index = 0;                  // 1-based position in the log
  uint64_t term = 0;                   // Raft term; 0 for an embedded ledger
  uint64_t version = 0;                // the ledger version this entry produced
  uint64_t time_micros = 0;            // wall clock of the commit (informational)
  crypto::Hash256 prev_entry_hash{};   // zeros for index 1
  crypto::Hash256 state_root_after{};  // the state root after applying the entry
  crypto::Hash256 payload_hash{};      // SHA-256 of the payload ciphertext
  crypto::Hash256 key_share_set_id{};  // ShareSetId of the entry's share set

  friend bool operator==(const LogEntryHeader&, const LogEntryHeader&) = default;
};

inline constexpr size_t kLogEntryHeaderSize = 1 + 4 * 8 + 4 * 32;  // 161
// The smallest payload ciphertext: an empty plaintext's nonce and tag.
inline constexpr size_t kMinPayloadCiphertextSize = 24 + 16;

// The fixed-size (kLogEntryHeaderSize) binary form.
Bytes EncodeLogEntryHeader(const LogEntryHeader& header);
// Corruption for the wrong size ("log entry header: truncated at prev_entry_hash",
// "... trailing bytes"), index 0, or index 1 with a non-zero prev_entry_hash;
// NotSupported for another format version.
Result<LogEntryHeader> DecodeLogEntryHeader(ByteView encoded);

// SHA-256("vellum-log-entry-v1" || encoded header || payload ciphertext).
crypto::Hash256 LogEntryHash(ByteView encoded_header, ByteView payload_ciphertext);

// The stored record of an entry, without its share set (stored apart so it can be
// destroyed): format 0x01 | varint header length | header | varint payload length |
// payload ciphertext.
Bytes EncodeStoredEntry(ByteView encoded_header, ByteView payload_ciphertext);

struct StoredEntry {
  LogEntryHeader header;
  Bytes encoded_header;
  Bytes payload_ciphertext;
  crypto::Hash256 entry_hash{};  // LogEntryHash(encoded_header, payload_ciphertext)
};

// Strict (truncation, trailing bytes, bad lengths or header: Corruption; another
// format version: NotSupported), and checks header.payload_hash == SHA-256(payload
// ciphertext): Corruption otherwise. Computes entry_hash.
Result<StoredEntry> DecodeStoredEntry(ByteView encoded);

// A freshly sealed entry: everything the ledger stores for it.
struct SealedEntry {
  LogEntryHeader header;
  Bytes encoded_header;
  Bytes payload_ciphertext;
  Bytes encoded_share_set;
  crypto::Hash256 entry_hash{};

  // EncodeStoredEntry(encoded_header, payload_ciphertext).
  Bytes EncodeStored() const { return EncodeStoredEntry(encoded_header, payload_ciphertext); }
};

// An entry key already split and sealed to its holders. Nothing in it depends on the
// entry it will seal, so a ledger prepares the next key before it needs it (off the
// commit's critical path). Use each one for one entry only.
struct PreparedEntryKey {
  crypto::SecureBytes entry_key;
  Bytes encoded_share_set;
  crypto::Hash256 holders_id{};  // KeyHoldersId of the holders it was split to
};

// A fresh 32-byte entry key (from `random`) split to `holders`. InvalidArgument for
// invalid holders. This makes a sealer for the one key (1 + n X25519 operations);
// a ledger that writes many entries keeps a ShareSealer and uses the overload below.
Result<PreparedEntryKey> PrepareEntryKey(const KeyHolders& holders, RandomSource& random);
// A fresh 32-byte entry key (from `random`) split by `sealer` (no curve operation).
Result<PreparedEntryKey> PrepareEntryKey(const ShareSealer& sealer, RandomSource& random);

// Seals a payload under a prepared key (consumed): XChaCha20-Poly1305 with the
// associated data of LogPayloadAssociatedData(index). Otherwise as below.
Result<SealedEntry> SealLogEntry(const LogEntryHeader& header_without_hashes,
                                 ByteView payload_plaintext, PreparedEntryKey key,
                                 RandomSource& random);

// Seals a payload: a fresh 32-byte entry key (from `random`), XChaCha20-Poly1305 with
// associated data binding the entry index ("vellum-log-payload-v1" || BE64 index),
// the key split to `holders`. Fills payload_hash and key_share_set_id in the header
// (the caller fills the rest; what it put in those two fields is ignored).
// InvalidArgument for invalid holders, index 0, or index 1 with a non-zero
// prev_entry_hash.
Result<SealedEntry> SealLogEntry(const LogEntryHeader& header_without_hashes,
                                 ByteView payload_plaintext, const KeyHolders& holders,
                                 RandomSource& random);

// Checks the link between consecutive entries: next.index == previous.index + 1,
// next.prev_entry_hash == previous.entry_hash, next.version > previous.version and
// next.term >= previous.term (Raft terms never decrease along a log). Corruption
// naming the entry index and what failed. Trusts the entry_hash fields (as
// DecodeStoredEntry computed them).
Status CheckLink(const StoredEntry& previous, const StoredEntry& next);

// The associated data of an entry's payload: "vellum-log-payload-v1" || BE64 index.
Bytes LogPayloadAssociatedData(uint64_t index);

// Decrypts the payload with the recovered entry key. Corruption when it does not open
// (wrong key, altered ciphertext, a payload moved from another index);
// InvalidArgument for a key of the wrong size.
Result<Bytes> OpenLogPayload(const StoredEntry& entry, const crypto::SecureBytes& entry_key);

// Everything needed to read an entry in one call: checks that `encoded_share_set` is
// the entry's (ShareSetId == header.key_share_set_id, Corruption otherwise), decodes
// it, recovers the key with `holder_keys` (RecoverEntryKey's errors) and opens the
// payload.
Result<Bytes> OpenLogEntry(const StoredEntry& entry, ByteView encoded_share_set,
                           std::span<const crypto::X25519KeyPair> holder_keys);

}  // namespace vellum::logchain

#endif  // VELLUM_DB_LOGCHAIN_LOG_ENTRY_H_
