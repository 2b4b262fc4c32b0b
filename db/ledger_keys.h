// Copyright (c) Vellum authors.
//
// LedgerKeys: every key a ledger uses, derived from its master secret with
// crypto::DeriveKey and a label "ledger/<ledger id hex>/<purpose>", so that two
// ledgers sharing a master secret still share no key, and no two purposes share one:
//
//   key-check              HMAC key for the key check value in the metadata
//   meta-mac               HMAC key for metadata records (config, head, forget marks)
//   table-name-hash        keyed hash of table names (the top trie's keys)
//   table-name-siv         AES-256-SIV of table names in the catalog
//   digest-signing         Ed25519 seed of the key that signs digests
//   log-holder             X25519 secret of the ledger's own log key holder (used when
//                          the ledger was created without external holders)
//   table/<id>/key-hash    keyed hash of a table's keys      (Hk)
//   table/<id>/value-hash  keyed hash of a table's values    (Hv)
//   table/<id>/key-siv     AES-256-SIV of a table's keys
//   table/<id>/value-siv   AES-256-SIV of a table's values
//   table/<id>/history-mac keyed hash that authenticates a table's history records
//
// Thread safety: thread-safe (per-table keys are derived once and cached under a mutex).

#ifndef VELLUM_DB_LEDGER_KEYS_H_
#define VELLUM_DB_LEDGER_KEYS_H_

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "base/bytes.h"
#include "crypto/aes_siv.h"
#include "crypto/ed25519.h"
#include "crypto/hash.h"
#include "crypto/sealed_box.h"
#include "crypto/secure_bytes.h"
#include "vellum/result.h"

namespace vellum::db {

struct TableKeys {
  crypto::KeyedHasher key_hash;
  crypto::KeyedHasher value_hash;
  crypto::AesSiv key_siv;
  crypto::AesSiv value_siv;
  crypto::KeyedHasher history_mac;  // authenticates the key history records
};

class LedgerKeys {
 public:
  static Result<std::unique_ptr<LedgerKeys>> Derive(const crypto::SecureBytes& master_secret,
                                                    ByteView ledger_id);

  // HMAC-SHA-256 tags.
  crypto::Hash256 KeyCheck(ByteView ledger_id) const;
  crypto::Hash256 MetaMac(ByteView record) const;

  const crypto::KeyedHasher& table_name_hash() const { return table_name_hash_; }
  const crypto::AesSiv& table_name_siv() const { return table_name_siv_; }
  const crypto::Ed25519KeyPair& signing_key() const { return signing_key_; }
  const crypto::X25519KeyPair& own_holder_key() const { return own_holder_key_; }

  // The keys of table `table_id`, derived on first use.
  Result<std::shared_ptr<const TableKeys>> ForTable(uint64_t table_id) const;

 private:
  LedgerKeys(const crypto::SecureBytes& master_secret, std::string label_prefix,
             crypto::SecureBytes key_check, crypto::SecureBytes meta_mac,
             crypto::KeyedHasher table_name_hash, crypto::AesSiv table_name_siv,
             crypto::Ed25519KeyPair signing_key, crypto::X25519KeyPair own_holder_key);

  crypto::SecureBytes master_;  // kept to derive table keys on demand
  const std::string label_prefix_;
  crypto::SecureBytes key_check_;
  crypto::SecureBytes meta_mac_;
  crypto::KeyedHasher table_name_hash_;
  crypto::AesSiv table_name_siv_;
  crypto::Ed25519KeyPair signing_key_;
  crypto::X25519KeyPair own_holder_key_;

  mutable std::mutex mu_;
  mutable std::map<uint64_t, std::shared_ptr<const TableKeys>> tables_;
};

}  // namespace vellum::db

#endif  // VELLUM_DB_LEDGER_KEYS_H_
