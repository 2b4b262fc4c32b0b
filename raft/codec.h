// Copyright (c) Vellum authors.
//
// The byte encodings of Raft messages, entries, snapshots, hard states and
// membership changes (docs/formats/raft-message.md). Decoders take untrusted bytes
// from the network or disk: they check every length against what is left, reject
// trailing bytes, and return Corruption rather than crash or over-allocate.
//
// Thread safety: pure functions.

#ifndef VELLUM_RAFT_CODEC_H_
#define VELLUM_RAFT_CODEC_H_

#include "base/bytes.h"
#include "raft/types.h"
#include "vellum/result.h"

namespace vellum::raft {

// The first byte of every encoded message: bumped when the format changes.
inline constexpr uint8_t kMessageFormatVersion = 1;

Bytes EncodeMessage(const Message& message);
Result<Message> DecodeMessage(ByteView data);

Bytes EncodeEntry(const Entry& entry);
Result<Entry> DecodeEntry(ByteView data);

Bytes EncodeHardState(const HardState& hard_state);
Result<HardState> DecodeHardState(ByteView data);

Bytes EncodeConfState(const ConfState& conf_state);
Result<ConfState> DecodeConfState(ByteView data);

Bytes EncodeConfChange(const ConfChange& change);
Result<ConfChange> DecodeConfChange(ByteView data);

}  // namespace vellum::raft

#endif  // VELLUM_RAFT_CODEC_H_
