// Copyright (c) Vellum authors.
//
// HttpsServer over Boost.Beast, Boost.Asio and OpenSSL (see https_server.h).
//
// Structure: one io_context run by `io_threads` threads. The acceptor and its retry
// timer live on one strand; every connection on a strand of its own, which serializes
// everything about it (socket, timers, parser, handler calls) without locks. What other
// threads touch is guarded by Impl::mu: the table of open connections (for the limit
// and for Stop) and the `stopping` flag.
//
// A connection is a loop on its strand:
//   handshake -> read head [-> 100 Continue] -> read body -> handler -> write -> read ...
// The stream's own deadline (beast::tcp_stream::expires_after) bounds the handshake, the
// whole request read, and the response write (read_timeout_ms); when it passes the
// socket is closed. A separate timer bounds the handler (handler_timeout_ms -> 504).
//
// Responders: a Responder may be called from any thread, even after the server is gone,
// so it holds no Asio object. It holds the Hub (shared with the server), which posts the
// response to the io_context while the server runs and drops it once the server has
// stopped; the posted function finds the connection by weak_ptr and hops onto its
// strand, where a sequence number discards a response that comes too late (504 sent,
// or the connection moved on). A Responder destroyed uncalled delivers "no response",
// answered 500.
//
// Lifetimes: a Connection is owned by the handlers of its pending operations (and by
// nothing else); when it is closed every pending handler completes with an error, and
// the last one frees it. Its destructor removes it from the table and signals Stop().
//
// Thread safety: as documented in the header.

#include "node/http/https_server.h"

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <charconv>
#include <chrono>
#include <climits>
#include <condition_variable>
#include <exception>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "base/idle_poll.h"
#include "crypto/openssl_util.h"
#include "node/http/percent.h"
#include "vellum/check.h"

namespace vellum::http {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;
using Stream = beast::ssl_stream<beast::tcp_stream>;

constexpr auto kAcceptRetryDelay = milliseconds(100);
constexpr auto kMaxShutdownWait = milliseconds(1000);  // for the client's close_notify
constexpr size_t kReadChunkBytes = size_t{64} << 10;
constexpr int kMaxIoThreads = 64;
constexpr size_t kMinHeaderBytes = 256;
constexpr std::string_view kUnmatchedRoute = "unmatched";

// --- OpenSSL helpers ------------------------------------------------------------------

using crypto::OpenSslFailure;
using SslCtxPtr = crypto::OpenSslPtr<SSL_CTX, &SSL_CTX_free>;
using StoreCtxPtr = crypto::X509StoreCtxPtr;
struct OpenSslFree {
  void operator()(unsigned char* p) const { OPENSSL_free(p); }
};

// TLS 1.3 only, no session resumption, client certificates verified against the CA
// certificates of `options` alone (the system store is never loaded).
Result<SslCtxPtr> MakeTlsContext(const HttpsServerOptions& options) {
  ERR_clear_error();
  SslCtxPtr ctx(SSL_CTX_new(TLS_server_method()));
  if (ctx == nullptr) return OpenSslFailure(StatusCode::kIOError, "SSL_CTX_new");
  if (SSL_CTX_set_min_proto_version(ctx.get(), TLS1_3_VERSION) != 1 ||
      SSL_CTX_set_max_proto_version(ctx.get(), TLS1_3_VERSION) != 1) {
    return OpenSslFailure(StatusCode::kNotSupported, "TLS 1.3");
  }
  SSL_CTX_set_options(ctx.get(), SSL_OP_NO_TICKET);
  SSL_CTX_set_num_tickets(ctx.get(), 0);
  SSL_CTX_set_session_cache_mode(ctx.get(), SSL_SESS_CACHE_OFF);
  SSL_CTX_set_verify(ctx.get(),
                     options.require_client_certificate
                         ? SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT
                         : SSL_VERIFY_PEER,
                     nullptr);
  SSL_CTX_set_verify_depth(ctx.get(), 4);

  // The trust store, and the CA names the server tells clients it accepts.
  VELLUM_RETURN_IF_ERROR(crypto::AddTrustedCertificates(
      ctx.get(), options.ca_certificate_pem, "ca_certificate_pem", crypto::AdvertiseCas::kYes));
  VELLUM_RETURN_IF_ERROR(
      crypto::UseCertificateAndKey(ctx.get(), options.certificate_pem, options.private_key_pem));

  // Fail fast on a certificate that clients would refuse.
  X509_STORE* store = SSL_CTX_get_cert_store(ctx.get());
  X509* cert = SSL_CTX_get0_certificate(ctx.get());
  StoreCtxPtr verify(X509_STORE_CTX_new());
  if (verify == nullptr || X509_STORE_CTX_init(verify.get(), store, cert, nullptr) != 1 ||
      X509_STORE_CTX_set_purpose(verify.get(), X509_PURPOSE_SSL_SERVER) != 1) {
    return OpenSslFailure(StatusCode::kIOError, "X509_STORE_CTX_init");
  }
  if (X509_verify_cert(verify.get()) != 1) {
    const int error = X509_STORE_CTX_get_error(verify.get());
    ERR_clear_error();
    return Status::InvalidArgument(
        std::string("certificate_pem does not verify against the CA as a TLS server: ") +
        X509_verify_cert_error_string(error));
  }
  return ctx;
}

// The subject CN of the client's verified certificate; "" when it presented none
// (possible only when certificates are optional).
Result<std::string> ClientCommonName(SSL* ssl) {
  X509* cert = SSL_get0_peer_certificate(ssl);
  if (cert == nullptr) return std::string();
  if (SSL_get_verify_result(ssl) != X509_V_OK) {
    return Status::PermissionDenied("client certificate did not verify");
  }
  X509_NAME* name = X509_get_subject_name(cert);
  const int index = name == nullptr ? -1 : X509_NAME_get_index_by_NID(name, NID_commonName, -1);
  if (index < 0) return Status::PermissionDenied("client certificate has no common name");
  if (X509_NAME_get_index_by_NID(name, NID_commonName, index) >= 0) {
    return Status::PermissionDenied("client certificate has several common names");
  }
  unsigned char* utf8 = nullptr;
  const int size =
      ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, index)));
  const std::unique_ptr<unsigned char, OpenSslFree> owned(utf8);
  if (size <= 0) {
    ERR_clear_error();
    return Status::PermissionDenied("client certificate common name is empty or not text");
  }
  std::string cn(reinterpret_cast<const char*>(utf8), static_cast<size_t>(size));
  if (cn.find('\0') != std::string::npos) {
    return Status::PermissionDenied("client certificate common name contains NUL");
  }
  return cn;
}

