// Copyright (c) Vellum authors.
//
// Tests of PeerTransport over real TLS connections on 127.0.0.1 with ephemeral ports:
// delivery and ordering, every refusal path (foreign CA, identity statement not
// matching the certificate, replayed statement, authorize_peer, wrong node at an
// address, handshake timeout), backpressure, reconnects, and Stop. Wire-level cases
// use RawDialer, a hand-driven TLS client that sends whatever the test builds.
//
// Thread safety: each test owns its transports; callbacks record under a mutex.

#include "raft/transport/peer_transport.h"

#include <gtest/gtest.h>
#include <openssl/ssl.h>

#include <atomic>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "crypto/hash.h"
#include "crypto/random.h"
#include "crypto/signer.h"
#include "crypto/x509.h"
#include "tests/test_util.h"

namespace vellum::raft {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;
using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

// Polls `condition` every 2 ms until it holds or `timeout` passes.
bool WaitFor(const std::function<bool()>& condition, milliseconds timeout = milliseconds(5000)) {
  const auto deadline = Clock::now() + timeout;
  while (!condition()) {
    if (Clock::now() > deadline) return false;
    std::this_thread::sleep_for(milliseconds(2));
  }
  return true;
}

const crypto::CertifiedKey& ClusterCa() {
  static const crypto::CertifiedKey* const ca = [] {
    Result<crypto::CertifiedKey> r =
        crypto::CreateCertificateAuthority("vellum test cluster", 1, crypto::SystemRandom());
    VELLUM_CHECK(r.ok());
    return new crypto::CertifiedKey(std::move(r).value());
  }();
  return *ca;
}

const crypto::CertifiedKey& ForeignCa() {
  static const crypto::CertifiedKey* const ca = [] {
    Result<crypto::CertifiedKey> r =
        crypto::CreateCertificateAuthority("vellum test cluster", 1, crypto::SystemRandom());
    VELLUM_CHECK(r.ok());
    return new crypto::CertifiedKey(std::move(r).value());
  }();
  return *ca;
}

crypto::CertifiedKey NodeCertificate(const crypto::CertifiedKey& ca, uint64_t id) {
  crypto::CertificateRequest request;
  request.common_name = NodeCommonName(id);
  request.ip_addresses = {"127.0.0.1"};
  request.usage = crypto::CertificateUsage::kServerAndClient;
  request.validity_days = 1;
  Result<crypto::CertifiedKey> cert = crypto::IssueCertificate(ca, request, crypto::SystemRandom());
  VELLUM_CHECK(cert.ok());
  return std::move(cert).value();
}

Bytes TestMeasurement() {
  const crypto::Hash256 h = crypto::Sha256(AsBytes("vellum-node test build"));
  return Bytes(h.begin(), h.end());
}

// A port on 127.0.0.1 with nothing listening (bound, then released).
uint16_t UnusedPort() {
  asio::io_context io;
  tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  return acceptor.local_endpoint().port();
}

std::string Local(uint16_t port) { return "127.0.0.1:" + std::to_string(port); }

// A node under test: credentials, a transport, and what its callbacks saw.
class TestNode {
 public:
  explicit TestNode(uint64_t id, const crypto::CertifiedKey& ca = ClusterCa())
      : id_(id),
        signer_(crypto::Ed25519KeyPair::Generate(crypto::SystemRandom())),
        cert_(NodeCertificate(ca, id)) {}
  ~TestNode() { transport_.reset(); }  // before the recorders its callbacks use

  PeerTransportOptions Options(uint16_t port = 0) {
    PeerTransportOptions o;
    o.self_id = id_;
    o.listen_address = Local(port);
    o.ca_certificate_pem = ClusterCa().certificate_pem;
    o.certificate_pem = cert_.certificate_pem;
    o.private_key_pem = cert_.private_key_pem.Clone();
    o.signer = &signer_;
    o.measurement = TestMeasurement();
    o.authorize_peer = [this](const PeerIdentity& peer) {
      std::lock_guard lock(mu_);
      authorized_.push_back(peer.node_id);
      return authorize_ ? authorize_(peer) : Status::OK();
    };
    o.log = [this](std::string_view line) {
      std::lock_guard lock(mu_);
      logs_.emplace_back(line);
    };
    o.reconnect_initial_ms = 10;
    o.reconnect_max_ms = 100;
    o.handshake_timeout_ms = 2000;
    return o;
  }

  // Starts with Options(port) changed by `adjust`.
  void Start(uint16_t port = 0,
             const std::function<void(PeerTransportOptions&)>& adjust = nullptr) {
    PeerTransportOptions o = Options(port);
    if (adjust) adjust(o);
    Result<std::unique_ptr<PeerTransport>> t = PeerTransport::Start(
        std::move(o), [this](uint64_t from, Bytes frame) { OnFrame(from, std::move(frame)); });
    ASSERT_TRUE(t.ok()) << t.status().ToString();
    transport_ = std::move(t).value();
  }

  void SetAuthorize(std::function<Status(const PeerIdentity&)> authorize) {
    std::lock_guard lock(mu_);
    authorize_ = std::move(authorize);
  }
  void SetFrameDelay(milliseconds delay) { frame_delay_ms_ = static_cast<int>(delay.count()); }

