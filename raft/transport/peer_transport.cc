// Copyright (c) Vellum authors.
//
// PeerTransport over Boost.Asio and OpenSSL (see peer_transport.h, and
// docs/formats/peer-frame.md and peer-identity.md for what goes on the wire).
//
// Structure: one io_context run by one I/O thread. Everything asynchronous (the
// listener, connections, timers) lives on that thread and is touched only there, so
// it needs no locks. What other threads touch (the peer table, the queues, the
// statistics) is guarded by `mu`; the I/O thread takes `mu` only briefly and never
// while calling a callback. Send() queues under `mu` and posts a wake-up to the I/O
// thread, at most one outstanding per peer.
//
// Lifetimes: a Connection is shared by the handlers of its pending operations; when
// it is closed (socket closed, timers cancelled) every pending handler runs with an
// error, sees `closed` and returns, and the last one frees it. Stop() posts CloseAll()
// (which closes everything and releases the work guard), so io_context::run() returns
// once the aborted handlers have drained; Stop() then joins the thread. No handler
// runs after that, so no callback runs after Stop() returns.
//
// Thread safety: as documented in the header.

#include "raft/transport/peer_transport.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <boost/asio/connect.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <charconv>
#include <chrono>
#include <climits>
#include <cstring>
#include <deque>
#include <initializer_list>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "base/idle_poll.h"
#include "crypto/openssl_util.h"
#include "crypto/random.h"
#include "crypto/x509.h"
#include "vellum/check.h"

namespace vellum::raft {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;
using SslStream = asio::ssl::stream<tcp::socket>;

constexpr size_t kFrameHeaderBytes = 4;
constexpr size_t kMaxWriteBatchBytes = size_t{256} << 10;  // frames coalesced into one write
constexpr size_t kReadChunkBytes = size_t{64} << 10;
constexpr uint32_t kMaxReconnectMs = 3600 * 1000;
constexpr auto kAcceptRetryDelay = std::chrono::milliseconds(100);

// --- OpenSSL helpers ------------------------------------------------------------------

using crypto::BioPtr;
using crypto::OpenSslFailure;
using SslCtxPtr = crypto::OpenSslPtr<SSL_CTX, &SSL_CTX_free>;
using StoreCtxPtr = crypto::X509StoreCtxPtr;

// The TLS context shared by both directions: TLS 1.3 only, peer certificates required
// and verified against the cluster CA alone, no session resumption.
Result<SslCtxPtr> MakeTlsContext(const PeerTransportOptions& options) {
  ERR_clear_error();
  SslCtxPtr ctx(SSL_CTX_new(TLS_method()));
  if (ctx == nullptr) return OpenSslFailure(StatusCode::kIOError, "SSL_CTX_new");
  if (SSL_CTX_set_min_proto_version(ctx.get(), TLS1_3_VERSION) != 1) {
    return OpenSslFailure(StatusCode::kNotSupported, "TLS 1.3");
  }
  SSL_CTX_set_options(ctx.get(), SSL_OP_NO_TICKET);
  SSL_CTX_set_num_tickets(ctx.get(), 0);
  SSL_CTX_set_session_cache_mode(ctx.get(), SSL_SESS_CACHE_OFF);
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
  SSL_CTX_set_verify_depth(ctx.get(), 4);

  // The trust store: the cluster CA certificate(s) and nothing else (the system store is
  // never loaded).
  VELLUM_RETURN_IF_ERROR(
      crypto::AddTrustedCertificates(ctx.get(), options.ca_certificate_pem, "ca_certificate_pem"));
  VELLUM_RETURN_IF_ERROR(
      crypto::UseCertificateAndKey(ctx.get(), options.certificate_pem, options.private_key_pem));

  // Fail fast on a certificate that peers would refuse: it must chain to the CA and be
  // good for both roles.
  X509_STORE* store = SSL_CTX_get_cert_store(ctx.get());
  X509* cert = SSL_CTX_get0_certificate(ctx.get());
  for (const int purpose : {X509_PURPOSE_SSL_SERVER, X509_PURPOSE_SSL_CLIENT}) {
    StoreCtxPtr verify(X509_STORE_CTX_new());
    if (verify == nullptr || X509_STORE_CTX_init(verify.get(), store, cert, nullptr) != 1 ||
        X509_STORE_CTX_set_purpose(verify.get(), purpose) != 1) {
      return OpenSslFailure(StatusCode::kIOError, "X509_STORE_CTX_init");
    }
    if (X509_verify_cert(verify.get()) != 1) {
      const int error = X509_STORE_CTX_get_error(verify.get());
      ERR_clear_error();
      return Status::InvalidArgument(
          std::string("certificate_pem does not verify against the cluster CA as a TLS ") +
          (purpose == X509_PURPOSE_SSL_SERVER ? "server" : "client") + ": " +
          X509_verify_cert_error_string(error));
    }
  }
  return ctx;
}

Result<Bytes> ExportChannelBinding(SSL* ssl) {
  Bytes binding(kChannelBindingBytes);
  if (SSL_export_keying_material(ssl, binding.data(), binding.size(),
                                 kPeerIdentityExporterLabel.data(),
                                 kPeerIdentityExporterLabel.size(), nullptr, 0, 0) != 1) {
    return OpenSslFailure(StatusCode::kIOError, "SSL_export_keying_material");
  }
  return binding;
}

Result<std::string> PeerCommonName(SSL* ssl) {
  X509* cert = SSL_get0_peer_certificate(ssl);
  if (cert == nullptr) return Status::PermissionDenied("peer presented no certificate");
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (bio == nullptr || PEM_write_bio_X509(bio.get(), cert) != 1) {
    return OpenSslFailure(StatusCode::kIOError, "encoding the peer certificate");
  }
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio.get(), &data);  // NOLINT(runtime/int)
  Result<std::string> cn = crypto::CertificateCommonName(
      std::string_view(data, size > 0 && data != nullptr ? static_cast<size_t>(size) : size_t{0}));
  if (!cn.ok()) return Status::PermissionDenied(cn.status().message());
  return cn;
}

