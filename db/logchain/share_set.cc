// Copyright (c) Vellum authors.

#include "db/logchain/share_set.h"

#include <algorithm>
#include <cstring>
#include <string>
#include <string_view>
#include <utility>

#include "crypto/hkdf.h"
#include "crypto/shamir.h"
#include "vellum/check.h"

namespace vellum::logchain {

namespace {

constexpr uint8_t kSharePlaintextFormat = 1;
constexpr std::string_view kKeyHoldersDomain = "vellum-key-holders-v1";
constexpr std::string_view kShareSetDomain = "vellum-share-set-v1";
constexpr std::string_view kWrapInfo = "vellum-share-wrap-v2";

constexpr size_t kHolderKeySize = std::tuple_size_v<crypto::X25519PublicKey>;
constexpr size_t kNonceSize = crypto::XChaCha20Poly1305::kNonceSize;
// Format, threshold, count; version 2 adds the sender key and the nonce.
constexpr size_t kV1HeaderSize = 3;
constexpr size_t kV2HeaderSize = 3 + kHolderKeySize + kNonceSize;
constexpr size_t kSplitIdSize = crypto::ShamirShare::kSplitIdSize;
constexpr size_t kShamirDataSize = kEntryKeySize + 16;
static_assert(kSharePlaintextSize == 3 + kSplitIdSize + kShamirDataSize);

Status ShareSetCorruption(const std::string& what) {
  return Status::Corruption("share set: " + what);
}

std::string Num(uint64_t v) { return std::to_string(v); }

// The sealed plaintext of one share (kSharePlaintextSize bytes).
crypto::SecureBytes EncodeSharePlaintext(const crypto::ShamirShare& share) {
  VELLUM_CHECK_EQ(share.data.size(), kShamirDataSize);
  crypto::SecureBytes out(kSharePlaintextSize);
  out[0] = kSharePlaintextFormat;
  out[1] = share.index;
  out[2] = share.threshold;
  std::memcpy(out.data() + 3, share.split_id.data(), kSplitIdSize);
  std::memcpy(out.data() + 3 + kSplitIdSize, share.data.data(), kShamirDataSize);
  return out;
}

// Parses an opened share; `position` is its place in the set (0-based).
Result<crypto::ShamirShare> DecodeSharePlaintext(const crypto::SecureBytes& plaintext,
                                                 size_t position, uint8_t threshold) {
  const std::string where = "share " + Num(position + 1) + ": ";
  if (plaintext.size() != kSharePlaintextSize) {
    return Status::Corruption(where + "opened share has " + Num(plaintext.size()) +
                              " bytes, expected " + Num(kSharePlaintextSize));
  }
  if (plaintext[0] != kSharePlaintextFormat) {
    return Status::Corruption(where + "opened share has format " + Num(plaintext[0]) +
                              ", expected " + Num(kSharePlaintextFormat));
  }
  crypto::ShamirShare share;
  share.index = plaintext[1];
  share.threshold = plaintext[2];
  if (share.index != position + 1) {
    return Status::Corruption(where + "opened share has index " + Num(share.index) + ", expected " +
                              Num(position + 1));
  }
  if (share.threshold != threshold) {
    return Status::Corruption(where + "opened share has threshold " + Num(share.threshold) +
                              ", the share set says " + Num(threshold));
  }
  std::memcpy(share.split_id.data(), plaintext.data() + 3, kSplitIdSize);
  share.data = crypto::SecureBytes::CopyFrom(plaintext.view().subspan(3 + kSplitIdSize));
  return share;
}

size_t ShareSizeOf(uint8_t format) {
  return format == kShareSetFormatV1 ? kSealedShareSize : kEncryptedShareSize;
}

size_t HeaderSizeOf(uint8_t format) {
  return format == kShareSetFormatV1 ? kV1HeaderSize : kV2HeaderSize;
}

// The key that wraps shares from `sender` to `holder` (version 2).
Result<crypto::SecureBytes> WrapKey(const crypto::SecureBytes& shared_secret,
                                    const crypto::X25519PublicKey& sender,
                                    const crypto::X25519PublicKey& holder) {
  Bytes salt(sender.begin(), sender.end());
  salt.insert(salt.end(), holder.begin(), holder.end());
  return crypto::HkdfSha256(shared_secret.view(), salt, AsBytes(kWrapInfo),
                            crypto::XChaCha20Poly1305::kKeySize);
}

// The set's header as encoded: format, threshold, count and, in version 2, the sender
// key and the nonce.
void AppendHeader(const ShareSet& set, Bytes* out) {
  out->push_back(set.format);
  out->push_back(set.threshold);
  out->push_back(static_cast<uint8_t>(set.shares.size()));
  if (set.format == kShareSetFormatV2) {
    out->insert(out->end(), set.sender.begin(), set.sender.end());
    out->insert(out->end(), set.nonce.begin(), set.nonce.end());
  }
}

// The associated data of share `position` of a version 2 set: the set's header, the
// share's index and its holder, so a share moved to another place, set or holder does
// not open.
Bytes ShareAd(const ShareSet& set, size_t position) {
  const crypto::X25519PublicKey& holder = set.shares[position].holder;
  Bytes ad;
  ad.reserve(kV2HeaderSize + 1 + kHolderKeySize);
  AppendHeader(set, &ad);
  ad.push_back(static_cast<uint8_t>(position + 1));
  ad.insert(ad.end(), holder.begin(), holder.end());
  return ad;
}

// Opens share `position` with its holder's key pair. The caller reports any failure
// in its own words (a share that does not open), whatever the cause.
Result<crypto::SecureBytes> OpenShare(const ShareSet& set, size_t position,
                                      const crypto::X25519KeyPair& key) {
  const SealedShare& share = set.shares[position];
  if (set.format == kShareSetFormatV1) return crypto::SealedBox::Open(key, share.sealed);
  VELLUM_ASSIGN_OR_RETURN(crypto::SecureBytes shared, crypto::X25519SharedSecret(key, set.sender));
  VELLUM_ASSIGN_OR_RETURN(crypto::SecureBytes wrap, WrapKey(shared, set.sender, share.holder));
  VELLUM_ASSIGN_OR_RETURN(
      Bytes plaintext,
      crypto::XChaCha20Poly1305::Decrypt(wrap, set.nonce, share.sealed, ShareAd(set, position)));
  crypto::SecureBytes out = crypto::SecureBytes::CopyFrom(plaintext);
  crypto::SecureWipe(plaintext.data(), plaintext.size());
  return out;
}

}  // namespace

Status ValidateKeyHolders(const KeyHolders& holders) {
  const size_t n = holders.holders.size();
  if (n < 1 || n > kMaxKeyHolders) {
    return Status::InvalidArgument("key holders: need 1 to 255 holders, got " + Num(n));
  }
  if (holders.threshold < 1 || static_cast<size_t>(holders.threshold) > n) {
    return Status::InvalidArgument(
        "key holders: the threshold must be between 1 and the number "
        "of holders (" +
        Num(n) + "), got " + std::to_string(holders.threshold));
  }
  std::vector<std::pair<crypto::X25519PublicKey, size_t>> sorted;
  sorted.reserve(n);
  for (size_t i = 0; i < n; ++i) sorted.emplace_back(holders.holders[i], i);
  std::sort(sorted.begin(), sorted.end());
  for (size_t i = 1; i < n; ++i) {
    if (sorted[i].first == sorted[i - 1].first) {
      return Status::InvalidArgument("key holders: holder " + Num(sorted[i].second + 1) +
                                     " repeats holder " + Num(sorted[i - 1].second + 1));
    }
  }
  return Status::OK();
}

crypto::Hash256 KeyHoldersId(const KeyHolders& holders) {
  Bytes header;
  header.reserve(8);
  PutFixed32BE(&header, static_cast<uint32_t>(holders.threshold));
  PutFixed32BE(&header, static_cast<uint32_t>(holders.holders.size()));
  crypto::Sha256Hasher hasher;
  hasher.Update(AsBytes(kKeyHoldersDomain)).Update(header);
  for (const crypto::X25519PublicKey& holder : holders.holders) hasher.Update(holder);
  return hasher.Finish();
}

Result<ShareSealer> ShareSealer::Create(const KeyHolders& holders, RandomSource& random) {
  VELLUM_RETURN_IF_ERROR(ValidateKeyHolders(holders));
  ShareSealer sealer;
  sealer.holders_ = holders;
  sealer.holders_id_ = KeyHoldersId(holders);
  // Wiped when it goes out of scope: only the wrapping keys are kept.
  const crypto::X25519KeyPair sender = crypto::X25519KeyPair::Generate(random);
  sealer.sender_ = sender.public_key();
  sealer.wrap_keys_.reserve(holders.holders.size());
  for (size_t i = 0; i < holders.holders.size(); ++i) {
    Result<crypto::SecureBytes> shared = crypto::X25519SharedSecret(sender, holders.holders[i]);
    if (!shared.ok()) {
      return Status::InvalidArgument("cannot seal to holder " + Num(i + 1) +
                                     ": its X25519 public key is a low-order point");
    }
    VELLUM_ASSIGN_OR_RETURN(crypto::SecureBytes wrap,
                            WrapKey(*shared, sealer.sender_, holders.holders[i]));
    sealer.wrap_keys_.push_back(std::move(wrap));
  }
  return sealer;
}

Result<ShareSet> ShareSealer::Split(const crypto::SecureBytes& entry_key,
                                    RandomSource& random) const {
  if (entry_key.size() != kEntryKeySize) {
    return Status::InvalidArgument("an entry key must be " + Num(kEntryKeySize) + " bytes, got " +
                                   Num(entry_key.size()));
  }
  const int n = static_cast<int>(holders_.holders.size());
  VELLUM_ASSIGN_OR_RETURN(std::vector<crypto::ShamirShare> shares,
                          crypto::ShamirSplit(entry_key.view(), holders_.threshold, n, random));
  VELLUM_CHECK_EQ(shares.size(), holders_.holders.size());
  ShareSet set;
  set.format = kShareSetFormatV2;
  set.threshold = static_cast<uint8_t>(holders_.threshold);
  set.sender = sender_;
  random.Fill(set.nonce);
  set.shares.resize(shares.size());
  for (size_t i = 0; i < shares.size(); ++i) set.shares[i].holder = holders_.holders[i];
  for (size_t i = 0; i < shares.size(); ++i) {
    const crypto::SecureBytes plaintext = EncodeSharePlaintext(shares[i]);
    Result<Bytes> sealed = crypto::XChaCha20Poly1305::Encrypt(wrap_keys_[i], set.nonce,
                                                              plaintext.view(), ShareAd(set, i));
    if (!sealed.ok()) return sealed.status().WithContext("sealing share " + Num(i + 1));
    VELLUM_CHECK_EQ(sealed->size(), kEncryptedShareSize);
    set.shares[i].sealed = std::move(sealed).value();
  }
  return set;
}

Result<ShareSet> SplitEntryKey(const crypto::SecureBytes& entry_key, const KeyHolders& holders,
                               RandomSource& random) {
  VELLUM_ASSIGN_OR_RETURN(ShareSealer sealer, ShareSealer::Create(holders, random));
  return sealer.Split(entry_key, random);
}

Bytes EncodeShareSet(const ShareSet& share_set) {
  const size_t n = share_set.shares.size();
  VELLUM_CHECK_MSG(share_set.format == kShareSetFormatV1 || share_set.format == kShareSetFormatV2,
                   "a share set has format version 1 or 2");
  VELLUM_CHECK_MSG(n >= 1 && n <= kMaxKeyHolders, "a share set has 1 to 255 shares");
  VELLUM_CHECK_MSG(share_set.threshold >= 1 && share_set.threshold <= n,
                   "a share set's threshold is between 1 and its number of shares");
  const size_t share_size = ShareSizeOf(share_set.format);
  Bytes out;
  out.reserve(HeaderSizeOf(share_set.format) + n * (kHolderKeySize + share_size));
  AppendHeader(share_set, &out);
  for (const SealedShare& share : share_set.shares) {
    VELLUM_CHECK_MSG(share.sealed.size() == share_size, "a sealed share has a fixed size");
    out.insert(out.end(), share.holder.begin(), share.holder.end());
    out.insert(out.end(), share.sealed.begin(), share.sealed.end());
  }
  return out;
}

Result<ShareSet> DecodeShareSet(ByteView encoded) {
  if (encoded.empty()) return ShareSetCorruption("empty");
  const uint8_t format = encoded[0];
  if (format != kShareSetFormatV1 && format != kShareSetFormatV2) {
    return Status::NotSupported("share set format version " + Num(format) +
                                " is not supported (this build reads versions 1 and 2)");
  }
  if (encoded.size() < 2) return ShareSetCorruption("truncated at threshold");
  if (encoded.size() < 3) return ShareSetCorruption("truncated at share count");
  ShareSet set;
  set.format = format;
  set.threshold = encoded[1];
  const size_t n = encoded[2];
  if (n == 0) return ShareSetCorruption("no shares");
  if (set.threshold == 0 || set.threshold > n) {
    return ShareSetCorruption("threshold " + Num(set.threshold) + " is out of range for " + Num(n) +
                              " shares");
  }
  const size_t header_size = HeaderSizeOf(format);
  const size_t record_size = kHolderKeySize + ShareSizeOf(format);
  if (format == kShareSetFormatV2) {
    if (encoded.size() < 3 + kHolderKeySize) return ShareSetCorruption("truncated at sender key");
    if (encoded.size() < header_size) return ShareSetCorruption("truncated at nonce");
    std::memcpy(set.sender.data(), encoded.data() + 3, kHolderKeySize);
    std::memcpy(set.nonce.data(), encoded.data() + 3 + kHolderKeySize, kNonceSize);
  }
  const size_t expected = header_size + n * record_size;
  if (encoded.size() < expected) {
    const size_t available = encoded.size() - header_size;
    const size_t share = available / record_size;
    const bool in_key = available % record_size < kHolderKeySize;
    return ShareSetCorruption("truncated at share " + Num(share + 1) +
                              (in_key ? " holder key" : " sealed share"));
  }
  if (encoded.size() > expected) {
    return ShareSetCorruption(Num(encoded.size() - expected) + " trailing bytes");
  }
  set.shares.resize(n);
  const uint8_t* p = encoded.data() + header_size;
  for (size_t i = 0; i < n; ++i) {
    std::memcpy(set.shares[i].holder.data(), p, kHolderKeySize);
    set.shares[i].sealed.assign(p + kHolderKeySize, p + record_size);
    p += record_size;
  }
  // A repeated holder would let one key count twice towards the threshold.
  std::vector<std::pair<crypto::X25519PublicKey, size_t>> sorted;
  sorted.reserve(n);
  for (size_t i = 0; i < n; ++i) sorted.emplace_back(set.shares[i].holder, i);
  std::sort(sorted.begin(), sorted.end());
  for (size_t i = 1; i < n; ++i) {
    if (sorted[i].first == sorted[i - 1].first) {
      const size_t a = std::min(sorted[i].second, sorted[i - 1].second);
      const size_t b = std::max(sorted[i].second, sorted[i - 1].second);
      return ShareSetCorruption("the holder of share " + Num(b + 1) + " repeats that of share " +
                                Num(a + 1));
    }
  }
  return set;
}

crypto::Hash256 ShareSetId(ByteView encoded_share_set) {
  crypto::Sha256Hasher hasher;
  hasher.Update(AsBytes(kShareSetDomain)).Update(encoded_share_set);
  return hasher.Finish();
}

Result<crypto::SecureBytes> RecoverEntryKey(const ShareSet& share_set,
                                            std::span<const crypto::X25519KeyPair> holder_keys) {
  const size_t n = share_set.shares.size();
  if (share_set.format != kShareSetFormatV1 && share_set.format != kShareSetFormatV2) {
    return Status::NotSupported("share set format version " + Num(share_set.format) +
                                " is not supported (this build reads versions 1 and 2)");
  }
  if (n == 0 || n > kMaxKeyHolders) return ShareSetCorruption("bad number of shares " + Num(n));
  if (share_set.threshold == 0 || share_set.threshold > n) {
    return ShareSetCorruption("threshold " + Num(share_set.threshold) + " is out of range for " +
                              Num(n) + " shares");
  }
  // Which key opens which share (each share at most once).
  std::vector<std::pair<size_t, const crypto::X25519KeyPair*>> matches;
  for (size_t i = 0; i < n; ++i) {
    for (const crypto::X25519KeyPair& key : holder_keys) {
      if (key.public_key() == share_set.shares[i].holder) {
        matches.emplace_back(i, &key);
        break;
      }
    }
  }
  if (matches.size() < share_set.threshold) {
    return Status::FailedPrecondition("need " + Num(share_set.threshold) +
                                      " holder keys for this entry, got " + Num(matches.size()) +
                                      " that match");
  }
  std::vector<crypto::ShamirShare> shares;
  shares.reserve(matches.size());
  for (const auto& [position, key] : matches) {
    Result<crypto::SecureBytes> opened = OpenShare(share_set, position, *key);
    if (!opened.ok()) {
      return Status::Corruption("share " + Num(position + 1) +
                                " does not open with its holder's key: it was altered or sealed "
                                "to another key");
    }
    VELLUM_ASSIGN_OR_RETURN(crypto::ShamirShare share,
                            DecodeSharePlaintext(*opened, position, share_set.threshold));
    shares.push_back(std::move(share));
  }
  Result<crypto::SecureBytes> key = crypto::ShamirCombine(shares);
  if (!key.ok()) {
    // Shares that open but do not combine were mixed from other entries or altered by
    // someone who could seal to the holders.
    return Status::Corruption("the entry key shares do not combine: " + key.status().message());
  }
  if (key->size() != kEntryKeySize) {
    return Status::Corruption("the recovered entry key has " + Num(key->size()) +
                              " bytes, expected " + Num(kEntryKeySize));
  }
  return key;
}

}  // namespace vellum::logchain
