// Copyright (c) Vellum authors.
//
// LedgerProof: its binary and JSON forms (docs/formats/ledger-proof.md) and the
// standalone verifier.

#include "vellum/ledger_proof.h"

#include <nlohmann/json.hpp>

#include "db/format.h"
#include "db/key_impl.h"
#include "db/ledger_keys.h"
#include "trie/trie.h"

namespace vellum {
namespace {

constexpr uint8_t kProofFormat = 1;
constexpr std::string_view kJsonFormat = "vellum-ledger-proof-v1";

void PutString(Bytes* out, std::string_view s) {
  PutVarint64(out, s.size());
  out->insert(out->end(), s.begin(), s.end());
}

bool GetString(ByteView* in, std::string* s) {
  uint64_t size = 0;
  if (!GetVarint64(in, &size) || size > in->size()) return false;
  s->assign(reinterpret_cast<const char*>(in->data()), size);
  *in = in->subspan(size);
  return true;
}

bool GetHash(ByteView* in, Hash* h) {
  if (in->size() < h->size()) return false;
  std::copy_n(in->begin(), h->size(), h->begin());
  *in = in->subspan(h->size());
  return true;
}

Status Malformed(std::string_view what) {
  return Status::Corruption("ledger proof is malformed: " + std::string(what));
}

std::string Hex(std::string_view s) { return HexEncode(AsBytes(s)); }

Result<std::string> FromHex(const nlohmann::json& j, const char* field) {
  if (!j.contains(field) || !j[field].is_string()) {
    return Status::InvalidArgument(std::string("ledger proof JSON: \"") + field +
                                   "\" is missing or not a string");
  }
  auto bytes = HexDecode(j[field].get<std::string>());
  if (!bytes.ok()) {
    return Status::InvalidArgument(std::string("ledger proof JSON: \"") + field + "\" is not hex");
  }
  return std::string(AsChars(*bytes));
}

Result<Hash> HashField(const nlohmann::json& j, const char* field) {
  VELLUM_ASSIGN_OR_RETURN(std::string bytes, FromHex(j, field));
  if (bytes.size() != 32) {
    return Status::InvalidArgument(std::string("ledger proof JSON: \"") + field +
                                   "\" is not a 32-byte hash");
  }
  Hash hash;
  std::copy(bytes.begin(), bytes.end(), hash.begin());
  return hash;
}

}  // namespace

std::string LedgerProof::Serialize() const {
  Bytes out = {'V', 'L', kProofFormat};
  PutString(&out, ledger_id);
  PutVarint64(&out, version);
  out.insert(out.end(), state_root.begin(), state_root.end());
  PutString(&out, table);
  PutString(&out, key);
  out.push_back(value ? 1 : 0);
  if (value) PutString(&out, *value);
  out.insert(out.end(), table_hash.begin(), table_hash.end());
  out.insert(out.end(), key_hash.begin(), key_hash.end());
  out.push_back(value_hash ? 1 : 0);
  if (value_hash) out.insert(out.end(), value_hash->begin(), value_hash->end());
  PutString(&out, table_entry);
  for (const auto* items : {&top_proof, &table_proof}) {
    PutVarint64(&out, items->size());
    for (const auto& item : *items) PutString(&out, item);
  }
  return std::string(AsChars(out));
}

Result<LedgerProof> LedgerProof::Deserialize(std::string_view data) {
  ByteView in = AsBytes(data);
  if (in.size() < 3 || in[0] != 'V' || in[1] != 'L') return Malformed("not a ledger proof");
  if (in[2] != kProofFormat) {
    return Status::NotSupported("ledger proof format " + std::to_string(in[2]));
  }
  in = in.subspan(3);
  LedgerProof proof;
  uint8_t flag = 0;
  auto get_flag = [&]() {
    if (in.empty() || in[0] > 1) return false;
    flag = in[0];
    in = in.subspan(1);
    return true;
  };
  if (!GetString(&in, &proof.ledger_id) || !GetVarint64(&in, &proof.version) ||
      !GetHash(&in, &proof.state_root) || !GetString(&in, &proof.table) ||
      !GetString(&in, &proof.key) || !get_flag()) {
    return Malformed("truncated header");
  }
  if (flag) {
    proof.value.emplace();
    if (!GetString(&in, &*proof.value)) return Malformed("truncated value");
  }
  if (!GetHash(&in, &proof.table_hash) || !GetHash(&in, &proof.key_hash) || !get_flag()) {
    return Malformed("truncated hashes");
  }
  if (flag) {
    proof.value_hash.emplace();
    if (!GetHash(&in, &*proof.value_hash)) return Malformed("truncated value hash");
  }
  if (!GetString(&in, &proof.table_entry)) return Malformed("truncated table entry");
  for (auto* items : {&proof.top_proof, &proof.table_proof}) {
    uint64_t count = 0;
    if (!GetVarint64(&in, &count) || count > in.size()) return Malformed("bad proof item count");
    items->resize(count);
    for (auto& item : *items) {
      if (!GetString(&in, &item)) return Malformed("truncated proof item");
    }
  }
  if (!in.empty()) return Malformed("trailing bytes");
  return proof;
}

std::string LedgerProof::ToJson() const {
  nlohmann::ordered_json j;
  j["format"] = kJsonFormat;
  j["ledger_id"] = ledger_id;
  j["version"] = version;
  j["state_root"] = HexEncode(state_root);
  j["table"] = Hex(table);
  j["key"] = Hex(key);
  j["value"] = value ? nlohmann::ordered_json(Hex(*value)) : nlohmann::ordered_json(nullptr);
  j["table_hash"] = HexEncode(table_hash);
  j["key_hash"] = HexEncode(key_hash);
  j["value_hash"] =
      value_hash ? nlohmann::ordered_json(HexEncode(*value_hash)) : nlohmann::ordered_json(nullptr);
  j["table_entry"] = Hex(table_entry);
  j["top_proof"] = nlohmann::ordered_json::array();
  for (const auto& item : top_proof) j["top_proof"].push_back(Hex(item));
  j["table_proof"] = nlohmann::ordered_json::array();
  for (const auto& item : table_proof) j["table_proof"].push_back(Hex(item));
  return j.dump();
}

Result<LedgerProof> LedgerProof::FromJson(std::string_view json) {
  nlohmann::json j = nlohmann::json::parse(json, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return Status::InvalidArgument("ledger proof JSON: not a JSON object");
  }
  if (!j.contains("format") || j["format"] != kJsonFormat) {
    return Status::InvalidArgument(std::string("ledger proof JSON: \"format\" is not \"") +
                                   std::string(kJsonFormat) + "\"");
  }
  LedgerProof proof;
  if (!j.contains("ledger_id") || !j["ledger_id"].is_string() || !j.contains("version") ||
      !j["version"].is_number_unsigned()) {
    return Status::InvalidArgument("ledger proof JSON: \"ledger_id\" or \"version\" is missing");
  }
  proof.ledger_id = j["ledger_id"].get<std::string>();
  proof.version = j["version"].get<uint64_t>();
  VELLUM_ASSIGN_OR_RETURN(proof.state_root, HashField(j, "state_root"));
  VELLUM_ASSIGN_OR_RETURN(proof.table, FromHex(j, "table"));
  VELLUM_ASSIGN_OR_RETURN(proof.key, FromHex(j, "key"));
  if (j.contains("value") && !j["value"].is_null()) {
    VELLUM_ASSIGN_OR_RETURN(proof.value, FromHex(j, "value"));
  }
  VELLUM_ASSIGN_OR_RETURN(proof.table_hash, HashField(j, "table_hash"));
  VELLUM_ASSIGN_OR_RETURN(proof.key_hash, HashField(j, "key_hash"));
  if (j.contains("value_hash") && !j["value_hash"].is_null()) {
    VELLUM_ASSIGN_OR_RETURN(proof.value_hash, HashField(j, "value_hash"));
  }
  VELLUM_ASSIGN_OR_RETURN(proof.table_entry, FromHex(j, "table_entry"));
  for (auto [field, items] :
       {std::pair{"top_proof", &proof.top_proof}, std::pair{"table_proof", &proof.table_proof}}) {
    if (!j.contains(field) || !j[field].is_array()) {
      return Status::InvalidArgument(std::string("ledger proof JSON: \"") + field +
                                     "\" is missing or not an array");
    }
    for (const auto& item : j[field]) {
      if (!item.is_string()) return Status::InvalidArgument("ledger proof JSON: bad proof item");
      auto bytes = HexDecode(item.get<std::string>());
      if (!bytes.ok()) return Status::InvalidArgument("ledger proof JSON: bad proof item");
      items->emplace_back(AsChars(*bytes));
    }
  }
  return proof;
}

Result<ProofCheck> VerifyLedgerProof(const LedgerProof& proof, const Hash& trusted_state_root,
                                     const MasterKey* key) {
  if (proof.state_root != trusted_state_root) {
    return Status::Corruption("the proof is for state root " + HexEncode(proof.state_root) +
                              ", not the trusted root " + HexEncode(trusted_state_root));
  }
  auto to_proof = [](const std::vector<std::string>& items) {
    trie::Proof p;
    p.scheme = trie::TrieScheme::kNative;
    for (const auto& item : items) p.items.push_back(ToBytes(item));
    return p;
  };
  // The table's entry in the top trie.
  auto entry_bytes = trie::VerifyProof(trie::TrieScheme::kNative, trusted_state_root,
                                       proof.table_hash, to_proof(proof.top_proof));
  if (!entry_bytes.ok()) {
    return Status::Corruption("the table part of the proof is invalid: " +
                              entry_bytes.status().message());
  }
  if (!*entry_bytes) return Status::Corruption("the proof shows the table absent");
  if (AsChars(**entry_bytes) != proof.table_entry) {
    return Status::Corruption("the proof's table entry is not the one the state holds");
  }
  VELLUM_ASSIGN_OR_RETURN(db::format::TableEntry entry,
                          db::format::DecodeTableEntry(AsBytes(proof.table_entry)));
  // The key in the table's trie.
  auto value_hash = trie::VerifyProof(trie::TrieScheme::kNative, entry.root.hash, proof.key_hash,
                                      to_proof(proof.table_proof));
  if (!value_hash.ok()) {
    return Status::Corruption("the key part of the proof is invalid: " +
                              value_hash.status().message());
  }
  ProofCheck check;
  if (*value_hash) {
    if (!proof.value || !proof.value_hash || AsChars(**value_hash) != AsChars(*proof.value_hash)) {
      return Status::Corruption(
          "the proof shows the key present with another value hash than "
          "the one it claims");
    }
    check.present = true;
    check.value = proof.value;
  } else if (proof.value || proof.value_hash) {
    return Status::Corruption("the proof shows the key absent but claims a value");
  }
  if (key != nullptr) {
    auto id = HexDecode(proof.ledger_id);
    if (!id.ok() || id->size() != db::format::kLedgerIdSize) {
      return Status::Corruption("the proof's ledger id is malformed");
    }
    VELLUM_ASSIGN_OR_RETURN(auto keys, db::LedgerKeys::Derive(key->impl().secret, *id));
    if (keys->table_name_hash().Hash(AsBytes(proof.table)) != proof.table_hash) {
      return Status::Corruption(
          "the table name does not match the proof's table hash (or the "
          "master key is not this ledger's)");
    }
    VELLUM_ASSIGN_OR_RETURN(auto table_keys, keys->ForTable(entry.table_id));
    if (table_keys->key_hash.Hash(AsBytes(proof.key)) != proof.key_hash) {
      return Status::Corruption("the key does not match the proof's key hash");
    }
    if (proof.value && table_keys->value_hash.Hash(AsBytes(*proof.value)) != *proof.value_hash) {
      return Status::Corruption("the value does not match the proof's value hash");
    }
    check.binding_checked = true;
  }
  return check;
}

}  // namespace vellum
