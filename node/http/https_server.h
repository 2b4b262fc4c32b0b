// Copyright (c) Vellum authors.
//
// HttpsServer: the client-facing HTTP/1.1 server of vellum-node, over TLS 1.3 with
// client certificates verified against the cluster CA (Boost.Beast over Boost.Asio and
// OpenSSL; none of their types appear here). Requests are routed by a Router; the
// server answers GET /metrics from a MetricsRegistry and counts every exchange in it.
// docs/api.md ("Transport and authentication") describes what a client sees.
//
//   Router router;
//   router.Add("GET", "/v1/kv/{table}/{key}", [](Request req, Responder respond) { ... });
//   Result<std::unique_ptr<HttpsServer>> server = HttpsServer::Start(options, router);
//
// What it enforces:
//   - TLS 1.3 only, no session tickets; the client's certificate must chain to
//     ca_certificate_pem and be good for TLS client use (when required; see below).
//     Its subject CN is Request::client_common_name.
//   - At most max_connections open connections; more are closed right after accept.
//   - Request heads over max_header_bytes get 431, bodies over max_body_bytes 413
//     (from Content-Length, before the body is read), malformed requests 400; these
//     responses close the connection.
//   - A request (head and body) or a response write slower than read_timeout_ms, and
//     a keep-alive connection idle that long, is closed. A handler that has not
//     responded after handler_timeout_ms is answered 504 (its late response is
//     dropped).
//   - Keep-alive; one request at a time per connection (no pipelining in parallel).
//
// Threading: io_threads threads run the I/O. Each connection is serialized (an Asio
// strand): its handler calls run one at a time on an I/O thread, so a handler must not
// block; work that waits (a Raft commit) keeps the Responder and calls it later from
// any thread. Handlers of different connections run concurrently. `log` and handlers
// are called from I/O threads (concurrently), never under a lock the I/O threads take.
//
// Thread safety: Start, Stop, bound_port and metrics may be called from any thread;
// Stop and the destructor must not be called from a handler (they wait for the I/O
// threads). The Router is moved into the server, so routes are fixed once started.

#ifndef VELLUM_NODE_HTTP_HTTPS_SERVER_H_
#define VELLUM_NODE_HTTP_HTTPS_SERVER_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "crypto/secure_bytes.h"
#include "node/http/metrics.h"
#include "node/http/router.h"
#include "vellum/result.h"

namespace vellum::http {

struct HttpsServerOptions {
  // A numeric IP address and port; port 0 picks a free one (see bound_port()).
  // IPv6 addresses in brackets: "[::1]:8443".
  std::string listen_address = "127.0.0.1:0";
  // The cluster CA certificate(s), PEM: the only trust anchors for client certificates.
  std::string ca_certificate_pem;
  // The server's certificate (PEM; it must verify against the CA for TLS server use)
  // and its unencrypted private key (PEM). The key is loaded into OpenSSL and this copy
  // is wiped by Start.
  std::string certificate_pem;
  crypto::SecureBytes private_key_pem;
  // When false, a client may connect without a certificate (client_common_name is then
  // ""); a certificate that is presented is still verified.
  bool require_client_certificate = true;

  size_t max_connections = 1024;
  size_t max_body_bytes = size_t{4} << 20;
  size_t max_header_bytes = size_t{16} << 10;  // request line and header fields
  uint32_t read_timeout_ms = 30000;            // TLS handshake, request, response write, idle
  uint32_t handler_timeout_ms = 10000;         // no response by then: 504
  uint32_t stop_timeout_ms = 5000;             // Stop(): in-flight requests get this long
  int io_threads = 2;
  // The first I/O thread, when it runs out of work, polls for more for up to this
  // long before it sleeps (base/idle_poll.h: adaptive, it stops while polling does
  // not pay); 0 never polls.
  uint32_t idle_poll_us = 0;

  // Where the server's metrics go and /metrics reads from; a fresh registry when null.
  std::shared_ptr<MetricsRegistry> metrics;
  // Adds GET /metrics (unless the router has a GET route of that shape already).
  bool serve_metrics = true;

  // Structured log lines ("event=http_request method=GET route=... status=200
  // duration_ms=3 ..."); never bodies, targets or key material. Called concurrently
  // from I/O threads. May be empty.
  std::function<void(std::string_view)> log;
};

class HttpsServer {
 public:
  // Validates the options, loads the TLS credentials, binds, and starts serving.
  // InvalidArgument for bad options or credentials (a certificate that does not verify
  // against the CA, a key that does not match it), IOError when binding fails.
  static Result<std::unique_ptr<HttpsServer>> Start(HttpsServerOptions options, Router router);

  ~HttpsServer();  // Stop()s
  HttpsServer(const HttpsServer&) = delete;
  HttpsServer& operator=(const HttpsServer&) = delete;

  uint16_t bound_port() const;
  MetricsRegistry& metrics() const;

  // Graceful stop: stops accepting and closes idle connections at once; requests in
  // flight (being read, handled or written) complete, answered with "Connection:
  // close", for up to stop_timeout_ms; whatever is left is then closed. Returns when
  // the I/O threads have exited: no handler, log or Responder delivery runs after that
  // (a Responder called later does nothing). Idempotent.
  void Stop();

 private:
  struct Impl;
  explicit HttpsServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace vellum::http

#endif  // VELLUM_NODE_HTTP_HTTPS_SERVER_H_
