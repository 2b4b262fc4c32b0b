// Copyright (c) Vellum authors.

#include "db/logchain/share_set.h"

#include <algorithm>
#include <cstring>
#include <string>
#include <string_view>
#include <utility>

#include "crypto/shamir.h"
#include "vellum/check.h"

namespace vellum::logchain {

namespace {

constexpr uint8_t kShareSetFormat = 1;
constexpr uint8_t kSharePlaintextFormat = 1;
constexpr std::string_view kKeyHoldersDomain = "vellum-key-holders-v1";
constexpr std::string_view kShareSetDomain = "vellum-share-set-v1";

constexpr size_t kShareSetHeaderSize = 3;  // format, threshold, count
constexpr size_t kHolderKeySize = std::tuple_size_v<crypto::X25519PublicKey>;
constexpr size_t kShareRecordSize = kHolderKeySize + kSealedShareSize;
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

Result<ShareSet> SplitEntryKey(const crypto::SecureBytes& entry_key, const KeyHolders& holders,
                               RandomSource& random) {
  VELLUM_RETURN_IF_ERROR(ValidateKeyHolders(holders));
  if (entry_key.size() != kEntryKeySize) {
    return Status::InvalidArgument("an entry key must be " + Num(kEntryKeySize) + " bytes, got " +
                                   Num(entry_key.size()));
  }
  const int n = static_cast<int>(holders.holders.size());
  VELLUM_ASSIGN_OR_RETURN(std::vector<crypto::ShamirShare> shares,
                          crypto::ShamirSplit(entry_key.view(), holders.threshold, n, random));
  VELLUM_CHECK_EQ(shares.size(), holders.holders.size());
  ShareSet set;
  set.threshold = static_cast<uint8_t>(holders.threshold);
  set.shares.reserve(shares.size());
  for (size_t i = 0; i < shares.size(); ++i) {
    const crypto::SecureBytes plaintext = EncodeSharePlaintext(shares[i]);
    Result<Bytes> sealed = crypto::SealedBox::Seal(holders.holders[i], plaintext.view());
    if (!sealed.ok()) return sealed.status().WithContext("sealing share " + Num(i + 1));
    VELLUM_CHECK_EQ(sealed->size(), kSealedShareSize);
    set.shares.push_back({holders.holders[i], std::move(sealed).value()});
  }
  return set;
}

Bytes EncodeShareSet(const ShareSet& share_set) {
  const size_t n = share_set.shares.size();
  VELLUM_CHECK_MSG(n >= 1 && n <= kMaxKeyHolders, "a share set has 1 to 255 shares");
  VELLUM_CHECK_MSG(share_set.threshold >= 1 && share_set.threshold <= n,
                   "a share set's threshold is between 1 and its number of shares");
  Bytes out;
  out.reserve(kShareSetHeaderSize + n * kShareRecordSize);
  out.push_back(kShareSetFormat);
  out.push_back(share_set.threshold);
  out.push_back(static_cast<uint8_t>(n));
  for (const SealedShare& share : share_set.shares) {
    VELLUM_CHECK_MSG(share.sealed.size() == kSealedShareSize, "a sealed share has a fixed size");
    out.insert(out.end(), share.holder.begin(), share.holder.end());
    out.insert(out.end(), share.sealed.begin(), share.sealed.end());
  }
  return out;
}

Result<ShareSet> DecodeShareSet(ByteView encoded) {
  if (encoded.empty()) return ShareSetCorruption("empty");
  if (encoded[0] != kShareSetFormat) {
    return Status::NotSupported("share set format version " + Num(encoded[0]) +
                                " is not supported (this build reads version 1)");
  }
  if (encoded.size() < 2) return ShareSetCorruption("truncated at threshold");
  if (encoded.size() < 3) return ShareSetCorruption("truncated at share count");
  ShareSet set;
  set.threshold = encoded[1];
  const size_t n = encoded[2];
  if (n == 0) return ShareSetCorruption("no shares");
  if (set.threshold == 0 || set.threshold > n) {
    return ShareSetCorruption("threshold " + Num(set.threshold) + " is out of range for " + Num(n) +
                              " shares");
  }
  const size_t expected = kShareSetHeaderSize + n * kShareRecordSize;
  if (encoded.size() < expected) {
    const size_t available = encoded.size() - kShareSetHeaderSize;
    const size_t share = available / kShareRecordSize;
    const bool in_key = available % kShareRecordSize < kHolderKeySize;
    return ShareSetCorruption("truncated at share " + Num(share + 1) +
                              (in_key ? " holder key" : " sealed share"));
  }
  if (encoded.size() > expected) {
    return ShareSetCorruption(Num(encoded.size() - expected) + " trailing bytes");
  }
  set.shares.resize(n);
  const uint8_t* p = encoded.data() + kShareSetHeaderSize;
  for (size_t i = 0; i < n; ++i) {
    std::memcpy(set.shares[i].holder.data(), p, kHolderKeySize);
    set.shares[i].sealed.assign(p + kHolderKeySize, p + kShareRecordSize);
    p += kShareRecordSize;
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
    const SealedShare& sealed = share_set.shares[position];
    Result<crypto::SecureBytes> opened = crypto::SealedBox::Open(*key, sealed.sealed);
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
