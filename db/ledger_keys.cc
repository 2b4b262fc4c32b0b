// Copyright (c) Vellum authors.

#include "db/ledger_keys.h"

#include "crypto/hkdf.h"

namespace vellum::db {

LedgerKeys::LedgerKeys(const crypto::SecureBytes& master_secret, std::string label_prefix,
                       crypto::SecureBytes key_check, crypto::SecureBytes meta_mac,
                       crypto::KeyedHasher table_name_hash, crypto::AesSiv table_name_siv,
                       crypto::Ed25519KeyPair signing_key, crypto::X25519KeyPair own_holder_key)
    : master_(master_secret.Clone()),
      label_prefix_(std::move(label_prefix)),
      key_check_(std::move(key_check)),
      meta_mac_(std::move(meta_mac)),
      table_name_hash_(std::move(table_name_hash)),
      table_name_siv_(std::move(table_name_siv)),
      signing_key_(std::move(signing_key)),
      own_holder_key_(std::move(own_holder_key)) {}

Result<std::unique_ptr<LedgerKeys>> LedgerKeys::Derive(const crypto::SecureBytes& master_secret,
                                                       ByteView ledger_id) {
  std::string prefix = "ledger/" + HexEncode(ledger_id) + "/";
  auto derive = [&](std::string_view purpose, size_t length) {
    return crypto::DeriveKey(master_secret, prefix + std::string(purpose), length);
  };
  VELLUM_ASSIGN_OR_RETURN(auto key_check, derive("key-check", 32));
  VELLUM_ASSIGN_OR_RETURN(auto meta_mac, derive("meta-mac", 32));
  VELLUM_ASSIGN_OR_RETURN(auto name_hash_key, derive("table-name-hash", 32));
  VELLUM_ASSIGN_OR_RETURN(auto name_hash, crypto::KeyedHasher::Create(name_hash_key));
  VELLUM_ASSIGN_OR_RETURN(auto name_siv_key, derive("table-name-siv", 64));
  VELLUM_ASSIGN_OR_RETURN(auto name_siv, crypto::AesSiv::Create(name_siv_key));
  VELLUM_ASSIGN_OR_RETURN(auto signing_seed, derive("digest-signing", 32));
  VELLUM_ASSIGN_OR_RETURN(auto signing_key, crypto::Ed25519KeyPair::FromSeed(signing_seed));
  VELLUM_ASSIGN_OR_RETURN(auto holder_secret, derive("log-holder", 32));
  VELLUM_ASSIGN_OR_RETURN(auto holder_key, crypto::X25519KeyPair::FromSecretKey(holder_secret));
  return std::unique_ptr<LedgerKeys>(new LedgerKeys(
      master_secret, std::move(prefix), std::move(key_check), std::move(meta_mac),
      std::move(name_hash), std::move(name_siv), std::move(signing_key), std::move(holder_key)));
}

crypto::Hash256 LedgerKeys::KeyCheck(ByteView ledger_id) const {
  Bytes message = ToBytes("vellum-key-check-v1");
  message.insert(message.end(), ledger_id.begin(), ledger_id.end());
  return crypto::HmacSha256(key_check_.view(), message);
}

crypto::Hash256 LedgerKeys::MetaMac(ByteView record) const {
  return crypto::HmacSha256(meta_mac_.view(), record);
}

Result<std::shared_ptr<const TableKeys>> LedgerKeys::ForTable(uint64_t table_id) const {
  std::lock_guard lock(mu_);
  auto it = tables_.find(table_id);
  if (it != tables_.end()) return it->second;
  std::string table = label_prefix_ + "table/" + std::to_string(table_id) + "/";
  VELLUM_ASSIGN_OR_RETURN(auto kh, crypto::DeriveKey(master_, table + "key-hash", 32));
  VELLUM_ASSIGN_OR_RETURN(auto vh, crypto::DeriveKey(master_, table + "value-hash", 32));
  VELLUM_ASSIGN_OR_RETURN(auto ks, crypto::DeriveKey(master_, table + "key-siv", 64));
  VELLUM_ASSIGN_OR_RETURN(auto vs, crypto::DeriveKey(master_, table + "value-siv", 64));
  VELLUM_ASSIGN_OR_RETURN(auto hm, crypto::DeriveKey(master_, table + "history-mac", 32));
  VELLUM_ASSIGN_OR_RETURN(auto history_mac, crypto::KeyedHasher::Create(hm));
  VELLUM_ASSIGN_OR_RETURN(auto key_hash, crypto::KeyedHasher::Create(kh));
  VELLUM_ASSIGN_OR_RETURN(auto value_hash, crypto::KeyedHasher::Create(vh));
  VELLUM_ASSIGN_OR_RETURN(auto key_siv, crypto::AesSiv::Create(ks));
  VELLUM_ASSIGN_OR_RETURN(auto value_siv, crypto::AesSiv::Create(vs));
  auto keys = std::make_shared<const TableKeys>(
      TableKeys{std::move(key_hash), std::move(value_hash), std::move(key_siv),
                std::move(value_siv), std::move(history_mac)});
  tables_.emplace(table_id, keys);
  return keys;
}

}  // namespace vellum::db