// --- addresses, labels and logs -------------------------------------------------------

struct HostPort {
  std::string host;  // without IPv6 brackets
  uint16_t port = 0;
};

Result<HostPort> ParseHostPort(std::string_view address) {
  const auto bad = [&](std::string_view why) {
    return Status::InvalidArgument("listen_address \"" + std::string(address) +
                                   "\" is not ip:port (" + std::string(why) + ")");
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

// The method as a metric label and log value: the standard methods as they are, any
// other "other" (a client must not be able to create unbounded label values).
std::string MethodLabel(std::string_view method) {
  static constexpr std::string_view kKnown[] = {"GET",    "HEAD",  "POST",   "PUT",
                                                "DELETE", "PATCH", "OPTIONS"};
  for (const std::string_view known : kKnown) {
    if (method == known) return std::string(method);
  }
  return "other";
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

using LogField = std::pair<std::string_view, std::string>;

bool IsToken(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
  });
}

bool IsFieldValue(std::string_view s) {
  return s.find_first_of(std::string_view("\r\n\0", 3)) == std::string_view::npos;
}

std::string_view View(beast::string_view s) { return {s.data(), s.size()}; }

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

Status ValidateOptions(const HttpsServerOptions& o) {
  VELLUM_RETURN_IF_ERROR(ParseHostPort(o.listen_address).status());
  if (o.io_threads < 1 || o.io_threads > kMaxIoThreads) {
    return Status::InvalidArgument("io_threads must be 1 to " + std::to_string(kMaxIoThreads));
  }
  if (o.max_connections == 0) {
    return Status::InvalidArgument("max_connections must be at least 1");
  }
  if (o.max_header_bytes < kMinHeaderBytes || o.max_header_bytes >= UINT32_MAX) {
    return Status::InvalidArgument("max_header_bytes must be at least " +
                                   std::to_string(kMinHeaderBytes) + " and below 2^32");
  }
  if (o.read_timeout_ms == 0 || o.handler_timeout_ms == 0) {
    return Status::InvalidArgument("read_timeout_ms and handler_timeout_ms must not be 0");
  }
  return Status::OK();
}

class Connection;

// The meeting point of Responders (any thread, any lifetime) and the server.
class Hub {
 public:
  explicit Hub(asio::io_context* io) : io_(io) {}

  // Hands `response` (nullopt: the handler dropped its Responder) for exchange `seq` to
  // the connection, if the server still runs.
  void Deliver(std::weak_ptr<Connection> connection, uint64_t seq,
               std::optional<Response> response);

  // After this, Deliver does nothing (the io_context may then be destroyed).
  void Detach() {
    std::lock_guard lock(mu_);
    io_ = nullptr;
  }

 private:
  std::mutex mu_;
  asio::io_context* io_;  // guarded by mu_
};

// Shared by the copies of one Responder.
class ResponderState {
 public:
  ResponderState(std::shared_ptr<Hub> hub, std::weak_ptr<Connection> connection, uint64_t seq)
      : hub_(std::move(hub)), connection_(std::move(connection)), seq_(seq) {}
  ~ResponderState() {
    if (!called_.load()) hub_->Deliver(std::move(connection_), seq_, std::nullopt);
  }
  ResponderState(const ResponderState&) = delete;
  ResponderState& operator=(const ResponderState&) = delete;

  void Respond(Response response) {
    VELLUM_CHECK_MSG(!called_.exchange(true), "an http::Responder was called twice");
    hub_->Deliver(connection_, seq_, std::move(response));
  }

 private:
  const std::shared_ptr<Hub> hub_;
  std::weak_ptr<Connection> connection_;
  const uint64_t seq_;
  std::atomic<bool> called_{false};
};

// --- the server -----------------------------------------------------------------------

// The server; HttpsServer::Impl is this (a struct in this file, so that Connection
// can name it).
struct Server {
  Server(HttpsServerOptions o, Router r) : options(std::move(o)), router(std::move(r)) {}
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  Status Init();
  void Stop();

  void Accept();
  void OnAccept(const error_code& ec, tcp::socket socket);
  void Unregister(uint64_t id);
  void Log(std::string_view event, std::initializer_list<LogField> fields) const;
  // Counts and logs one answered request.
  void Record(const std::string& method, const std::string& route, int status,
              Clock::duration duration, const std::string& client);
  // Runs `fn` on the connection's strand, if it still exists.
  void PostToConnection(std::weak_ptr<Connection> connection, void (Connection::*fn)());

  HttpsServerOptions options;
  Router router;
  std::shared_ptr<MetricsRegistry> metrics;
  Gauge* open_connections = nullptr;
  Counter* rejected_connections = nullptr;
  Counter* handshake_failures = nullptr;
  std::vector<double> duration_buckets = DefaultLatencyBuckets();

  std::unique_ptr<asio::ssl::context> tls;
  std::optional<asio::io_context> io;
  std::shared_ptr<Hub> hub;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work;
  std::optional<tcp::acceptor> acceptor;           // acceptor strand
  std::optional<asio::steady_timer> accept_retry;  // acceptor strand
  uint16_t port = 0;
  std::vector<std::thread> threads;

  std::mutex mu;
  std::condition_variable connections_changed;
  std::map<uint64_t, std::weak_ptr<Connection>> connections;  // guarded by mu
  uint64_t next_connection_id = 1;                            // guarded by mu
  std::atomic<bool> stopping{false};                          // written under mu

  std::mutex stop_mu;
  bool stopped = false;  // guarded by stop_mu
};

// --- a connection -----------------------------------------------------------------------

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(Server& server, uint64_t id, tcp::socket socket, std::string peer)
      : server_(server),
        id_(id),
        peer_(std::move(peer)),
        stream_(std::move(socket), *server.tls),
        handler_timer_(stream_.get_executor()),
        buffer_(server.options.max_header_bytes + kReadChunkBytes) {}
  ~Connection() { server_.Unregister(id_); }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  asio::any_io_executor executor() { return stream_.get_executor(); }

  // Strand only, from here on.

  void Start() {
    if (state_ == State::kClosed) return;  // Stop() got here first
    state_ = State::kHandshake;
    Lowest().expires_after(ReadTimeout());
    stream_.async_handshake(
        asio::ssl::stream_base::server,
        [self = shared_from_this()](const error_code& ec) { self->OnHandshake(ec); });
  }

  // Stop(): close now when idle; otherwise finish the exchange in flight, then close.
  void BeginStop() {
    stop_requested_ = true;
    if (state_ == State::kHandshake ||
        (state_ == State::kReading && (!parser_.has_value() || !parser_->got_some()))) {
      Close();
    }
  }

  void ForceClose() { Close(); }

  void OnHandlerResponse(uint64_t seq, std::optional<Response> response) {
    if (state_ != State::kHandling || seq != seq_) return;  // too late: 504 sent, or closed
    handler_timer_.cancel();
    if (!response.has_value()) {
      server_.Log("http_handler_dropped_responder", {{"route", route_}});
      WriteResponse(ErrorResponse(500, "Internal", "the handler did not respond"));
      return;
    }
    WriteResponse(std::move(*response));
  }

 private:
  enum class State { kHandshake, kReading, kHandling, kWriting, kClosing, kClosed };

  beast::tcp_stream& Lowest() { return beast::get_lowest_layer(stream_); }
  milliseconds ReadTimeout() const { return milliseconds(server_.options.read_timeout_ms); }

  void OnHandshake(const error_code& ec) {
    if (state_ == State::kClosed) return;
    if (ec) {
      if (!stop_requested_) {
        server_.handshake_failures->Increment();
        server_.Log("tls_handshake_failed", {{"peer", peer_}, {"error", ec.message()}});
      }
      Close();
      return;
    }
    Result<std::string> cn = ClientCommonName(stream_.native_handle());
    if (!cn.ok()) {
      server_.handshake_failures->Increment();
      server_.Log("tls_handshake_failed", {{"peer", peer_}, {"error", cn.status().message()}});
      Close();
      return;
    }
    client_cn_ = std::move(cn).value();
    ReadRequest();
  }

  void ReadRequest() {
    if (stop_requested_ || server_.stopping.load()) {
      Close();  // idle between requests: nothing to drain, no one to wait for
      return;
    }
    state_ = State::kReading;
    parser_.emplace();
    parser_->header_limit(static_cast<uint32_t>(server_.options.max_header_bytes));
    parser_->body_limit(static_cast<uint64_t>(server_.options.max_body_bytes));
    Lowest().expires_after(ReadTimeout());  // the whole request, head and body
    bhttp::async_read_header(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](const error_code& ec, size_t) { self->OnHead(ec); });
  }

  void OnHead(const error_code& ec) {
    if (state_ == State::kClosed) return;
    started_ = Clock::now();
    if (ec) {
      OnReadError(ec);
      return;
    }
    const auto& head = parser_->get();
    method_ = MethodLabel(View(head.method_string()));
    if (!parser_->is_done() && head.version() >= 11 &&
        beast::iequals(head[bhttp::field::expect], "100-continue")) {
      continue_.emplace(bhttp::status::continue_, head.version());
      bhttp::async_write(stream_, *continue_,
                         [self = shared_from_this()](const error_code& write_ec, size_t) {
                           if (write_ec) {
                             self->Close();
                             return;
                           }
                           self->ReadBody();
                         });
      return;
    }
    ReadBody();
  }

  void ReadBody() {
    if (state_ == State::kClosed) return;
    if (parser_->is_done()) {
      Dispatch();
      return;
    }
    bhttp::async_read(stream_, buffer_, *parser_,
                      [self = shared_from_this()](const error_code& ec, size_t) {
                        if (self->state_ == State::kClosed) return;
                        if (ec) {
                          self->OnReadError(ec);
                          return;
                        }
                        self->Dispatch();
                      });
  }

  void OnReadError(const error_code& ec) {
    const bool got_some = parser_.has_value() && parser_->got_some();
    if (method_.empty() && parser_.has_value() && parser_->is_header_done()) {
      method_ = MethodLabel(View(parser_->get().method_string()));
    }
    if (method_.empty()) method_ = "other";
    if (parser_.has_value() && parser_->is_header_done()) version_ = parser_->get().version();
    if (ec == bhttp::error::body_limit) {
      WriteResponse(ErrorResponse(413, "ResourceExhausted",
                                  "request body exceeds " +
                                      std::to_string(server_.options.max_body_bytes) + " bytes"),
                    /*force_close=*/true);
    } else if (ec == bhttp::error::header_limit || ec == bhttp::error::buffer_overflow) {
      WriteResponse(ErrorResponse(431, "ResourceExhausted",
                                  "request head exceeds " +
                                      std::to_string(server_.options.max_header_bytes) + " bytes"),
                    /*force_close=*/true);
    } else if (ec == beast::error::timeout) {
      if (got_some) server_.Log("http_read_timeout", {{"peer", peer_}, {"client", client_cn_}});
      Close();
    } else if (ec == bhttp::error::end_of_stream || ec == bhttp::error::partial_message ||
               ec.category() != bhttp::make_error_code(bhttp::error::bad_target).category()) {
      Close();  // the client went away, an I/O error, or our own close
    } else {
      WriteResponse(
          ErrorResponse(400, "InvalidArgument", "malformed HTTP request: " + ec.message()),
          /*force_close=*/true);
    }
  }

  void Dispatch() {
    Lowest().expires_never();
    state_ = State::kHandling;
    bhttp::request<bhttp::string_body> message = parser_->release();
    version_ = message.version();
    request_keep_alive_ = message.keep_alive();

    Request request;
    request.method = std::string(message.method_string());
    request.target = std::string(message.target());
    method_ = MethodLabel(request.method);
    Result<ParsedTarget> target = ParseTarget(request.target);
    if (!target.ok()) {
      WriteResponse(ErrorResponse(400, "InvalidArgument", target.status().message()));
      return;
    }
    request.path_segments = std::move(target->path_segments);
    request.query = std::move(target->query);
    for (const auto& field : message) {
      std::string& value = request.headers[Lower(View(field.name_string()))];
      if (!value.empty()) value += ',';
      value += std::string(field.value());
    }
    request.body = std::move(message.body());
    request.client_common_name = client_cn_;

    Router::Match match = server_.router.Find(request.method, request.path_segments);
    if (match.status == 404) {
      WriteResponse(ErrorResponse(404, "NotFound", "no route for this path"));
      return;
    }
    if (match.status == 405) {
      Response response =
          ErrorResponse(405, "MethodNotAllowed", "method not allowed for this path");
      response.headers.emplace_back("Allow", match.allow);
      WriteResponse(std::move(response));
      return;
    }
    route_ = match.route;
    request.route = std::move(match.route);
    request.params = std::move(match.params);

    const uint64_t seq = ++seq_;
    handler_timer_.expires_after(milliseconds(server_.options.handler_timeout_ms));
    handler_timer_.async_wait([self = shared_from_this(), seq](const error_code& ec) {
      self->OnHandlerTimeout(seq, ec);
    });
    auto responder_state = std::make_shared<ResponderState>(server_.hub, weak_from_this(), seq);
    Responder responder = [responder_state](Response response) {
      responder_state->Respond(std::move(response));
    };
    responder_state.reset();  // the Responder's copies own it
    try {
      (*match.handler)(std::move(request), std::move(responder));
    } catch (const std::exception& e) {
      server_.Log("http_handler_exception", {{"route", route_}, {"error", e.what()}});
      OnHandlerResponse(seq, ErrorResponse(500, "Internal", "the handler failed"));
    } catch (...) {
      server_.Log("http_handler_exception", {{"route", route_}});
      OnHandlerResponse(seq, ErrorResponse(500, "Internal", "the handler failed"));
    }
  }

  void OnHandlerTimeout(uint64_t seq, const error_code& ec) {
    if (ec || state_ != State::kHandling || seq != seq_) return;
    server_.Log(
        "http_handler_timeout",
        {{"route", route_}, {"timeout_ms", std::to_string(server_.options.handler_timeout_ms)}});
    WriteResponse(ErrorResponse(504, "DeadlineExceeded",
                                "the handler did not respond within " +
                                    std::to_string(server_.options.handler_timeout_ms) + " ms"));
  }

  // Replaces a response that cannot be sent as is (a handler bug) by a 500.
  Response Checked(Response response) {
    const char* problem = nullptr;
    if (response.status < 200 || response.status > 599) {
      problem = "an invalid HTTP status";
    } else if (!IsFieldValue(response.content_type)) {
      problem = "an invalid Content-Type";
    } else {
      for (const auto& [name, value] : response.headers) {
        if (!IsToken(name) || !IsFieldValue(value)) problem = "an invalid header field";
      }
    }
    if (problem == nullptr) return response;
    server_.Log("http_handler_bad_response", {{"route", route_}, {"problem", problem}});
    return ErrorResponse(500, "Internal", std::string("the handler returned ") + problem);
  }

  void WriteResponse(Response response, bool force_close = false) {
    if (state_ == State::kClosed) return;
    state_ = State::kWriting;
    response = Checked(std::move(response));
    if (force_close) request_keep_alive_ = false;
    keep_alive_ = request_keep_alive_ && !stop_requested_ && !server_.stopping.load();

    response_ = {};
    response_.version(version_);
    response_.result(static_cast<unsigned>(response.status));
    for (auto& [name, value] : response.headers) {
      if (beast::iequals(name, "content-length") || beast::iequals(name, "transfer-encoding") ||
          beast::iequals(name, "connection")) {
        continue;
      }
      response_.insert(name, value);
    }
    if (!response.content_type.empty()) {
      response_.set(bhttp::field::content_type, response.content_type);
    }
    const bool bodiless = response.status == 204 || response.status == 304;
    if (!bodiless) {
      response_.body() = std::move(response.body);
      response_.prepare_payload();
    }
    response_.keep_alive(keep_alive_);
    status_ = response.status;

    Lowest().expires_after(ReadTimeout());
    bhttp::async_write(
        stream_, response_,
        [self = shared_from_this()](const error_code& ec, size_t) { self->OnWritten(ec); });
  }

  void OnWritten(const error_code& ec) {
    server_.Record(method_, route_, status_, Clock::now() - started_, client_cn_);
    method_.clear();
    route_ = std::string(kUnmatchedRoute);
    if (state_ == State::kClosed) return;
    if (ec) {
      Close();
      return;
    }
    if (!keep_alive_) {
      Shutdown();
      return;
    }
    ReadRequest();
  }

  // TLS close_notify, then the socket; bounded wait for the client's close_notify (it
  // also drains what the client still sends, so the close is not a reset).
  void Shutdown() {
    if (state_ == State::kClosed) return;
    state_ = State::kClosing;
    Lowest().expires_after(std::min(ReadTimeout(), milliseconds(kMaxShutdownWait)));
    stream_.async_shutdown([self = shared_from_this()](const error_code&) { self->Close(); });
  }

  void Close() {
    if (state_ == State::kClosed) return;
    state_ = State::kClosed;
    handler_timer_.cancel();
    error_code ignored;
    Lowest().socket().shutdown(tcp::socket::shutdown_both, ignored);
    Lowest().close();
  }

  Server& server_;
  const uint64_t id_;
  const std::string peer_;
  Stream stream_;
  asio::steady_timer handler_timer_;
  beast::flat_buffer buffer_;
  State state_ = State::kHandshake;
  bool stop_requested_ = false;
  std::string client_cn_;

  // The exchange in progress.
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  std::optional<bhttp::response<bhttp::empty_body>> continue_;
  bhttp::response<bhttp::string_body> response_;
  uint64_t seq_ = 0;  // numbers handler calls; a Responder carries its own
  unsigned version_ = 11;
  bool request_keep_alive_ = false;
  bool keep_alive_ = false;
  int status_ = 0;
  std::string method_;
  std::string route_{kUnmatchedRoute};
  Clock::time_point started_;
};

