// Copyright (c) Vellum authors.

#include "db/logchain/log_entry.h"

#include <algorithm>
#include <cstring>
#include <string>
#include <string_view>
#include <utility>

#include "crypto/aead.h"
#include "vellum/check.h"

namespace vellum::logchain {

namespace {

constexpr uint8_t kHeaderFormat = 1;
constexpr uint8_t kStoredEntryFormat = 1;
constexpr std::string_view kEntryHashDomain = "vellum-log-entry-v1";
constexpr std::string_view kPayloadDomain = "vellum-log-payload-v1";

static_assert(kMinPayloadCiphertextSize == crypto::XChaCha20Poly1305::kOverhead);
static_assert(kEntryKeySize == crypto::XChaCha20Poly1305::kKeySize);

// The header's fields in order, with their offsets, for encoding and for messages.
struct Field {
  const char* name;
  size_t offset;
  size_t size;
};
constexpr Field kHeaderFields[] = {
    {"format", 0, 1},
    {"index", 1, 8},
    {"term", 9, 8},
    {"version", 17, 8},
    {"time_micros", 25, 8},
    {"prev_entry_hash", 33, 32},
    {"state_root_after", 65, 32},
    {"payload_hash", 97, 32},
    {"key_share_set_id", 129, 32},
};
static_assert(129 + 32 == kLogEntryHeaderSize);

std::string Num(uint64_t v) { return std::to_string(v); }

bool IsZero(const crypto::Hash256& h) {
  return std::all_of(h.begin(), h.end(), [](uint8_t b) { return b == 0; });
}

Status CheckHeaderFields(const LogEntryHeader& header) {
  if (header.index == 0) return Status::InvalidArgument("index 0 (log indexes start at 1)");
  if (header.index == 1 && !IsZero(header.prev_entry_hash)) {
    return Status::InvalidArgument("index 1 with a non-zero prev_entry_hash");
  }
  return Status::OK();
}

}  // namespace

Bytes EncodeLogEntryHeader(const LogEntryHeader& header) {
  Bytes out;
  out.reserve(kLogEntryHeaderSize);
  out.push_back(kHeaderFormat);
  PutFixed64BE(&out, header.index);
  PutFixed64BE(&out, header.term);
  PutFixed64BE(&out, header.version);
  PutFixed64BE(&out, header.time_micros);
  out.insert(out.end(), header.prev_entry_hash.begin(), header.prev_entry_hash.end());
  out.insert(out.end(), header.state_root_after.begin(), header.state_root_after.end());
  out.insert(out.end(), header.payload_hash.begin(), header.payload_hash.end());
  out.insert(out.end(), header.key_share_set_id.begin(), header.key_share_set_id.end());
  VELLUM_CHECK_EQ(out.size(), kLogEntryHeaderSize);
  return out;
}

Result<LogEntryHeader> DecodeLogEntryHeader(ByteView encoded) {
  if (encoded.empty()) return Status::Corruption("log entry header: empty");
  if (encoded[0] != kHeaderFormat) {
    return Status::NotSupported("log entry header format version " + Num(encoded[0]) +
                                " is not supported (this build reads version 1)");
  }
  if (encoded.size() < kLogEntryHeaderSize) {
    for (const Field& field : kHeaderFields) {
      if (encoded.size() < field.offset + field.size) {
        return Status::Corruption(std::string("log entry header: truncated at ") + field.name);
      }
    }
    VELLUM_UNREACHABLE();
  }
  if (encoded.size() > kLogEntryHeaderSize) {
    return Status::Corruption("log entry header: " + Num(encoded.size() - kLogEntryHeaderSize) +
                              " trailing bytes");
  }
  const uint8_t* p = encoded.data();
  LogEntryHeader header;
  header.index = DecodeFixed64BE(p + 1);
  header.term = DecodeFixed64BE(p + 9);
  header.version = DecodeFixed64BE(p + 17);
  header.time_micros = DecodeFixed64BE(p + 25);
  std::memcpy(header.prev_entry_hash.data(), p + 33, 32);
  std::memcpy(header.state_root_after.data(), p + 65, 32);
  std::memcpy(header.payload_hash.data(), p + 97, 32);
  std::memcpy(header.key_share_set_id.data(), p + 129, 32);
  Status fields = CheckHeaderFields(header);
  if (!fields.ok()) return Status::Corruption("log entry header: " + fields.message());
  return header;
}

crypto::Hash256 LogEntryHash(ByteView encoded_header, ByteView payload_ciphertext) {
  crypto::Sha256Hasher hasher;
  hasher.Update(AsBytes(kEntryHashDomain)).Update(encoded_header).Update(payload_ciphertext);
  return hasher.Finish();
}

Bytes EncodeStoredEntry(ByteView encoded_header, ByteView payload_ciphertext) {
  Bytes out;
  out.reserve(1 + 10 + encoded_header.size() + 10 + payload_ciphertext.size());
  out.push_back(kStoredEntryFormat);
  PutVarint64(&out, encoded_header.size());
  out.insert(out.end(), encoded_header.begin(), encoded_header.end());
  PutVarint64(&out, payload_ciphertext.size());
  out.insert(out.end(), payload_ciphertext.begin(), payload_ciphertext.end());
  return out;
}

Result<StoredEntry> DecodeStoredEntry(ByteView encoded) {
  if (encoded.empty()) return Status::Corruption("stored log entry: empty");
  if (encoded[0] != kStoredEntryFormat) {
    return Status::NotSupported("stored log entry format version " + Num(encoded[0]) +
                                " is not supported (this build reads version 1)");
  }
  ByteView in = encoded.subspan(1);
  uint64_t header_size = 0;
  if (in.empty()) return Status::Corruption("stored log entry: truncated at header length");
  if (!GetVarint64(&in, &header_size)) {
    return Status::Corruption("stored log entry: bad varint at header length");
  }
  if (in.size() < header_size) return Status::Corruption("stored log entry: truncated in header");
  // The header decoder reports a header of the wrong size (or of another version).
  const ByteView header_bytes = in.first(static_cast<size_t>(header_size));
  in = in.subspan(static_cast<size_t>(header_size));
  Result<LogEntryHeader> header = DecodeLogEntryHeader(header_bytes);
  if (!header.ok()) return header.status().WithContext("stored log entry");
  uint64_t payload_size = 0;
  if (in.empty()) return Status::Corruption("stored log entry: truncated at payload length");
  if (!GetVarint64(&in, &payload_size)) {
    return Status::Corruption("stored log entry: bad varint at payload length");
  }
  if (payload_size < kMinPayloadCiphertextSize) {
    return Status::Corruption("stored log entry: payload length " + Num(payload_size) +
                              " is below the AEAD overhead of " + Num(kMinPayloadCiphertextSize));
  }
  if (in.size() < payload_size) {
    return Status::Corruption("stored log entry: truncated in payload (" + Num(in.size()) + " of " +
                              Num(payload_size) + " bytes)");
  }
  if (in.size() > payload_size) {
    return Status::Corruption("stored log entry: " + Num(in.size() - payload_size) +
                              " trailing bytes");
  }
  const crypto::Hash256 payload_hash = crypto::Sha256(in);
  if (payload_hash != header->payload_hash) {
    return Status::Corruption("log entry " + Num(header->index) +
                              ": the payload does not match the header's payload_hash");
  }
  StoredEntry entry;
  entry.header = std::move(header).value();
  entry.encoded_header.assign(header_bytes.begin(), header_bytes.end());
  entry.payload_ciphertext.assign(in.begin(), in.end());
  entry.entry_hash = LogEntryHash(entry.encoded_header, entry.payload_ciphertext);
  return entry;
}

Bytes LogPayloadAssociatedData(uint64_t index) {
  Bytes ad;
  ad.reserve(kPayloadDomain.size() + 8);
  ad.insert(ad.end(), kPayloadDomain.begin(), kPayloadDomain.end());
  PutFixed64BE(&ad, index);
  return ad;
}

Result<PreparedEntryKey> PrepareEntryKey(const KeyHolders& holders, RandomSource& random) {
  VELLUM_ASSIGN_OR_RETURN(ShareSealer sealer, ShareSealer::Create(holders, random));
  return PrepareEntryKey(sealer, random);
}

Result<PreparedEntryKey> PrepareEntryKey(const ShareSealer& sealer, RandomSource& random) {
  PreparedEntryKey key;
  key.entry_key = crypto::XChaCha20Poly1305::GenerateKey(random);
  VELLUM_ASSIGN_OR_RETURN(ShareSet share_set, sealer.Split(key.entry_key, random));
  key.encoded_share_set = EncodeShareSet(share_set);
  key.holders_id = sealer.holders_id();
  return key;
}

Result<SealedEntry> SealLogEntry(const LogEntryHeader& header_without_hashes,
                                 ByteView payload_plaintext, const KeyHolders& holders,
                                 RandomSource& random) {
  Status fields = CheckHeaderFields(header_without_hashes);
  if (!fields.ok()) return Status::InvalidArgument("sealing a log entry: " + fields.message());
  VELLUM_ASSIGN_OR_RETURN(PreparedEntryKey key, PrepareEntryKey(holders, random));
  return SealLogEntry(header_without_hashes, payload_plaintext, std::move(key), random);
}

Result<SealedEntry> SealLogEntry(const LogEntryHeader& header_without_hashes,
                                 ByteView payload_plaintext, PreparedEntryKey key,
                                 RandomSource& random) {
  Status fields = CheckHeaderFields(header_without_hashes);
  if (!fields.ok()) return Status::InvalidArgument("sealing a log entry: " + fields.message());
  if (key.entry_key.size() != kEntryKeySize || key.encoded_share_set.empty()) {
    return Status::InvalidArgument("sealing a log entry: the prepared entry key is empty");
  }
  SealedEntry sealed;
  sealed.header = header_without_hashes;
  VELLUM_ASSIGN_OR_RETURN(
      sealed.payload_ciphertext,
      crypto::XChaCha20Poly1305::Seal(key.entry_key, payload_plaintext,
                                      LogPayloadAssociatedData(sealed.header.index), random));
  sealed.encoded_share_set = std::move(key.encoded_share_set);
  sealed.header.payload_hash = crypto::Sha256(sealed.payload_ciphertext);
  sealed.header.key_share_set_id = ShareSetId(sealed.encoded_share_set);
  sealed.encoded_header = EncodeLogEntryHeader(sealed.header);
  sealed.entry_hash = LogEntryHash(sealed.encoded_header, sealed.payload_ciphertext);
  return sealed;
}

Status CheckLink(const StoredEntry& previous, const StoredEntry& next) {
  const LogEntryHeader& p = previous.header;
  const LogEntryHeader& n = next.header;
  const std::string where = "log entry " + Num(n.index) + ": ";
  if (p.index == UINT64_MAX || n.index != p.index + 1) {
    return Status::Corruption(where + "follows entry " + Num(p.index) +
                              " (indexes must be consecutive)");
  }
  if (n.prev_entry_hash != previous.entry_hash) {
    return Status::Corruption(where + "prev_entry_hash does not match the hash of entry " +
                              Num(p.index));
  }
  if (n.version <= p.version) {
    return Status::Corruption(where + "version " + Num(n.version) +
                              " is not greater than the previous entry's " + Num(p.version));
  }
  if (n.term < p.term) {
    return Status::Corruption(where + "term " + Num(n.term) + " is below the previous entry's " +
                              Num(p.term));
  }
  return Status::OK();
}

Result<Bytes> OpenLogPayload(const StoredEntry& entry, const crypto::SecureBytes& entry_key) {
  if (entry_key.size() != kEntryKeySize) {
    return Status::InvalidArgument("an entry key must be " + Num(kEntryKeySize) + " bytes, got " +
                                   Num(entry_key.size()));
  }
  Result<Bytes> plaintext = crypto::XChaCha20Poly1305::Open(
      entry_key, entry.payload_ciphertext, LogPayloadAssociatedData(entry.header.index));
  if (!plaintext.ok()) {
    if (plaintext.status().IsCorruption()) {
      return Status::Corruption("log entry " + Num(entry.header.index) +
                                ": the payload does not open with the entry key (wrong key, or "
                                "the payload was altered or moved)");
    }
    return plaintext.status();
  }
  return plaintext;
}

Result<Bytes> OpenLogEntry(const StoredEntry& entry, ByteView encoded_share_set,
                           std::span<const crypto::X25519KeyPair> holder_keys) {
  const std::string where = "log entry " + Num(entry.header.index);
  if (ShareSetId(encoded_share_set) != entry.header.key_share_set_id) {
    return Status::Corruption(where + ": the share set is not the one its header names");
  }
  Result<ShareSet> share_set = DecodeShareSet(encoded_share_set);
  if (!share_set.ok()) return share_set.status().WithContext(where);
  Result<crypto::SecureBytes> key = RecoverEntryKey(*share_set, holder_keys);
  if (!key.ok()) return key.status().WithContext(where);
  return OpenLogPayload(entry, *key);
}

}  // namespace vellum::logchain