// The node id of a certificate common name "node-<id>" (exactly NodeCommonName(id)).
std::optional<uint64_t> NodeIdOfCommonName(std::string_view cn) {
  constexpr std::string_view kPrefix = "node-";
  if (!cn.starts_with(kPrefix)) return std::nullopt;
  const std::string_view digits = cn.substr(kPrefix.size());
  uint64_t id = 0;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), id);
  if (ec != std::errc() || end != digits.data() + digits.size()) return std::nullopt;
  if (NodeCommonName(id) != cn) return std::nullopt;  // no leading zeros or signs
  return id;
}

// --- addresses and logs ---------------------------------------------------------------

struct HostPort {
  std::string host;  // without IPv6 brackets
  uint16_t port = 0;
};

Result<HostPort> ParseHostPort(std::string_view address) {
  const auto bad = [&](std::string_view why) {
    return Status::InvalidArgument("address \"" + std::string(address) + "\" is not host:port (" +
                                   std::string(why) + ")");
  };
  const size_t colon = address.rfind(':');
  if (colon == std::string_view::npos) return bad("no port");
  std::string_view host = address.substr(0, colon);
  const std::string_view port_text = address.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  } else if (host.find(':') != std::string_view::npos) {
    return bad("an IPv6 address must be in brackets");
  }
  if (host.empty()) return bad("empty host");
  unsigned port = 0;
  const auto [end, ec] =
      std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (port_text.empty() || ec != std::errc() || end != port_text.data() + port_text.size() ||
      port > 65535) {
    return bad("bad port");
  }
  return HostPort{std::string(host), static_cast<uint16_t>(port)};
}

std::string FormatEndpoint(const tcp::endpoint& endpoint) {
  const asio::ip::address address = endpoint.address();
  const std::string host = address.is_v6() ? "[" + address.to_string() + "]" : address.to_string();
  return host + ":" + std::to_string(endpoint.port());
}

// A log value: as is when it is a plain token, otherwise double-quoted, with quotes,
// backslashes and control characters escaped (so a log line stays one line).
std::string LogValue(std::string_view value) {
  const bool plain = !value.empty() && std::all_of(value.begin(), value.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u > 0x20 && u != 0x7f && c != '"' && c != '\\' && c != '=';
  });
  if (plain) return std::string(value);
  std::string out = "\"";
  for (const char c : value) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (u < 0x20 || u == 0x7f) {
      static constexpr char kHex[] = "0123456789abcdef";
      out += "\\x";
      out += kHex[u >> 4];
      out += kHex[u & 0xf];
    } else {
      out += c;
    }
  }
  out += '"';
  return out;
}

Status ReadFailure(const error_code& ec) {
  if (ec == asio::error::eof || ec == asio::ssl::error::stream_truncated ||
      ec == asio::error::connection_reset) {
    return Status::Unavailable("connection closed by the peer (" + ec.message() + ")");
  }
  return Status::IOError("reading: " + ec.message());
}

// --- connections and peers ----------------------------------------------------------

struct Peer;

// One TCP+TLS connection, either direction. I/O thread only.
struct Connection {
  Connection(asio::io_context& io, asio::ssl::context& tls, bool is_dialer)
      : dialer(is_dialer), stream(io, tls), resolver(io), handshake_timer(io) {}

  const bool dialer;  // we dialed (we send frames) or accepted (we receive them)
  SslStream stream;
  tcp::resolver resolver;
  asio::steady_timer handshake_timer;
  std::shared_ptr<Peer> peer;  // dialer: the peer dialed
  std::string peer_addr;       // for logs
  uint64_t peer_id = 0;        // dialer: the node dialed; acceptor: the node proven
  Bytes channel_binding;
  std::string peer_common_name;
  bool closed = false;
  bool established = false;  // both identity statements checked
  bool delivered = false;    // acceptor: a frame has been delivered from this connection

  // Received bytes not yet taken as frames: rx[rx_begin, rx_end). `rx_need` is how
  // many bytes from rx_begin the frame being assembled occupies.
  Bytes rx;
  size_t rx_begin = 0;
  size_t rx_end = 0;
  size_t rx_need = kFrameHeaderBytes;

  Bytes identity_tx;  // our identity statement frame while it is written
  Bytes tx;           // dialer: the batch of frames being written
  uint64_t tx_frames = 0;
  bool writing = false;
  std::array<uint8_t, 64> watch_buffer{};  // dialer: reads that only detect a close
};

// A peer this node sends to.
struct Peer {
  explicit Peer(uint64_t node_id) : id(node_id) {}
  const uint64_t id;

  // Guarded by Impl::mu.
  std::string address;
  std::deque<Bytes> queue;
  size_t queued_bytes = 0;
  bool wake_posted = false;
  bool removed = false;

  // I/O thread only.
  enum class Link { kIdle, kConnecting, kConnected, kBackoff };
  Link link = Link::kIdle;
  std::shared_ptr<Connection> conn;  // the outbound connection (connecting or connected)
  std::unique_ptr<asio::steady_timer> backoff_timer;
  uint32_t backoff_ms = 0;  // the next backoff base; 0 = reconnect_initial_ms
};

// Why a connection is being closed, for the bookkeeping and the log.
enum class CloseKind {
  kFailed,    // an I/O or protocol failure, or a timeout
  kRefused,   // our identity checks refused the peer
  kLocal,     // our own decision: peer removed, address changed, superseded
  kStopping,  // the transport is stopping: no bookkeeping, no log
};

using LogField = std::pair<std::string_view, std::string>;

