// Copyright (c) Vellum authors.

#include "db/format.h"

#include "db/ledger_keys.h"

namespace vellum::db::format {
namespace {

constexpr std::string_view kFormatMagic = "vellum-ledger";
constexpr uint8_t kFormatVersion = 1;
constexpr uint8_t kConfigVersion = 1;
constexpr uint8_t kHeadVersion = 1;
constexpr uint8_t kTableEntryVersion = 1;
constexpr size_t kMacSize = 32;

void Append(std::string* out, ByteView bytes) { out->append(AsChars(bytes)); }

void AppendBE64(std::string* out, uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8) out->push_back(static_cast<char>(v >> shift));
}

std::string IdAndHash(uint64_t id, const crypto::Hash256& hash) {
  std::string key;
  key.reserve(8 + hash.size());
  AppendBE64(&key, id);
  Append(&key, hash);
  return key;
}

Bytes Ad(std::string_view label, uint64_t id, const crypto::Hash256& hash) {
  Bytes ad = ToBytes(label);
  PutFixed64BE(&ad, id);
  ad.insert(ad.end(), hash.begin(), hash.end());
  return ad;
}

// A cursor over a fixed-layout body; every read checks the bounds.
class Reader {
 public:
  Reader(ByteView data, std::string_view what) : data_(data), what_(what) {}
  bool U8(uint8_t* v) {
    if (data_.size() < 1) return false;
    *v = data_[0];
    data_ = data_.subspan(1);
    return true;
  }
  bool U64(uint64_t* v) {
    if (data_.size() < 8) return false;
    *v = DecodeFixed64BE(data_.data());
    data_ = data_.subspan(8);
    return true;
  }
  bool Hash(crypto::Hash256* h) {
    if (data_.size() < h->size()) return false;
    std::copy_n(data_.begin(), h->size(), h->begin());
    data_ = data_.subspan(h->size());
    return true;
  }
  bool Done() const { return data_.empty(); }
  Status Truncated() const {
    return Status::Corruption(std::string(what_) + " is truncated or malformed");
  }

 private:
  ByteView data_;
  std::string_view what_;
};

std::string MacInput(std::string_view name, ByteView body) {
  std::string input = "vellum-meta-v1";
  input.append(name);
  input.push_back('\0');
  input.append(AsChars(body));
  return input;
}

}  // namespace

std::string TableTriePrefix(uint64_t table_id) {
  std::string prefix = "T";
  AppendBE64(&prefix, table_id);
  return prefix;
}

std::string TableNameKey(const crypto::Hash256& name_hash) {
  std::string key(kTableNamePrefix);
  Append(&key, name_hash);
  return key;
}

std::string KeyRecordKey(uint64_t table_id, const crypto::Hash256& key_hash) {
  return IdAndHash(table_id, key_hash);
}

std::string ValueRecordKey(uint64_t table_id, const crypto::Hash256& value_hash) {
  return IdAndHash(table_id, value_hash);
}

std::string HistoryPrefix(uint64_t table_id, const crypto::Hash256& key_hash) {
  return IdAndHash(table_id, key_hash);
}

std::string HistoryKey(uint64_t table_id, const crypto::Hash256& key_hash, uint64_t version) {
  std::string key = IdAndHash(table_id, key_hash);
  AppendBE64(&key, version);
  return key;
}

std::string LogEntryKey(uint64_t index) {
  std::string key = "e";
  AppendBE64(&key, index);
  return key;
}

std::string ShareSetKey(uint64_t index) {
  std::string key = "s";
  AppendBE64(&key, index);
  return key;
}

std::string MerkleNodeKey(int level, uint64_t index) {
  std::string key = "m";
  key.push_back(static_cast<char>(level));
  AppendBE64(&key, index);
  return key;
}

Bytes HistoryMacInput(uint64_t table_id, const crypto::Hash256& key_hash, uint64_t version,
                      const std::optional<crypto::Hash256>& value_hash) {
  Bytes input = ToBytes("vellum-history-v1");
  PutFixed64BE(&input, table_id);
  input.insert(input.end(), key_hash.begin(), key_hash.end());
  PutFixed64BE(&input, version);
  input.push_back(value_hash ? 1 : 0);
  if (value_hash) input.insert(input.end(), value_hash->begin(), value_hash->end());
  return input;
}

Bytes TableNameAd(const crypto::Hash256& name_hash) {
  Bytes ad = ToBytes("table-name");
  ad.insert(ad.end(), name_hash.begin(), name_hash.end());
  return ad;
}
Bytes KeyAd(uint64_t table_id, const crypto::Hash256& key_hash) {
  return Ad("key", table_id, key_hash);
}
Bytes ValueAd(uint64_t table_id, const crypto::Hash256& value_hash) {
  return Ad("value", table_id, value_hash);
}

std::string EncodeFormatRecord(ByteView ledger_id) {
  std::string record(kFormatMagic);
  record.push_back(static_cast<char>(kFormatVersion));
  Append(&record, ledger_id);
  return record;
}

Result<Bytes> DecodeFormatRecord(std::string_view record) {
  if (!record.starts_with(kFormatMagic) || record.size() < kFormatMagic.size() + 1) {
    return Status::InvalidArgument("the directory holds a RocksDB database that is not a ledger");
  }
  uint8_t version = static_cast<uint8_t>(record[kFormatMagic.size()]);
  if (version != kFormatVersion) {
    return Status::NotSupported("ledger format version " + std::to_string(version) +
                                " is newer than this build understands (1)");
  }
  std::string_view id = record.substr(kFormatMagic.size() + 1);
  if (id.size() != kLedgerIdSize) {
    return Status::Corruption("metadata format record has a ledger id of the wrong size");
  }
  return ToBytes(id);
}