  uint64_t id() const { return id_; }
  PeerTransport& t() { return *transport_; }
  void Stop() { transport_->Stop(); }
  uint16_t port() const { return transport_->bound_port(); }
  std::string addr() const { return Local(port()); }
  crypto::Signer& signer() { return signer_; }
  const crypto::CertifiedKey& cert() const { return cert_; }

  std::vector<Bytes> Frames(uint64_t from) {
    std::lock_guard lock(mu_);
    return frames_[from];
  }
  size_t Count(uint64_t from) {
    std::lock_guard lock(mu_);
    return frames_[from].size();
  }
  size_t TotalFrames() {
    std::lock_guard lock(mu_);
    size_t n = 0;
    for (const auto& [from, list] : frames_) n += list.size();
    return n;
  }
  size_t AuthorizeCalls() {
    std::lock_guard lock(mu_);
    return authorized_.size();
  }
  std::vector<std::string> Logs() {
    std::lock_guard lock(mu_);
    return logs_;
  }
  // The first log line containing every one of `parts`, or "".
  std::string FindLog(std::initializer_list<std::string_view> parts) {
    for (const std::string& line : Logs()) {
      bool all = true;
      for (std::string_view part : parts) all = all && line.find(part) != std::string::npos;
      if (all) return line;
    }
    return "";
  }
  PeerTransport::PeerStats StatsOf(uint64_t peer) {
    const auto stats = transport_->Stats();
    const auto it = stats.find(peer);
    return it == stats.end() ? PeerTransport::PeerStats{} : it->second;
  }

 private:
  void OnFrame(uint64_t from, Bytes frame) {
    if (frame_delay_ms_ > 0) std::this_thread::sleep_for(milliseconds(frame_delay_ms_.load()));
    std::lock_guard lock(mu_);
    frames_[from].push_back(std::move(frame));
  }

  const uint64_t id_;
  crypto::Ed25519Signer signer_;
  crypto::CertifiedKey cert_;
  std::atomic<int> frame_delay_ms_{0};
  std::mutex mu_;
  std::function<Status(const PeerIdentity&)> authorize_;
  std::vector<uint64_t> authorized_;
  std::map<uint64_t, std::vector<Bytes>> frames_;
  std::vector<std::string> logs_;
  std::unique_ptr<PeerTransport> transport_;
};

// A hand-driven TLS 1.3 dialer with the given credentials (trusting `ca`): the test
// decides what it sends. Every operation gives up after a timeout.
class RawDialer {
 public:
  RawDialer(const crypto::CertifiedKey& ca, const crypto::CertifiedKey& cert)
      : ctx_(asio::ssl::context::tlsv13_client) {
    ctx_.add_certificate_authority(asio::buffer(ca.certificate_pem));
    ctx_.use_certificate(asio::buffer(cert.certificate_pem), asio::ssl::context::pem);
    ctx_.use_private_key(asio::buffer(cert.private_key_pem.data(), cert.private_key_pem.size()),
                         asio::ssl::context::pem);
    ctx_.set_verify_mode(asio::ssl::verify_peer);
    stream_ = std::make_unique<asio::ssl::stream<tcp::socket>>(io_, ctx_);
  }

  // TCP connect only (no TLS).
  error_code ConnectTcp(uint16_t port) {
    const tcp::endpoint endpoint(asio::ip::make_address("127.0.0.1"), port);
    return Run([&](auto handler) { stream_->next_layer().async_connect(endpoint, handler); });
  }
  error_code Connect(uint16_t port) {
    if (error_code ec = ConnectTcp(port)) return ec;
    return Run(
        [&](auto handler) { stream_->async_handshake(asio::ssl::stream_base::client, handler); });
  }
  Bytes ChannelBinding() {
    Bytes binding(kChannelBindingBytes);
    EXPECT_EQ(SSL_export_keying_material(stream_->native_handle(), binding.data(), binding.size(),
                                         kPeerIdentityExporterLabel.data(),
                                         kPeerIdentityExporterLabel.size(), nullptr, 0, 0),
              1);
    return binding;
  }
  error_code WriteRaw(ByteView bytes) {
    return Run([&](auto handler) {
      asio::async_write(*stream_, asio::buffer(bytes.data(), bytes.size()), handler);
    });
  }
  error_code WriteFrame(ByteView payload) {
    Bytes frame;
    PutFixed32BE(&frame, static_cast<uint32_t>(payload.size()));
    frame.insert(frame.end(), payload.begin(), payload.end());
    return WriteRaw(frame);
  }
  std::optional<Bytes> ReadFrame(milliseconds timeout = milliseconds(3000)) {
    std::array<uint8_t, 4> header{};
    if (Run([&](auto h) { asio::async_read(*stream_, asio::buffer(header), h); }, timeout)) {
      return std::nullopt;
    }
    Bytes payload(DecodeFixed32BE(header.data()));
    if (Run([&](auto h) { asio::async_read(*stream_, asio::buffer(payload), h); }, timeout)) {
      return std::nullopt;
    }
    return payload;
  }
  // True if the other side closes the connection within `timeout`; reads through TLS,
  // or the bare TCP stream when `tls` is false (no TLS handshake was made).
  bool WaitForClose(milliseconds timeout = milliseconds(3000), bool tls = true) {
    std::array<uint8_t, 256> buffer{};
    for (;;) {  // data is skipped; TLS alerts arrive as errors
      const error_code ec = Run(
          [&](auto h) {
            if (tls) {
              stream_->async_read_some(asio::buffer(buffer), h);
            } else {
              stream_->next_layer().async_read_some(asio::buffer(buffer), h);
            }
          },
          timeout);
      if (ec == asio::error::timed_out) return false;
      if (ec) return true;
    }
  }