Status ValidateOptions(const PeerTransportOptions& o, const PeerTransport::FrameCallback& f) {
  if (o.self_id == 0) return Status::InvalidArgument("self_id must not be 0");
  if (o.signer == nullptr) return Status::InvalidArgument("signer is required");
  if (o.signer->scheme() != crypto::SignatureScheme::kEd25519) {
    return Status::InvalidArgument("signer " + o.signer->description() + " is not Ed25519");
  }
  if (!o.authorize_peer) return Status::InvalidArgument("authorize_peer is required");
  if (!f) return Status::InvalidArgument("on_frame is required");
  if (o.measurement.size() != kMeasurementBytes) {
    return Status::InvalidArgument("measurement must be " + std::to_string(kMeasurementBytes) +
                                   " bytes, got " + std::to_string(o.measurement.size()));
  }
  if (o.max_frame_bytes == 0 || o.max_frame_bytes > UINT32_MAX) {
    return Status::InvalidArgument("max_frame_bytes must be 1 to 2^32-1");
  }
  if (o.max_queued_frames_per_peer == 0) {
    return Status::InvalidArgument("max_queued_frames_per_peer must be at least 1");
  }
  if (o.max_queued_bytes_per_peer < o.max_frame_bytes) {
    return Status::InvalidArgument("max_queued_bytes_per_peer must be at least max_frame_bytes");
  }
  if (o.reconnect_initial_ms == 0 || o.reconnect_max_ms < o.reconnect_initial_ms ||
      o.reconnect_max_ms > kMaxReconnectMs) {
    return Status::InvalidArgument(
        "reconnect delays must satisfy 0 < reconnect_initial_ms <= reconnect_max_ms <= 3600000");
  }
  if (o.handshake_timeout_ms == 0) {
    return Status::InvalidArgument("handshake_timeout_ms must not be 0");
  }
  if (o.max_inbound_connections == 0) {
    return Status::InvalidArgument("max_inbound_connections must be at least 1");
  }
  Result<std::string> cn = crypto::CertificateCommonName(o.certificate_pem);
  if (!cn.ok()) return cn.status().WithContext("certificate_pem");
  if (*cn != NodeCommonName(o.self_id)) {
    return Status::InvalidArgument("certificate common name \"" + *cn + "\" is not \"" +
                                   NodeCommonName(o.self_id) + "\"");
  }
  return Status::OK();
}

}  // namespace

struct PeerTransport::Impl {
  Impl(PeerTransportOptions o, FrameCallback f)
      : options(std::move(o)), on_frame(std::move(f)), work(asio::make_work_guard(io)) {}

  // --- set-up and shut-down (caller's thread) ---

  Status Init() {
    VELLUM_ASSIGN_OR_RETURN(SslCtxPtr ctx, MakeTlsContext(options));
    tls = std::make_unique<asio::ssl::context>(ctx.release());
    options.private_key_pem = crypto::SecureBytes();  // loaded into OpenSSL; not kept here

    VELLUM_ASSIGN_OR_RETURN(HostPort listen, ParseHostPort(options.listen_address));
    error_code ec;
    const asio::ip::address address = asio::ip::make_address(listen.host, ec);
    if (ec) {
      return Status::InvalidArgument("listen_address \"" + options.listen_address +
                                     "\" must be a numeric IP address and port");
    }
    const tcp::endpoint endpoint(address, listen.port);
    const auto io_error = [&](std::string_view what) {
      return Status::IOError(std::string(what) + " " + options.listen_address + ": " +
                             ec.message());
    };
    if (acceptor.open(endpoint.protocol(), ec)) return io_error("opening a listener on");
    if (acceptor.set_option(tcp::acceptor::reuse_address(true), ec)) {
      return io_error("setting SO_REUSEADDR on");
    }
    if (acceptor.bind(endpoint, ec)) return io_error("binding to");
    if (acceptor.listen(asio::socket_base::max_listen_connections, ec)) {
      return io_error("listening on");
    }
    port = acceptor.local_endpoint(ec).port();
    if (ec) return io_error("reading the bound port of");

    Accept();
    thread = std::thread([this] {
      Log("transport_started", {{"node_id", std::to_string(options.self_id)},
                                {"listen_addr", options.listen_address},
                                {"port", std::to_string(port)}});
      RunWithIdlePolling(io, std::chrono::microseconds(options.idle_poll_us));
    });
    return Status::OK();
  }

  void Stop() {
    std::lock_guard stop_lock(stop_mu);
    if (!thread.joinable()) return;
    VELLUM_CHECK_MSG(std::this_thread::get_id() != thread.get_id(),
                     "PeerTransport::Stop called from a transport callback");
    {
      std::lock_guard lock(mu);
      stopping = true;
    }
    asio::post(io, [this] { CloseAll(); });
    thread.join();
  }

  // --- callers' threads ---

  Status SetPeerAddress(uint64_t node_id, std::string address) {
    if (node_id == 0 || node_id == options.self_id) {
      return Status::InvalidArgument("peer node id " + std::to_string(node_id) +
                                     " is 0 or this node's own");
    }
    VELLUM_RETURN_IF_ERROR(ParseHostPort(address).status());
    std::lock_guard lock(mu);
    if (stopping) return Status::Unavailable("peer transport is stopped");
    std::shared_ptr<Peer>& peer = peers[node_id];
    if (peer == nullptr) {
      peer = std::make_shared<Peer>(node_id);
      peer->address = std::move(address);
      stats.try_emplace(node_id);
      return Status::OK();
    }
    if (peer->address == address) return Status::OK();
    peer->address = std::move(address);
    asio::post(io, [this, peer] { OnAddressChanged(peer); });
    return Status::OK();
  }

  void RemovePeer(uint64_t node_id) {
    std::shared_ptr<Peer> peer;
    {
      std::lock_guard lock(mu);
      stats.erase(node_id);
      if (const auto it = peers.find(node_id); it != peers.end()) {
        peer = std::move(it->second);
        peers.erase(it);
        peer->removed = true;
        peer->queue.clear();
        peer->queued_bytes = 0;
      }
      if (stopping) return;
      asio::post(io, [this, node_id, peer] { TearDownPeer(node_id, peer); });
    }
  }