void Hub::Deliver(std::weak_ptr<Connection> connection, uint64_t seq,
                  std::optional<Response> response) {
  std::lock_guard lock(mu_);
  if (io_ == nullptr) return;
  asio::post(*io_,
             [connection = std::move(connection), seq, response = std::move(response)]() mutable {
               std::shared_ptr<Connection> c = connection.lock();
               if (c == nullptr) return;
               asio::dispatch(c->executor(), [c, seq, response = std::move(response)]() mutable {
                 c->OnHandlerResponse(seq, std::move(response));
               });
             });
}

// --- the server, continued --------------------------------------------------------------

Status Server::Init() {
  VELLUM_ASSIGN_OR_RETURN(SslCtxPtr ctx, MakeTlsContext(options));
  tls = std::make_unique<asio::ssl::context>(ctx.release());
  options.private_key_pem = crypto::SecureBytes();  // loaded into OpenSSL; not kept here

  metrics = options.metrics != nullptr ? options.metrics : std::make_shared<MetricsRegistry>();
  open_connections = &metrics->GetGauge("vellum_http_open_connections",
                                        "Client connections open (TLS handshake onwards).");
  rejected_connections = &metrics->GetCounter(
      "vellum_http_connections_rejected_total",
      "Client connections closed on accept: max_connections reached or stopping.");
  handshake_failures =
      &metrics->GetCounter("vellum_http_tls_handshake_failures_total",
                           "Client TLS handshakes that failed or presented no usable identity.");
  if (options.serve_metrics && !router.Has("GET", "/metrics")) {
    router.Add("GET", "/metrics", [registry = metrics](Request, Responder respond) {
      Response response;
      response.content_type = std::string(MetricsRegistry::kContentType);
      response.body = registry->Render();
      respond(std::move(response));
    });
  }

  VELLUM_ASSIGN_OR_RETURN(HostPort listen, ParseHostPort(options.listen_address));
  error_code ec;
  const asio::ip::address address = asio::ip::make_address(listen.host, ec);
  if (ec) {
    return Status::InvalidArgument("listen_address \"" + options.listen_address +
                                   "\" must be a numeric IP address and port");
  }
  io.emplace(options.io_threads);
  hub = std::make_shared<Hub>(&*io);
  acceptor.emplace(asio::make_strand(*io));
  accept_retry.emplace(acceptor->get_executor());
  const tcp::endpoint endpoint(address, listen.port);
  const auto io_error = [&](std::string_view what) {
    return Status::IOError(std::string(what) + " " + options.listen_address + ": " + ec.message());
  };
  if (acceptor->open(endpoint.protocol(), ec)) return io_error("opening a listener on");
  if (acceptor->set_option(tcp::acceptor::reuse_address(true), ec)) {
    return io_error("setting SO_REUSEADDR on");
  }
  if (acceptor->bind(endpoint, ec)) return io_error("binding to");
  if (acceptor->listen(asio::socket_base::max_listen_connections, ec)) {
    return io_error("listening on");
  }
  port = acceptor->local_endpoint(ec).port();
  if (ec) return io_error("reading the bound port of");

  work.emplace(io->get_executor());
  asio::post(acceptor->get_executor(), [this] { Accept(); });
  Log("http_server_started", {{"listen_addr", options.listen_address},
                              {"port", std::to_string(port)},
                              {"io_threads", std::to_string(options.io_threads)}});
  for (int i = 0; i < options.io_threads; ++i) {
    // One polling thread is enough to catch the next request without a wake-up; the
    // others would only compete with it for the same handlers.
    const std::chrono::microseconds poll(i == 0 ? options.idle_poll_us : 0);
    threads.emplace_back([this, poll] {
      while (true) {
        try {
          RunWithIdlePolling(*io, poll);
          return;
        } catch (const std::exception& e) {
          // Only a bug gets here (handlers' own exceptions are caught); keep serving.
          Log("http_io_exception", {{"error", e.what()}});
        }
      }
    });
  }
  return Status::OK();
}

