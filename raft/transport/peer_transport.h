// Copyright (c) Vellum authors.
//
// PeerTransport: carries opaque frames between the nodes of a Vellum cluster over TCP
// and TLS 1.3 with mutual authentication.
//
// Connection model (docs/formats/peer-frame.md): for every peer, this node dials one
// outbound connection that carries this node's frames to that peer; the peer's frames
// to this node arrive on the connection the peer dials. On each connection, after the
// TLS handshake (TLS 1.3 only, both certificates must chain to the cluster CA), the
// dialer sends its identity statement (docs/formats/peer-identity.md); the acceptor
// checks it and answers with its own, which the dialer checks (including that it
// names the node it meant to dial). Only then does the dialer send frames. A peer
// that fails any check is refused: the connection is closed, counted and logged as
// `event=peer_refused` with the reason.
//
// Delivery: frames from one peer are delivered in the order it sent them, at most
// once. Frames still queued survive a broken connection and go out on the next one;
// frames already handed to a connection that breaks may be lost (Raft tolerates
// loss). Every queue is bounded: Send never blocks, it fails with ResourceExhausted.
//
// Thread safety: all methods may be called concurrently from any thread, except that
// Stop() and the destructor must not be called from inside a callback. The callbacks
// (on_frame, authorize_peer, log) run on the transport's single I/O thread, one at a
// time, never after Stop() has returned; they may call Send, SetPeerAddress,
// RemovePeer and Stats, and must not throw. on_frame and authorize_peer are called
// with no transport lock held, but they block the I/O thread while they run.

#ifndef VELLUM_RAFT_TRANSPORT_PEER_TRANSPORT_H_
#define VELLUM_RAFT_TRANSPORT_PEER_TRANSPORT_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "base/bytes.h"
#include "crypto/secure_bytes.h"
#include "crypto/signer.h"
#include "raft/transport/peer_identity.h"
#include "vellum/result.h"
#include "vellum/status.h"

namespace vellum::raft {

struct PeerTransportOptions {
  uint64_t self_id = 0;  // non-zero
  // "ip:port" to listen on; "127.0.0.1:0" picks an ephemeral port (see bound_port()).
  // IPv6 as "[::1]:0".
  std::string listen_address;
  std::string ca_certificate_pem;  // the cluster CA; peers must chain to it (only to it)
  // This node's certificate: CN "node-<self_id>", extendedKeyUsage serverAuth and
  // clientAuth (crypto::IssueCertificate with kServerAndClient), issued by the CA.
  std::string certificate_pem;
  crypto::SecureBytes private_key_pem;  // the certificate's key; dropped once loaded
  crypto::Signer* signer = nullptr;     // signs this node's identity statement (not owned)
  Bytes measurement;                    // kMeasurementBytes: hash of the running binary
  // Decides whether a peer that proved its identity may talk to us (the membership
  // table kept in the ledger). Non-OK: the connection is refused and logged with the
  // status as the reason. Called for both directions (on the dialer, after checking
  // the acceptor is the node it dialed). Required.
  std::function<Status(const PeerIdentity&)> authorize_peer;
  // Structured log lines: space-separated key=value pairs, values quoted when needed
  // ("event=peer_refused peer_addr=10.0.0.2:7000 reason=\"...\""). Never key material.
  // Optional.
  std::function<void(std::string_view line)> log;

  size_t max_frame_bytes = size_t{64} << 20;  // at most 2^32 - 1
  size_t max_queued_frames_per_peer = 4096;
  size_t max_queued_bytes_per_peer = size_t{64} << 20;  // at least max_frame_bytes
  // Reconnect backoff: doubles from initial to max after each failed attempt, with
  // jitter (a delay of b/2 + uniform[0, b/2]); back to initial once connected.
  uint32_t reconnect_initial_ms = 50;
  uint32_t reconnect_max_ms = 2000;
  // From accept (or from the start of a dial) to both identity statements checked.
  uint32_t handshake_timeout_ms = 5000;
  // Inbound connections open at once (handshaking or established); more are refused.
  size_t max_inbound_connections = 256;
  // The I/O thread, once out of work, polls for more for up to this long before it
  // sleeps (base/idle_poll.h: adaptive, it stops while polling does not pay); 0 never
  // polls.
  uint32_t idle_poll_us = 0;
};

class PeerTransport {
 public:
  using FrameCallback = std::function<void(uint64_t from, Bytes frame)>;

  // Loads the credentials, starts listening and starts the I/O thread. `on_frame` is
  // called on the I/O thread for every frame received from an authenticated,
  // authorized peer, in the order that peer sent them.
  // InvalidArgument for bad options (missing callbacks or signer, a certificate whose
  // CN is not "node-<self_id>", a key that does not match it, unparsable PEM, a bad
  // listen address, bad limits); IOError if the listener cannot be opened.
  static Result<std::unique_ptr<PeerTransport>> Start(PeerTransportOptions options,
                                                      FrameCallback on_frame);

  ~PeerTransport();  // Stop()s
  PeerTransport(const PeerTransport&) = delete;
  PeerTransport& operator=(const PeerTransport&) = delete;

  // The port the listener is bound to.
  uint16_t bound_port() const;

  // Sets (or changes) where peer `node_id` listens: "host:port" (host a name, an IPv4
  // address or a bracketed IPv6 address). Connects lazily, on the next Send. A
  // changed address closes the current connection (frames on it may be lost) and the
  // next one goes to the new address. InvalidArgument for a malformed address or a
  // node id of 0 or self_id; Unavailable once stopped.
  Status SetPeerAddress(uint64_t node_id, std::string address);

  // Forgets peer `node_id`: closes its connections (both directions), drops its queue
  // and its statistics. Whether it may connect again is authorize_peer's decision.
  void RemovePeer(uint64_t node_id);

  // Queues `frame` for peer `to`, never blocking:
  //   OK                 queued (not a delivery promise);
  //   ResourceExhausted  the peer's queue is full (frames or bytes): backpressure, the
  //                      caller drops the frame or retries later;
  //   Unavailable        no address is known for `to`, or the transport is stopped;
  //   InvalidArgument    the frame is larger than max_frame_bytes.
  Status Send(uint64_t to, Bytes frame);

  struct PeerStats {
    bool connected = false;          // this node's outbound connection is established
    bool inbound_connected = false;  // the peer's connection to this node is established
    uint64_t frames_sent = 0;        // written to the outbound connection
    uint64_t frames_received = 0;    // delivered to on_frame
    // Refused by Send because the queue was full, or taken from the queue onto a
    // connection that broke before they were written (possibly delivered, possibly not).
    uint64_t frames_dropped = 0;
    uint64_t frames_queued = 0;     // waiting in the queue now
    uint64_t connect_failures = 0;  // outbound attempts that did not become established
    uint64_t refused = 0;           // connections with this peer refused by our checks
  };
  // Per node id: every peer with an address, and every peer that connected to us.
  std::map<uint64_t, PeerStats> Stats() const;
  // Connections (either direction) refused by this node's checks or dropped before
  // completing authentication, over the transport's life.
  uint64_t refused_connections() const;

  // Closes the listener and every connection, drops the queues and joins the I/O
  // thread. Idempotent; prompt (does not wait for queued frames to be sent). After it
  // returns no callback runs and Send returns Unavailable.
  void Stop();

 private:
  struct Impl;
  explicit PeerTransport(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace vellum::raft

#endif  // VELLUM_RAFT_TRANSPORT_PEER_TRANSPORT_H_
