// Copyright (c) Vellum authors.
//
// Fuzzes DecodeShare (the text form of a Shamir share) and ShamirCombine.
//   - DecodeShare must never crash or read out of bounds, whatever the line.
//   - A line that decodes must re-encode to a line that decodes to an equal share.
//   - The two halves of the input, decoded separately, are combined (with each other,
//     and alone) to exercise ShamirCombine's validation on arbitrary shares.
// Run: ./shamir_share_fuzz -max_total_time=60 fuzz/corpus/shamir_share

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "crypto/shamir.h"
#include "vellum/check.h"

namespace {

using vellum::crypto::DecodeShare;
using vellum::crypto::EncodeShare;
using vellum::crypto::ShamirCombine;
using vellum::crypto::ShamirShare;

bool SameShare(const ShamirShare& a, const ShamirShare& b) {
  return a.split_id == b.split_id && a.threshold == b.threshold && a.index == b.index &&
         a.data == b.data;
}

void CheckRoundTrip(const ShamirShare& share) {
  auto again = DecodeShare(EncodeShare(share));
  VELLUM_CHECK_MSG(again.ok(), "an encoded share does not decode");
  VELLUM_CHECK_MSG(SameShare(*again, share), "a share does not survive encode + decode");
}

void Combine(std::vector<ShamirShare>& shares) {
  auto secret = ShamirCombine(shares);
  if (secret.ok()) {
    // Success needs the tag to match; the secret is the payload minus the tag.
    VELLUM_CHECK_EQ(secret->size() + 16, shares.front().data.size());
  } else {
    VELLUM_CHECK(secret.status().IsInvalidArgument() || secret.status().IsCorruption());
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);

  auto whole = DecodeShare(input);
  if (whole.ok()) {
    CheckRoundTrip(*whole);
    VELLUM_CHECK(whole->threshold != 0 && whole->index != 0);
    VELLUM_CHECK(whole->data.size() >= 16);
  } else {
    const auto& s = whole.status();
    VELLUM_CHECK(s.IsInvalidArgument() || s.IsCorruption() || s.IsNotSupported());
  }

  // Two shares from the halves of the input (split at a newline if there is one).
  size_t cut = input.find('\n');
  if (cut == std::string_view::npos) cut = size / 2;
  auto first = DecodeShare(input.substr(0, cut));
  auto second = DecodeShare(input.substr(cut));
  std::vector<ShamirShare> shares;
  if (first.ok()) {
    CheckRoundTrip(*first);
    shares.push_back(std::move(first).value());
  }
  if (second.ok()) {
    CheckRoundTrip(*second);
    shares.push_back(std::move(second).value());
  }
  if (!shares.empty()) Combine(shares);
  if (shares.size() == 2) {
    std::vector<ShamirShare> one;
    one.push_back(std::move(shares.back()));
    Combine(one);
  }
  return 0;
}
