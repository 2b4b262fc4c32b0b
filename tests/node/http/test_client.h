// Copyright (c) Vellum authors.
//
// TestClient: a real TLS 1.3 HTTP/1.1 client (Boost.Beast over Asio and OpenSSL) for
// the HttpsServer tests. Every operation is bounded by a timeout so a broken server
// fails a test rather than hanging it. It can also write raw bytes over TLS, for
// requests a well-behaved client would not send.
//
// Thread safety: one TestClient per thread.

#ifndef VELLUM_TESTS_NODE_HTTP_TEST_CLIENT_H_
#define VELLUM_TESTS_NODE_HTTP_TEST_CLIENT_H_

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "crypto/x509.h"
#include "vellum/result.h"

namespace vellum::http::testing {

struct Reply {
  int status = 0;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
  bool keep_alive = false;

  std::string Header(const std::string& name) const {
    const auto it = headers.find(name);
    return it == headers.end() ? std::string() : it->second;
  }
};

struct ClientOptions {
  const crypto::CertifiedKey* identity = nullptr;  // the client certificate; none if null
  bool tls12_only = false;                         // offer TLS 1.2 and nothing newer
  std::chrono::milliseconds timeout{5000};         // per operation
};

class TestClient {
 public:
  TestClient(const std::string& ca_certificate_pem, ClientOptions options);
  ~TestClient();
  TestClient(const TestClient&) = delete;
  TestClient& operator=(const TestClient&) = delete;

  // TCP connect to 127.0.0.1:port, then the TLS handshake (server verified against the
  // CA). In TLS 1.3 a server refusing the client's certificate says so after the
  // client's handshake completes: the refusal then shows on the first read.
  Status Connect(uint16_t port);

  Status Send(std::string_view method, std::string_view target, std::string_view body = "",
              const std::vector<std::pair<std::string, std::string>>& headers = {});
  Status WriteRaw(std::string_view bytes);
  // Reads one response (a 1xx counts as one).
  Result<Reply> Read();
  Result<Reply> Call(std::string_view method, std::string_view target, std::string_view body = "",
                     const std::vector<std::pair<std::string, std::string>>& headers = {});

  // Whether the server closes the connection within `timeout` (reads until EOF or an
  // error; data read meanwhile is discarded).
  bool WaitClosed(std::chrono::milliseconds timeout);
  void Close();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace vellum::http::testing

#endif  // VELLUM_TESTS_NODE_HTTP_TEST_CLIENT_H_