std::string EncodeConfigBody(const ConfigRecord& config) {
  std::string body;
  body.push_back(static_cast<char>(kConfigVersion));
  body.push_back(static_cast<char>(config.threshold));
  body.push_back(static_cast<char>(config.holders.size()));
  for (const auto& holder : config.holders) Append(&body, holder);
  AppendBE64(&body, config.created_micros);
  return body;
}

Result<ConfigRecord> DecodeConfigBody(ByteView body) {
  Reader reader(body, "metadata config record");
  uint8_t version = 0, threshold = 0, count = 0;
  if (!reader.U8(&version)) return reader.Truncated();
  if (version != kConfigVersion) {
    return Status::NotSupported("config record version " + std::to_string(version));
  }
  if (!reader.U8(&threshold) || !reader.U8(&count)) return reader.Truncated();
  ConfigRecord config;
  config.threshold = threshold;
  config.holders.resize(count);
  for (auto& holder : config.holders) {
    if (!reader.Hash(&holder)) return reader.Truncated();
  }
  if (!reader.U64(&config.created_micros) || !reader.Done()) return reader.Truncated();
  size_t n = config.holders.empty() ? 1 : config.holders.size();
  if (config.threshold < 1 || static_cast<size_t>(config.threshold) > n) {
    return Status::Corruption("metadata config record has threshold " +
                              std::to_string(config.threshold) + " for " + std::to_string(n) +
                              " holders");
  }
  return config;
}

std::string EncodeHeadBody(const HeadRecord& head) {
  std::string body;
  body.push_back(static_cast<char>(kHeadVersion));
  AppendBE64(&body, head.version);
  Append(&body, head.state_root);
  AppendBE64(&body, head.top_root_node_version);
  AppendBE64(&body, head.log_size);
  Append(&body, head.log_head_hash);
  Append(&body, head.log_root);
  AppendBE64(&body, head.oldest_version);
  return body;
}

Result<HeadRecord> DecodeHeadBody(ByteView body) {
  Reader reader(body, "metadata head record");
  uint8_t version = 0;
  if (!reader.U8(&version)) return reader.Truncated();
  if (version != kHeadVersion) {
    return Status::NotSupported("head record version " + std::to_string(version));
  }
  HeadRecord head;
  if (!reader.U64(&head.version) || !reader.Hash(&head.state_root) ||
      !reader.U64(&head.top_root_node_version) || !reader.U64(&head.log_size) ||
      !reader.Hash(&head.log_head_hash) || !reader.Hash(&head.log_root) ||
      !reader.U64(&head.oldest_version) || !reader.Done()) {
    return reader.Truncated();
  }
  return head;
}

Bytes EncodeTableEntry(const TableEntry& entry) {
  Bytes out;
  out.reserve(1 + 8 + 8 + 32);
  out.push_back(kTableEntryVersion);
  PutFixed64BE(&out, entry.table_id);
  PutFixed64BE(&out, entry.root.node_version);
  out.insert(out.end(), entry.root.hash.begin(), entry.root.hash.end());
  return out;
}

Result<TableEntry> DecodeTableEntry(ByteView data) {
  Reader reader(data, "table entry in the top trie");
  uint8_t version = 0;
  TableEntry entry;
  if (!reader.U8(&version) || version != kTableEntryVersion || !reader.U64(&entry.table_id) ||
      !reader.U64(&entry.root.node_version) || !reader.Hash(&entry.root.hash) || !reader.Done()) {
    return reader.Truncated();
  }
  return entry;
}

std::string SealMeta(const LedgerKeys& keys, std::string_view name, std::string body) {
  crypto::Hash256 mac = keys.MetaMac(AsBytes(MacInput(name, AsBytes(body))));
  Append(&body, mac);
  return body;
}

Result<Bytes> OpenMeta(const LedgerKeys* keys, std::string_view name, std::string_view record) {
  if (record.size() < kMacSize) {
    return Status::Corruption("metadata " + std::string(name) + " record is truncated");
  }
  ByteView body = AsBytes(record.substr(0, record.size() - kMacSize));
  if (keys != nullptr) {
    crypto::Hash256 mac = keys->MetaMac(AsBytes(MacInput(name, body)));
    if (!ConstantTimeEquals(mac, AsBytes(record.substr(record.size() - kMacSize)))) {
      return Status::Corruption("metadata " + std::string(name) +
                                " record fails its authentication check (altered)");
    }
  }
  return Bytes(body.begin(), body.end());
}

std::string EncodeForgetMark(const LedgerKeys& keys, uint64_t index, uint64_t micros) {
  std::string body;
  body.push_back(static_cast<char>(kForgetMarkTag));
  AppendBE64(&body, micros);
  return SealMeta(keys, "forget/" + std::to_string(index), std::move(body));
}

bool IsForgetMark(std::string_view record) {
  return !record.empty() && static_cast<uint8_t>(record[0]) == kForgetMarkTag;
}

Result<uint64_t> DecodeForgetMark(const LedgerKeys* keys, uint64_t index, std::string_view record) {
  VELLUM_ASSIGN_OR_RETURN(Bytes body, OpenMeta(keys, "forget/" + std::to_string(index), record));
  if (body.size() != 9 || body[0] != kForgetMarkTag) {
    return Status::Corruption("forget mark of log entry " + std::to_string(index) +
                              " is malformed");
  }
  return DecodeFixed64BE(body.data() + 1);
}

}  // namespace vellum::db::format
