// Copyright (c) Vellum authors.
//
// Tests of HttpsServer over real TLS 1.3 connections on 127.0.0.1 (ephemeral ports),
// driven by TestClient (Boost.Beast): routing and decoding over the wire, the JSON error
// bodies, every refusal of a client certificate, the size limits (413, 431), timeouts
// (504, idle and slow requests), late and dropped responses, the connection limit,
// graceful Stop, /metrics and the structured logs.
//
// Thread safety: each test owns its server; the log callback and the handlers record
// under a mutex.

#include "node/http/https_server.h"

#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <functional>
#include <initializer_list>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "crypto/x509.h"
#include "node/http/percent.h"
#include "tests/node/http/test_client.h"
#include "tests/node/http/test_credentials.h"
#include "tests/test_util.h"

namespace vellum::http {
namespace {

using std::chrono::milliseconds;
using testing::Alice;
using testing::Bob;
using testing::ClientOptions;
using testing::ClusterCa;
using testing::ForeignCa;
using testing::Issue;
using testing::Reply;
using testing::ServerCert;
using testing::TestClient;
using testing::Text;
using Clock = std::chrono::steady_clock;

// --- helpers ------------------------------------------------------------------------------

// Polls `condition` every 2 ms until it holds or `timeout` passes.
bool WaitFor(const std::function<bool()>& condition, milliseconds timeout = milliseconds(5000)) {
  const auto deadline = Clock::now() + timeout;
  while (!condition()) {
    if (Clock::now() > deadline) return false;
    std::this_thread::sleep_for(milliseconds(2));
  }
  return true;
}

nlohmann::json Json(const Reply& reply) { return nlohmann::json::parse(reply.body); }

class HttpsServerTest : public ::testing::Test {
 protected:
  void TearDown() override {
    server_.reset();  // before what its callbacks use
    for (std::thread& t : threads_) t.join();
  }

  HttpsServerOptions Options() {
    HttpsServerOptions o;
    o.listen_address = "127.0.0.1:0";
    o.ca_certificate_pem = ClusterCa().certificate_pem;
    o.certificate_pem = ServerCert().certificate_pem;
    o.private_key_pem = ServerCert().private_key_pem.Clone();
    o.read_timeout_ms = 5000;
    o.handler_timeout_ms = 5000;
    o.log = [this](std::string_view line) {
      std::lock_guard lock(mu_);
      logs_.emplace_back(line);
    };
    return o;
  }

  void Start(Router router, const std::function<void(HttpsServerOptions&)>& adjust = nullptr) {
    HttpsServerOptions o = Options();
    if (adjust) adjust(o);
    Result<std::unique_ptr<HttpsServer>> server =
        HttpsServer::Start(std::move(o), std::move(router));
    ASSERT_TRUE(server.ok()) << server.status().ToString();
    server_ = std::move(server).value();
  }

  std::unique_ptr<TestClient> Client(const crypto::CertifiedKey* identity = &Alice(),
                                     milliseconds timeout = milliseconds(5000)) {
    ClientOptions o;
    o.identity = identity;
    o.timeout = timeout;
    return std::make_unique<TestClient>(ClusterCa().certificate_pem, o);
  }

  // A connected client (alice unless told otherwise); fails the test if it cannot connect.
  std::unique_ptr<TestClient> Connected(const crypto::CertifiedKey* identity = &Alice()) {
    auto client = Client(identity);
    EXPECT_OK(client->Connect(port()));
    return client;
  }

  // Whether a client with `options` is refused: the handshake fails, or the first
  // request gets no response (TLS 1.3 reports a refused client certificate after the
  // client's side of the handshake is done).
  bool Refused(ClientOptions options) {
    TestClient client(ClusterCa().certificate_pem, options);
    if (!client.Connect(port()).ok()) return true;
    Result<Reply> reply = client.Call("GET", "/ping");
    return !reply.ok();
  }

  uint16_t port() const { return server_->bound_port(); }

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

  // Runs `fn` on a thread joined at TearDown (a handler's deferred work).
  void Later(std::function<void()> fn) {
    std::lock_guard lock(mu_);
    threads_.emplace_back(std::move(fn));
  }

  std::string MetricsText() { return server_->metrics().Render(); }

