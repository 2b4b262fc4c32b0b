// Copyright (c) Vellum authors.
//
// Tests of HttpsClient against a real HttpsServer on 127.0.0.1 (ephemeral ports, TLS 1.3,
// client certificates from a test CA): round trips, keep-alive reuse (one connection
// for many requests, seen from both ends), transparent reconnection after the server
// closed the connection (a "Connection: close" response, an idle timeout, a restart),
// and the errors: a server certificate from another CA or for another host, a refused
// connection, a handler that never answers, a response that is not HTTP, bad URLs and
// credentials. The non-HTTP response comes from a bare TLS socket server in this file.
//
// Thread safety: each test owns its server; handlers record under a mutex.

#include "node/http/https_client.h"

#include <gtest/gtest.h>
#include <sys/socket.h>

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "crypto/x509.h"
#include "node/http/https_server.h"
#include "tests/node/http/test_credentials.h"
#include "tests/test_util.h"

namespace vellum::http {
namespace {

using std::chrono::milliseconds;
using testing::Alice;
using testing::Bob;
using testing::ClusterCa;
using testing::ForeignCa;
using testing::ServerCert;
using testing::Text;
using Clock = std::chrono::steady_clock;

std::string Url(uint16_t port) { return "https://127.0.0.1:" + std::to_string(port); }

// --- fixture ------------------------------------------------------------------------------

class HttpsClientTest : public ::testing::Test {
 protected:
  void TearDown() override {
    {
      std::lock_guard lock(mu_);
      parked_.clear();  // unanswered Responders answer 500 (dropped once stopped)
    }
    server_.reset();
  }

  // A server with the routes the tests use:
  //   GET  /echo/{x}    200 "x", with X-Client: the client's CN and X-Method
  //   PUT  /kv/{k}      stores the body; 200 "stored <size>"
  //   GET  /kv/{k}      200 with the stored body, 404 when missing
  //   POST /hang        never answered (the Responder is parked)
  //   GET  /big         200 with a 1 MiB body
  void Start(const std::function<void(HttpsServerOptions&)>& adjust = nullptr) {
    HttpsServerOptions o;
    o.listen_address = "127.0.0.1:" + std::to_string(next_port_);
    o.ca_certificate_pem = ClusterCa().certificate_pem;
    o.certificate_pem = ServerCert().certificate_pem;
    o.private_key_pem = ServerCert().private_key_pem.Clone();
    o.read_timeout_ms = 5000;
    o.handler_timeout_ms = 10000;
    o.max_body_bytes = 4096;
    if (adjust) adjust(o);
    Router router;
    router.Add("GET", "/echo/{x}", [](Request req, Responder respond) {
      Response r = Text(req.params.at("x"));
      r.headers.emplace_back("X-Client", req.client_common_name);
      r.headers.emplace_back("X-Method", req.method);
      respond(std::move(r));
    });
    router.Add("PUT", "/kv/{k}", [this](Request req, Responder respond) {
      std::lock_guard lock(mu_);
      store_[req.params.at("k")] = req.body;
      respond(Text("stored " + std::to_string(req.body.size())));
    });
    router.Add("GET", "/kv/{k}", [this](Request req, Responder respond) {
      std::lock_guard lock(mu_);
      const auto it = store_.find(req.params.at("k"));
      respond(it == store_.end() ? Text("missing", 404) : Text(it->second));
    });
    router.Add("POST", "/hang", [this](Request, Responder respond) {
      std::lock_guard lock(mu_);
      parked_.push_back(std::move(respond));
    });
    router.Add("GET", "/big", [](Request, Responder respond) {
      respond(Text(std::string(size_t{1} << 20, 'b')));
    });
    Result<std::unique_ptr<HttpsServer>> server = HttpsServer::Start(std::move(o), router);
    ASSERT_TRUE(server.ok()) << server.status().ToString();
    server_ = std::move(server).value();
  }

  HttpsClientOptions Options(const crypto::CertifiedKey* identity = &Alice()) {
    HttpsClientOptions o;
    o.ca_certificate_pem = ClusterCa().certificate_pem;
    if (identity != nullptr) {
      o.certificate_pem = identity->certificate_pem;
      o.private_key_pem = identity->private_key_pem.Clone();
    }
    o.connect_timeout_ms = 5000;
    o.request_timeout_ms = 10000;
    return o;
  }

