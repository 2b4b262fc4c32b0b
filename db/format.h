// Copyright (c) Vellum authors.
//
// The ledger's on-disk layout (docs/formats/ledger.md): column family names, the
// keys of every record, and the encodings of the metadata records. Everything here
// is pure encoding; the meaning lives in ledger.cc.
//
//   meta        "format"           "vellum-ledger" 0x01 ledger_id(16)
//               "key-check"        HMAC(key-check key, "vellum-key-check-v1" || ledger_id)
//               "config"           ConfigRecord || MAC
//               "head"             HeadRecord || MAC
//               "table/" Hn        AES-SIV(table name), AD "table-name" || Hn
//   log         'e' BE64(index)    logchain stored entry (header || payload ciphertext)
//               's' BE64(index)    encoded share set, or a forget mark
//               'm' u8(level) BE64(index)   RFC 6962 complete-subtree hash (32 bytes)
//   trie_nodes  "t" ...            the top trie: Hn(table name) -> TableEntry
//               "T" BE64(id) ...   table id's trie: Hk(key) -> Hv(value)
//   keys        BE64(id) Hk        AES-SIV(key), AD "key" || BE64(id) || Hk
//   values      BE64(id) Hv        AES-SIV(value), AD "value" || BE64(id) || Hv
//   history     BE64(id) Hk BE64(version)   [Hv] || tag (Hv absent for a deletion)
//
// A table's id is (version that created it) << 16 | (its rank among the tables that
// version created), so a table dropped and created again gets fresh storage and
// fresh keys.
//
// MAC'd records end in HMAC-SHA-256(meta-mac key, "vellum-meta-v1" || name || body).

#ifndef VELLUM_DB_FORMAT_H_
#define VELLUM_DB_FORMAT_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/bytes.h"
#include "crypto/hash.h"
#include "crypto/sealed_box.h"
#include "trie/trie.h"
#include "vellum/result.h"

namespace vellum::db {

class LedgerKeys;

namespace format {

inline constexpr const char* kMetaFamily = "meta";
inline constexpr const char* kLogFamily = "log";
inline constexpr const char* kTrieFamily = "trie_nodes";
inline constexpr const char* kKeysFamily = "keys";
inline constexpr const char* kValuesFamily = "values";
inline constexpr const char* kHistoryFamily = "history";

inline constexpr std::string_view kFormatKey = "format";
inline constexpr std::string_view kKeyCheckKey = "key-check";
inline constexpr std::string_view kConfigKey = "config";
inline constexpr std::string_view kHeadKey = "head";
inline constexpr std::string_view kTableNamePrefix = "table/";
inline constexpr std::string_view kTopTriePrefix = "t";

inline constexpr size_t kLedgerIdSize = 16;
inline constexpr size_t kMaxTableNameSize = 255;
inline constexpr uint64_t kMaxTablesPerVersion = 1 << 16;
inline constexpr uint64_t TableId(uint64_t version, uint64_t rank) { return version << 16 | rank; }

std::string TableTriePrefix(uint64_t table_id);
std::string TableNameKey(const crypto::Hash256& name_hash);
std::string KeyRecordKey(uint64_t table_id, const crypto::Hash256& key_hash);
std::string ValueRecordKey(uint64_t table_id, const crypto::Hash256& value_hash);
std::string HistoryPrefix(uint64_t table_id, const crypto::Hash256& key_hash);
std::string HistoryKey(uint64_t table_id, const crypto::Hash256& key_hash, uint64_t version);
std::string LogEntryKey(uint64_t index);
std::string ShareSetKey(uint64_t index);
std::string MerkleNodeKey(int level, uint64_t index);

// A history record's value: Hv (absent for a deletion) || tag, where tag is the
// table's history-mac keyed hash of HistoryMacInput. A record moved to another key or
// version, or altered, fails its tag.
Bytes HistoryMacInput(uint64_t table_id, const crypto::Hash256& key_hash, uint64_t version,
                      const std::optional<crypto::Hash256>& value_hash);

// The associated data of the SIV ciphertexts above.
Bytes TableNameAd(const crypto::Hash256& name_hash);
Bytes KeyAd(uint64_t table_id, const crypto::Hash256& key_hash);
Bytes ValueAd(uint64_t table_id, const crypto::Hash256& value_hash);

std::string EncodeFormatRecord(ByteView ledger_id);
// The ledger id; InvalidArgument when `record` is not a ledger format record (a
// foreign database), NotSupported for a later format version.
Result<Bytes> DecodeFormatRecord(std::string_view record);

struct ConfigRecord {
  // Log key holders; empty means the ledger's own derived holder key, threshold 1.
  std::vector<crypto::X25519PublicKey> holders;
  int threshold = 1;
  uint64_t created_micros = 0;
};
std::string EncodeConfigBody(const ConfigRecord& config);
Result<ConfigRecord> DecodeConfigBody(ByteView body);

struct HeadRecord {
  uint64_t version = 0;
  crypto::Hash256 state_root{};
  uint64_t top_root_node_version = 0;
  uint64_t log_size = 0;
  crypto::Hash256 log_head_hash{};
  crypto::Hash256 log_root{};  // RFC 6962 root of the log's entry hashes
  uint64_t oldest_version = 0;
};
std::string EncodeHeadBody(const HeadRecord& head);
Result<HeadRecord> DecodeHeadBody(ByteView body);

// A table in the top trie: its id and the root of its trie.
struct TableEntry {
  uint64_t table_id = 0;
  trie::TrieRoot root;
};
Bytes EncodeTableEntry(const TableEntry& entry);
Result<TableEntry> DecodeTableEntry(ByteView data);

// Appends / checks the metadata MAC. `keys` may be null for a keyless open, in which
// case the MAC is stripped unchecked.
std::string SealMeta(const LedgerKeys& keys, std::string_view name, std::string body);
Result<Bytes> OpenMeta(const LedgerKeys* keys, std::string_view name, std::string_view record);

// A share set record destroyed by Forget is replaced by a mark: 0xF0 BE64(micros) MAC.
inline constexpr uint8_t kForgetMarkTag = 0xF0;
std::string EncodeForgetMark(const LedgerKeys& keys, uint64_t index, uint64_t micros);
bool IsForgetMark(std::string_view record);
// The time of the forget; Corruption if the mark's MAC fails (with keys).
Result<uint64_t> DecodeForgetMark(const LedgerKeys* keys, uint64_t index, std::string_view record);

}  // namespace format
}  // namespace vellum::db

#endif  // VELLUM_DB_FORMAT_H_