Server::~Server() {
  Stop();
  // Whatever is still queued (a Responder's late delivery) is destroyed with the
  // io_context, before the members that a Connection's destructor uses.
  accept_retry.reset();
  acceptor.reset();
  work.reset();
  io.reset();
  tls.reset();
}

void Server::Accept() {
  acceptor->async_accept(asio::make_strand(*io), [this](const error_code& ec, tcp::socket socket) {
    OnAccept(ec, std::move(socket));
  });
}

void Server::OnAccept(const error_code& ec, tcp::socket socket) {
  if (ec == asio::error::operation_aborted || stopping.load()) return;
  if (ec) {
    Log("http_accept_failed", {{"error", ec.message()}});
    accept_retry->expires_after(kAcceptRetryDelay);
    accept_retry->async_wait([this](const error_code& wait_ec) {
      if (!wait_ec && !stopping.load()) Accept();
    });
    return;
  }
  error_code endpoint_ec;
  const tcp::endpoint remote = socket.remote_endpoint(endpoint_ec);
  const std::string peer = endpoint_ec ? std::string("unknown") : FormatEndpoint(remote);
  std::shared_ptr<Connection> connection;
  {
    std::lock_guard lock(mu);
    if (!stopping.load() && connections.size() < options.max_connections) {
      error_code ignored;
      socket.set_option(tcp::no_delay(true), ignored);
      const uint64_t id = next_connection_id++;
      connection = std::make_shared<Connection>(*this, id, std::move(socket), peer);
      connections.emplace(id, connection);
      open_connections->Set(static_cast<double>(connections.size()));
    }
  }
  if (connection == nullptr) {
    rejected_connections->Increment();
    Log("http_connection_rejected",
        {{"peer", peer},
         {"reason", stopping.load() ? std::string("stopping") : std::string("max_connections")}});
    error_code ignored;
    socket.close(ignored);
  } else {
    asio::dispatch(connection->executor(), [connection] { connection->Start(); });
  }
  Accept();
}