  std::unique_ptr<HttpsClient> Client(HttpsClientOptions options, std::string url = "") {
    if (url.empty()) url = Url(port());
    Result<std::unique_ptr<HttpsClient>> client = HttpsClient::Create(url, std::move(options));
    EXPECT_TRUE(client.ok()) << client.status().ToString();
    return client.ok() ? std::move(client).value() : nullptr;
  }
  std::unique_ptr<HttpsClient> Client() { return Client(Options()); }

  uint16_t port() const { return server_->bound_port(); }

  bool OpenConnectionsIs(int n) {
    return server_->metrics().Render().find("vellum_http_open_connections " + std::to_string(n) +
                                            "\n") != std::string::npos;
  }

  // Polls `condition` every 2 ms until it holds or `timeout` passes.
  static bool WaitFor(const std::function<bool()>& condition,
                      milliseconds timeout = milliseconds(5000)) {
    const auto deadline = Clock::now() + timeout;
    while (!condition()) {
      if (Clock::now() > deadline) return false;
      std::this_thread::sleep_for(milliseconds(2));
    }
    return true;
  }

  std::unique_ptr<HttpsServer> server_;
  uint16_t next_port_ = 0;  // Start() binds here (0: any free port)
  std::mutex mu_;
  std::map<std::string, std::string> store_;
  std::vector<Responder> parked_;
};

// --- round trips and keep-alive -----------------------------------------------------------

TEST_F(HttpsClientTest, GetAndPutRoundTrip) {
  Start();
  auto client = Client();
  ASSERT_NE(client, nullptr);
  EXPECT_EQ(client->origin(), Url(port()));

  Result<ClientResponse> get = client->Send("GET", "/echo/hello");
  ASSERT_TRUE(get.ok()) << get.status().ToString();
  EXPECT_EQ(get->status, 200);
  EXPECT_EQ(get->body, "hello");
  EXPECT_EQ(get->Header("x-client"), "alice");
  EXPECT_EQ(get->Header("x-method"), "GET");
  EXPECT_EQ(get->Header("content-type"), "text/plain");
  EXPECT_EQ(get->Header("content-length"), "5");

  // A body with every byte value, including NUL and CR LF.
  std::string value;
  for (int i = 0; i < 256; ++i) value.push_back(static_cast<char>(i));
  Result<ClientResponse> put = client->Send("PUT", "/kv/k1", value, {{"X-Extra", "1"}});
  ASSERT_TRUE(put.ok()) << put.status().ToString();
  EXPECT_EQ(put->status, 200);
  EXPECT_EQ(put->body, "stored 256");

  Result<ClientResponse> back = client->Send("GET", "/kv/k1");
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->status, 200);
  EXPECT_EQ(back->body, value);

  // An HTTP error status is a response, not a Status.
  Result<ClientResponse> missing = client->Send("GET", "/kv/nope");
  ASSERT_TRUE(missing.ok()) << missing.status().ToString();
  EXPECT_EQ(missing->status, 404);
  Result<ClientResponse> unrouted = client->Send("DELETE", "/kv/k1");
  ASSERT_TRUE(unrouted.ok()) << unrouted.status().ToString();
  EXPECT_EQ(unrouted->status, 405);
  EXPECT_EQ(unrouted->Header("allow"), "GET, PUT");

  // An empty PUT body is sent with Content-Length: 0.
  Result<ClientResponse> empty = client->Send("PUT", "/kv/k2", "");
  ASSERT_TRUE(empty.ok()) << empty.status().ToString();
  EXPECT_EQ(empty->body, "stored 0");

