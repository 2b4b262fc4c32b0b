// Copyright (c) Vellum authors.
//
// HttpsClient over Boost.Beast, Boost.Asio and OpenSSL (see https_client.h).
//
// Structure: a private single-threaded io_context. Every step (resolve, connect,
// handshake, write, read) is started asynchronously and the io_context is run until the
// step completes or its deadline passes; on expiry the socket is closed, which completes
// the step with an error, and the io_context is drained before returning, so no
// completion handler outlives the stack frame it refers to. Deadlines: the request's
// (request_timeout_ms from the start of Send) bounds everything; connecting is also
// bounded by connect_timeout_ms.
//
// The connection is kept while it is reusable: the last response allowed keep-alive,
// was not delimited by the end of the stream, and no byte followed it. Before reuse a
// zero-timeout poll() checks that the server has sent nothing since (an idle close or a
// close_notify shows as readable); such a connection is replaced.
//
// Thread safety: as documented in the header (one thread at a time).

#include "node/http/https_client.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <poll.h>

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <charconv>
#include <chrono>
#include <exception>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "crypto/openssl_util.h"
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
using SslCtxPtr = crypto::OpenSslPtr<SSL_CTX, &SSL_CTX_free>;

// 1xx responses (other than 101) before the real one; more is a misbehaving server.
constexpr int kMaxInterimResponses = 8;
constexpr size_t kMaxHostBytes = 253;

// --- validation -----------------------------------------------------------------------

bool IsToken(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
  });
}

bool IsFieldValue(std::string_view s) {
  return s.find_first_of(std::string_view("\r\n\0", 3)) == std::string_view::npos;
}

// Origin-form: '/' then visible ASCII (already percent-encoded by the caller).
bool IsOriginForm(std::string_view target) {
  return !target.empty() && target.front() == '/' &&
         std::all_of(target.begin(), target.end(), [](char c) {
           const auto u = static_cast<unsigned char>(c);
           return u > 0x20 && u < 0x7f;
         });
}

bool IsDnsName(std::string_view host) {
  return !host.empty() && host.size() <= kMaxHostBytes &&
         std::all_of(host.begin(), host.end(), [](char c) {
           return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                  c == '-' || c == '.';
         });
}

bool IEquals(std::string_view a, std::string_view b) {
  return beast::iequals(beast::string_view(a.data(), a.size()),
                        beast::string_view(b.data(), b.size()));
}

std::string_view View(beast::string_view s) { return {s.data(), s.size()}; }

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

// RFC 9110 section 9.2.2: a request that may be repeated without changing the outcome.
bool IsIdempotent(std::string_view method) {
  return method == "GET" || method == "HEAD" || method == "OPTIONS" || method == "TRACE" ||
         method == "PUT" || method == "DELETE";
}

// --- the URL ----------------------------------------------------------------------------

struct Url {
  std::string host;  // without IPv6 brackets
  std::optional<asio::ip::address> ip;
  uint16_t port = 443;
  std::string authority;  // "host:port", IPv6 in brackets (the Host header)
  std::string origin;     // "https://" + authority
};

