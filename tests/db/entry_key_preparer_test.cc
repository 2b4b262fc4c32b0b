// Copyright (c) Vellum authors.

#include "db/entry_key_preparer.h"

#include <gtest/gtest.h>

#include <set>

#include "crypto/random.h"
#include "tests/db/logchain/logchain_test_util.h"

namespace vellum::db {
namespace {

using logchain::testing::Holders;
using logchain::testing::MakeHolders;

// The key opens with the holders' keys: recovered from its share set, it is the key.
void ExpectSplitTo(const logchain::PreparedEntryKey& key, const Holders& holders) {
  EXPECT_EQ(key.holders_id, logchain::KeyHoldersId(holders.policy));
  auto share_set = logchain::DecodeShareSet(key.encoded_share_set);
  ASSERT_TRUE(share_set.ok()) << share_set.status().ToString();
  auto recovered = logchain::RecoverEntryKey(*share_set, holders.keys);
  ASSERT_TRUE(recovered.ok()) << recovered.status().ToString();
  EXPECT_EQ(Bytes(recovered->view().begin(), recovered->view().end()),
            Bytes(key.entry_key.view().begin(), key.entry_key.view().end()));
}

TEST(EntryKeyPreparerTest, EveryKeyIsFreshAndSplitToTheHoldersAskedFor) {
  const Holders three = MakeHolders(3, 2, 1);
  const Holders five = MakeHolders(5, 3, 2);
  EntryKeyPreparer preparer;
  std::set<Bytes> share_sets;
  for (int i = 0; i < 6; ++i) {
    // Alternating holders: a key prepared for the others is never handed out.
    const Holders& holders = i % 3 == 2 ? five : three;
    auto key = preparer.Take(holders.policy);
    ASSERT_TRUE(key.ok()) << key.status().ToString();
    ExpectSplitTo(*key, holders);
    EXPECT_TRUE(share_sets.insert(key->encoded_share_set).second) << "a key was handed out twice";
  }
}

TEST(EntryKeyPreparerTest, ASealerServesABoundedRunOfKeys) {
  const Holders three = MakeHolders(3, 2, 4);
  const Holders five = MakeHolders(5, 3, 5);
  EntryKeyPreparer preparer;
  auto sender_of = [&](const Holders& holders) {
    auto key = preparer.Take(holders.policy);
    EXPECT_TRUE(key.ok()) << key.status().ToString();
    auto set = logchain::DecodeShareSet(key->encoded_share_set);
    EXPECT_TRUE(set.ok()) << set.status().ToString();
    return set->sender;
  };
  const crypto::X25519PublicKey first = sender_of(three);
  for (uint64_t i = 1; i < EntryKeyPreparer::kEntriesPerSealer; ++i) {
    ASSERT_EQ(sender_of(three), first) << "key " << i + 1;
  }
  // The next key comes from a new sealer, and other holders get one of their own.
  const crypto::X25519PublicKey second = sender_of(three);
  EXPECT_NE(second, first);
  EXPECT_NE(sender_of(five), second);
  auto key = preparer.Take(three.policy);
  ASSERT_TRUE(key.ok());
  ExpectSplitTo(*key, three);
}

TEST(EntryKeyPreparerTest, BadHoldersAreAnErrorAndStopLeavesTakeWorking) {
  EntryKeyPreparer preparer;
  logchain::KeyHolders none;
  EXPECT_EQ(preparer.Take(none).status().code(), StatusCode::kInvalidArgument);
  const Holders one = MakeHolders(1, 1, 3);
  preparer.Stop();
  auto key = preparer.Take(one.policy);
  ASSERT_TRUE(key.ok()) << key.status().ToString();
  ExpectSplitTo(*key, one);
}

}  // namespace
}  // namespace vellum::db