  Status Send(uint64_t to, Bytes frame) {
    if (frame.size() > options.max_frame_bytes) {
      return Status::InvalidArgument("frame of " + std::to_string(frame.size()) +
                                     " bytes exceeds max_frame_bytes " +
                                     std::to_string(options.max_frame_bytes));
    }
    std::lock_guard lock(mu);
    if (stopping) return Status::Unavailable("peer transport is stopped");
    const auto it = peers.find(to);
    if (it == peers.end()) {
      return Status::Unavailable("no address known for node " + std::to_string(to));
    }
    Peer& peer = *it->second;
    if (peer.queue.size() >= options.max_queued_frames_per_peer ||
        frame.size() > options.max_queued_bytes_per_peer - peer.queued_bytes) {
      if (const auto s = stats.find(to); s != stats.end()) ++s->second.frames_dropped;
      return Status::ResourceExhausted("send queue for node " + std::to_string(to) + " is full (" +
                                       std::to_string(peer.queue.size()) + " frames, " +
                                       std::to_string(peer.queued_bytes) + " bytes)");
    }
    peer.queued_bytes += frame.size();
    peer.queue.push_back(std::move(frame));
    if (!peer.wake_posted) {
      peer.wake_posted = true;
      asio::post(io, [this, to] { Wake(to); });
    }
    return Status::OK();
  }

  std::map<uint64_t, PeerStats> Stats() const {
    std::lock_guard lock(mu);
    std::map<uint64_t, PeerStats> out = stats;
    for (auto& [id, s] : out) {
      const auto it = peers.find(id);
      s.frames_queued = it == peers.end() ? 0 : it->second->queue.size();
    }
    return out;
  }

  // --- I/O thread: logging ---

  void Log(std::string_view event, std::initializer_list<LogField> fields) {
    if (!options.log) return;
    std::string line = "event=";
    line += event;
    for (const LogField& field : fields) {
      line += ' ';
      line += field.first;
      line += '=';
      line += LogValue(field.second);
    }
    options.log(line);
  }

  // --- I/O thread: peers ---

  void Wake(uint64_t id) {
    std::shared_ptr<Peer> peer;
    std::string address;
    bool has_frames = false;
    {
      std::lock_guard lock(mu);
      if (stopping) return;
      const auto it = peers.find(id);
      if (it == peers.end()) return;
      peer = it->second;
      peer->wake_posted = false;
      address = peer->address;
      has_frames = !peer->queue.empty();
    }
    if (peer->link == Peer::Link::kIdle && has_frames) {
      Dial(peer, address);
    } else if (peer->link == Peer::Link::kConnected) {
      StartWrite(peer);
    }
    // kConnecting: writing starts once established. kBackoff: the timer redials.
  }

  void OnAddressChanged(const std::shared_ptr<Peer>& peer) {
    if (stopping || peer->conn == nullptr) return;
    Close(peer->conn, CloseKind::kLocal, Status::Unavailable("peer address changed"));
  }

  void TearDownPeer(uint64_t id, const std::shared_ptr<Peer>& peer) {
    if (stopping) return;
    if (peer != nullptr) {
      peer->link = Peer::Link::kIdle;
      if (peer->backoff_timer != nullptr) {
        peer->backoff_timer->cancel();
        peer->backoff_timer.reset();
      }
      if (peer->conn != nullptr) {
        std::shared_ptr<Connection> conn = std::move(peer->conn);
        Close(conn, CloseKind::kLocal, Status::Unavailable("peer removed"));
      }
    }
    if (const auto it = inbound_by_peer.find(id); it != inbound_by_peer.end()) {
      for (const std::shared_ptr<Connection>& conn : std::vector(it->second)) {
        Close(conn, CloseKind::kLocal, Status::Unavailable("peer removed"));
      }
    }
  }

  // Schedules the next dial of `peer` after a jittered, doubling delay; returns it.
  uint32_t ScheduleReconnect(const std::shared_ptr<Peer>& peer) {
    const uint32_t base = peer->backoff_ms == 0 ? options.reconnect_initial_ms : peer->backoff_ms;
    const uint32_t delay_ms =
        base / 2 + static_cast<uint32_t>(crypto::SystemRandom().Uniform(base - base / 2 + 1));
    peer->backoff_ms = static_cast<uint32_t>(
        std::min<uint64_t>(uint64_t{base} * 2, uint64_t{options.reconnect_max_ms}));
    peer->link = Peer::Link::kBackoff;
    if (peer->backoff_timer == nullptr)
      peer->backoff_timer = std::make_unique<asio::steady_timer>(io);
    peer->backoff_timer->expires_after(std::chrono::milliseconds(delay_ms));
    peer->backoff_timer->async_wait([this, peer](const error_code& ec) {
      if (ec || stopping || peer->link != Peer::Link::kBackoff) return;
      peer->link = Peer::Link::kIdle;
      std::string address;
      {
        std::lock_guard lock(mu);
        if (peer->removed || peer->queue.empty()) return;  // the next Send dials
        address = peer->address;
      }
      Dial(peer, address);
    });
    return delay_ms;
  }

  // --- I/O thread: connections ---

  void Accept() {
    auto conn = std::make_shared<Connection>(io, *tls, /*is_dialer=*/false);
    acceptor.async_accept(conn->stream.next_layer(),
                          [this, conn](const error_code& ec) { OnAccept(conn, ec); });
  }