Result<Url> ParseUrl(std::string_view url) {
  // A URL with userinfo might carry a password: never quote it.
  const bool quotable = url.find('@') == std::string_view::npos && url.size() <= 300;
  const auto bad = [&](std::string_view why) {
    return Status::InvalidArgument((quotable ? "url \"" + std::string(url) + "\"" : "the url") +
                                   " is not https://HOST[:PORT] (" + std::string(why) + ")");
  };
  constexpr std::string_view kScheme = "https://";
  if (url.size() < kScheme.size() || !IEquals(url.substr(0, kScheme.size()), kScheme)) {
    return bad("the scheme must be https");
  }
  std::string_view rest = url.substr(kScheme.size());
  if (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
  if (rest.find_first_of("/?#@") != std::string_view::npos) {
    return bad("no path, query, fragment or user info");
  }
  Url out;
  std::string_view host;
  std::string_view port_text;
  bool bracketed = false;
  if (!rest.empty() && rest.front() == '[') {
    const size_t close = rest.find(']');
    if (close == std::string_view::npos) return bad("unclosed '['");
    host = rest.substr(1, close - 1);
    const std::string_view after = rest.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return bad("junk after ']'");
      port_text = after.substr(1);
      if (port_text.empty()) return bad("empty port");
    }
    bracketed = true;
  } else {
    const size_t colon = rest.find(':');
    host = rest.substr(0, colon);
    if (colon != std::string_view::npos) {
      port_text = rest.substr(colon + 1);
      if (port_text.empty()) return bad("empty port");
    }
  }
  if (host.empty()) return bad("no host");
  if (!port_text.empty()) {
    unsigned value = 0;
    const auto [end, ec] =
        std::from_chars(port_text.data(), port_text.data() + port_text.size(), value);
    if (ec != std::errc() || end != port_text.data() + port_text.size() || value == 0 ||
        value > 65535) {
      return bad("the port must be 1..65535");
    }
    out.port = static_cast<uint16_t>(value);
  }
  error_code ec;
  if (bracketed) {
    const asio::ip::address_v6 v6 = asio::ip::make_address_v6(std::string(host), ec);
    if (ec) return bad("not an IPv6 address in brackets");
    out.ip = asio::ip::address(v6);
  } else {
    const asio::ip::address_v4 v4 = asio::ip::make_address_v4(std::string(host), ec);
    if (!ec) {
      out.ip = asio::ip::address(v4);
    } else if (!IsDnsName(host)) {
      return bad("the host must be a DNS name, an IPv4 address or [IPv6]");
    }
  }
  out.host = std::string(host);
  out.authority = (bracketed ? "[" + out.host + "]" : out.host) + ":" + std::to_string(out.port);
  out.origin = "https://" + out.authority;
  return out;
}

// --- TLS --------------------------------------------------------------------------------

using crypto::OpenSslFailure;

// TLS 1.3 only, no session resumption, the server verified against the CA certificates
// of `options` alone (the system store is never loaded), the client certificate if any.
Result<SslCtxPtr> MakeTlsContext(const HttpsClientOptions& options) {
  ERR_clear_error();
  SslCtxPtr ctx(SSL_CTX_new(TLS_client_method()));
  if (ctx == nullptr) return OpenSslFailure(StatusCode::kIOError, "SSL_CTX_new");
  if (SSL_CTX_set_min_proto_version(ctx.get(), TLS1_3_VERSION) != 1 ||
      SSL_CTX_set_max_proto_version(ctx.get(), TLS1_3_VERSION) != 1) {
    return OpenSslFailure(StatusCode::kNotSupported, "TLS 1.3");
  }
  SSL_CTX_set_options(ctx.get(), SSL_OP_NO_TICKET);
  SSL_CTX_set_session_cache_mode(ctx.get(), SSL_SESS_CACHE_OFF);
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
  SSL_CTX_set_verify_depth(ctx.get(), 4);

  VELLUM_RETURN_IF_ERROR(
      crypto::AddTrustedCertificates(ctx.get(), options.ca_certificate_pem, "ca_certificate_pem"));
  if (options.certificate_pem.empty() != options.private_key_pem.empty()) {
    return Status::InvalidArgument(
        "certificate_pem and private_key_pem go together: give both or neither");
  }
  if (!options.certificate_pem.empty()) {
    VELLUM_RETURN_IF_ERROR(
        crypto::UseCertificateAndKey(ctx.get(), options.certificate_pem, options.private_key_pem));
  }
  return ctx;
}

// The category of Beast's HTTP parse errors.
const boost::system::error_category& HttpCategory() {
  return bhttp::make_error_code(bhttp::error::bad_target).category();
}

}  // namespace

// --- HttpsClient::Impl ----------------------------------------------------------------

struct HttpsClient::Impl {
  Impl(Url u, HttpsClientOptions o) : url(std::move(u)), options(std::move(o)) {}
  ~Impl() { Drop(); }
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;

  // Runs the operation that `start` begins (it takes a completion handler) until it
  // completes or `deadline` passes; then `abort` makes it complete and it is drained.
  // asio::error::timed_out on expiry.
  template <typename Start>
  error_code Run(const Start& start, Clock::time_point deadline,
                 const std::function<void()>& abort) {
    std::optional<error_code> result;
    start([&result](const error_code& ec, auto&&...) { result = ec; });
    io.restart();
    // One handler at a time, so that the step returns as soon as it completes.
    while (!result.has_value() && io.run_one_until(deadline) > 0) {
    }
    if (!result.has_value()) {
      abort();
      io.restart();
      io.run();  // the aborted operation completes here; nothing refers to this frame after
      return asio::error::timed_out;
    }
    return *result;
  }