  EXPECT_EQ(client->connections_opened(), 1u);
}

TEST_F(HttpsClientTest, ManyRequestsShareOneConnection) {
  Start();
  auto client = Client();
  ASSERT_NE(client, nullptr);
  for (int i = 0; i < 200; ++i) {
    const std::string key = "k" + std::to_string(i);
    Result<ClientResponse> put = client->Send("PUT", "/kv/" + key, std::string(100, 'v'));
    ASSERT_TRUE(put.ok()) << i << ": " << put.status().ToString();
    ASSERT_EQ(put->status, 200);
  }
  EXPECT_EQ(client->connections_opened(), 1u);
  EXPECT_TRUE(OpenConnectionsIs(1)) << server_->metrics().Render();
  // The server counted 200 PUTs (it counts once its write completes, which may be just
  // after the client has read the response).
  EXPECT_TRUE(WaitFor([&] {
    return server_->metrics().Render().find(
               "vellum_http_requests_total{code=\"200\",method=\"PUT\",route=\"/kv/{k}\"} "
               "200\n") != std::string::npos;
  })) << server_->metrics().Render();

  client->Close();
  EXPECT_TRUE(WaitFor([&] { return OpenConnectionsIs(0); }));
  Result<ClientResponse> again = client->Send("GET", "/echo/x");
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(client->connections_opened(), 2u);
}

TEST_F(HttpsClientTest, ClientsHaveTheirOwnIdentityAndConnection) {
  Start();
  auto alice = Client();
  auto bob = Client(Options(&Bob()));
  ASSERT_NE(alice, nullptr);
  ASSERT_NE(bob, nullptr);
  Result<ClientResponse> a = alice->Send("GET", "/echo/a");
  Result<ClientResponse> b = bob->Send("GET", "/echo/b");
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->Header("x-client"), "alice");
  EXPECT_EQ(b->Header("x-client"), "bob");
  EXPECT_TRUE(OpenConnectionsIs(2));
}

// --- reconnection -------------------------------------------------------------------------

TEST_F(HttpsClientTest, ReconnectsAfterConnectionCloseResponse) {
  Start();
  auto client = Client();
  ASSERT_NE(client, nullptr);
  // A body over max_body_bytes: 413 and "Connection: close" from the server.
  Result<ClientResponse> too_big = client->Send("PUT", "/kv/big", std::string(8192, 'x'));
  ASSERT_TRUE(too_big.ok()) << too_big.status().ToString();
  EXPECT_EQ(too_big->status, 413);
  EXPECT_EQ(too_big->Header("connection"), "close");
  Result<ClientResponse> next = client->Send("GET", "/echo/next");
  ASSERT_TRUE(next.ok()) << next.status().ToString();
  EXPECT_EQ(next->body, "next");
  EXPECT_EQ(client->connections_opened(), 2u);
}

TEST_F(HttpsClientTest, ReconnectsAfterIdleClose) {
  Start([](HttpsServerOptions& o) { o.read_timeout_ms = 150; });
  auto client = Client();
  ASSERT_NE(client, nullptr);
  ASSERT_TRUE(client->Send("GET", "/echo/1").ok());
  // The server closes the idle connection; the client notices before reusing it.
  ASSERT_TRUE(WaitFor([&] { return OpenConnectionsIs(0); }));
  for (const char* method : {"GET", "POST"}) {
    Result<ClientResponse> r = client->Send(method, "/echo/2");
    ASSERT_TRUE(r.ok()) << method << ": " << r.status().ToString();
    ASSERT_TRUE(WaitFor([&] { return OpenConnectionsIs(0); }));
  }
  EXPECT_EQ(client->connections_opened(), 3u);
}

TEST_F(HttpsClientTest, ReconnectsAfterServerRestart) {
  Start();
  auto client = Client();
  ASSERT_NE(client, nullptr);
  ASSERT_TRUE(client->Send("PUT", "/kv/a", "1").ok());
  next_port_ = port();
  server_.reset();  // closes the idle connection
  Start();          // same port
  Result<ClientResponse> r = client->Send("PUT", "/kv/a", "2");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->body, "stored 1");
  EXPECT_EQ(client->connections_opened(), 2u);
}

// --- failures -----------------------------------------------------------------------------

TEST_F(HttpsClientTest, ServerCertificateFromAnotherCaIsUnavailable) {
  Start();
  HttpsClientOptions o = Options();
  o.ca_certificate_pem = ForeignCa().certificate_pem;
  auto client = Client(std::move(o));
  ASSERT_NE(client, nullptr);
  Result<ClientResponse> r = client->Send("GET", "/echo/x");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable) << r.status().ToString();
  EXPECT_NE(r.status().message().find("did not verify"), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find("not sent"), std::string::npos) << r.status().message();
  EXPECT_EQ(client->connections_opened(), 0u);
}