  void OnAccept(const std::shared_ptr<Connection>& conn, const error_code& ec) {
    if (stopping) return;
    if (ec) {
      // E.g. out of file descriptors: retry after a pause rather than spin.
      Log("peer_accept_failed", {{"reason", ec.message()}});
      accept_retry_timer.expires_after(kAcceptRetryDelay);
      accept_retry_timer.async_wait([this](const error_code& wait_ec) {
        if (!wait_ec && !stopping) Accept();
      });
      return;
    }
    Accept();
    error_code ignored;
    conn->peer_addr = FormatEndpoint(conn->stream.next_layer().remote_endpoint(ignored));
    if (inbound.size() >= options.max_inbound_connections) {
      conn->closed = true;
      conn->stream.next_layer().close(ignored);
      Log("peer_refused", {{"direction", "inbound"},
                           {"peer_addr", conn->peer_addr},
                           {"reason", "ResourceExhausted: too many inbound connections (limit " +
                                          std::to_string(options.max_inbound_connections) + ")"}});
      ++refused;
      return;
    }
    inbound.insert(conn);
    conn->stream.next_layer().set_option(tcp::no_delay(true), ignored);
    ArmHandshakeTimer(conn);
    conn->stream.async_handshake(asio::ssl::stream_base::server,
                                 [this, conn](const error_code& hs_ec) { OnTls(conn, hs_ec); });
  }

  void Dial(const std::shared_ptr<Peer>& peer, const std::string& address) {
    auto conn = std::make_shared<Connection>(io, *tls, /*is_dialer=*/true);
    conn->peer = peer;
    conn->peer_id = peer->id;
    conn->peer_addr = address;
    peer->conn = conn;
    peer->link = Peer::Link::kConnecting;
    ArmHandshakeTimer(conn);
    Result<HostPort> host_port = ParseHostPort(address);
    VELLUM_CHECK_MSG(host_port.ok(), "peer addresses are checked by SetPeerAddress");
    conn->resolver.async_resolve(
        host_port->host, std::to_string(host_port->port), tcp::resolver::numeric_service,
        [this, conn](const error_code& ec, const tcp::resolver::results_type& results) {
          if (conn->closed) return;
          if (ec) {
            Close(conn, CloseKind::kFailed, Status::Unavailable("resolving: " + ec.message()));
            return;
          }
          asio::async_connect(
              conn->stream.next_layer(), results,
              [this, conn](const error_code& connect_ec, const tcp::endpoint& /*endpoint*/) {
                if (conn->closed) return;
                if (connect_ec) {
                  Close(conn, CloseKind::kFailed,
                        Status::Unavailable("connecting: " + connect_ec.message()));
                  return;
                }
                error_code ignored;
                conn->stream.next_layer().set_option(tcp::no_delay(true), ignored);
                conn->stream.async_handshake(
                    asio::ssl::stream_base::client,
                    [this, conn](const error_code& hs_ec) { OnTls(conn, hs_ec); });
              });
        });
  }

  void ArmHandshakeTimer(const std::shared_ptr<Connection>& conn) {
    conn->handshake_timer.expires_after(std::chrono::milliseconds(options.handshake_timeout_ms));
    conn->handshake_timer.async_wait([this, conn](const error_code& ec) {
      if (ec || conn->closed || conn->established) return;
      Close(conn, CloseKind::kFailed,
            Status::Unavailable("handshake not completed within " +
                                std::to_string(options.handshake_timeout_ms) + " ms"));
    });
  }

  // The TLS handshake finished (or failed).
  void OnTls(const std::shared_ptr<Connection>& conn, const error_code& ec) {
    if (conn->closed) return;
    SSL* ssl = conn->stream.native_handle();
    if (ec) {
      const long verify = SSL_get_verify_result(ssl);  // NOLINT(runtime/int): OpenSSL's type
      ERR_clear_error();
      if (verify != X509_V_OK) {
        Close(conn, CloseKind::kRefused,
              Status::PermissionDenied("TLS handshake: peer certificate refused: " +
                                       std::string(X509_verify_cert_error_string(verify))));
      } else {
        Close(conn, CloseKind::kFailed, Status::IOError("TLS handshake: " + ec.message()));
      }
      return;
    }
    Result<Bytes> binding = ExportChannelBinding(ssl);
    if (!binding.ok()) {
      Close(conn, CloseKind::kFailed, binding.status());
      return;
    }
    conn->channel_binding = std::move(binding).value();
    Result<std::string> cn = PeerCommonName(ssl);
    if (!cn.ok()) {
      Close(conn, CloseKind::kRefused, cn.status());
      return;
    }
    conn->peer_common_name = std::move(cn).value();
    // The dialer speaks first; the acceptor answers only once it has accepted.
    if (conn->dialer) {
      SendIdentity(conn);
    } else {
      ReadIdentity(conn);
    }
  }

  void SendIdentity(const std::shared_ptr<Connection>& conn) {
    Result<Bytes> statement = MakeIdentityStatement(*options.signer, options.self_id,
                                                    options.measurement, conn->channel_binding);
    if (!statement.ok()) {
      Close(conn, CloseKind::kFailed, statement.status());
      return;
    }
    conn->identity_tx.clear();
    PutFixed32BE(&conn->identity_tx, static_cast<uint32_t>(statement->size()));
    conn->identity_tx.insert(conn->identity_tx.end(), statement->begin(), statement->end());
    asio::async_write(conn->stream, asio::buffer(conn->identity_tx),
                      [this, conn](const error_code& ec, size_t /*bytes*/) {
                        if (conn->closed) return;
                        if (ec) {
                          Close(conn, CloseKind::kFailed,
                                Status::IOError("writing the identity statement: " + ec.message()));
                          return;
                        }
                        if (conn->dialer) {
                          ReadIdentity(conn);
                        } else {
                          OnInboundEstablished(conn);
                        }
                      });
  }

