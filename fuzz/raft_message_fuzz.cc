// Copyright (c) Vellum authors.
//
// Fuzzes the Raft wire decoders, which read bytes sent by peers: DecodeMessage,
// DecodeEntry, DecodeHardState, DecodeConfState and DecodeConfChange, each fed the
// whole input.
//   - No decoder may crash, over-allocate or read out of bounds; what they reject is
//     Corruption or NotSupported.
//   - Every format is canonical: an input that decodes re-encodes to exactly the
//     input bytes (so a signature over the encoding covers one meaning only).
// Run: ./raft_message_fuzz -max_total_time=60 fuzz/corpus/raft_message

#include <cstddef>
#include <cstdint>

#include "raft/codec.h"
#include "vellum/check.h"

namespace {

using vellum::Bytes;
using vellum::ByteView;
namespace raft = vellum::raft;

template <typename T, typename Encode>
void CheckCanonical(const vellum::Result<T>& decoded, ByteView input, Encode encode) {
  if (!decoded.ok()) {
    VELLUM_CHECK(decoded.status().IsCorruption() || decoded.status().IsNotSupported());
    return;
  }
  const Bytes again = encode(*decoded);
  VELLUM_CHECK(again.size() == input.size() &&
               std::equal(again.begin(), again.end(), input.begin()));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const ByteView input(data, size);
  CheckCanonical(raft::DecodeMessage(input), input,
                 [](const raft::Message& m) { return raft::EncodeMessage(m); });
  CheckCanonical(raft::DecodeEntry(input), input,
                 [](const raft::Entry& e) { return raft::EncodeEntry(e); });
  CheckCanonical(raft::DecodeHardState(input), input,
                 [](const raft::HardState& h) { return raft::EncodeHardState(h); });
  CheckCanonical(raft::DecodeConfState(input), input,
                 [](const raft::ConfState& c) { return raft::EncodeConfState(c); });
  CheckCanonical(raft::DecodeConfChange(input), input,
                 [](const raft::ConfChange& c) { return raft::EncodeConfChange(c); });
  return 0;
}
