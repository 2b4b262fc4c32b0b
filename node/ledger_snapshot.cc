// Copyright (c) Vellum authors.

#include "node/ledger_snapshot.h"

#include <algorithm>
#include <string>

#include "crypto/hash.h"

namespace vellum::node {

namespace {

constexpr std::string_view kMagic = "VLSD";
constexpr size_t kChecksummed = kLedgerSnapshotDescriptorSize - 32;

}  // namespace

Bytes EncodeLedgerSnapshot(const LedgerSnapshotDescriptor& d) {
  Bytes out;
  out.reserve(kLedgerSnapshotDescriptorSize);
  out.insert(out.end(), kMagic.begin(), kMagic.end());
  out.push_back(kLedgerSnapshotFormatVersion);
  PutFixed64BE(&out, d.raft_index);
  PutFixed64BE(&out, d.ledger_version);
  out.insert(out.end(), d.state_root.begin(), d.state_root.end());
  out.insert(out.end(), d.log_head.begin(), d.log_head.end());
  // The Raft message that carries the descriptor is authenticated already; the
  // checksum catches a descriptor damaged at rest in the Raft log store, so that a
  // node never compares a ledger against a corrupted root and discards a good one.
  const crypto::Hash256 sum = crypto::Sha256(out);
  out.insert(out.end(), sum.begin(), sum.end());
  return out;
}

Result<LedgerSnapshotDescriptor> DecodeLedgerSnapshot(ByteView in) {
  if (in.size() < kMagic.size() + 1 ||
      !std::equal(kMagic.begin(), kMagic.end(), in.begin(),
                  [](char a, uint8_t b) { return static_cast<uint8_t>(a) == b; })) {
    return Status::Corruption("not a ledger snapshot descriptor (bad magic)");
  }
  if (in[kMagic.size()] != kLedgerSnapshotFormatVersion) {
    return Status::NotSupported("ledger snapshot descriptor format version " +
                                std::to_string(in[kMagic.size()]) + " (this build reads " +
                                std::to_string(kLedgerSnapshotFormatVersion) + ")");
  }
  if (in.size() != kLedgerSnapshotDescriptorSize) {
    return Status::Corruption("a ledger snapshot descriptor of " + std::to_string(in.size()) +
                              " bytes (expected " + std::to_string(kLedgerSnapshotDescriptorSize) +
                              ")");
  }
  const crypto::Hash256 sum = crypto::Sha256(in.first(kChecksummed));
  if (!std::equal(sum.begin(), sum.end(), in.begin() + kChecksummed)) {
    return Status::Corruption("a ledger snapshot descriptor fails its checksum");
  }
  LedgerSnapshotDescriptor d;
  const uint8_t* p = in.data() + kMagic.size() + 1;
  d.raft_index = DecodeFixed64BE(p);
  d.ledger_version = DecodeFixed64BE(p + 8);
  std::copy(p + 16, p + 48, d.state_root.begin());
  std::copy(p + 48, p + 80, d.log_head.begin());
  if (d.raft_index == 0) {
    return Status::Corruption("a ledger snapshot descriptor at Raft index 0");
  }
  return d;
}

}  // namespace vellum::node