  void CloseSocket() {
    if (!stream.has_value()) return;
    error_code ignored;
    beast::get_lowest_layer(*stream).socket().shutdown(tcp::socket::shutdown_both, ignored);
    beast::get_lowest_layer(*stream).socket().close(ignored);
  }

  // Forgets the connection (the next Send opens a new one).
  void Drop() {
    CloseSocket();
    stream.reset();
    buffer.clear();
    idle = false;
    ERR_clear_error();  // whatever the failed operation left on this thread's queue
  }

  // Whether the idle connection can carry another request: the server has sent nothing
  // since the last response (an idle close, a close_notify or stray bytes are readable).
  bool IdleConnectionUsable() {
    if (!stream.has_value() || !idle) return false;
    if (buffer.size() > 0) return false;
    pollfd fd{};
    fd.fd = beast::get_lowest_layer(*stream).socket().native_handle();
    fd.events = POLLIN;
    return ::poll(&fd, 1, 0) == 0;
  }

  std::string TimeoutText(Clock::time_point deadline, Clock::time_point request_deadline) const {
    return deadline < request_deadline
               ? "timed out (connect_timeout_ms " + std::to_string(options.connect_timeout_ms) + ")"
               : "timed out (request_timeout_ms " + std::to_string(options.request_timeout_ms) +
                     ")";
  }

  Status Connect(Clock::time_point request_deadline) {
    Drop();
    const Clock::time_point deadline =
        std::min(request_deadline, Clock::now() + milliseconds(options.connect_timeout_ms));
    const auto failed = [&](std::string_view step, const error_code& ec) {
      const std::string why =
          ec == asio::error::timed_out ? TimeoutText(deadline, request_deadline) : ec.message();
      Drop();
      return Status::Unavailable(std::string(step) + " " + url.origin + " failed: " + why +
                                 " (the request was not sent)");
    };

    std::vector<tcp::endpoint> endpoints;
    if (url.ip.has_value()) {
      endpoints.emplace_back(*url.ip, url.port);
    } else {
      tcp::resolver resolver(io);
      tcp::resolver::results_type results;
      const error_code ec = Run(
          [&](auto done) {
            resolver.async_resolve(
                url.host, std::to_string(url.port),
                [&results, done](const error_code& e, tcp::resolver::results_type r) mutable {
                  results = std::move(r);
                  done(e);
                });
          },
          deadline, [&] { resolver.cancel(); });
      if (ec) return failed("resolving", ec);
      for (const auto& entry : results) endpoints.push_back(entry.endpoint());
      if (endpoints.empty()) return Status::Unavailable("resolving " + url.origin + ": no address");
    }

    stream.emplace(io, *tls);
    SSL* ssl = stream->native_handle();
    X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
    X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    if (url.ip.has_value()) {
      // An IP address is checked against the certificate's IP subjectAltNames (and is
      // not sent as SNI, which takes DNS names only).
      if (X509_VERIFY_PARAM_set1_ip_asc(param, url.host.c_str()) != 1) {
        Drop();
        return Status::InvalidArgument("cannot verify a certificate for host " + url.host);
      }
    } else if (SSL_set_tlsext_host_name(ssl, url.host.c_str()) != 1 ||
               X509_VERIFY_PARAM_set1_host(param, url.host.c_str(), url.host.size()) != 1) {
      Drop();
      return Status::InvalidArgument("cannot verify a certificate for host " + url.host);
    }

    const auto abort = [this] { CloseSocket(); };
    error_code ec = Run(
        [&](auto done) {
          beast::get_lowest_layer(*stream).async_connect(
              endpoints, [done](const error_code& e, const tcp::endpoint&) mutable { done(e); });
        },
        deadline, abort);
    if (ec) return failed("connecting to", ec);
    error_code ignored;
    beast::get_lowest_layer(*stream).socket().set_option(tcp::no_delay(true), ignored);

    ec = Run([&](auto done) { stream->async_handshake(asio::ssl::stream_base::client, done); },
             deadline, abort);
    if (ec) {
      const long verify = SSL_get_verify_result(ssl);
      if (ec != asio::error::timed_out && verify != X509_V_OK) {
        const std::string why = std::string("the server certificate did not verify: ") +
                                X509_verify_cert_error_string(verify);
        Drop();
        return Status::Unavailable("TLS handshake with " + url.origin + " failed: " + why +
                                   " (the request was not sent)");
      }
      return failed("TLS handshake with", ec);
    }
    ++opened;
    return Status::OK();
  }