TEST_F(HttpsClientTest, ServerCertificateForAnotherHostIsUnavailable) {
  Start();
  // The certificate names IP 127.0.0.1 only; "localhost" resolves there but is not named.
  auto client = Client(Options(), "https://localhost:" + std::to_string(port()));
  ASSERT_NE(client, nullptr);
  Result<ClientResponse> r = client->Send("GET", "/echo/x");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable) << r.status().ToString();
  EXPECT_NE(r.status().message().find("mismatch"), std::string::npos) << r.status().message();
}

TEST_F(HttpsClientTest, MissingClientCertificateIsUnavailable) {
  Start();
  auto client = Client(Options(/*identity=*/nullptr));
  ASSERT_NE(client, nullptr);
  Result<ClientResponse> r = client->Send("GET", "/echo/x");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable) << r.status().ToString();
}

TEST_F(HttpsClientTest, ConnectionRefusedIsUnavailable) {
  Start();
  const uint16_t free_port = port();
  server_.reset();  // nothing listens there now
  HttpsClientOptions o = Options();
  Result<std::unique_ptr<HttpsClient>> client = HttpsClient::Create(Url(free_port), std::move(o));
  ASSERT_TRUE(client.ok()) << client.status().ToString();
  Result<ClientResponse> r = (*client)->Send("GET", "/echo/x");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable) << r.status().ToString();
  EXPECT_NE(r.status().message().find("refused"), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find("not sent"), std::string::npos) << r.status().message();
}

TEST_F(HttpsClientTest, HandlerThatNeverRespondsTimesOut) {
  Start();
  HttpsClientOptions o = Options();
  o.request_timeout_ms = 300;
  auto client = Client(std::move(o));
  ASSERT_NE(client, nullptr);
  const auto start = Clock::now();
  Result<ClientResponse> r = client->Send("POST", "/hang", "{}");
  const auto elapsed = Clock::now() - start;
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable) << r.status().ToString();
  EXPECT_NE(r.status().message().find("request_timeout_ms 300"), std::string::npos)
      << r.status().message();
  EXPECT_NE(r.status().message().find("may have been processed"), std::string::npos)
      << r.status().message();
  EXPECT_GE(elapsed, milliseconds(300));
  EXPECT_LT(elapsed, milliseconds(3000));
  // The timed-out connection is dropped; the next request gets a fresh one.
  Result<ClientResponse> next = client->Send("GET", "/echo/ok");
  ASSERT_TRUE(next.ok()) << next.status().ToString();
  EXPECT_EQ(next->body, "ok");
  EXPECT_EQ(client->connections_opened(), 2u);
}

TEST_F(HttpsClientTest, ConnectTimeoutIsUnavailable) {
  // A listener whose backlog is never accepted still completes TCP handshakes, so the
  // TLS handshake is what times out.
  boost::asio::io_context io;
  boost::asio::ip::tcp::acceptor acceptor(
      io, {boost::asio::ip::make_address("127.0.0.1"), uint16_t{0}});
  HttpsClientOptions o = Options();
  o.connect_timeout_ms = 200;
  Result<std::unique_ptr<HttpsClient>> client =
      HttpsClient::Create(Url(acceptor.local_endpoint().port()), std::move(o));
  ASSERT_TRUE(client.ok()) << client.status().ToString();
  const auto start = Clock::now();
  Result<ClientResponse> r = (*client)->Send("GET", "/");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable) << r.status().ToString();
  EXPECT_NE(r.status().message().find("connect_timeout_ms 200"), std::string::npos)
      << r.status().message();
  EXPECT_LT(Clock::now() - start, milliseconds(3000));
}

TEST_F(HttpsClientTest, OversizedResponseIsResourceExhausted) {
  Start();
  HttpsClientOptions o = Options();
  o.max_response_body_bytes = 1000;
  auto client = Client(std::move(o));
  ASSERT_NE(client, nullptr);
  Result<ClientResponse> r = client->Send("GET", "/big");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kResourceExhausted) << r.status().ToString();
  Result<ClientResponse> next = client->Send("GET", "/echo/small");
  ASSERT_TRUE(next.ok()) << next.status().ToString();
}