 private:
  // Runs one asynchronous operation to completion or until `timeout`.
  template <typename Initiate>
  error_code Run(Initiate initiate, milliseconds timeout = milliseconds(3000)) {
    std::optional<error_code> result;
    io_.restart();
    initiate([&result](const error_code& ec, auto&&...) { result = ec; });
    io_.run_for(timeout);
    if (!result) {
      error_code ignored;
      stream_->next_layer().close(ignored);
      io_.restart();
      io_.run();
      return asio::error::timed_out;
    }
    return *result;
  }

  asio::io_context io_;
  asio::ssl::context ctx_;
  std::unique_ptr<asio::ssl::stream<tcp::socket>> stream_;
};

// Frame `seq` from `from` to `to`: a header naming them and a body of varying length.
Bytes TestFrame(uint64_t from, uint64_t to, uint64_t seq) {
  Bytes frame;
  PutFixed64BE(&frame, from);
  PutFixed64BE(&frame, to);
  PutFixed64BE(&frame, seq);
  for (uint64_t i = 0; i < seq % 301; ++i) frame.push_back(static_cast<uint8_t>(seq * 31 + i));
  return frame;
}

// --- delivery --------------------------------------------------------------------------

TEST(PeerTransportTest, ThreeNodesExchangeFramesInOrderBothWays) {
  std::vector<std::unique_ptr<TestNode>> nodes;
  for (uint64_t id = 1; id <= 3; ++id) {
    nodes.push_back(std::make_unique<TestNode>(id));
    nodes.back()->Start();
  }
  for (auto& from : nodes) {
    for (auto& to : nodes) {
      if (from != to) ASSERT_OK(from->t().SetPeerAddress(to->id(), to->addr()));
    }
  }
  constexpr uint64_t kFrames = 1000;
  for (uint64_t seq = 0; seq < kFrames; ++seq) {
    for (auto& from : nodes) {
      for (auto& to : nodes) {
        if (from != to) ASSERT_OK(from->t().Send(to->id(), TestFrame(from->id(), to->id(), seq)));
      }
    }
  }
  for (auto& to : nodes) {
    for (auto& from : nodes) {
      if (from == to) continue;
      ASSERT_TRUE(WaitFor([&] { return to->Count(from->id()) >= kFrames; }))
          << "node " << to->id() << " got " << to->Count(from->id()) << " frames from "
          << from->id();
      const std::vector<Bytes> frames = to->Frames(from->id());
      ASSERT_EQ(frames.size(), kFrames);
      for (uint64_t seq = 0; seq < kFrames; ++seq) {
        ASSERT_EQ(frames[seq], TestFrame(from->id(), to->id(), seq))
            << "frame " << seq << " from " << from->id() << " to " << to->id();
      }
    }
  }
  for (auto& node : nodes) {
    EXPECT_EQ(node->t().refused_connections(), 0u);
    for (auto& peer : nodes) {
      if (peer == node) continue;
      const PeerTransport::PeerStats s = node->StatsOf(peer->id());
      EXPECT_TRUE(s.connected);
      EXPECT_TRUE(s.inbound_connected);
      EXPECT_EQ(s.frames_sent, kFrames);
      EXPECT_EQ(s.frames_received, kFrames);
      EXPECT_EQ(s.frames_dropped, 0u);
      EXPECT_EQ(s.frames_queued, 0u);
    }
    EXPECT_NE(node->FindLog({"event=peer_connected", "direction=outbound"}), "");
  }
}

TEST(PeerTransportTest, LargeAndEmptyFramesArriveIntact) {
  TestNode a(1), b(2);
  a.Start();
  b.Start();
  ASSERT_OK(a.t().SetPeerAddress(2, b.addr()));
  Bytes big(3 << 20);
  crypto::SeededRandom(7).Fill(big);
  ASSERT_OK(a.t().Send(2, Bytes()));
  ASSERT_OK(a.t().Send(2, big));
  ASSERT_OK(a.t().Send(2, ToBytes("tail")));
  ASSERT_TRUE(WaitFor([&] { return b.Count(1) == 3; }));
  const std::vector<Bytes> frames = b.Frames(1);
  EXPECT_TRUE(frames[0].empty());
  EXPECT_EQ(frames[1], big);
  EXPECT_EQ(frames[2], ToBytes("tail"));
}

// --- refusals -------------------------------------------------------------------------

TEST(PeerTransportTest, PeerWithCertificateFromAnotherCaIsRefused) {
  TestNode good(1);
  good.Start();
  // A node whose certificate comes from a foreign CA (it trusts the cluster CA, so only
  // `good`'s check of its certificate can stop it).
  TestNode rogue(2, ForeignCa());
  RawDialer dialer(ClusterCa(), rogue.cert());
  (void)dialer.Connect(good.port());  // TLS 1.3: the client may finish before it is refused
  Result<Bytes> statement =
      MakeIdentityStatement(rogue.signer(), 2, TestMeasurement(), dialer.ChannelBinding());
  ASSERT_TRUE(statement.ok());
  (void)dialer.WriteFrame(*statement);
  (void)dialer.WriteFrame(ToBytes("must not arrive"));
  EXPECT_TRUE(dialer.WaitForClose());
  ASSERT_TRUE(WaitFor([&] { return good.t().refused_connections() == 1; }));
  const std::string line = good.FindLog({"event=peer_refused", "direction=inbound"});
  EXPECT_NE(line, "");
  EXPECT_NE(line.find("peer_addr=127.0.0.1:"), std::string::npos) << line;
  EXPECT_NE(line.find("certificate"), std::string::npos) << line;

  // And the full transport with the foreign certificate, in both directions.
  rogue.Start(0,
              [](PeerTransportOptions& o) { o.ca_certificate_pem = ForeignCa().certificate_pem; });
  ASSERT_OK(rogue.t().SetPeerAddress(1, good.addr()));
  ASSERT_OK(rogue.t().Send(1, ToBytes("hello")));
  ASSERT_OK(good.t().SetPeerAddress(2, rogue.addr()));
  ASSERT_OK(good.t().Send(2, ToBytes("hello")));
  ASSERT_TRUE(WaitFor([&] { return good.StatsOf(2).refused >= 1; }));
  ASSERT_TRUE(WaitFor([&] { return rogue.StatsOf(1).connect_failures >= 1; }));
  ASSERT_TRUE(WaitFor([&] { return good.t().refused_connections() >= 2; }));
  EXPECT_EQ(good.TotalFrames(), 0u);
  EXPECT_EQ(rogue.TotalFrames(), 0u);
  EXPECT_EQ(good.AuthorizeCalls(), 0u);
  EXPECT_FALSE(good.StatsOf(2).connected);
}

TEST(PeerTransportTest, StatementNamingAnotherNodeThanTheCertificateIsRefused) {
  TestNode good(1);
  good.Start();
  TestNode impostor(2);  // certificate CN "node-2"
  RawDialer dialer(ClusterCa(), impostor.cert());
  ASSERT_FALSE(dialer.Connect(good.port()));
  // A well-formed, correctly signed and bound statement claiming to be node 5.
  Result<Bytes> statement =
      MakeIdentityStatement(impostor.signer(), 5, TestMeasurement(), dialer.ChannelBinding());
  ASSERT_TRUE(statement.ok());
  ASSERT_FALSE(dialer.WriteFrame(*statement));
  (void)dialer.WriteFrame(ToBytes("must not arrive"));
  EXPECT_TRUE(dialer.WaitForClose());
  ASSERT_TRUE(WaitFor([&] { return good.t().refused_connections() == 1; }));
  const std::string line = good.FindLog({"event=peer_refused", "common name"});
  EXPECT_NE(line, "") << "logs: " << ::testing::PrintToString(good.Logs());
  EXPECT_NE(line.find("cert_cn=node-2"), std::string::npos) << line;
  EXPECT_EQ(good.AuthorizeCalls(), 0u);
  EXPECT_EQ(good.TotalFrames(), 0u);
}

TEST(PeerTransportTest, WireFormatAndReplayedStatementFromAnotherConnection) {
  TestNode good(1);
  good.Start();
  TestNode peer(2);
  // Connection 1: a correct exchange, done by hand from the documented format.
  RawDialer first(ClusterCa(), peer.cert());
  ASSERT_FALSE(first.Connect(good.port()));
  const Bytes first_binding = first.ChannelBinding();
  Result<Bytes> statement =
      MakeIdentityStatement(peer.signer(), 2, TestMeasurement(), first_binding);
  ASSERT_TRUE(statement.ok());
  ASSERT_FALSE(first.WriteFrame(*statement));
  std::optional<Bytes> answer = first.ReadFrame();
  ASSERT_TRUE(answer.has_value()) << "the acceptor answers with its own statement";
  Result<PeerIdentity> acceptor = CheckIdentityStatement(
      *answer, first_binding, "node-1", [](const PeerIdentity&) { return Status::OK(); });
  ASSERT_TRUE(acceptor.ok()) << acceptor.status().ToString();
  EXPECT_EQ(acceptor->node_id, 1u);
  EXPECT_EQ(acceptor->signing_public_key, good.signer().public_key());
  ASSERT_FALSE(first.WriteFrame(ToBytes("frame one")));
  ASSERT_TRUE(WaitFor([&] { return good.Count(2) == 1; }));
  EXPECT_EQ(good.Frames(2)[0], ToBytes("frame one"));

  // Connection 2: the same (valid) statement, replayed.
  RawDialer second(ClusterCa(), peer.cert());
  ASSERT_FALSE(second.Connect(good.port()));
  ASSERT_NE(second.ChannelBinding(), first_binding);
  ASSERT_FALSE(second.WriteFrame(*statement));
  (void)second.WriteFrame(ToBytes("replayed"));
  EXPECT_TRUE(second.WaitForClose());
  ASSERT_TRUE(WaitFor([&] { return good.t().refused_connections() == 1; }));
  EXPECT_NE(good.FindLog({"event=peer_refused", "channel binding"}), "");
  EXPECT_EQ(good.Count(2), 1u);
  EXPECT_EQ(good.AuthorizeCalls(), 1u);
}

// Authenticates `dialer` to `acceptor_port` as node `id` (signed by `signer`).
void Authenticate(RawDialer& dialer, uint16_t acceptor_port, uint64_t id, crypto::Signer& signer) {
  ASSERT_FALSE(dialer.Connect(acceptor_port));
  Result<Bytes> statement =
      MakeIdentityStatement(signer, id, TestMeasurement(), dialer.ChannelBinding());
  ASSERT_TRUE(statement.ok());
  ASSERT_FALSE(dialer.WriteFrame(*statement));
  ASSERT_TRUE(dialer.ReadFrame().has_value()) << "not accepted";
}

TEST(PeerTransportTest, FirstFrameOnANewerConnectionClosesOlderOnesFromThatNode) {
  TestNode good(1);
  good.Start();
  TestNode peer(2);
  RawDialer old_conn(ClusterCa(), peer.cert());
  RawDialer new_conn(ClusterCa(), peer.cert());
  Authenticate(old_conn, good.port(), 2, peer.signer());
  ASSERT_FALSE(old_conn.WriteFrame(ToBytes("old 1")));
  ASSERT_TRUE(WaitFor([&] { return good.Count(2) == 1; }));
  // A second connection from node 2 that carries nothing yet supersedes nothing.
  Authenticate(new_conn, good.port(), 2, peer.signer());
  ASSERT_FALSE(old_conn.WriteFrame(ToBytes("old 2")));
  ASSERT_TRUE(WaitFor([&] { return good.Count(2) == 2; }));
  // Its first frame closes the older connection.
  ASSERT_FALSE(new_conn.WriteFrame(ToBytes("new 1")));
  EXPECT_TRUE(old_conn.WaitForClose());
  ASSERT_TRUE(WaitFor([&] { return good.Count(2) == 3; }));
  EXPECT_NE(good.FindLog({"event=peer_disconnected", "superseded by a newer connection"}), "");
  (void)old_conn.WriteFrame(ToBytes("old 3"));  // too late: never delivered
  ASSERT_FALSE(new_conn.WriteFrame(ToBytes("new 2")));
  ASSERT_TRUE(WaitFor([&] { return good.Count(2) == 4; }));
  EXPECT_EQ(good.Frames(2), (std::vector<Bytes>{ToBytes("old 1"), ToBytes("old 2"),
                                                ToBytes("new 1"), ToBytes("new 2")}));
  EXPECT_TRUE(good.StatsOf(2).inbound_connected);
  EXPECT_EQ(good.t().refused_connections(), 0u);
}

TEST(PeerTransportTest, PeerRejectedByAuthorizePeerIsRefusedAndLogged) {
  TestNode a(1), b(2);
  b.SetAuthorize([](const PeerIdentity& peer) {
    return peer.node_id == 1 ? Status::PermissionDenied("node 1 is not in the membership table")
                             : Status::OK();
  });
  a.Start();
  b.Start();
  ASSERT_OK(a.t().SetPeerAddress(2, b.addr()));
  ASSERT_OK(a.t().Send(2, ToBytes("let me in")));
  ASSERT_TRUE(WaitFor([&] { return b.t().refused_connections() >= 1; }));
  const std::string line = b.FindLog({"event=peer_refused", "not in the membership table"});
  ASSERT_NE(line, "") << ::testing::PrintToString(b.Logs());
  EXPECT_NE(line.find("peer_addr=127.0.0.1:"), std::string::npos) << line;
  EXPECT_NE(line.find("PermissionDenied"), std::string::npos) << line;
  ASSERT_TRUE(WaitFor([&] { return a.StatsOf(2).connect_failures >= 1; }));
  EXPECT_FALSE(a.StatsOf(2).connected);
  EXPECT_EQ(a.StatsOf(2).frames_sent, 0u);
  EXPECT_EQ(b.TotalFrames(), 0u);
}

TEST(PeerTransportTest, DialerRefusesANodeOtherThanTheOneItDialed) {
  TestNode a(1), c(3);
  a.Start();
  c.Start();
  ASSERT_OK(a.t().SetPeerAddress(2, c.addr()));  // node 2's address is wrong: node 3 is there
  ASSERT_OK(a.t().Send(2, ToBytes("for node 2 only")));
  ASSERT_TRUE(
      WaitFor([&] { return a.StatsOf(2).refused >= 1 && a.t().refused_connections() >= 1; }));
  EXPECT_NE(a.FindLog({"event=peer_refused", "direction=outbound", "dialed node 2"}), "");
  EXPECT_EQ(c.TotalFrames(), 0u);
  EXPECT_EQ(a.StatsOf(2).frames_sent, 0u);
}

TEST(PeerTransportTest, HandshakeNotCompletedInTimeIsDropped) {
  TestNode a(1);
  a.Start(0, [](PeerTransportOptions& o) { o.handshake_timeout_ms = 200; });
  RawDialer idle(ClusterCa(), a.cert());
  const auto start = Clock::now();
  ASSERT_FALSE(idle.ConnectTcp(a.port()));  // and then says nothing
  EXPECT_TRUE(idle.WaitForClose(milliseconds(3000), /*tls=*/false));
  EXPECT_GE(Clock::now() - start, milliseconds(150));
  ASSERT_TRUE(WaitFor([&] { return a.t().refused_connections() == 1; }));
  EXPECT_NE(a.FindLog({"event=peer_refused", "handshake not completed within 200 ms"}), "");
}

TEST(PeerTransportTest, OversizeFrameOnTheWireClosesTheConnection) {
  TestNode good(1);
  good.Start(0, [](PeerTransportOptions& o) {
    o.max_frame_bytes = 1024;
    o.max_queued_bytes_per_peer = 4096;
  });
  TestNode peer(2);
  RawDialer dialer(ClusterCa(), peer.cert());
  ASSERT_FALSE(dialer.Connect(good.port()));
  Result<Bytes> statement =
      MakeIdentityStatement(peer.signer(), 2, TestMeasurement(), dialer.ChannelBinding());
  ASSERT_TRUE(statement.ok());
  ASSERT_FALSE(dialer.WriteFrame(*statement));
  ASSERT_TRUE(dialer.ReadFrame().has_value());
  ASSERT_FALSE(dialer.WriteFrame(Bytes(1024, 1)));  // at the limit: fine
  Bytes header;
  PutFixed32BE(&header, 1025);
  ASSERT_FALSE(dialer.WriteRaw(header));
  EXPECT_TRUE(dialer.WaitForClose());
  ASSERT_TRUE(WaitFor([&] { return !good.FindLog({"event=peer_protocol_error"}).empty(); }));
  const std::string line = good.FindLog({"event=peer_protocol_error"});
  EXPECT_NE(line.find("Corruption: frame of 1025 bytes exceeds the limit of 1024 bytes"),
            std::string::npos)
      << line;
  EXPECT_EQ(good.Count(2), 1u);
}

// --- sending, queues, reconnects --------------------------------------------------------

TEST(PeerTransportTest, SendErrors) {
  TestNode a(1);
  a.Start(0, [](PeerTransportOptions& o) {
    o.max_frame_bytes = 100;
    o.max_queued_bytes_per_peer = 1000;
  });
  EXPECT_CODE(a.t().Send(2, ToBytes("x")), kUnavailable);  // no address
  ASSERT_OK(a.t().SetPeerAddress(2, Local(UnusedPort())));
  EXPECT_CODE(a.t().Send(2, Bytes(101)), kInvalidArgument);
  EXPECT_OK(a.t().Send(2, Bytes(100)));
  EXPECT_CODE(a.t().SetPeerAddress(1, "127.0.0.1:1"), kInvalidArgument);  // self
  EXPECT_CODE(a.t().SetPeerAddress(0, "127.0.0.1:1"), kInvalidArgument);
  for (const char* bad : {"", "127.0.0.1", "127.0.0.1:", "host:99999", "::1:80", ":80", "h:8x"}) {
    SCOPED_TRACE(bad);
    EXPECT_CODE(a.t().SetPeerAddress(3, bad), kInvalidArgument);
  }
  EXPECT_OK(a.t().SetPeerAddress(3, "[::1]:7000"));
  EXPECT_OK(a.t().SetPeerAddress(4, "localhost:7000"));
  a.Stop();
  EXPECT_CODE(a.t().Send(2, ToBytes("x")), kUnavailable);
  EXPECT_CODE(a.t().SetPeerAddress(5, "127.0.0.1:1"), kUnavailable);
  a.Stop();  // idempotent
}

TEST(PeerTransportTest, FullQueueIsResourceExhaustedWhileThePeerIsDownThenDrains) {
  const uint16_t down_port = UnusedPort();
  TestNode a(1);
  a.Start(0, [](PeerTransportOptions& o) {
    o.max_queued_frames_per_peer = 8;
    o.max_frame_bytes = 1024;
    o.max_queued_bytes_per_peer = 4096;
  });
  ASSERT_OK(a.t().SetPeerAddress(2, Local(down_port)));
  for (uint64_t i = 0; i < 8; ++i) ASSERT_OK(a.t().Send(2, TestFrame(1, 2, i)));
  EXPECT_CODE(a.t().Send(2, TestFrame(1, 2, 8)), kResourceExhausted);
  EXPECT_EQ(a.StatsOf(2).frames_queued, 8u);
  EXPECT_EQ(a.StatsOf(2).frames_dropped, 1u);
  // The byte bound (peer 3 is down too, elsewhere).
  uint16_t other_down_port = UnusedPort();
  while (other_down_port == down_port) other_down_port = UnusedPort();
  ASSERT_OK(a.t().SetPeerAddress(3, Local(other_down_port)));
  for (int i = 0; i < 4; ++i) ASSERT_OK(a.t().Send(3, Bytes(1024, 3)));
  EXPECT_CODE(a.t().Send(3, Bytes(1, 3)), kResourceExhausted);
  ASSERT_TRUE(WaitFor([&] { return a.StatsOf(2).connect_failures >= 2; }));
  EXPECT_NE(a.FindLog({"event=peer_connect_failed", "node_id=2"}), "");
  EXPECT_CODE(a.t().Send(2, TestFrame(1, 2, 8)), kResourceExhausted);  // still down

  // The peer comes up on that port: the queued frames go out, in order.
  TestNode b(2);
  b.Start(down_port);
  ASSERT_TRUE(WaitFor([&] { return b.Count(1) == 8; })) << b.Count(1);
  const std::vector<Bytes> frames = b.Frames(1);
  for (uint64_t i = 0; i < 8; ++i) EXPECT_EQ(frames[i], TestFrame(1, 2, i));
  ASSERT_TRUE(WaitFor([&] { return a.StatsOf(2).frames_queued == 0; }));
  EXPECT_OK(a.t().Send(2, TestFrame(1, 2, 8)));
  ASSERT_TRUE(WaitFor([&] { return b.Count(1) == 9; }));
}

TEST(PeerTransportTest, ReconnectBacksOffExponentiallyWithJitter) {
  TestNode a(1);
  a.Start(0, [](PeerTransportOptions& o) {
    o.reconnect_initial_ms = 20;
    o.reconnect_max_ms = 160;
  });
  ASSERT_OK(a.t().SetPeerAddress(2, Local(UnusedPort())));
  ASSERT_OK(a.t().Send(2, ToBytes("anyone there?")));
  ASSERT_TRUE(WaitFor([&] { return a.StatsOf(2).connect_failures >= 6; }));
  // The i-th retry waits between b/2 and b, b = min(20 * 2^i, 160).
  const std::regex retry("event=peer_connect_failed node_id=2 .*retry_in_ms=([0-9]+)");
  std::vector<uint32_t> delays;
  for (const std::string& line : a.Logs()) {
    std::smatch m;
    if (std::regex_search(line, m, retry)) delays.push_back(std::stoul(m[1].str()));
  }
  ASSERT_GE(delays.size(), 6u);
  uint32_t base = 20;
  for (size_t i = 0; i < delays.size(); ++i) {
    EXPECT_GE(delays[i], base / 2) << "retry " << i;
    EXPECT_LE(delays[i], base) << "retry " << i;
    base = std::min<uint32_t>(base * 2, 160);
  }
}

TEST(PeerTransportTest, PeerRestartedOnTheSamePortReceivesFramesAgain) {
  TestNode a(1);
  a.Start();
  auto b = std::make_unique<TestNode>(2);
  b->Start();
  const uint16_t b_port = b->port();
  ASSERT_OK(a.t().SetPeerAddress(2, b->addr()));
  for (uint64_t i = 0; i < 10; ++i) ASSERT_OK(a.t().Send(2, TestFrame(1, 2, i)));
  ASSERT_TRUE(WaitFor([&] { return b->Count(1) == 10; }));

  b.reset();  // stops and forgets
  ASSERT_TRUE(WaitFor([&] { return !a.StatsOf(2).connected; }));
  EXPECT_NE(a.FindLog({"event=peer_disconnected", "direction=outbound", "node_id=2"}), "");

  auto b2 = std::make_unique<TestNode>(2);
  b2->Start(b_port);
  for (uint64_t i = 10; i < 110; ++i) ASSERT_OK(a.t().Send(2, TestFrame(1, 2, i)));
  ASSERT_TRUE(WaitFor([&] { return b2->Count(1) == 100; })) << b2->Count(1);
  const std::vector<Bytes> frames = b2->Frames(1);
  for (uint64_t i = 0; i < 100; ++i) EXPECT_EQ(frames[i], TestFrame(1, 2, i + 10));
  EXPECT_TRUE(a.StatsOf(2).connected);
}

TEST(PeerTransportTest, RemovePeerClosesItsConnectionsAndDropsItsQueue) {
  TestNode a(1), b(2);
  a.Start();
  b.Start();
  ASSERT_OK(a.t().SetPeerAddress(2, b.addr()));
  ASSERT_OK(b.t().SetPeerAddress(1, a.addr()));
  ASSERT_OK(a.t().Send(2, ToBytes("a->b")));
  ASSERT_OK(b.t().Send(1, ToBytes("b->a")));
  ASSERT_TRUE(WaitFor([&] { return a.Count(2) == 1 && b.Count(1) == 1; }));
  ASSERT_TRUE(WaitFor([&] { return a.StatsOf(2).inbound_connected; }));

  a.t().RemovePeer(2);
  EXPECT_CODE(a.t().Send(2, ToBytes("gone")), kUnavailable);
  EXPECT_EQ(a.t().Stats().count(2), 0u);
  // Both of the pair's connections close.
  ASSERT_TRUE(WaitFor([&] { return !b.StatsOf(1).inbound_connected; }));
  ASSERT_TRUE(WaitFor([&] {
    return !b.FindLog({"event=peer_disconnected", "direction=outbound", "node_id=1"}).empty();
  }));
  EXPECT_NE(a.FindLog({"event=peer_disconnected", "reason=\"Unavailable: peer removed\""}), "");
}

TEST(PeerTransportTest, StopWithOpenConnectionsAndQueuedFramesIsPrompt) {
  TestNode a(1), b(2);
  b.SetFrameDelay(milliseconds(1));  // a slow receiver: frames pile up
  a.Start();
  b.Start();
  ASSERT_OK(a.t().SetPeerAddress(2, b.addr()));
  ASSERT_OK(a.t().SetPeerAddress(3, Local(UnusedPort())));  // down: frames stay queued
  ASSERT_OK(b.t().SetPeerAddress(1, a.addr()));
  ASSERT_OK(b.t().Send(1, ToBytes("b->a")));
  for (uint64_t i = 0; i < 2000; ++i) {
    ASSERT_OK(a.t().Send(2, Bytes(8192, static_cast<uint8_t>(i))));
    ASSERT_OK(a.t().Send(3, Bytes(16, 1)));
  }
  ASSERT_TRUE(WaitFor([&] { return b.Count(1) > 10 && a.Count(2) == 1; }));

  auto start = Clock::now();
  a.Stop();
  EXPECT_LT(Clock::now() - start, milliseconds(1000));
  start = Clock::now();
  b.Stop();  // mid-delivery, with on_frame sleeping
  EXPECT_LT(Clock::now() - start, milliseconds(1000));
  const size_t delivered = b.TotalFrames();
  EXPECT_LT(delivered, 2001u);
  std::this_thread::sleep_for(milliseconds(50));
  EXPECT_EQ(b.TotalFrames(), delivered) << "on_frame ran after Stop returned";
  EXPECT_NE(a.FindLog({"event=transport_stopped"}), "");
}

// --- start-up -------------------------------------------------------------------------

TEST(PeerTransportTest, StartRejectsBadOptions) {
  TestNode a(1);
  auto start = [&](const std::function<void(PeerTransportOptions&)>& adjust) {
    PeerTransportOptions o = a.Options();
    adjust(o);
    return PeerTransport::Start(std::move(o), [](uint64_t, Bytes) {}).status();
  };
  EXPECT_OK(start([](PeerTransportOptions&) {}));
  EXPECT_CODE(start([](PeerTransportOptions& o) { o.self_id = 2; }), kInvalidArgument);  // CN
  EXPECT_CODE(start([](PeerTransportOptions& o) { o.self_id = 0; }), kInvalidArgument);
  EXPECT_CODE(start([](PeerTransportOptions& o) { o.authorize_peer = nullptr; }), kInvalidArgument);
  EXPECT_CODE(start([](PeerTransportOptions& o) { o.signer = nullptr; }), kInvalidArgument);
  EXPECT_CODE(start([](PeerTransportOptions& o) { o.measurement.pop_back(); }), kInvalidArgument);
  EXPECT_CODE(start([](PeerTransportOptions& o) { o.listen_address = "localhost:0"; }),
              kInvalidArgument);
  EXPECT_CODE(start([](PeerTransportOptions& o) { o.listen_address = "127.0.0.1"; }),
              kInvalidArgument);
  EXPECT_CODE(start([](PeerTransportOptions& o) { o.ca_certificate_pem = "junk"; }),
              kInvalidArgument);
  EXPECT_CODE(start([](PeerTransportOptions& o) { o.certificate_pem = "junk"; }), kInvalidArgument);
  EXPECT_CODE(start([](PeerTransportOptions& o) {
                o.private_key_pem = crypto::SecureBytes::CopyFrom(AsBytes("junk"));
              }),
              kInvalidArgument);
  const crypto::CertifiedKey other = NodeCertificate(ClusterCa(), 1);
  EXPECT_CODE(start([&](PeerTransportOptions& o) {
                o.private_key_pem = other.private_key_pem.Clone();  // not this cert's key
              }),
              kInvalidArgument);
  const crypto::CertifiedKey foreign = NodeCertificate(ForeignCa(), 1);
  EXPECT_CODE(start([&](PeerTransportOptions& o) {
                o.certificate_pem = foreign.certificate_pem;
                o.private_key_pem = foreign.private_key_pem.Clone();
              }),
              kInvalidArgument);
  EXPECT_CODE(start([](PeerTransportOptions& o) { o.max_queued_bytes_per_peer = 10; }),
              kInvalidArgument);
  EXPECT_CODE(start([](PeerTransportOptions& o) { o.reconnect_max_ms = 1; }), kInvalidArgument);
  // A port already in use.
  asio::io_context io;
  tcp::acceptor taken(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0), false);
  const uint16_t port = taken.local_endpoint().port();
  EXPECT_CODE(start([&](PeerTransportOptions& o) { o.listen_address = Local(port); }), kIOError);
}

TEST(PeerTransportTest, LogLinesNeverCarryKeyMaterial) {
  TestNode a(1), b(2);
  b.SetAuthorize([](const PeerIdentity&) { return Status::PermissionDenied("no"); });
  a.Start();
  b.Start();
  ASSERT_OK(a.t().SetPeerAddress(2, b.addr()));
  ASSERT_OK(a.t().Send(2, ToBytes("x")));
  ASSERT_TRUE(WaitFor([&] { return b.t().refused_connections() >= 1; }));
  a.Stop();
  b.Stop();
  const std::string key_a(AsChars(a.cert().private_key_pem.view()));
  for (TestNode* node : {&a, &b}) {
    for (const std::string& line : node->Logs()) {
      EXPECT_EQ(line.find("PRIVATE KEY"), std::string::npos) << line;
      EXPECT_EQ(line.find('\n'), std::string::npos) << line;
      EXPECT_EQ(line.rfind("event=", 0), 0u) << line;
    }
  }
}

}  // namespace
}  // namespace vellum::raft