  // Writes `request` and reads its response over the open connection. `*retryable`:
  // the failure happened before any byte of the response arrived.
  Result<ClientResponse> Exchange(bhttp::request<bhttp::string_body>& request, bool head,
                                  Clock::time_point deadline, bool* retryable) {
    idle = false;
    *retryable = false;
    const auto abort = [this] { CloseSocket(); };
    const auto why = [&](const error_code& ec) {
      return ec == asio::error::timed_out ? TimeoutText(deadline, deadline) : ec.message();
    };

    error_code ec =
        Run([&](auto done) { bhttp::async_write(*stream, request, done); }, deadline, abort);
    if (ec) {
      *retryable = ec != asio::error::timed_out;
      return Status::Unavailable("sending the request to " + url.origin + " failed: " + why(ec) +
                                 " (it may have been sent in part or in full)");
    }

    for (int interim = 0;; ++interim) {
      bhttp::response_parser<bhttp::string_body> parser;
      parser.header_limit(
          static_cast<uint32_t>(std::min<size_t>(options.max_response_header_bytes, UINT32_MAX)));
      parser.body_limit(static_cast<uint64_t>(options.max_response_body_bytes));
      if (head) parser.skip(true);  // a HEAD response has the length but not the body
      ec = Run([&](auto done) { bhttp::async_read(*stream, buffer, parser, done); }, deadline,
               abort);
      if (ec) {
        *retryable = interim == 0 && !parser.got_some() && ec != asio::error::timed_out;
        if (ec == bhttp::error::body_limit) {
          return Status::ResourceExhausted("the response from " + url.origin +
                                           " has a body over max_response_body_bytes (" +
                                           std::to_string(options.max_response_body_bytes) + ")");
        }
        if (ec == bhttp::error::header_limit || ec == bhttp::error::buffer_overflow) {
          return Status::ResourceExhausted("the response head from " + url.origin +
                                           " is over max_response_header_bytes (" +
                                           std::to_string(options.max_response_header_bytes) + ")");
        }
        if (ec.category() == HttpCategory() && ec != bhttp::error::end_of_stream &&
            ec != bhttp::error::partial_message) {
          return Status::Corruption("the response from " + url.origin +
                                    " is not valid HTTP/1.1: " + ec.message());
        }
        return Status::Unavailable("reading the response from " + url.origin + " failed: " +
                                   why(ec) + " (the request was sent and may have been processed)");
      }
      const auto& message = parser.get();
      const int status = static_cast<int>(message.result_int());
      if (status >= 100 && status < 200 && status != 101) {
        if (interim >= kMaxInterimResponses) {
          return Status::Corruption("the server at " + url.origin + " sent more than " +
                                    std::to_string(kMaxInterimResponses) +
                                    " interim (1xx) responses");
        }
        continue;
      }
      ClientResponse response;
      response.status = status;
      for (const auto& field : message) {
        std::string& value = response.headers[Lower(View(field.name_string()))];
        if (!value.empty()) value += ',';
        value += std::string(View(field.value()));
      }
      response.body = std::move(parser.get().body());
      // Reusable only when the server keeps it open, the body was not delimited by the
      // end of the stream, and nothing followed the response.
      const bool reusable =
          status != 101 && message.keep_alive() && !parser.need_eof() && buffer.size() == 0;
      if (reusable) {
        idle = true;
      } else {
        Drop();
      }
      return response;
    }
  }