// A TLS server that answers whatever it is sent with `reply` and closes.
class RawTlsServer {
 public:
  explicit RawTlsServer(std::string reply)
      : tls_(boost::asio::ssl::context::tls_server),
        acceptor_(io_, {boost::asio::ip::make_address("127.0.0.1"), uint16_t{0}}) {
    tls_.use_certificate_chain(boost::asio::buffer(ServerCert().certificate_pem));
    tls_.use_private_key(boost::asio::buffer(ServerCert().private_key_pem.data(),
                                             ServerCert().private_key_pem.size()),
                         boost::asio::ssl::context::pem);
    thread_ = std::thread([this, reply = std::move(reply)] {
      boost::system::error_code ec;
      boost::asio::ip::tcp::socket socket(io_);
      acceptor_.accept(socket, ec);
      if (ec) return;
      boost::asio::ssl::stream<boost::asio::ip::tcp::socket&> stream(socket, tls_);
      stream.handshake(boost::asio::ssl::stream_base::server, ec);
      if (ec) return;
      boost::asio::streambuf request;
      boost::asio::read_until(stream, request, "\r\n\r\n", ec);
      if (ec) return;
      boost::asio::write(stream, boost::asio::buffer(reply), ec);
      stream.shutdown(ec);
    });
  }
  ~RawTlsServer() {
    // Wakes a blocked accept() (closing the descriptor from another thread would not).
    ::shutdown(acceptor_.native_handle(), SHUT_RDWR);
    thread_.join();
  }
  uint16_t port() const { return acceptor_.local_endpoint().port(); }

 private:
  boost::asio::io_context io_;
  boost::asio::ssl::context tls_;
  boost::asio::ip::tcp::acceptor acceptor_;
  std::thread thread_;
};

TEST_F(HttpsClientTest, UnparsableResponseIsCorruption) {
  RawTlsServer raw("HTTP/1.1 2000 What\r\nno colon here\r\n\r\n");
  auto client = Client(Options(), Url(raw.port()));
  ASSERT_NE(client, nullptr);
  Result<ClientResponse> r = client->Send("GET", "/");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kCorruption) << r.status().ToString();
}

TEST_F(HttpsClientTest, ResponseCutShortIsUnavailable) {
  RawTlsServer raw("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly part");
  auto client = Client(Options(), Url(raw.port()));
  ASSERT_NE(client, nullptr);
  Result<ClientResponse> r = client->Send("GET", "/");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable) << r.status().ToString();
  EXPECT_NE(r.status().message().find("may have been processed"), std::string::npos);
}

TEST_F(HttpsClientTest, HeadResponseHasNoBody) {
  RawTlsServer raw("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n");
  auto client = Client(Options(), Url(raw.port()));
  ASSERT_NE(client, nullptr);
  Result<ClientResponse> r = client->Send("HEAD", "/");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->Header("content-length"), "5");
  EXPECT_TRUE(r->body.empty());
}

TEST_F(HttpsClientTest, BodyUntilEndOfStreamIsReadAndNotReused) {
  RawTlsServer raw("HTTP/1.1 200 OK\r\n\r\nall of it");
  auto client = Client(Options(), Url(raw.port()));
  ASSERT_NE(client, nullptr);
  Result<ClientResponse> r = client->Send("GET", "/");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->body, "all of it");
}

// --- bad input ----------------------------------------------------------------------------

TEST(HttpsClientCreateTest, BadUrlsAreInvalidArgument) {
  for (const char* url : {"", "http://127.0.0.1:1", "https://", "https://:443", "https://h:",
                          "https://h:0", "https://h:65536", "https://h:12x", "https://h/path",
                          "https://h?q", "https://user:pw@h", "https://[::1", "https://::1:80",
                          "https://[nothex]:1", "https://bad_host", "https://[::1]x"}) {
    HttpsClientOptions o;
    o.ca_certificate_pem = ClusterCa().certificate_pem;
    Result<std::unique_ptr<HttpsClient>> client = HttpsClient::Create(url, std::move(o));
    EXPECT_FALSE(client.ok()) << url;
    if (!client.ok()) {
      EXPECT_EQ(client.status().code(), StatusCode::kInvalidArgument) << url;
      EXPECT_EQ(client.status().message().find("pw"), std::string::npos);
    }
  }
  for (const char* url : {"https://127.0.0.1:8443", "https://127.0.0.1:8443/", "HTTPS://h.example",
                          "https://[::1]:9000", "https://[::1]"}) {
    HttpsClientOptions o;
    o.ca_certificate_pem = ClusterCa().certificate_pem;
    Result<std::unique_ptr<HttpsClient>> client = HttpsClient::Create(url, std::move(o));
    EXPECT_TRUE(client.ok()) << url << ": " << client.status().ToString();
  }
  HttpsClientOptions o;
  o.ca_certificate_pem = ClusterCa().certificate_pem;
  Result<std::unique_ptr<HttpsClient>> v6 = HttpsClient::Create("https://[::1]", std::move(o));
  ASSERT_TRUE(v6.ok());
  EXPECT_EQ((*v6)->origin(), "https://[::1]:443");
}