  std::mutex mu_;
  std::vector<std::string> logs_;
  std::vector<std::thread> threads_;
  std::unique_ptr<HttpsServer> server_;
};

Router PingRouter() {
  Router router;
  router.Add("GET", "/ping", [](Request, Responder respond) { respond(Text("pong")); });
  return router;
}

// --- routing and decoding over the wire ---------------------------------------------------

TEST_F(HttpsServerTest, RoutesPathParametersAndPercentEncodedKeys) {
  Router router;
  router.Add("GET", "/v1/kv/{table}/{key}", [](Request request, Responder respond) {
    nlohmann::json body;
    body["route"] = request.route;
    body["table"] = HexEncode(AsBytes(request.params.at("table")));
    body["key"] = HexEncode(AsBytes(request.params.at("key")));
    body["target"] = request.target;
    body["segments"] = request.path_segments.size();
    Response response;
    response.body = body.dump();
    respond(std::move(response));
  });
  Start(std::move(router));
  auto client = Connected();

  Result<Reply> reply = client->Call("GET", "/v1/kv/t/%00%ff%2F");
  ASSERT_OK(reply.status());
  EXPECT_EQ(reply->status, 200);
  EXPECT_EQ(reply->Header("content-type"), "application/json");
  const auto body = Json(*reply);
  EXPECT_EQ(body["route"], "/v1/kv/{table}/{key}");
  EXPECT_EQ(body["table"], "74");
  EXPECT_EQ(body["key"], "00ff2f");
  EXPECT_EQ(body["target"], "/v1/kv/t/%00%ff%2F");
  EXPECT_EQ(body["segments"], 4);

  const std::string key = std::string("a b/\x01\xfe", 6);
  reply = client->Call("GET", "/v1/kv/" + PercentEncode("my table") + "/" + PercentEncode(key));
  ASSERT_OK(reply.status());
  EXPECT_EQ(Json(*reply)["key"], HexEncode(AsBytes(key)));
  EXPECT_EQ(Json(*reply)["table"], HexEncode(AsBytes("my table")));
}

TEST_F(HttpsServerTest, QueryHeadersAndBodyReachTheHandler) {
  Router router;
  router.Add("POST", "/v1/echo", [](Request request, Responder respond) {
    nlohmann::json body;
    body["query"] = request.query;
    body["x-custom"] = request.headers["x-custom"];
    body["has_upper_case_name"] = request.headers.count("X-Custom") > 0;
    body["body"] = request.body;
    body["method"] = request.method;
    Response response;
    response.body = body.dump();
    response.headers.emplace_back("X-Echo", "yes");
    respond(std::move(response));
  });
  Start(std::move(router));
  auto client = Connected();
  Result<Reply> reply =
      client->Call("POST", "/v1/echo?a=1&b=x%20y&c&d=%2B+", "the body", {{"X-Custom", "value"}});
  ASSERT_OK(reply.status());
  ASSERT_EQ(reply->status, 200);
  const auto body = Json(*reply);
  const std::map<std::string, std::string> query = body["query"];
  EXPECT_EQ(query,
            (std::map<std::string, std::string>{{"a", "1"}, {"b", "x y"}, {"c", ""}, {"d", "+ "}}));
  EXPECT_EQ(body["x-custom"], "value");
  EXPECT_EQ(body["has_upper_case_name"], false);
  EXPECT_EQ(body["body"], "the body");
  EXPECT_EQ(body["method"], "POST");
  EXPECT_EQ(reply->Header("x-echo"), "yes");
}

TEST_F(HttpsServerTest, UnknownPathIs404AndWrongMethodIs405) {
  Router router;
  router.Add("GET", "/v1/kv/{table}/{key}", [](Request, Responder r) { r(Text("get")); });
  router.Add("PUT", "/v1/kv/{table}/{key}", [](Request, Responder r) { r(Text("put")); });
  Start(std::move(router));
  auto client = Connected();

  Result<Reply> reply = client->Call("GET", "/v1/nothing/here");
  ASSERT_OK(reply.status());
  EXPECT_EQ(reply->status, 404);
  EXPECT_EQ(reply->Header("content-type"), "application/json");
  EXPECT_EQ(Json(*reply)["error"]["code"], "NotFound");
  EXPECT_TRUE(reply->keep_alive);

  reply = client->Call("DELETE", "/v1/kv/t/k");
  ASSERT_OK(reply.status());
  EXPECT_EQ(reply->status, 405);
  EXPECT_EQ(reply->Header("allow"), "GET, PUT");
  EXPECT_EQ(Json(*reply)["error"]["code"], "MethodNotAllowed");

  reply = client->Call("PUT", "/v1/kv/t/k", "v");
  ASSERT_OK(reply.status());
  EXPECT_EQ(reply->body, "put");
}

TEST_F(HttpsServerTest, StatusErrorsBecomeJsonWithTheirHttpStatus) {
  Router router;
  router.Add("GET", "/fail/{code}", [](Request request, Responder respond) {
    const int code = std::stoi(request.params.at("code"));
    respond(
        ErrorResponse(Status(static_cast<StatusCode>(code), "failure #" + std::to_string(code))));
  });
  Start(std::move(router));
  auto client = Connected();
  const std::map<StatusCode, int> expected = {
      {StatusCode::kNotFound, 404},
      {StatusCode::kInvalidArgument, 400},
      {StatusCode::kCorruption, 500},
      {StatusCode::kIOError, 500},
      {StatusCode::kAborted, 409},
      {StatusCode::kUnavailable, 503},
      {StatusCode::kFailedPrecondition, 412},
      {StatusCode::kNotSupported, 501},
      {StatusCode::kPermissionDenied, 403},
      {StatusCode::kResourceExhausted, 429},
      {StatusCode::kAlreadyExists, 409},
  };
  for (const auto& [code, http_status] : expected) {
    const int n = static_cast<int>(code);
    Result<Reply> reply = client->Call("GET", "/fail/" + std::to_string(n));
    ASSERT_OK(reply.status());
    EXPECT_EQ(reply->status, http_status) << StatusCodeName(code);
    EXPECT_EQ(reply->body, "{\"error\":{\"code\":\"" + std::string(StatusCodeName(code)) +
                               "\",\"message\":\"failure #" + std::to_string(n) + "\"}}");
  }
}

TEST_F(HttpsServerTest, MalformedRequestsAre400) {
  Start(PingRouter());
  auto client = Connected();
  Result<Reply> reply = client->Call("GET", "/v1/kv/t/%zz");
  ASSERT_OK(reply.status());
  EXPECT_EQ(reply->status, 400);
  EXPECT_EQ(Json(*reply)["error"]["code"], "InvalidArgument");
  EXPECT_TRUE(reply->keep_alive);  // the request itself was well framed

  // Not HTTP at all: 400, and the connection is closed.
  auto raw = Connected();
  ASSERT_OK(raw->WriteRaw("GARBAGE\x01 / HTTP/1.1\r\n\r\n"));
  reply = raw->Read();
  ASSERT_OK(reply.status());
  EXPECT_EQ(reply->status, 400);
  EXPECT_FALSE(reply->keep_alive);
  EXPECT_TRUE(raw->WaitClosed(milliseconds(3000)));
}

// --- client certificates ------------------------------------------------------------------

TEST_F(HttpsServerTest, ValidClientCertificateCommonNameReachesTheHandler) {
  Router router;
  router.Add("GET", "/whoami",
             [](Request request, Responder respond) { respond(Text(request.client_common_name)); });
  Start(std::move(router));
  for (const crypto::CertifiedKey* who : {&Alice(), &Bob()}) {
    auto client = Connected(who);
    Result<Reply> reply = client->Call("GET", "/whoami");
    ASSERT_OK(reply.status());
    EXPECT_EQ(reply->body, who == &Alice() ? "alice" : "bob");
  }
}

TEST_F(HttpsServerTest, ClientWithoutCertificateIsRefused) {
  std::atomic<int> calls{0};
  Router router;
  router.Add("GET", "/ping", [&](Request, Responder respond) {
    ++calls;
    respond(Text("pong"));
  });
  Start(std::move(router));
  EXPECT_TRUE(Refused(ClientOptions{}));
  EXPECT_EQ(calls.load(), 0);
  EXPECT_TRUE(WaitFor([&] { return !FindLog({"event=tls_handshake_failed"}).empty(); }));
  EXPECT_NE(MetricsText().find("vellum_http_tls_handshake_failures_total 1\n"), std::string::npos)
      << MetricsText();
}

TEST_F(HttpsServerTest, ClientCertificateFromAnotherCaIsRefused) {
  Start(PingRouter());
  const crypto::CertifiedKey mallory =
      Issue(ForeignCa(), "alice", crypto::CertificateUsage::kClient);
  ClientOptions o;
  o.identity = &mallory;
  EXPECT_TRUE(Refused(o));
  EXPECT_TRUE(WaitFor([&] { return !FindLog({"event=tls_handshake_failed"}).empty(); }));
  // A certificate from the cluster CA still works afterwards.
  auto client = Connected();
  Result<Reply> reply = client->Call("GET", "/ping");
  ASSERT_OK(reply.status());
  EXPECT_EQ(reply->body, "pong");
}

TEST_F(HttpsServerTest, ServerOnlyCertificateIsRefusedAsAClient) {
  Start(PingRouter());
  const crypto::CertifiedKey server_only =
      Issue(ClusterCa(), "impostor", crypto::CertificateUsage::kServer);
  ClientOptions o;
  o.identity = &server_only;
  EXPECT_TRUE(Refused(o));
}

TEST_F(HttpsServerTest, Tls12IsRefused) {
  Start(PingRouter());
  ClientOptions o;
  o.identity = &Alice();
  o.tls12_only = true;
  TestClient client(ClusterCa().certificate_pem, o);
  EXPECT_FALSE(client.Connect(port()).ok());
}

TEST_F(HttpsServerTest, OptionalClientCertificate) {
  Router router;
  router.Add("GET", "/whoami",
             [](Request request, Responder respond) { respond(Text(request.client_common_name)); });
  Start(std::move(router), [](HttpsServerOptions& o) { o.require_client_certificate = false; });
  auto anonymous = Connected(nullptr);
  Result<Reply> reply = anonymous->Call("GET", "/whoami");
  ASSERT_OK(reply.status());
  EXPECT_EQ(reply->status, 200);
  EXPECT_EQ(reply->body, "");

  auto alice = Connected(&Alice());
  reply = alice->Call("GET", "/whoami");
  ASSERT_OK(reply.status());
  EXPECT_EQ(reply->body, "alice");

  // A certificate that is presented must still verify.
  const crypto::CertifiedKey mallory =
      Issue(ForeignCa(), "mallory", crypto::CertificateUsage::kClient);
  ClientOptions o;
  o.identity = &mallory;
  TestClient client(ClusterCa().certificate_pem, o);
  EXPECT_TRUE(!client.Connect(port()).ok() || !client.Call("GET", "/whoami").ok());
}

// --- limits and timeouts ------------------------------------------------------------------

TEST_F(HttpsServerTest, BodyOverTheLimitIs413) {
  Router router;
  router.Add("POST", "/upload", [](Request request, Responder respond) {
    respond(Text(std::to_string(request.body.size())));
  });
  Start(std::move(router), [](HttpsServerOptions& o) { o.max_body_bytes = 1024; });

  auto client = Connected();
  Result<Reply> reply = client->Call("POST", "/upload", std::string(1024, 'x'));
  ASSERT_OK(reply.status());
  EXPECT_EQ(reply->status, 200);
  EXPECT_EQ(reply->body, "1024");

  reply = client->Call("POST", "/upload", std::string(1025, 'x'));
  ASSERT_OK(reply.status());
  EXPECT_EQ(reply->status, 413);
  EXPECT_EQ(Json(*reply)["error"]["code"], "ResourceExhausted");
  EXPECT_FALSE(reply->keep_alive);
  EXPECT_TRUE(client->WaitClosed(milliseconds(3000)));

  // Chunked: the limit applies to the decoded body as it arrives.
  auto chunked = Connected();
  ASSERT_OK(
      chunked->WriteRaw("POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                        "400\r\n" +
                        std::string(1024, 'y') +
                        "\r\n"
                        "10\r\n" +
                        std::string(16, 'z') + "\r\n0\r\n\r\n"));
  reply = chunked->Read();
  ASSERT_OK(reply.status());
  EXPECT_EQ(reply->status, 413);
}

TEST_F(HttpsServerTest, HeadOverTheLimitIs431) {
  Start(PingRouter(), [](HttpsServerOptions& o) { o.max_header_bytes = 1024; });
  auto client = Connected();
  Result<Reply> reply = client->Call("GET", "/ping", "", {{"X-Padding", std::string(900, 'p')}});
  ASSERT_OK(reply.status());
  EXPECT_EQ(reply->status, 200);

  reply = client->Call("GET", "/ping", "", {{"X-Padding", std::string(1100, 'p')}});
  ASSERT_OK(reply.status());
  EXPECT_EQ(reply->status, 431);
  EXPECT_EQ(Json(*reply)["error"]["code"], "ResourceExhausted");
  EXPECT_FALSE(reply->keep_alive);
  EXPECT_TRUE(client->WaitClosed(milliseconds(3000)));

  // Many small fields count too.
  auto many = Connected();
  std::vector<std::pair<std::string, std::string>> fields;
  for (int i = 0; i < 100; ++i) fields.emplace_back("X-F" + std::to_string(i), "0123456789");
  reply = many->Call("GET", "/ping", "", fields);
  ASSERT_OK(reply.status());
  EXPECT_EQ(reply->status, 431);
}

TEST_F(HttpsServerTest, ExpectContinueGetsInterimResponse) {
  Router router;
  router.Add("PUT", "/v1/kv/{table}/{key}",
             [](Request request, Responder respond) { respond(Text("got " + request.body)); });
  Start(std::move(router));
  auto client = Connected();
  ASSERT_OK(client->WriteRaw(
      "PUT /v1/kv/t/k HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n"));
  Result<Reply> interim = client->Read();
  ASSERT_OK(interim.status());
  EXPECT_EQ(interim->status, 100);
  ASSERT_OK(client->WriteRaw("hello"));
  Result<Reply> reply = client->Read();
  ASSERT_OK(reply.status());
  EXPECT_EQ(reply->status, 200);
  EXPECT_EQ(reply->body, "got hello");
}

TEST_F(HttpsServerTest, HandlerThatNeverRespondsGets504) {
  std::mutex mu;
  std::vector<Responder> stash;
  Router router;
  router.Add("GET", "/never", [&](Request, Responder respond) {
    std::lock_guard lock(mu);
    stash.push_back(std::move(respond));  // kept, never called in time
  });
  router.Add("GET", "/ping", [](Request, Responder respond) { respond(Text("pong")); });
  Start(std::move(router), [](HttpsServerOptions& o) { o.handler_timeout_ms = 150; });
  auto client = Connected();

  const auto start = Clock::now();
  Result<Reply> reply = client->Call("GET", "/never");
  const auto elapsed = Clock::now() - start;
  ASSERT_OK(reply.status());
  EXPECT_EQ(reply->status, 504);
  EXPECT_EQ(Json(*reply)["error"]["code"], "DeadlineExceeded");
  EXPECT_GE(elapsed, milliseconds(140));
  EXPECT_LT(elapsed, milliseconds(3000));
  EXPECT_TRUE(reply->keep_alive);

  // The late response is dropped: the next exchange on the connection is not confused.
  {
    std::lock_guard lock(mu);
    ASSERT_EQ(stash.size(), 1u);
    stash[0](Text("too late"));
  }
  reply = client->Call("GET", "/ping");
  ASSERT_OK(reply.status());
  EXPECT_EQ(reply->body, "pong");
  EXPECT_FALSE(FindLog({"event=http_handler_timeout", "route=/never"}).empty());
}

TEST_F(HttpsServerTest, ResponseFromAnotherThreadLaterIsDelivered) {
  Router router;
  router.Add("PUT", "/v1/kv/{table}/{key}", [this](Request request, Responder respond) {
    Later([request = std::move(request), respond = std::move(respond)]() mutable {
      std::this_thread::sleep_for(milliseconds(100));  // "waiting for a Raft commit"
      respond(Text("committed " + request.params.at("key")));
    });
  });
  Start(std::move(router));
  auto client = Connected();
  for (int i = 0; i < 3; ++i) {
    Result<Reply> reply = client->Call("PUT", "/v1/kv/t/k" + std::to_string(i), "v");
    ASSERT_OK(reply.status());
    EXPECT_EQ(reply->status, 200);
    EXPECT_EQ(reply->body, "committed k" + std::to_string(i));
  }
}

TEST_F(HttpsServerTest, DroppedResponderIs500AndThrowingHandlerIs500) {
  Router router;
  router.Add("GET", "/drop", [](Request, Responder) {});
  router.Add("GET", "/throw", [](Request, Responder) { throw std::runtime_error("boom"); });
  router.Add("GET", "/bad-header", [](Request, Responder respond) {
    Response response = Text("x");
    response.headers.emplace_back("X-Injected", "a\r\nSet-Cookie: evil");
    respond(std::move(response));
  });
  router.Add("GET", "/bad-status", [](Request, Responder respond) { respond(Text("x", 42)); });
  Start(std::move(router));
  auto client = Connected();
  for (const std::string target : {"/drop", "/throw", "/bad-header", "/bad-status"}) {
    Result<Reply> reply = client->Call("GET", target);
    ASSERT_TRUE(reply.ok()) << target << ": " << reply.status().ToString();
    EXPECT_EQ(reply->status, 500) << target;
    EXPECT_EQ(Json(*reply)["error"]["code"], "Internal") << target;
    EXPECT_EQ(reply->Header("set-cookie"), "") << target;
  }
  EXPECT_FALSE(FindLog({"event=http_handler_exception", "error=boom"}).empty());
}

TEST_F(HttpsServerTest, KeepAliveServesManyRequestsOnOneConnection) {
  Start(PingRouter());
  auto client = Connected();
  for (int i = 0; i < 20; ++i) {
    Result<Reply> reply = client->Call("GET", "/ping");
    ASSERT_OK(reply.status());
    EXPECT_EQ(reply->body, "pong");
    EXPECT_TRUE(reply->keep_alive);
  }
  // "Connection: close" from the client is honoured.
  Result<Reply> reply = client->Call("GET", "/ping", "", {{"Connection", "close"}});
  ASSERT_OK(reply.status());
  EXPECT_FALSE(reply->keep_alive);
  EXPECT_TRUE(client->WaitClosed(milliseconds(3000)));
}

TEST_F(HttpsServerTest, MaxConnectionsIsEnforced) {
  Start(PingRouter(), [](HttpsServerOptions& o) { o.max_connections = 2; });
  auto first = Connected();
  auto second = Connected();
  ASSERT_OK(first->Call("GET", "/ping").status());
  ASSERT_OK(second->Call("GET", "/ping").status());

  ClientOptions o;
  o.identity = &Alice();
  EXPECT_TRUE(Refused(o));
  EXPECT_TRUE(WaitFor([&] {
    return MetricsText().find("vellum_http_connections_rejected_total 1\n") != std::string::npos;
  }));
  EXPECT_FALSE(FindLog({"event=http_connection_rejected", "reason=max_connections"}).empty());

  // A slot frees when a connection closes.
  first->Close();
  EXPECT_TRUE(WaitFor(
      [&] { return MetricsText().find("vellum_http_open_connections 1\n") != std::string::npos; }));
  auto third = Connected();
  Result<Reply> reply = third->Call("GET", "/ping");
  ASSERT_OK(reply.status());
  EXPECT_EQ(reply->body, "pong");
  ASSERT_OK(second->Call("GET", "/ping").status());
}

TEST_F(HttpsServerTest, SlowOrIdleClientsAreClosedAfterReadTimeout) {
  Start(PingRouter(), [](HttpsServerOptions& o) { o.read_timeout_ms = 200; });
  // Part of a request head, then nothing.
  auto slow = Connected();
  ASSERT_OK(slow->WriteRaw("GET /ping HTTP/1.1\r\nHo"));
  const auto start = Clock::now();
  EXPECT_TRUE(slow->WaitClosed(milliseconds(3000)));
  EXPECT_GE(Clock::now() - start, milliseconds(150));
  EXPECT_TRUE(WaitFor([&] { return !FindLog({"event=http_read_timeout"}).empty(); }));

  // Idle after a request (keep-alive): closed too.
  auto idle = Connected();
  ASSERT_OK(idle->Call("GET", "/ping").status());
  EXPECT_TRUE(idle->WaitClosed(milliseconds(3000)));

  // TCP only, never a TLS handshake: closed too.
  boost::asio::io_context io;
  boost::asio::ip::tcp::socket socket(io);
  socket.connect({boost::asio::ip::make_address("127.0.0.1"), port()});
  std::array<char, 16> scratch{};
  std::optional<boost::system::error_code> result;
  socket.async_read_some(boost::asio::buffer(scratch),
                         [&](const boost::system::error_code& ec, size_t) { result = ec; });
  io.run_for(milliseconds(3000));
  EXPECT_TRUE(result.has_value());
  EXPECT_TRUE(WaitFor([&] { return !FindLog({"event=tls_handshake_failed"}).empty(); }));
  EXPECT_TRUE(WaitFor(
      [&] { return MetricsText().find("vellum_http_open_connections 0\n") != std::string::npos; }));
}

// --- Stop -------------------------------------------------------------------------------

TEST_F(HttpsServerTest, StopCompletesARequestInFlightAndReturnsPromptly) {
  std::atomic<bool> handler_called{false};
  Router router;
  router.Add("PUT", "/v1/kv/{table}/{key}", [&, this](Request, Responder respond) {
    handler_called = true;
    Later([respond = std::move(respond)] {
      std::this_thread::sleep_for(milliseconds(300));
      respond(Text("committed"));
    });
  });
  router.Add("GET", "/ping", [](Request, Responder respond) { respond(Text("pong")); });
  Start(std::move(router), [](HttpsServerOptions& o) { o.stop_timeout_ms = 5000; });

  auto idle = Connected();
  ASSERT_OK(idle->Call("GET", "/ping").status());

  Result<Reply> in_flight = Status::Unavailable("not yet");
  std::thread client_thread([&] {
    auto client = Connected();
    in_flight = client->Call("PUT", "/v1/kv/t/k", "v");
  });
  ASSERT_TRUE(WaitFor([&] { return handler_called.load(); }));

  const auto start = Clock::now();
  server_->Stop();
  const auto elapsed = Clock::now() - start;
  client_thread.join();

  ASSERT_OK(in_flight.status());
  EXPECT_EQ(in_flight->status, 200);
  EXPECT_EQ(in_flight->body, "committed");
  EXPECT_FALSE(in_flight->keep_alive);  // answered with Connection: close
  EXPECT_GE(elapsed, milliseconds(200));
  EXPECT_LT(elapsed, milliseconds(2500));
  EXPECT_TRUE(idle->WaitClosed(milliseconds(1000)));
  // Nothing listens any more.
  auto late = Client(&Alice(), milliseconds(1000));
  EXPECT_FALSE(late->Connect(port()).ok());
  EXPECT_FALSE(FindLog({"event=http_server_stopped"}).empty());
  EXPECT_TRUE(FindLog({"event=http_stop_deadline"}).empty());
  server_->Stop();  // idempotent
}

TEST_F(HttpsServerTest, StopWithIdleConnectionsIsImmediate) {
  Start(PingRouter());
  std::vector<std::unique_ptr<TestClient>> clients;
  for (int i = 0; i < 5; ++i) {
    clients.push_back(Connected());
    ASSERT_OK(clients.back()->Call("GET", "/ping").status());
  }
  const auto start = Clock::now();
  server_->Stop();
  EXPECT_LT(Clock::now() - start, milliseconds(500));
  for (auto& client : clients) EXPECT_TRUE(client->WaitClosed(milliseconds(1000)));
}

TEST_F(HttpsServerTest, StopGivesUpOnAHandlerAfterStopTimeout) {
  std::mutex mu;
  std::vector<Responder> stash;
  std::atomic<bool> handler_called{false};
  Router router;
  router.Add("GET", "/never", [&](Request, Responder respond) {
    std::lock_guard lock(mu);
    stash.push_back(std::move(respond));
    handler_called = true;
  });
  Start(std::move(router), [](HttpsServerOptions& o) { o.stop_timeout_ms = 200; });
  auto client = Connected();
  ASSERT_OK(client->Send("GET", "/never"));
  ASSERT_TRUE(WaitFor([&] { return handler_called.load(); }));

  const auto start = Clock::now();
  server_->Stop();
  const auto elapsed = Clock::now() - start;
  EXPECT_GE(elapsed, milliseconds(180));
  EXPECT_LT(elapsed, milliseconds(1500));
  EXPECT_FALSE(client->Read().ok());  // closed without a response
  EXPECT_FALSE(FindLog({"event=http_stop_deadline", "connections_closed=1"}).empty());

  // Responding after Stop, and after the server is gone, does nothing.
  std::lock_guard lock(mu);
  ASSERT_EQ(stash.size(), 1u);
  stash[0](Text("late"));
  server_.reset();
  stash.clear();
}

TEST_F(HttpsServerTest, ResponderOutlivingTheServerIsHarmless) {
  std::mutex mu;
  std::vector<Responder> stash;
  std::atomic<bool> handler_called{false};
  Router router;
  router.Add("GET", "/never", [&](Request, Responder respond) {
    std::lock_guard lock(mu);
    stash.push_back(std::move(respond));
    handler_called = true;
  });
  Start(std::move(router), [](HttpsServerOptions& o) { o.stop_timeout_ms = 50; });
  auto client = Connected();
  ASSERT_OK(client->Send("GET", "/never"));
  ASSERT_TRUE(WaitFor([&] { return handler_called.load(); }));
  server_.reset();
  std::lock_guard lock(mu);
  stash.clear();  // destroyed uncalled after the server: nothing to deliver to
}

// --- many clients, metrics and logs -------------------------------------------------------

TEST_F(HttpsServerTest, ConcurrentClients) {
  Router router;
  router.Add("GET", "/v1/kv/{table}/{key}", [this](Request request, Responder respond) {
    if (request.params.at("key").back() % 2 == 0) {
      respond(Text(request.client_common_name + ":" + request.params.at("key")));
      return;
    }
    Later([request = std::move(request), respond = std::move(respond)] {
      respond(Text(request.client_common_name + ":" + request.params.at("key")));
    });
  });
  Start(std::move(router), [](HttpsServerOptions& o) { o.io_threads = 2; });
  constexpr int kClients = 6;
  constexpr int kRequests = 15;
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int c = 0; c < kClients; ++c) {
    threads.emplace_back([&, c] {
      auto client = Client(c % 2 == 0 ? &Alice() : &Bob());
      if (!client->Connect(port()).ok()) return;
      for (int i = 0; i < kRequests; ++i) {
        const std::string key = std::to_string(c) + "-" + std::to_string(i);
        Result<Reply> reply = client->Call("GET", "/v1/kv/t/" + key);
        if (reply.ok() && reply->body == (c % 2 == 0 ? "alice:" : "bob:") + key) ++ok;
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(ok.load(), kClients * kRequests);
  // Counted once each response is written (the client may see it a moment before).
  const std::string expected =
      "vellum_http_requests_total{code=\"200\",method=\"GET\","
      "route=\"/v1/kv/{table}/{key}\"} " +
      std::to_string(kClients * kRequests) + "\n";
  EXPECT_TRUE(WaitFor([&] { return MetricsText().find(expected) != std::string::npos; }))
      << MetricsText();
}

TEST_F(HttpsServerTest, MetricsEndpointCountsRequests) {
  Router router;
  router.Add("GET", "/v1/kv/{table}/{key}", [](Request, Responder r) { r(Text("v")); });
  auto registry = std::make_shared<MetricsRegistry>();
  registry->GetCounter("vellum_node_custom_total", "Something the node counts.").Increment(7);
  Start(std::move(router), [&](HttpsServerOptions& o) { o.metrics = registry; });
  auto client = Connected();
  ASSERT_OK(client->Call("GET", "/v1/kv/t/a").status());
  ASSERT_OK(client->Call("GET", "/v1/kv/t/b").status());
  ASSERT_OK(client->Call("GET", "/missing").status());
  ASSERT_OK(client->Call("BREW", "/v1/kv/t/a").status());

  Result<Reply> reply = client->Call("GET", "/metrics");
  ASSERT_OK(reply.status());
  EXPECT_EQ(reply->status, 200);
  EXPECT_EQ(reply->Header("content-type"), "text/plain; version=0.0.4; charset=utf-8");
  const std::string& text = reply->body;
  for (const std::string_view expected : {
           "# TYPE vellum_http_requests_total counter\n",
           "vellum_http_requests_total{code=\"200\",method=\"GET\",route=\"/v1/kv/{table}/{key}\"} "
           "2\n",
           "vellum_http_requests_total{code=\"404\",method=\"GET\",route=\"unmatched\"} 1\n",
           "vellum_http_requests_total{code=\"405\",method=\"other\",route=\"unmatched\"} 1\n",
           "# TYPE vellum_http_request_duration_seconds histogram\n",
           "vellum_http_request_duration_seconds_bucket{route=\"/v1/kv/{table}/"
           "{key}\",le=\"+Inf\"} "
           "2\n",
           "vellum_http_request_duration_seconds_count{route=\"/v1/kv/{table}/{key}\"} 2\n",
           "vellum_http_open_connections 1\n",
           "vellum_node_custom_total 7\n",
       }) {
    EXPECT_NE(text.find(expected), std::string::npos) << expected << "\nin:\n" << text;
  }
  // The shared registry sees the server's series too.
  EXPECT_NE(registry->Render().find("vellum_http_requests_total"), std::string::npos);
}

TEST_F(HttpsServerTest, RequestLogsHaveTheFieldsAndNeverBodiesOrTargets) {
  Router router;
  router.Add("PUT", "/v1/kv/{table}/{key}", [](Request, Responder r) { r(Text("stored")); });
  Start(std::move(router));
  auto client = Connected();
  ASSERT_OK(client->Call("PUT", "/v1/kv/t/secret-key-name", "secret-value").status());
  ASSERT_TRUE(WaitFor([&] { return !FindLog({"event=http_request"}).empty(); }));
  const std::string line = FindLog({"event=http_request"});
  EXPECT_NE(line.find("method=PUT"), std::string::npos) << line;
  EXPECT_NE(line.find("route=/v1/kv/{table}/{key}"), std::string::npos) << line;
  EXPECT_NE(line.find("status=200"), std::string::npos) << line;
  EXPECT_NE(line.find("duration_ms="), std::string::npos) << line;
  EXPECT_NE(line.find("client=alice"), std::string::npos) << line;
  for (const std::string& any : Logs()) {
    EXPECT_EQ(any.find("secret"), std::string::npos) << any;
    EXPECT_EQ(any.find("PRIVATE KEY"), std::string::npos) << any;
    EXPECT_EQ(any.find('\n'), std::string::npos) << any;
  }
}

// --- start-up validation ------------------------------------------------------------------

TEST_F(HttpsServerTest, StartRejectsBadOptions) {
  const auto start = [&](const std::function<void(HttpsServerOptions&)>& adjust) {
    HttpsServerOptions o = Options();
    adjust(o);
    return HttpsServer::Start(std::move(o), PingRouter()).status();
  };
  EXPECT_CODE(start([](HttpsServerOptions& o) { o.listen_address = "localhost"; }),
              kInvalidArgument);
  EXPECT_CODE(start([](HttpsServerOptions& o) { o.listen_address = "localhost:0"; }),
              kInvalidArgument);
  EXPECT_CODE(start([](HttpsServerOptions& o) { o.io_threads = 0; }), kInvalidArgument);
  EXPECT_CODE(start([](HttpsServerOptions& o) { o.max_connections = 0; }), kInvalidArgument);
  EXPECT_CODE(start([](HttpsServerOptions& o) { o.max_header_bytes = 10; }), kInvalidArgument);
  EXPECT_CODE(start([](HttpsServerOptions& o) { o.handler_timeout_ms = 0; }), kInvalidArgument);
  EXPECT_CODE(start([](HttpsServerOptions& o) { o.ca_certificate_pem = ""; }), kInvalidArgument);
  EXPECT_CODE(start([](HttpsServerOptions& o) { o.certificate_pem = "junk"; }), kInvalidArgument);
  EXPECT_CODE(start([](HttpsServerOptions& o) {
                o.private_key_pem = crypto::SecureBytes::CopyFrom(AsBytes("junk"));
              }),
              kInvalidArgument);
  // A key that does not match the certificate.
  EXPECT_CODE(
      start([](HttpsServerOptions& o) { o.private_key_pem = Alice().private_key_pem.Clone(); }),
      kInvalidArgument);
  // A server certificate from another CA, and a client-only certificate.
  const crypto::CertifiedKey foreign =
      Issue(ForeignCa(), "node-1", crypto::CertificateUsage::kServerAndClient);
  Status s = start([&](HttpsServerOptions& o) {
    o.certificate_pem = foreign.certificate_pem;
    o.private_key_pem = foreign.private_key_pem.Clone();
  });
  EXPECT_CODE(s, kInvalidArgument);
  EXPECT_NE(s.message().find("does not verify"), std::string::npos) << s.ToString();
  EXPECT_CODE(start([](HttpsServerOptions& o) {
                o.certificate_pem = Alice().certificate_pem;
                o.private_key_pem = Alice().private_key_pem.Clone();
              }),
              kInvalidArgument);
  // A port in use.
  Start(PingRouter());
  EXPECT_CODE(start([&](HttpsServerOptions& o) {
                o.listen_address = "127.0.0.1:" + std::to_string(port());
              }),
              kIOError);
  for (const std::string& line : Logs()) EXPECT_EQ(line.find("PRIVATE KEY"), std::string::npos);
}

}  // namespace
}  // namespace vellum::http