  Result<ClientResponse> Send(std::string_view method, std::string_view target,
                              std::string_view body,
                              const std::vector<std::pair<std::string, std::string>>& headers) {
    if (!IsToken(method)) return Status::InvalidArgument("the method is not an HTTP token");
    if (!IsOriginForm(target)) {
      return Status::InvalidArgument(
          "the target must start with '/' and hold only visible ASCII (percent-encode the rest)");
    }
    bhttp::request<bhttp::string_body> request;
    request.method_string(beast::string_view(method.data(), method.size()));
    request.target(beast::string_view(target.data(), target.size()));
    request.version(11);
    request.set(bhttp::field::host, url.authority);
    for (const auto& [name, value] : headers) {
      if (!IsToken(name) || !IsFieldValue(value)) {
        return Status::InvalidArgument("header field '" + (IsToken(name) ? name : "?") +
                                       "' has an invalid name or value");
      }
      if (IEquals(name, "content-length") || IEquals(name, "transfer-encoding") ||
          IEquals(name, "connection")) {
        return Status::InvalidArgument("header field '" + name + "' is managed by the client");
      }
      if (IEquals(name, "host")) {
        request.set(bhttp::field::host, value);
      } else {
        request.insert(name, value);
      }
    }
    request.body() = std::string(body);
    if (!body.empty() || method == "POST" || method == "PUT" || method == "PATCH") {
      request.content_length(body.size());
    }
    const bool head = method == "HEAD";

    const Clock::time_point deadline = Clock::now() + milliseconds(options.request_timeout_ms);
    for (int attempt = 0;; ++attempt) {
      const bool reused = IdleConnectionUsable();
      if (!reused) VELLUM_RETURN_IF_ERROR(Connect(deadline));
      bool retryable = false;
      Result<ClientResponse> response = Exchange(request, head, deadline, &retryable);
      if (response.ok()) return response;
      Drop();
      // The server may have closed the kept-alive connection just as the request went
      // out; a fresh connection settles it, when repeating the request is harmless.
      if (!(reused && retryable && attempt == 0 && IsIdempotent(method) &&
            Clock::now() < deadline)) {
        return response;
      }
    }
  }

  const Url url;
  HttpsClientOptions options;  // private_key_pem wiped once loaded
  asio::io_context io{1};
  std::unique_ptr<asio::ssl::context> tls;
  std::optional<Stream> stream;
  beast::flat_buffer buffer;
  bool idle = false;  // `stream` is open, between exchanges, and reusable
  uint64_t opened = 0;
};

// --- HttpsClient ------------------------------------------------------------------------

Result<std::unique_ptr<HttpsClient>> HttpsClient::Create(std::string_view url,
                                                         HttpsClientOptions options) {
  VELLUM_ASSIGN_OR_RETURN(Url parsed, ParseUrl(url));
  if (options.connect_timeout_ms == 0 || options.request_timeout_ms == 0) {
    return Status::InvalidArgument("connect_timeout_ms and request_timeout_ms must be positive");
  }
  if (options.max_response_header_bytes == 0) {
    return Status::InvalidArgument("max_response_header_bytes must be positive");
  }
  try {
    Result<SslCtxPtr> ctx = MakeTlsContext(options);
    options.private_key_pem = crypto::SecureBytes();  // loaded into OpenSSL (or refused)
    if (!ctx.ok()) return ctx.status();
    auto impl = std::make_unique<Impl>(std::move(parsed), std::move(options));
    impl->tls = std::make_unique<asio::ssl::context>(ctx->release());
    return std::unique_ptr<HttpsClient>(new HttpsClient(std::move(impl)));
  } catch (const std::exception& e) {
    return Status::IOError(std::string("creating the HTTPS client failed: ") + e.what());
  }
}

HttpsClient::HttpsClient(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
HttpsClient::~HttpsClient() = default;

Result<ClientResponse> HttpsClient::Send(
    std::string_view method, std::string_view target, std::string_view body,
    const std::vector<std::pair<std::string, std::string>>& headers) {
  try {
    return impl_->Send(method, target, body, headers);
  } catch (const std::exception& e) {
    // Only allocation failure or an Asio bug gets here; the connection state is unknown.
    impl_->Drop();
    return Status::IOError("request to " + impl_->url.origin + " failed: " + e.what());
  }
}

void HttpsClient::Close() { impl_->Drop(); }

uint64_t HttpsClient::connections_opened() const { return impl_->opened; }

const std::string& HttpsClient::origin() const { return impl_->url.origin; }

}  // namespace vellum::http
