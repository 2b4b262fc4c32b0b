// Copyright (c) Vellum authors.
//
// Share sets: holder policies, splitting and recovering entry keys with exactly k,
// more than k, fewer than k and wrong holder keys, the binary formats (version 2
// written, version 1 still read), sealers, and tampering.

#include "db/logchain/share_set.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "crypto/hkdf.h"
#include "crypto/random.h"
#include "crypto/shamir.h"
#include "tests/db/logchain/logchain_test_util.h"
#include "tests/test_util.h"

namespace vellum::logchain {
namespace {

using crypto::SecureBytes;
using crypto::X25519KeyPair;
using ::vellum::logchain::testing::Holders;
using ::vellum::logchain::testing::MakeHolders;

SecureBytes MakeKey(uint64_t seed) {
  crypto::SeededRandom random(seed);
  SecureBytes key(kEntryKeySize);
  random.Fill(key.span());
  return key;
}

// The key pairs of `holders` picked by `positions`.
std::vector<X25519KeyPair> Pick(const Holders& holders, const std::vector<size_t>& positions) {
  std::vector<X25519KeyPair> out;
  for (size_t p : positions) {
    auto copy = X25519KeyPair::FromSecretKey(holders.keys[p].secret_key());
    EXPECT_TRUE(copy.ok());
    out.push_back(std::move(copy).value());
  }
  return out;
}

// A version 1 share set, built as docs/formats/log-entry.md describes it (sealed
// boxes, one ephemeral key per share): what ledgers written before version 2 hold.
ShareSet SplitVersion1(const SecureBytes& entry_key, const KeyHolders& holders,
                       RandomSource& random) {
  const int n = static_cast<int>(holders.holders.size());
  auto shares = crypto::ShamirSplit(entry_key.view(), holders.threshold, n, random);
  EXPECT_TRUE(shares.ok());
  ShareSet set;
  set.format = kShareSetFormatV1;
  set.threshold = static_cast<uint8_t>(holders.threshold);
  for (int i = 0; i < n; ++i) {
    const crypto::ShamirShare& share = (*shares)[i];
    Bytes plaintext = {1, share.index, share.threshold};
    plaintext.insert(plaintext.end(), share.split_id.begin(), share.split_id.end());
    plaintext.insert(plaintext.end(), share.data.view().begin(), share.data.view().end());
    auto sealed = crypto::SealedBox::Seal(holders.holders[i], plaintext);
    EXPECT_TRUE(sealed.ok());
    set.shares.push_back({holders.holders[i], std::move(sealed).value()});
  }
  return set;
}

// Every subset of {0..n-1}, as bit masks, with its positions.
std::vector<size_t> Positions(uint32_t mask, size_t n) {
  std::vector<size_t> out;
  for (size_t i = 0; i < n; ++i) {
    if (mask & (1u << i)) out.push_back(i);
  }
  return out;
}

TEST(KeyHoldersTest, Validation) {
  Holders h = MakeHolders(3, 2, 1);
  EXPECT_OK(ValidateKeyHolders(h.policy));
  KeyHolders bad = h.policy;
  bad.threshold = 0;
  EXPECT_CODE(ValidateKeyHolders(bad), kInvalidArgument);
  bad.threshold = 4;
  EXPECT_CODE(ValidateKeyHolders(bad), kInvalidArgument);
  bad.threshold = -1;
  EXPECT_CODE(ValidateKeyHolders(bad), kInvalidArgument);
  bad = h.policy;
  bad.holders.clear();
  bad.threshold = 1;
  const Status none = ValidateKeyHolders(bad);
  EXPECT_CODE(none, kInvalidArgument);
  EXPECT_EQ(none.message(), "key holders: need 1 to 255 holders, got 0");
  bad = h.policy;
  bad.holders.push_back(bad.holders[0]);
  const Status repeated = ValidateKeyHolders(bad);
  EXPECT_CODE(repeated, kInvalidArgument);
  EXPECT_EQ(repeated.message(), "key holders: holder 4 repeats holder 1");
  bad.holders.assign(256, {});
  for (size_t i = 0; i < 256; ++i)
    bad.holders[i][0] = static_cast<uint8_t>(i), bad.holders[i][1] = static_cast<uint8_t>(i >> 8);
  EXPECT_CODE(ValidateKeyHolders(bad), kInvalidArgument);
  bad.holders.resize(255);
  bad.threshold = 255;
  EXPECT_OK(ValidateKeyHolders(bad));
}

TEST(KeyHoldersTest, IdIsDefinedAndOrderSensitive) {
  Holders h = MakeHolders(3, 2, 2);
  Bytes preimage = ToBytes("vellum-key-holders-v1");
  PutFixed32BE(&preimage, 2);
  PutFixed32BE(&preimage, 3);
  for (const auto& holder : h.policy.holders) {
    preimage.insert(preimage.end(), holder.begin(), holder.end());
  }
  EXPECT_EQ(KeyHoldersId(h.policy), crypto::Sha256(preimage));
  KeyHolders other = h.policy;
  std::swap(other.holders[0], other.holders[1]);
  EXPECT_NE(KeyHoldersId(other), KeyHoldersId(h.policy));
  other = h.policy;
  other.threshold = 3;
  EXPECT_NE(KeyHoldersId(other), KeyHoldersId(h.policy));
}

TEST(ShareSetTest, RecoverWithEverySubsetOfHolders) {
  const std::pair<int, int> policies[] = {{1, 1}, {1, 3}, {2, 3}, {3, 3}, {2, 5}, {4, 5}};
  uint64_t seed = 100;
  for (const auto& [k, n] : policies) {
    SCOPED_TRACE(std::to_string(k) + " of " + std::to_string(n));
    Holders holders = MakeHolders(n, k, ++seed);
    const SecureBytes key = MakeKey(++seed);
    crypto::SeededRandom random(++seed);
    auto set = SplitEntryKey(key, holders.policy, random);
    ASSERT_TRUE(set.ok()) << set.status().ToString();
    ASSERT_EQ(set->format, kShareSetFormatV2);
    ASSERT_EQ(set->threshold, k);
    ASSERT_EQ(set->shares.size(), static_cast<size_t>(n));
    for (int i = 0; i < n; ++i) {
      EXPECT_EQ(set->shares[i].holder, holders.policy.holders[i]);
      EXPECT_EQ(set->shares[i].sealed.size(), kEncryptedShareSize);
    }
    // Round trip through the binary form.
    const Bytes encoded = EncodeShareSet(*set);
    EXPECT_EQ(encoded.size(), 59 + static_cast<size_t>(n) * (32 + kEncryptedShareSize));
    auto decoded = DecodeShareSet(encoded);
    ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
    EXPECT_EQ(EncodeShareSet(*decoded), encoded);
    // A version 1 set of the same key reads the same way.
    const Bytes encoded_v1 = EncodeShareSet(SplitVersion1(key, holders.policy, random));
    EXPECT_EQ(encoded_v1.size(), 3 + static_cast<size_t>(n) * (32 + kSealedShareSize));
    auto decoded_v1 = DecodeShareSet(encoded_v1);
    ASSERT_TRUE(decoded_v1.ok()) << decoded_v1.status().ToString();
    EXPECT_EQ(decoded_v1->format, kShareSetFormatV1);
    EXPECT_EQ(EncodeShareSet(*decoded_v1), encoded_v1);

    for (uint32_t mask = 0; mask < (1u << n); ++mask) {
      const std::vector<size_t> positions = Positions(mask, static_cast<size_t>(n));
      const std::vector<X25519KeyPair> keys = Pick(holders, positions);
      for (const ShareSet* read : {&*decoded, &*decoded_v1}) {
        auto recovered = RecoverEntryKey(*read, keys);
        if (positions.size() >= static_cast<size_t>(k)) {
          ASSERT_TRUE(recovered.ok()) << recovered.status().ToString();
          EXPECT_TRUE(*recovered == key);
        } else {
          ASSERT_CODE(recovered.status(), kFailedPrecondition);
          EXPECT_EQ(recovered.status().message(),
                    "need " + std::to_string(k) + " holder keys for this entry, got " +
                        std::to_string(positions.size()) + " that match");
        }
      }
    }
  }
}

TEST(ShareSetTest, WrongAndRepeatedKeysDoNotCount) {
  Holders holders = MakeHolders(3, 2, 11);
  Holders strangers = MakeHolders(4, 1, 12);
  const SecureBytes key = MakeKey(13);
  crypto::SeededRandom random(14);
  auto set = SplitEntryKey(key, holders.policy, random);
  ASSERT_TRUE(set.ok());
  // Only strangers.
  auto none = RecoverEntryKey(*set, strangers.keys);
  EXPECT_CODE(none.status(), kFailedPrecondition);
  EXPECT_EQ(none.status().message(), "need 2 holder keys for this entry, got 0 that match");
  // One holder given three times, plus strangers.
  std::vector<X25519KeyPair> keys = Pick(holders, {1, 1, 1});
  for (auto& s : Pick(strangers, {0, 1, 2, 3})) keys.push_back(std::move(s));
  auto one = RecoverEntryKey(*set, keys);
  EXPECT_CODE(one.status(), kFailedPrecondition);
  EXPECT_EQ(one.status().message(), "need 2 holder keys for this entry, got 1 that match");
  // Strangers mixed with enough holders are ignored.
  keys.push_back(std::move(Pick(holders, {2})[0]));
  auto two = RecoverEntryKey(*set, keys);
  ASSERT_TRUE(two.ok()) << two.status().ToString();
  EXPECT_TRUE(*two == key);
  // No keys at all.
  EXPECT_CODE(RecoverEntryKey(*set, {}).status(), kFailedPrecondition);
}

TEST(ShareSetTest, ManyHolders) {
  Holders holders = MakeHolders(255, 200, 21);
  const SecureBytes key = MakeKey(22);
  crypto::SeededRandom random(23);
  auto set = SplitEntryKey(key, holders.policy, random);
  ASSERT_TRUE(set.ok()) << set.status().ToString();
  auto decoded = DecodeShareSet(EncodeShareSet(*set));
  ASSERT_TRUE(decoded.ok());
  auto recovered = RecoverEntryKey(*decoded, std::span(holders.keys).last(200));
  ASSERT_TRUE(recovered.ok()) << recovered.status().ToString();
  EXPECT_TRUE(*recovered == key);
  EXPECT_CODE(RecoverEntryKey(*decoded, std::span(holders.keys).first(199)).status(),
              kFailedPrecondition);
}

TEST(ShareSetTest, SplitRejectsBadInput) {
  Holders holders = MakeHolders(3, 2, 31);
  crypto::SeededRandom random(32);
  EXPECT_CODE(SplitEntryKey(SecureBytes(16), holders.policy, random).status(), kInvalidArgument);
  EXPECT_CODE(SplitEntryKey(SecureBytes(), holders.policy, random).status(), kInvalidArgument);
  KeyHolders bad = holders.policy;
  bad.threshold = 4;
  EXPECT_CODE(SplitEntryKey(MakeKey(1), bad, random).status(), kInvalidArgument);
  // A low-order point cannot be sealed to.
  bad = holders.policy;
  bad.holders[1] = {};
  auto low_order = SplitEntryKey(MakeKey(1), bad, random);
  EXPECT_CODE(low_order.status(), kInvalidArgument);
}

TEST(ShareSetTest, KnownLayout) {
  Holders holders = MakeHolders(2, 1, 41);
  crypto::SeededRandom random(42);
  auto set = SplitEntryKey(MakeKey(43), holders.policy, random);
  ASSERT_TRUE(set.ok());
  const Bytes encoded = EncodeShareSet(*set);
  ASSERT_EQ(encoded.size(), 59 + 2 * (32 + 83));
  EXPECT_EQ(encoded[0], 2);  // format
  EXPECT_EQ(encoded[1], 1);  // threshold
  EXPECT_EQ(encoded[2], 2);  // count
  EXPECT_TRUE(std::equal(set->sender.begin(), set->sender.end(), encoded.begin() + 3));
  EXPECT_TRUE(std::equal(set->nonce.begin(), set->nonce.end(), encoded.begin() + 35));
  EXPECT_TRUE(std::equal(holders.policy.holders[0].begin(), holders.policy.holders[0].end(),
                         encoded.begin() + 59));
  EXPECT_TRUE(
      std::equal(set->shares[0].sealed.begin(), set->shares[0].sealed.end(), encoded.begin() + 91));
  EXPECT_TRUE(std::equal(holders.policy.holders[1].begin(), holders.policy.holders[1].end(),
                         encoded.begin() + 174));
  // Share 2 opens as documented: the wrapping key is HKDF-SHA256 of the X25519 secret
  // (salt: sender || holder; info: "vellum-share-wrap-v2"), and the associated data is
  // the set's first 59 bytes, the share's index and its holder.
  auto shared = crypto::X25519SharedSecret(holders.keys[1], set->sender);
  ASSERT_TRUE(shared.ok());
  Bytes salt(set->sender.begin(), set->sender.end());
  salt.insert(salt.end(), holders.policy.holders[1].begin(), holders.policy.holders[1].end());
  auto wrap = crypto::HkdfSha256(shared->view(), salt, ToBytes("vellum-share-wrap-v2"), 32);
  ASSERT_TRUE(wrap.ok());
  Bytes ad(encoded.begin(), encoded.begin() + 59);
  ad.push_back(2);
  ad.insert(ad.end(), holders.policy.holders[1].begin(), holders.policy.holders[1].end());
  auto opened = crypto::XChaCha20Poly1305::Decrypt(*wrap, set->nonce,
                                                   ByteView(encoded).subspan(174 + 32, 83), ad);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  ASSERT_EQ(opened->size(), kSharePlaintextSize);
  EXPECT_EQ((*opened)[0], 1);  // share format
  EXPECT_EQ((*opened)[1], 2);  // index (x coordinate) = position + 1
  EXPECT_EQ((*opened)[2], 1);  // threshold
  // With k = 1 every share's data is the key followed by its 16-byte tag.
  const SecureBytes key = MakeKey(43);
  EXPECT_TRUE(std::equal(key.view().begin(), key.view().end(), opened->data() + 19));

  Bytes preimage = ToBytes("vellum-share-set-v1");
  preimage.insert(preimage.end(), encoded.begin(), encoded.end());
  EXPECT_EQ(ShareSetId(encoded), crypto::Sha256(preimage));
}

TEST(ShareSetTest, Version1LayoutIsStillRead) {
  Holders holders = MakeHolders(2, 1, 44);
  crypto::SeededRandom random(45);
  const SecureBytes key = MakeKey(46);
  const Bytes encoded = EncodeShareSet(SplitVersion1(key, holders.policy, random));
  ASSERT_EQ(encoded.size(), 3 + 2 * (32 + 115));
  EXPECT_EQ(encoded[0], 1);
  EXPECT_TRUE(std::equal(holders.policy.holders[1].begin(), holders.policy.holders[1].end(),
                         encoded.begin() + 150));
  auto decoded = DecodeShareSet(encoded);
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  auto recovered = RecoverEntryKey(*decoded, Pick(holders, {1}));
  ASSERT_TRUE(recovered.ok()) << recovered.status().ToString();
  EXPECT_TRUE(*recovered == key);
  // Truncations and a flipped sealed byte are Corruption, as for version 2.
  for (size_t size = 0; size < encoded.size(); ++size) {
    ASSERT_CODE(DecodeShareSet(ByteView(encoded).first(size)).status(), kCorruption);
  }
  EXPECT_EQ(DecodeShareSet(ByteView(encoded).first(40)).status().message(),
            "share set: truncated at share 1 sealed share");
  Bytes bad = encoded;
  bad[150 + 32 + 60] ^= 0x01;
  EXPECT_CODE(RecoverEntryKey(*DecodeShareSet(bad), Pick(holders, {1})).status(), kCorruption);
}

TEST(ShareSetTest, OneSealerSplitsManyKeysWithFreshNonces) {
  Holders holders = MakeHolders(3, 2, 47);
  crypto::SeededRandom random(48);
  auto sealer = ShareSealer::Create(holders.policy, random);
  ASSERT_TRUE(sealer.ok()) << sealer.status().ToString();
  EXPECT_EQ(sealer->holders_id(), KeyHoldersId(holders.policy));
  auto a = sealer->Split(MakeKey(1), random);
  auto b = sealer->Split(MakeKey(2), random);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->sender, b->sender);  // one key pair for the sealer's run of entries
  EXPECT_NE(a->nonce, b->nonce);
  EXPECT_TRUE(*RecoverEntryKey(*a, Pick(holders, {0, 2})) == MakeKey(1));
  EXPECT_TRUE(*RecoverEntryKey(*b, Pick(holders, {1, 2})) == MakeKey(2));
  // A share moved from one set to the other (same sender, same holder) does not open:
  // the associated data binds the set's nonce.
  ShareSet mixed = *a;
  mixed.shares[0] = b->shares[0];
  EXPECT_CODE(RecoverEntryKey(mixed, Pick(holders, {0, 1})).status(), kCorruption);
  // Another sealer has another key pair.
  auto other = ShareSealer::Create(holders.policy, random);
  ASSERT_TRUE(other.ok());
  auto c = other->Split(MakeKey(3), random);
  ASSERT_TRUE(c.ok());
  EXPECT_NE(c->sender, a->sender);
  EXPECT_CODE(sealer->Split(SecureBytes(16), random).status(), kInvalidArgument);
  KeyHolders bad = holders.policy;
  bad.threshold = 4;
  EXPECT_CODE(ShareSealer::Create(bad, random).status(), kInvalidArgument);
}

TEST(ShareSetTest, DecodeRejectsMalformations) {
  Holders holders = MakeHolders(3, 2, 51);
  crypto::SeededRandom random(52);
  auto set = SplitEntryKey(MakeKey(53), holders.policy, random);
  ASSERT_TRUE(set.ok());
  const Bytes encoded = EncodeShareSet(*set);
  for (size_t size = 0; size < encoded.size(); ++size) {
    ASSERT_CODE(DecodeShareSet(ByteView(encoded).first(size)).status(), kCorruption);
  }
  EXPECT_EQ(DecodeShareSet(ByteView(encoded).first(20)).status().message(),
            "share set: truncated at sender key");
  EXPECT_EQ(DecodeShareSet(ByteView(encoded).first(40)).status().message(),
            "share set: truncated at nonce");
  EXPECT_EQ(DecodeShareSet(ByteView(encoded).first(100)).status().message(),
            "share set: truncated at share 1 sealed share");
  EXPECT_EQ(DecodeShareSet(ByteView(encoded).first(180)).status().message(),
            "share set: truncated at share 2 holder key");
  Bytes bad = encoded;
  bad.push_back(0);
  EXPECT_EQ(DecodeShareSet(bad).status().message(), "share set: 1 trailing bytes");
  bad = encoded;
  bad[0] = 3;
  EXPECT_CODE(DecodeShareSet(bad).status(), kNotSupported);
  bad[0] = 0;
  EXPECT_CODE(DecodeShareSet(bad).status(), kNotSupported);
  bad = encoded;
  bad[1] = 0;
  EXPECT_CODE(DecodeShareSet(bad).status(), kCorruption);
  bad[1] = 4;
  EXPECT_CODE(DecodeShareSet(bad).status(), kCorruption);
  EXPECT_CODE(DecodeShareSet(Bytes{2, 0, 0}).status(), kCorruption);
  EXPECT_CODE(DecodeShareSet(Bytes{2, 1, 0}).status(), kCorruption);
  // A repeated holder (share 3's key replaced by share 1's).
  bad = encoded;
  std::copy_n(encoded.begin() + 59, 32, bad.begin() + 59 + 2 * 115);
  auto repeated = DecodeShareSet(bad);
  EXPECT_CODE(repeated.status(), kCorruption);
  EXPECT_EQ(repeated.status().message(),
            "share set: the holder of share 3 repeats that of share 1");
}

TEST(ShareSetTest, EverySingleByteChangeIsCaught) {
  Holders holders = MakeHolders(3, 2, 61);
  crypto::SeededRandom random(62);
  const SecureBytes key = MakeKey(63);
  auto set = SplitEntryKey(key, holders.policy, random);
  ASSERT_TRUE(set.ok());
  const Bytes encoded = EncodeShareSet(*set);
  const crypto::Hash256 id = ShareSetId(encoded);
  for (size_t i = 0; i < encoded.size(); ++i) {
    for (int delta = 1; delta < 256; ++delta) {
      Bytes bad = encoded;
      bad[i] = static_cast<uint8_t>(bad[i] + delta);
      auto decoded = DecodeShareSet(bad);
      if (decoded.ok()) {
        // The header names the share set by its id: a changed set is another set.
        ASSERT_NE(ShareSetId(bad), id);
        ASSERT_EQ(EncodeShareSet(*decoded), bad);  // canonical
      } else {
        ASSERT_TRUE(decoded.status().IsCorruption() ||
                    (i == 0 && decoded.status().IsNotSupported()))
            << decoded.status().ToString();
      }
    }
    // Changing a sealed byte, the sender key, the nonce or the threshold also makes
    // recovery fail, whatever the id check: never a wrong key.
    Bytes bad = encoded;
    bad[i] ^= 0x01;
    auto decoded = DecodeShareSet(bad);
    if (!decoded.ok()) continue;
    auto recovered = RecoverEntryKey(*decoded, holders.keys);
    const bool in_holder_key = i >= 59 && (i - 59) % 115 < 32;
    if (i >= 3 && !in_holder_key) {
      ASSERT_CODE(recovered.status(), kCorruption);
    } else if (recovered.ok()) {
      // A changed holder key: that share no longer matches, the other two suffice.
      ASSERT_TRUE(*recovered == key);
    } else {
      ASSERT_TRUE(recovered.status().IsCorruption() || recovered.status().IsFailedPrecondition())
          << recovered.status().ToString();
    }
  }
}

TEST(ShareSetTest, TamperedSharesAreCorruption) {
  Holders holders = MakeHolders(3, 2, 71);
  const SecureBytes key = MakeKey(72);
  crypto::SeededRandom random(73);
  auto a = SplitEntryKey(key, holders.policy, random);
  auto b = SplitEntryKey(MakeKey(74), holders.policy, random);
  ASSERT_TRUE(a.ok() && b.ok());

  // A flipped bit in one sealed share.
  ShareSet bad = *a;
  bad.shares[1].sealed[60] ^= 0x20;
  auto flipped = RecoverEntryKey(bad, holders.keys);
  EXPECT_CODE(flipped.status(), kCorruption);
  EXPECT_NE(flipped.status().message().find("share 2 does not open"), std::string::npos);
  // Without that holder's key the other two still recover the key.
  auto without = RecoverEntryKey(bad, Pick(holders, {0, 2}));
  ASSERT_TRUE(without.ok());
  EXPECT_TRUE(*without == key);

  // A share from another entry's set (same holder): the splits differ.
  bad = *a;
  bad.shares[1] = b->shares[1];
  auto mixed = RecoverEntryKey(bad, Pick(holders, {0, 1}));
  EXPECT_CODE(mixed.status(), kCorruption);
  // Two sealed shares swapped between holders: neither opens.
  bad = *a;
  std::swap(bad.shares[0].sealed, bad.shares[1].sealed);
  EXPECT_CODE(RecoverEntryKey(bad, Pick(holders, {0, 1})).status(), kCorruption);
  // Whole records reordered: the associated data binds each share to its position.
  bad = *a;
  std::swap(bad.shares[0], bad.shares[1]);
  auto reordered = RecoverEntryKey(bad, Pick(holders, {0, 1}));
  EXPECT_CODE(reordered.status(), kCorruption);
  // In a version 1 set they open, but the index does not match the position.
  ShareSet v1 = SplitVersion1(key, holders.policy, random);
  std::swap(v1.shares[0], v1.shares[1]);
  auto reordered_v1 = RecoverEntryKey(v1, Pick(holders, {0, 1}));
  EXPECT_CODE(reordered_v1.status(), kCorruption);
  EXPECT_NE(reordered_v1.status().message().find("index"), std::string::npos);
  // The threshold rewritten: the sealed shares disagree.
  bad = *a;
  bad.threshold = 1;
  EXPECT_CODE(RecoverEntryKey(bad, Pick(holders, {0})).status(), kCorruption);
  bad.threshold = 3;
  EXPECT_CODE(RecoverEntryKey(bad, holders.keys).status(), kCorruption);
  // Messages never carry key material.
  for (const Status& s : {flipped.status(), mixed.status(), reordered.status()}) {
    EXPECT_EQ(s.message().find(HexEncode(key.view())), std::string::npos);
  }
}

}  // namespace
}  // namespace vellum::logchain
