// Copyright (c) Vellum authors.
//
// TestClient over Boost.Beast (see test_client.h). Each operation is started
// asynchronously and the client's private io_context is run for at most the timeout;
// on expiry the socket is closed and the operation drained.
//
// Thread safety: one TestClient per thread.

#include "tests/node/http/test_client.h"

#include <openssl/ssl.h>

#include <array>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <cctype>
#include <optional>

namespace vellum::http::testing {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;

Status Failed(std::string_view what, const error_code& ec) {
  return Status::IOError(std::string(what) + ": " + ec.message());
}

}  // namespace

struct TestClient::Impl {
  Impl(const std::string& ca, ClientOptions o) : options(o), tls(asio::ssl::context::tls_client) {
    SSL_CTX* ctx = tls.native_handle();
    if (options.tls12_only) {
      SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
      SSL_CTX_set_max_proto_version(ctx, TLS1_2_VERSION);
    } else {
      SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION);
    }
    tls.add_certificate_authority(asio::buffer(ca));
    tls.set_verify_mode(asio::ssl::verify_peer);
    if (options.identity != nullptr) {
      tls.use_certificate(asio::buffer(options.identity->certificate_pem), asio::ssl::context::pem);
      tls.use_private_key(asio::buffer(options.identity->private_key_pem.data(),
                                       options.identity->private_key_pem.size()),
                          asio::ssl::context::pem);
    }
  }

  // Runs the operation started by `start` (which takes a completion handler) for at
  // most the timeout.
  template <typename Start>
  error_code Run(Start start, std::chrono::milliseconds timeout) {
    std::optional<error_code> result;
    start([&result](const error_code& ec, auto&&...) { result = ec; });
    io.restart();
    io.run_for(timeout);
    if (!result.has_value()) {
      if (stream) beast::get_lowest_layer(*stream).close();
      io.restart();
      io.run();
      return asio::error::timed_out;
    }
    return *result;
  }

  ClientOptions options;
  asio::io_context io;
  asio::ssl::context tls;
  std::optional<beast::ssl_stream<beast::tcp_stream>> stream;
  beast::flat_buffer buffer;
};

TestClient::TestClient(const std::string& ca_certificate_pem, ClientOptions options)
    : impl_(std::make_unique<Impl>(ca_certificate_pem, options)) {}

TestClient::~TestClient() { Close(); }

Status TestClient::Connect(uint16_t port) {
  Impl& c = *impl_;
  c.stream.emplace(c.io, c.tls);
  c.buffer.clear();
  const tcp::endpoint endpoint(asio::ip::make_address("127.0.0.1"), port);
  error_code ec = c.Run(
      [&](auto handler) { beast::get_lowest_layer(*c.stream).async_connect(endpoint, handler); },
      c.options.timeout);
  if (ec) return Failed("connect", ec);
  ec = c.Run(
      [&](auto handler) { c.stream->async_handshake(asio::ssl::stream_base::client, handler); },
      c.options.timeout);
  if (ec) return Failed("handshake", ec);
  return Status::OK();
}

Status TestClient::Send(std::string_view method, std::string_view target, std::string_view body,
                        const std::vector<std::pair<std::string, std::string>>& headers) {
  Impl& c = *impl_;
  if (!c.stream) return Status::FailedPrecondition("not connected");
  bhttp::request<bhttp::string_body> request;
  request.method_string(beast::string_view(method.data(), method.size()));
  request.target(beast::string_view(target.data(), target.size()));
  request.version(11);
  request.set(bhttp::field::host, "127.0.0.1");
  for (const auto& [name, value] : headers) request.set(name, value);
  request.body() = std::string(body);
  if (!body.empty() || method == "POST" || method == "PUT") request.prepare_payload();
  const error_code ec = c.Run(
      [&](auto handler) { bhttp::async_write(*c.stream, request, handler); }, c.options.timeout);
  if (ec) return Failed("write", ec);
  return Status::OK();
}

Status TestClient::WriteRaw(std::string_view bytes) {
  Impl& c = *impl_;
  if (!c.stream) return Status::FailedPrecondition("not connected");
  const error_code ec = c.Run(
      [&](auto handler) {
        asio::async_write(*c.stream, asio::buffer(bytes.data(), bytes.size()), handler);
      },
      c.options.timeout);
  if (ec) return Failed("write", ec);
  return Status::OK();
}

Result<Reply> TestClient::Read() {
  Impl& c = *impl_;
  if (!c.stream) return Status::FailedPrecondition("not connected");
  bhttp::response_parser<bhttp::string_body> parser;
  parser.body_limit(64 << 20);
  const error_code ec =
      c.Run([&](auto handler) { bhttp::async_read(*c.stream, c.buffer, parser, handler); },
            c.options.timeout);
  if (ec) return Failed("read", ec);
  const auto& message = parser.get();
  Reply reply;
  reply.status = static_cast<int>(message.result_int());
  for (const auto& field : message) {
    std::string name(field.name_string());
    for (char& ch : name) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    reply.headers[name] = std::string(field.value());
  }
  reply.body = message.body();
  reply.keep_alive = message.keep_alive();
  return reply;
}

Result<Reply> TestClient::Call(std::string_view method, std::string_view target,
                               std::string_view body,
                               const std::vector<std::pair<std::string, std::string>>& headers) {
  VELLUM_RETURN_IF_ERROR(Send(method, target, body, headers));
  return Read();
}

bool TestClient::WaitClosed(std::chrono::milliseconds timeout) {
  Impl& c = *impl_;
  if (!c.stream) return true;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    std::array<char, 4096> scratch{};
    const error_code ec = c.Run(
        [&](auto handler) { c.stream->async_read_some(asio::buffer(scratch), handler); }, left);
    if (ec == asio::error::timed_out) return false;
    if (ec) return true;
  }
}

void TestClient::Close() {
  Impl& c = *impl_;
  if (!c.stream) return;
  error_code ignored;
  beast::get_lowest_layer(*c.stream).socket().close(ignored);
  c.stream.reset();
}

}  // namespace vellum::http::testing