  void ReadIdentity(const std::shared_ptr<Connection>& conn) {
    ReadOneFrame(conn, kIdentityStatementBytes, [this, conn](Status status, Bytes statement) {
      if (!status.ok()) {
        Close(conn, CloseKind::kFailed, status.WithContext("reading the identity statement"));
        return;
      }
      const uint64_t dialed = conn->dialer ? conn->peer_id : 0;
      const std::string dialed_addr = conn->peer_addr;
      const auto authorize = [&](const PeerIdentity& identity) {
        if (dialed != 0 && identity.node_id != dialed) {
          return Status::PermissionDenied("dialed node " + std::to_string(dialed) + " at " +
                                          dialed_addr + " but node " +
                                          std::to_string(identity.node_id) + " answered");
        }
        return options.authorize_peer(identity);
      };
      Result<PeerIdentity> identity = CheckIdentityStatement(statement, conn->channel_binding,
                                                             conn->peer_common_name, authorize);
      if (conn->closed) return;  // closed while authorize_peer ran (cannot happen today)
      if (!identity.ok()) {
        Close(conn, CloseKind::kRefused, identity.status());
        return;
      }
      conn->peer_id = identity->node_id;
      if (conn->dialer) {
        OnOutboundEstablished(conn);
      } else {
        SendIdentity(conn);
      }
    });
  }

  void OnInboundEstablished(const std::shared_ptr<Connection>& conn) {
    conn->established = true;
    conn->handshake_timer.cancel();
    inbound_by_peer[conn->peer_id].push_back(conn);
    {
      std::lock_guard lock(mu);
      stats[conn->peer_id].inbound_connected = true;
    }
    Log("peer_connected", {{"direction", "inbound"},
                           {"node_id", std::to_string(conn->peer_id)},
                           {"peer_addr", conn->peer_addr}});
    ReadFrames(conn);
  }

  void OnOutboundEstablished(const std::shared_ptr<Connection>& conn) {
    const std::shared_ptr<Peer> peer = conn->peer;
    if (peer->conn != conn) {
      Close(conn, CloseKind::kLocal, Status::Unavailable("superseded"));
      return;
    }
    if (conn->rx_end != conn->rx_begin) {
      Close(conn, CloseKind::kFailed,
            Status::Corruption("acceptor sent bytes after its identity statement"));
      return;
    }
    conn->established = true;
    conn->handshake_timer.cancel();
    peer->link = Peer::Link::kConnected;
    peer->backoff_ms = 0;
    {
      std::lock_guard lock(mu);
      if (const auto it = stats.find(peer->id); it != stats.end()) it->second.connected = true;
    }
    Log("peer_connected", {{"direction", "outbound"},
                           {"node_id", std::to_string(peer->id)},
                           {"peer_addr", conn->peer_addr}});
    WatchForClose(conn);
    StartWrite(peer);
  }

  // The acceptor sends nothing after its statement: a read completes only when the
  // connection closes (or the peer breaks the protocol).
  void WatchForClose(const std::shared_ptr<Connection>& conn) {
    conn->stream.async_read_some(
        asio::buffer(conn->watch_buffer), [this, conn](const error_code& ec, size_t bytes) {
          if (conn->closed) return;
          Close(conn, CloseKind::kFailed,
                ec ? ReadFailure(ec)
                   : Status::Corruption("acceptor sent " + std::to_string(bytes) +
                                        " bytes after its identity statement"));
        });
  }

  void StartWrite(const std::shared_ptr<Peer>& peer) {
    if (peer->link != Peer::Link::kConnected) return;
    const std::shared_ptr<Connection> conn = peer->conn;
    if (conn == nullptr || conn->closed || conn->writing) return;
    std::vector<Bytes> batch;
    {
      std::lock_guard lock(mu);
      size_t batch_bytes = 0;
      while (!peer->queue.empty()) {
        const size_t size = kFrameHeaderBytes + peer->queue.front().size();
        if (!batch.empty() && batch_bytes + size > kMaxWriteBatchBytes) break;
        batch_bytes += size;
        peer->queued_bytes -= peer->queue.front().size();
        batch.push_back(std::move(peer->queue.front()));
        peer->queue.pop_front();
      }
    }
    if (batch.empty()) return;
    conn->tx.clear();
    for (const Bytes& frame : batch) {
      PutFixed32BE(&conn->tx, static_cast<uint32_t>(frame.size()));
      conn->tx.insert(conn->tx.end(), frame.begin(), frame.end());
    }
    conn->tx_frames = batch.size();
    conn->writing = true;
    asio::async_write(
        conn->stream, asio::buffer(conn->tx), [this, conn](const error_code& ec, size_t /*bytes*/) {
          conn->writing = false;
          if (conn->closed) return;  // Close counted the batch as dropped
          if (ec) {
            Close(conn, CloseKind::kFailed, Status::IOError("writing frames: " + ec.message()));
            return;
          }
          {
            std::lock_guard lock(mu);
            const auto it = stats.find(conn->peer_id);
            if (it != stats.end()) it->second.frames_sent += conn->tx_frames;
          }
          conn->tx_frames = 0;
          if (conn->tx.capacity() > 4 * kMaxWriteBatchBytes) Bytes().swap(conn->tx);
          StartWrite(conn->peer);
        });
  }

  // --- I/O thread: reading frames ---

  // Takes one complete frame of at most `max_bytes` from the receive buffer: true if
  // one was taken, false if more bytes are needed, Corruption for an over-size length.
  static Result<bool> TakeFrame(Connection& c, size_t max_bytes, Bytes* frame) {
    const size_t available = c.rx_end - c.rx_begin;
    if (available < kFrameHeaderBytes) {
      c.rx_need = kFrameHeaderBytes;
      return false;
    }
    const uint32_t length = DecodeFixed32BE(c.rx.data() + c.rx_begin);
    if (length > max_bytes) {
      return Status::Corruption("frame of " + std::to_string(length) +
                                " bytes exceeds the limit of " + std::to_string(max_bytes) +
                                " bytes");
    }
    if (available < kFrameHeaderBytes + length) {
      c.rx_need = kFrameHeaderBytes + length;
      return false;
    }
    const uint8_t* start = c.rx.data() + c.rx_begin + kFrameHeaderBytes;
    frame->assign(start, start + length);
    c.rx_begin += kFrameHeaderBytes + length;
    if (c.rx_begin == c.rx_end) c.rx_begin = c.rx_end = 0;
    c.rx_need = kFrameHeaderBytes;
    return true;
  }