void Server::Unregister(uint64_t id) {
  std::lock_guard lock(mu);
  connections.erase(id);
  open_connections->Set(static_cast<double>(connections.size()));
  connections_changed.notify_all();
}

void Server::PostToConnection(std::weak_ptr<Connection> connection, void (Connection::*fn)()) {
  asio::post(*io, [connection = std::move(connection), fn] {
    std::shared_ptr<Connection> c = connection.lock();
    if (c == nullptr) return;
    asio::dispatch(c->executor(), [c, fn] { ((*c).*fn)(); });
  });
}

void Server::Log(std::string_view event, std::initializer_list<LogField> fields) const {
  if (!options.log) return;
  std::string line = "event=";
  line += event;
  for (const auto& [key, value] : fields) {
    line += ' ';
    line += key;
    line += '=';
    line += LogValue(value);
  }
  options.log(line);
}

void Server::Record(const std::string& method, const std::string& route, int status,
                    Clock::duration duration, const std::string& client) {
  const double seconds = std::chrono::duration<double>(duration).count();
  metrics
      ->GetCounter("vellum_http_requests_total", "HTTP requests answered.",
                   {{"code", std::to_string(status)}, {"method", method}, {"route", route}})
      .Increment();
  metrics
      ->GetHistogram("vellum_http_request_duration_seconds",
                     "Time from a request's head arriving to its response written.",
                     duration_buckets, {{"route", route}})
      .Observe(seconds);
  Log("http_request",
      {{"method", method},
       {"route", route},
       {"status", std::to_string(status)},
       {"duration_ms", std::to_string(std::chrono::duration_cast<milliseconds>(duration).count())},
       {"client", client}});
}

