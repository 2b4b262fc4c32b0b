// Copyright (c) Vellum authors.

#include "raft/peer_envelope.h"

#include <string>

#include "raft/codec.h"
#include "vellum/check.h"

namespace vellum::raft {

namespace {

constexpr uint8_t kEnvelopeVersion = 1;
constexpr std::string_view kSignLabel = "vellum-raft-peer-envelope-v1";
constexpr uint64_t kMaxSignatureBytes = 512;

// The signed part: a domain label, then the envelope up to the signature.
Bytes SigningMessage(ByteView header_and_body) {
  Bytes msg;
  msg.reserve(kSignLabel.size() + header_and_body.size());
  const ByteView label = AsBytes(kSignLabel);
  msg.insert(msg.end(), label.begin(), label.end());
  msg.insert(msg.end(), header_and_body.begin(), header_and_body.end());
  return msg;
}

}  // namespace

MessageSealer::MessageSealer(NodeId self, MemberAuthenticator* authenticator, uint64_t epoch)
    : self_(self), authenticator_(authenticator), epoch_(epoch) {
  VELLUM_CHECK(authenticator_ != nullptr);
}

Result<Bytes> MessageSealer::Seal(const Message& message) {
  VELLUM_CHECK_MSG(message.from == self_, "sealing a message from another node");
  Bytes out;
  out.push_back(kEnvelopeVersion);
  PutVarint64(&out, message.from);
  PutVarint64(&out, message.to);
  PutVarint64(&out, epoch_);
  PutVarint64(&out, ++sequence_);
  const Bytes body = EncodeMessage(message);
  PutVarint64(&out, body.size());
  out.insert(out.end(), body.begin(), body.end());
  auto signature = authenticator_->Sign(SigningMessage(out));
  if (!signature.ok()) return signature.status();
  PutVarint64(&out, signature->size());
  out.insert(out.end(), signature->begin(), signature->end());
  return out;
}

MessageOpener::MessageOpener(NodeId self, const MemberAuthenticator* authenticator)
    : self_(self), authenticator_(authenticator) {
  VELLUM_CHECK(authenticator_ != nullptr);
}

Result<Message> MessageOpener::Open(ByteView envelope) {
  ByteView in = envelope;
  auto malformed = [] { return Status::Corruption("malformed raft peer envelope"); };
  if (in.empty()) return malformed();
  if (in[0] != kEnvelopeVersion) {
    return Status::NotSupported("raft peer envelope version " + std::to_string(in[0]) +
                                " is not supported");
  }
  in = in.subspan(1);
  uint64_t from = 0, to = 0, epoch = 0, sequence = 0, body_size = 0, signature_size = 0;
  if (!GetVarint64(&in, &from) || !GetVarint64(&in, &to) || !GetVarint64(&in, &epoch) ||
      !GetVarint64(&in, &sequence) || !GetVarint64(&in, &body_size) || body_size > in.size()) {
    return malformed();
  }
  const ByteView body = in.first(body_size);
  in = in.subspan(body_size);
  const size_t signed_size = envelope.size() - in.size();
  if (!GetVarint64(&in, &signature_size) || signature_size > kMaxSignatureBytes ||
      signature_size != in.size()) {
    return malformed();
  }
  if (to != self_) {
    return Status::Corruption("raft peer envelope for node " + std::to_string(to) +
                              " reached node " + std::to_string(self_));
  }
  if (Status s = authenticator_->Verify(from, SigningMessage(envelope.first(signed_size)), in);
      !s.ok()) {
    return Status(s.code(),
                  "raft peer envelope from node " + std::to_string(from) + ": " + s.message());
  }
  const std::pair<uint64_t, uint64_t> counter{epoch, sequence};
  auto last = last_counter_.find(from);
  if (last != last_counter_.end() && counter <= last->second) {
    return Status::Corruption(
        "replayed raft peer envelope from node " + std::to_string(from) + " (counter " +
        std::to_string(epoch) + "/" + std::to_string(sequence) + " is not after " +
        std::to_string(last->second.first) + "/" + std::to_string(last->second.second) + ")");
  }
  auto message = DecodeMessage(body);
  if (!message.ok()) return message.status();
  if (message->from != from || message->to != to) {
    return Status::Corruption("raft peer envelope from node " + std::to_string(from) +
                              " carries a message from node " + std::to_string(message->from) +
                              " to node " + std::to_string(message->to));
  }
  last_counter_[from] = counter;
  return message;
}

}  // namespace vellum::raft
