// Copyright (c) Vellum authors.
//
// Fuzzes DecodeNodeCommand, which reads the plaintext of replicated commands (after
// decryption, so only a member could craft one — but a member may be compromised).
//   - It may not crash, over-allocate or read out of bounds; what it rejects is
//     Corruption or NotSupported.
//   - The format is canonical: an input that decodes re-encodes to exactly the input.
// Run: ./node_command_fuzz -max_total_time=60 fuzz/corpus/node_command

#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "node/node_command.h"
#include "vellum/check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const vellum::ByteView input(data, size);
  auto decoded = vellum::node::DecodeNodeCommand(input);
  if (!decoded.ok()) {
    VELLUM_CHECK(decoded.status().IsCorruption() || decoded.status().IsNotSupported());
    return 0;
  }
  const vellum::Bytes again = vellum::node::EncodeNodeCommand(*decoded);
  VELLUM_CHECK(again.size() == size && std::equal(again.begin(), again.end(), data));
  return 0;
}