TEST(HttpsClientCreateTest, BadCredentialsAreInvalidArgument) {
  const auto create = [](std::string ca, std::string cert, crypto::SecureBytes key) {
    HttpsClientOptions o;
    o.ca_certificate_pem = std::move(ca);
    o.certificate_pem = std::move(cert);
    o.private_key_pem = std::move(key);
    return HttpsClient::Create("https://127.0.0.1:1", std::move(o)).status();
  };
  EXPECT_CODE(create("", "", {}), kInvalidArgument);
  EXPECT_CODE(create("not pem", "", {}), kInvalidArgument);
  // A certificate without its key, a key without its certificate.
  EXPECT_CODE(create(ClusterCa().certificate_pem, Alice().certificate_pem, {}), kInvalidArgument);
  EXPECT_CODE(create(ClusterCa().certificate_pem, "", Alice().private_key_pem.Clone()),
              kInvalidArgument);
  // Bob's key for Alice's certificate: refused, and the message quotes no key.
  const Status mismatch =
      create(ClusterCa().certificate_pem, Alice().certificate_pem, Bob().private_key_pem.Clone());
  EXPECT_EQ(mismatch.code(), StatusCode::kInvalidArgument) << mismatch.ToString();
  EXPECT_EQ(mismatch.message().find("PRIVATE KEY"), std::string::npos);
  const Status garbage = create(ClusterCa().certificate_pem, Alice().certificate_pem,
                                crypto::SecureBytes::CopyFrom(AsBytes(std::string("secret!"))));
  EXPECT_EQ(garbage.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(garbage.message().find("secret!"), std::string::npos);
  HttpsClientOptions zero;
  zero.ca_certificate_pem = ClusterCa().certificate_pem;
  zero.request_timeout_ms = 0;
  EXPECT_CODE(HttpsClient::Create("https://127.0.0.1:1", std::move(zero)).status(),
              kInvalidArgument);
  // Good credentials.
  EXPECT_OK(create(ClusterCa().certificate_pem, Alice().certificate_pem,
                   Alice().private_key_pem.Clone()));
}

TEST_F(HttpsClientTest, BadRequestsAreInvalidArgumentAndSendNothing) {
  Start();
  auto client = Client();
  ASSERT_NE(client, nullptr);
  EXPECT_CODE(client->Send("G T", "/echo/x").status(), kInvalidArgument);
  EXPECT_CODE(client->Send("GET", "echo/x").status(), kInvalidArgument);
  EXPECT_CODE(client->Send("GET", "/echo/a b").status(), kInvalidArgument);
  EXPECT_CODE(client->Send("GET", "/echo/x\r\nX: y").status(), kInvalidArgument);
  EXPECT_CODE(client->Send("GET", "/echo/x", "", {{"X-A", "v\r\nInjected: 1"}}).status(),
              kInvalidArgument);
  EXPECT_CODE(client->Send("GET", "/echo/x", "", {{"Bad Name", "v"}}).status(), kInvalidArgument);
  EXPECT_CODE(client->Send("PUT", "/kv/x", "1", {{"Content-Length", "5"}}).status(),
              kInvalidArgument);
  EXPECT_CODE(client->Send("GET", "/echo/x", "", {{"connection", "close"}}).status(),
              kInvalidArgument);
  EXPECT_EQ(client->connections_opened(), 0u);
  Result<ClientResponse> host = client->Send("GET", "/echo/x", "", {{"Host", "node-1"}});
  ASSERT_TRUE(host.ok()) << host.status().ToString();
  EXPECT_EQ(host->status, 200);
}

}  // namespace
}  // namespace vellum::http
