// Copyright (c) Vellum authors.
//
// HttpsClient: a blocking HTTP/1.1 client over TLS 1.3 for one origin, the client side
// of HttpsServer (Boost.Beast over Boost.Asio and OpenSSL; none of their types appear
// here). The CLI, benchmarks and tests use it to talk to vellum-node (and, in
// vellum-bench, to etcd's JSON gateway).
//
//   HttpsClientOptions options;
//   options.ca_certificate_pem = ca;          // the cluster CA
//   options.certificate_pem = client_cert;    // client certificate and key (mTLS)
//   options.private_key_pem = std::move(client_key);
//   Result<std::unique_ptr<HttpsClient>> client =
//       HttpsClient::Create("https://127.0.0.1:7201", std::move(options));
//   Result<ClientResponse> r = (*client)->Send("PUT", "/v1/kv/accounts/alice", "100");
//
// What it enforces:
//   - TLS 1.3 only. The server's certificate must chain to ca_certificate_pem alone (the
//     system store is never loaded), be good for TLS server use, and name the URL's
//     host: an IP address must be in its IP subjectAltNames, a DNS name in its DNS ones.
//   - One connection at a time, kept alive between requests. It is opened lazily, on
//     the first Send and again after the server closed it (a "Connection: close"
//     response, an idle close noticed before reuse) or after any error.
//   - A connection that was reused and fails before any byte of the response arrives
//     (the server closed it as the request went out) is retried once on a fresh
//     connection, but only for the idempotent methods of RFC 9110 (GET, HEAD, OPTIONS,
//     TRACE, PUT, DELETE); a POST then fails with Unavailable instead.
//
// Errors: InvalidArgument for a bad URL, bad credentials, or a request that cannot be
// sent as given (method, target or header field with forbidden characters).
// Unavailable for what a retry may fix: a failed connect or TLS handshake (including a
// server certificate that does not verify), a timeout, a connection that breaks
// mid-exchange; the message says whether the request was not sent, may have been sent,
// or was sent and may have been processed. Corruption for a response that does not
// parse as HTTP/1.1; ResourceExhausted for one over the size limits. Messages never
// hold key material, bodies or header values.
//
// Thread safety: not thread-safe; use one HttpsClient per thread (each has its own
// connection). Distinct clients may be used concurrently.

#ifndef VELLUM_NODE_HTTP_HTTPS_CLIENT_H_
#define VELLUM_NODE_HTTP_HTTPS_CLIENT_H_

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "crypto/secure_bytes.h"
#include "vellum/result.h"

namespace vellum::http {

struct HttpsClientOptions {
  // The CA certificate(s), PEM: the only trust anchors for the server's certificate.
  std::string ca_certificate_pem;
  // The client certificate (PEM) and its unencrypted private key (PEM); both empty for
  // none. The key is loaded into OpenSSL and this copy is wiped by Create.
  std::string certificate_pem;
  crypto::SecureBytes private_key_pem;

  // TCP connect plus TLS handshake, per connection opened.
  uint32_t connect_timeout_ms = 5000;
  // The whole exchange of one Send: (re)connecting, writing the request, reading the
  // response. Past it the connection is closed and Send returns Unavailable.
  uint32_t request_timeout_ms = 30000;

  size_t max_response_header_bytes = size_t{64} << 10;
  size_t max_response_body_bytes = size_t{64} << 20;
};

struct ClientResponse {
  int status = 0;
  // Lower-case names; a repeated field's values joined by ",".
  std::map<std::string, std::string> headers;
  std::string body;

  // The value of header `name` (lower-case), or "".
  std::string Header(const std::string& name) const {
    const auto it = headers.find(name);
    return it == headers.end() ? std::string() : it->second;
  }
};

class HttpsClient {
 public:
  // `url` is "https://HOST[:PORT][/]" (port 443 by default); HOST is a DNS name, an
  // IPv4 address, or an IPv6 address in brackets. Loads the credentials; does not
  // connect. InvalidArgument for a bad URL, options or credentials (a client key that
  // does not match its certificate).
  static Result<std::unique_ptr<HttpsClient>> Create(std::string_view url,
                                                     HttpsClientOptions options);

  ~HttpsClient();
  HttpsClient(const HttpsClient&) = delete;
  HttpsClient& operator=(const HttpsClient&) = delete;

  // Sends one request and reads its response (any HTTP status is a response, not an
  // error). `target` is origin-form ("/v1/kv/t/k?x=1"), already percent-encoded.
  // A body is sent with Content-Length (also when empty for POST and PUT). `headers`
  // may set Host and any other field except Content-Length, Transfer-Encoding and
  // Connection, which the client manages.
  Result<ClientResponse> Send(std::string_view method, std::string_view target,
                              std::string_view body = {},
                              const std::vector<std::pair<std::string, std::string>>& headers = {});

  // Closes the connection now (the next Send opens a new one).
  void Close();

  // Connections opened so far (successful TLS handshakes): 1 for any number of Sends
  // over one kept-alive connection.
  uint64_t connections_opened() const;

  // The origin this client talks to, "https://HOST:PORT" (for messages).
  const std::string& origin() const;

 private:
  struct Impl;
  explicit HttpsClient(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace vellum::http

#endif  // VELLUM_NODE_HTTP_HTTPS_CLIENT_H_