  // Room for the next read: the partial frame moved to the front, and the buffer large
  // enough for all of it (or a read chunk).
  static asio::mutable_buffer ReadSpace(Connection& c) {
    if (c.rx_begin > 0) {
      std::memmove(c.rx.data(), c.rx.data() + c.rx_begin, c.rx_end - c.rx_begin);
      c.rx_end -= c.rx_begin;
      c.rx_begin = 0;
    }
    const size_t want = std::max(c.rx_need, kReadChunkBytes);
    if (c.rx.size() < want) {
      c.rx.resize(want);
    } else if (c.rx.size() > 4 * kReadChunkBytes && want == kReadChunkBytes &&
               c.rx_end <= kReadChunkBytes / 2) {
      c.rx.resize(kReadChunkBytes);  // give back the memory of a large frame
      c.rx.shrink_to_fit();
    }
    return asio::buffer(c.rx.data() + c.rx_end, c.rx.size() - c.rx_end);
  }

  using FrameHandler = std::function<void(Status, Bytes)>;

  // Reads exactly one frame (the identity statement) and calls `done` once.
  void ReadOneFrame(const std::shared_ptr<Connection>& conn, size_t max_bytes, FrameHandler done) {
    Bytes frame;
    Result<bool> taken = TakeFrame(*conn, max_bytes, &frame);
    if (!taken.ok()) {
      done(taken.status(), Bytes());
      return;
    }
    if (*taken) {
      done(Status::OK(), std::move(frame));
      return;
    }
    conn->stream.async_read_some(ReadSpace(*conn), [this, conn, max_bytes, done = std::move(done)](
                                                       const error_code& ec, size_t bytes) mutable {
      if (conn->closed) return;
      if (ec) {
        done(ReadFailure(ec), Bytes());
        return;
      }
      conn->rx_end += bytes;
      ReadOneFrame(conn, max_bytes, std::move(done));
    });
  }

  // A peer sends on one connection at a time, so the first frame on a connection means
  // the peer has given up its older ones (e.g. half-open after a network failure):
  // close them, dropping what is unread there, so that nothing older is delivered after
  // this connection's frames. Connections that never carry frames (a dial the peer
  // refused because we are not the node it meant) supersede nothing.
  void SupersedeOlderInbound(const std::shared_ptr<Connection>& conn) {
    conn->delivered = true;
    const std::vector<std::shared_ptr<Connection>> same_peer = inbound_by_peer[conn->peer_id];
    for (const std::shared_ptr<Connection>& older : same_peer) {
      if (older == conn) break;  // the list is in order of establishment
      Close(older, CloseKind::kLocal,
            Status::Unavailable("superseded by a newer connection from the same node"));
    }
  }

  // The acceptor's read loop: delivers every complete frame, then reads more.
  void ReadFrames(const std::shared_ptr<Connection>& conn) {
    for (;;) {
      if (conn->closed || stopping) return;
      Bytes frame;
      Result<bool> taken = TakeFrame(*conn, options.max_frame_bytes, &frame);
      if (!taken.ok()) {
        Close(conn, CloseKind::kFailed, taken.status());
        return;
      }
      if (!*taken) break;
      if (!conn->delivered) SupersedeOlderInbound(conn);
      {
        std::lock_guard lock(mu);
        const auto it = stats.find(conn->peer_id);
        if (it != stats.end()) ++it->second.frames_received;
      }
      on_frame(conn->peer_id, std::move(frame));
    }
    conn->stream.async_read_some(ReadSpace(*conn),
                                 [this, conn](const error_code& ec, size_t bytes) {
                                   if (conn->closed) return;
                                   if (ec) {
                                     Close(conn, CloseKind::kFailed, ReadFailure(ec));
                                     return;
                                   }
                                   conn->rx_end += bytes;
                                   ReadFrames(conn);
                                 });
  }

  // --- I/O thread: closing ---

  // Takes `conn` by value: callers pass references into peer->conn or inbound_by_peer,
  // which the bookkeeping below resets.
  void Close(std::shared_ptr<Connection> conn, CloseKind kind, const Status& reason) {
    if (conn->closed) return;
    conn->closed = true;
    error_code ignored;
    conn->stream.next_layer().close(ignored);  // aborts every pending operation
    conn->handshake_timer.cancel();
    conn->resolver.cancel();
    if (conn->dialer) {
      OnOutboundClosed(conn, kind, reason);
    } else {
      OnInboundClosed(conn, kind, reason);
    }
  }

  // Both close handlers log before they count, so whoever sees a counter change (the
  // tests, a metrics scraper) also finds the log line that explains it.
  void OnOutboundClosed(const std::shared_ptr<Connection>& conn, CloseKind kind,
                        const Status& reason) {
    const uint64_t dropped = std::exchange(conn->tx_frames, 0);
    if (kind == CloseKind::kStopping) return;
    const std::shared_ptr<Peer>& peer = conn->peer;
    const bool current = peer->conn == conn;
    const bool failed_attempt = !conn->established && kind != CloseKind::kLocal;
    std::string retry = "none";
    if (current) {
      peer->conn.reset();
      retry = std::to_string(ScheduleReconnect(peer));
    }
    const std::string node = std::to_string(peer->id);
    if (kind == CloseKind::kRefused) {
      Log("peer_refused", {{"direction", "outbound"},
                           {"node_id", node},
                           {"peer_addr", conn->peer_addr},
                           {"reason", reason.ToString()},
                           {"retry_in_ms", retry}});
    } else if (failed_attempt) {
      Log("peer_connect_failed", {{"node_id", node},
                                  {"peer_addr", conn->peer_addr},
                                  {"reason", reason.ToString()},
                                  {"retry_in_ms", retry}});
    } else {
      Log(reason.IsCorruption() ? "peer_protocol_error" : "peer_disconnected",
          {{"direction", "outbound"},
           {"node_id", node},
           {"peer_addr", conn->peer_addr},
           {"reason", reason.ToString()},
           {"frames_lost", std::to_string(dropped)},
           {"retry_in_ms", retry}});
    }
    {
      std::lock_guard lock(mu);
      if (const auto it = stats.find(peer->id); it != stats.end()) {
        it->second.frames_dropped += dropped;
        if (failed_attempt) ++it->second.connect_failures;
        if (kind == CloseKind::kRefused) ++it->second.refused;
        if (current) it->second.connected = false;
      }
    }
    if (kind == CloseKind::kRefused) ++refused;
  }