void Server::Stop() {
  std::lock_guard stop_lock(stop_mu);
  if (stopped) return;
  stopped = true;
  if (threads.empty()) {  // Init failed before serving
    if (hub != nullptr) hub->Detach();
    return;
  }
  for (const std::thread& thread : threads) {
    VELLUM_CHECK_MSG(thread.get_id() != std::this_thread::get_id(),
                     "HttpsServer::Stop called from a handler");
  }
  const auto deadline = Clock::now() + milliseconds(options.stop_timeout_ms);
  std::vector<std::weak_ptr<Connection>> open;
  {
    std::lock_guard lock(mu);
    stopping.store(true);
    for (const auto& [id, connection] : connections) open.push_back(connection);
  }
  asio::post(acceptor->get_executor(), [this] {
    error_code ignored;
    acceptor->close(ignored);
    accept_retry->cancel();
  });
  for (std::weak_ptr<Connection>& connection : open) {
    PostToConnection(std::move(connection), &Connection::BeginStop);
  }
  open.clear();
  {
    std::unique_lock lock(mu);
    if (!connections_changed.wait_until(lock, deadline, [&] { return connections.empty(); })) {
      for (const auto& [id, connection] : connections) open.push_back(connection);
    }
  }
  if (!open.empty()) {
    Log("http_stop_deadline", {{"connections_closed", std::to_string(open.size())}});
  }
  for (std::weak_ptr<Connection>& connection : open) {
    PostToConnection(std::move(connection), &Connection::ForceClose);
  }
  work.reset();
  for (std::thread& thread : threads) thread.join();
  threads.clear();
  hub->Detach();
  Log("http_server_stopped", {{"port", std::to_string(port)}});
}

}  // namespace

// --- HttpsServer ------------------------------------------------------------------------

struct HttpsServer::Impl : Server {
  using Server::Server;
};

Result<std::unique_ptr<HttpsServer>> HttpsServer::Start(HttpsServerOptions options, Router router) {
  VELLUM_RETURN_IF_ERROR(ValidateOptions(options));
  auto impl = std::make_unique<Impl>(std::move(options), std::move(router));
  VELLUM_RETURN_IF_ERROR(impl->Init());
  return std::unique_ptr<HttpsServer>(new HttpsServer(std::move(impl)));
}

HttpsServer::HttpsServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
HttpsServer::~HttpsServer() { impl_->Stop(); }

uint16_t HttpsServer::bound_port() const { return impl_->port; }
MetricsRegistry& HttpsServer::metrics() const { return *impl_->metrics; }
void HttpsServer::Stop() { impl_->Stop(); }

}  // namespace vellum::http