  void OnInboundClosed(const std::shared_ptr<Connection>& conn, CloseKind kind,
                       const Status& reason) {
    inbound.erase(conn);
    if (kind == CloseKind::kStopping) return;
    if (conn->established) {
      Log(reason.IsCorruption() ? "peer_protocol_error" : "peer_disconnected",
          {{"direction", "inbound"},
           {"node_id", std::to_string(conn->peer_id)},
           {"peer_addr", conn->peer_addr},
           {"reason", reason.ToString()}});
      const auto it = inbound_by_peer.find(conn->peer_id);
      if (it != inbound_by_peer.end()) {
        std::erase(it->second, conn);
        if (it->second.empty()) {
          inbound_by_peer.erase(it);
          std::lock_guard lock(mu);
          if (const auto s = stats.find(conn->peer_id); s != stats.end()) {
            s->second.inbound_connected = false;
          }
        }
      }
      return;
    }
    // Not authenticated: refused, whoever gave up. Attribute it to the node the
    // certificate names, if any (the statement's claim is not trusted).
    Log("peer_refused", {{"direction", "inbound"},
                         {"peer_addr", conn->peer_addr},
                         {"cert_cn", conn->peer_common_name},
                         {"reason", reason.ToString()}});
    if (const std::optional<uint64_t> id = NodeIdOfCommonName(conn->peer_common_name)) {
      std::lock_guard lock(mu);
      if (const auto s = stats.find(*id); s != stats.end()) ++s->second.refused;
    }
    ++refused;
  }

  void CloseAll() {
    error_code ignored;
    acceptor.close(ignored);
    accept_retry_timer.cancel();
    std::vector<std::shared_ptr<Peer>> all;
    {
      std::lock_guard lock(mu);
      for (auto& [id, peer] : peers) {
        peer->removed = true;
        all.push_back(std::move(peer));
      }
      peers.clear();
      for (auto& [id, s] : stats) s.connected = s.inbound_connected = false;
    }
    const Status stopping_status = Status::Unavailable("transport stopping");
    for (const std::shared_ptr<Peer>& peer : all) {
      peer->link = Peer::Link::kIdle;
      if (peer->backoff_timer != nullptr) {
        peer->backoff_timer->cancel();
        peer->backoff_timer.reset();
      }
      if (peer->conn != nullptr) {
        std::shared_ptr<Connection> conn = std::move(peer->conn);
        Close(conn, CloseKind::kStopping, stopping_status);
      }
    }
    for (const std::shared_ptr<Connection>& conn : std::vector(inbound.begin(), inbound.end())) {
      Close(conn, CloseKind::kStopping, stopping_status);
    }
    inbound.clear();
    inbound_by_peer.clear();
    Log("transport_stopped", {{"node_id", std::to_string(options.self_id)}});
    work.reset();  // run() returns once the aborted operations have drained
  }

  PeerTransportOptions options;
  const FrameCallback on_frame;

  // Declared before everything that holds Asio objects, so destroyed after them.
  asio::io_context io{1};
  asio::executor_work_guard<asio::io_context::executor_type> work;
  std::unique_ptr<asio::ssl::context> tls;
  tcp::acceptor acceptor{io};
  asio::steady_timer accept_retry_timer{io};
  uint16_t port = 0;

  mutable std::mutex mu;
  std::atomic<bool> stopping{false};                // written under mu
  std::map<uint64_t, std::shared_ptr<Peer>> peers;  // guarded by mu
  std::map<uint64_t, PeerStats> stats;              // guarded by mu
  std::atomic<uint64_t> refused{0};

  // I/O thread only.
  std::set<std::shared_ptr<Connection>> inbound;  // accepted, not yet closed
  // Established inbound connections per peer node, in order of establishment.
  std::map<uint64_t, std::vector<std::shared_ptr<Connection>>> inbound_by_peer;

  std::mutex stop_mu;  // serializes Stop()
  std::thread thread;
};

PeerTransport::PeerTransport(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

PeerTransport::~PeerTransport() { Stop(); }

Result<std::unique_ptr<PeerTransport>> PeerTransport::Start(PeerTransportOptions options,
                                                            FrameCallback on_frame) {
  VELLUM_RETURN_IF_ERROR(ValidateOptions(options, on_frame));
  auto impl = std::make_unique<Impl>(std::move(options), std::move(on_frame));
  VELLUM_RETURN_IF_ERROR(impl->Init());
  return std::unique_ptr<PeerTransport>(new PeerTransport(std::move(impl)));
}

uint16_t PeerTransport::bound_port() const { return impl_->port; }

Status PeerTransport::SetPeerAddress(uint64_t node_id, std::string address) {
  return impl_->SetPeerAddress(node_id, std::move(address));
}

void PeerTransport::RemovePeer(uint64_t node_id) { impl_->RemovePeer(node_id); }

Status PeerTransport::Send(uint64_t to, Bytes frame) { return impl_->Send(to, std::move(frame)); }

std::map<uint64_t, PeerTransport::PeerStats> PeerTransport::Stats() const { return impl_->Stats(); }

uint64_t PeerTransport::refused_connections() const { return impl_->refused.load(); }

void PeerTransport::Stop() { impl_->Stop(); }

}  // namespace vellum::raft
