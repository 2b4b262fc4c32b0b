// Copyright (c) Vellum authors.
//
// Tests of Router (matching, parameters, precedence, 404 and 405) and of the JSON error
// responses and their Status-to-HTTP mapping, without a network.
//
// Thread safety: single-threaded tests.

#include "node/http/router.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <optional>

#include "node/http/percent.h"
#include "tests/test_util.h"

namespace vellum::http {
namespace {

// A handler that answers its route and parameters as the body ("route|k=v|k=v").
Handler Echo(std::string tag) {
  return [tag](Request request, Responder respond) {
    Response response;
    response.body = tag + "|" + request.route;
    for (const auto& [name, value] : request.params) response.body += "|" + name + "=" + value;
    respond(std::move(response));
  };
}

// Dispatches `method target` synchronously and returns the response.
Response DispatchNow(const Router& router, std::string method, std::string_view target) {
  Request request;
  request.method = std::move(method);
  request.target = std::string(target);
  request.path_segments = ParseTarget(target).value().path_segments;
  std::optional<Response> out;
  router.Dispatch(std::move(request), [&](Response r) { out = std::move(r); });
  EXPECT_TRUE(out.has_value());
  return out.value_or(Response{});
}

Router KvRouter() {
  Router router;
  router.Add("GET", "/v1/kv/{table}/{key}", Echo("get"));
  router.Add("PUT", "/v1/kv/{table}/{key}", Echo("put"));
  router.Add("GET", "/v1/kv/{table}/_meta", Echo("meta"));
  router.Add("GET", "/v1/status", Echo("status"));
  router.Add("GET", "/", Echo("root"));
  return router;
}

TEST(RouterTest, MatchesParametersByName) {
  const Router router = KvRouter();
  Response r = DispatchNow(router, "GET", "/v1/kv/accounts/alice");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "get|/v1/kv/{table}/{key}|key=alice|table=accounts");
  EXPECT_EQ(DispatchNow(router, "PUT", "/v1/kv/t/k").body,
            "put|/v1/kv/{table}/{key}|key=k|table=t");
  EXPECT_EQ(DispatchNow(router, "GET", "/").body, "root|/");
  EXPECT_EQ(DispatchNow(router, "GET", "/v1/status").body, "status|/v1/status");
}

TEST(RouterTest, ParametersAreDecodedBytes) {
  const Router router = KvRouter();
  Router::Match m = router.Find("GET", ParseTarget("/v1/kv/t/%00%ff%2F").value().path_segments);
  ASSERT_EQ(m.status, 200);
  EXPECT_EQ(m.params.at("key"), std::string("\x00\xff/", 3));
  EXPECT_EQ(m.params.at("table"), "t");
}

TEST(RouterTest, LiteralBeatsParameter) {
  const Router router = KvRouter();
  EXPECT_EQ(DispatchNow(router, "GET", "/v1/kv/t/_meta").body, "meta|/v1/kv/{table}/_meta|table=t");
  // The literal route has no PUT; the parameter route serves it.
  EXPECT_EQ(DispatchNow(router, "PUT", "/v1/kv/t/_meta").body,
            "put|/v1/kv/{table}/{key}|key=_meta|table=t");
}

TEST(RouterTest, UnknownPathIs404) {
  const Router router = KvRouter();
  for (const std::string_view target :
       {"/v2/kv/t/k", "/v1/kv/t", "/v1/kv/t/k/extra", "/v1/kv/t/", "/v1/kv//k", "/v1/status/"}) {
    Response r = DispatchNow(router, "GET", target);
    EXPECT_EQ(r.status, 404) << target;
    const auto body = nlohmann::json::parse(r.body);
    EXPECT_EQ(body["error"]["code"], "NotFound") << target;
  }
}

TEST(RouterTest, WrongMethodIs405WithAllow) {
  const Router router = KvRouter();
  Response r = DispatchNow(router, "DELETE", "/v1/kv/t/k");
  EXPECT_EQ(r.status, 405);
  ASSERT_EQ(r.headers.size(), 1u);
  EXPECT_EQ(r.headers[0].first, "Allow");
  EXPECT_EQ(r.headers[0].second, "GET, PUT");
  EXPECT_EQ(nlohmann::json::parse(r.body)["error"]["code"], "MethodNotAllowed");
  EXPECT_EQ(DispatchNow(router, "POST", "/v1/status").headers.at(0).second, "GET");
}

TEST(RouterTest, HasComparesShapes) {
  const Router router = KvRouter();
  EXPECT_TRUE(router.Has("GET", "/v1/kv/{a}/{b}"));
  EXPECT_TRUE(router.Has("GET", "/"));
  EXPECT_FALSE(router.Has("DELETE", "/v1/kv/{table}/{key}"));
  EXPECT_FALSE(router.Has("GET", "/v1/kv/{table}"));
  EXPECT_FALSE(router.Has("GET", "/metrics"));
}

TEST(RouterDeathTest, MalformedRoutesAbort) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  const Handler h = Echo("x");
  EXPECT_DEATH(Router().Add("GET", "v1/no-slash", h), "start with /");
  EXPECT_DEATH(Router().Add("get", "/v1", h), "upper-case");
  EXPECT_DEATH(Router().Add("GET", "/v1/{a}/{a}", h), "repeated");
  EXPECT_DEATH(Router().Add("GET", "/v1/{1a}", h), "malformed");
  EXPECT_DEATH(Router().Add("GET", "/v1/a%20b", h), "literal");
  EXPECT_DEATH(
      {
        Router r;
        r.Add("GET", "/v1/{a}", h);
        r.Add("GET", "/v1/{b}", h);
      },
      "added twice");
}

struct StatusCase {
  StatusCode code;
  int http_status;
  std::string_view name;
};

TEST(ErrorResponseTest, MapsEveryStatusCode) {
  const StatusCase cases[] = {
      {StatusCode::kNotFound, 404, "NotFound"},
      {StatusCode::kInvalidArgument, 400, "InvalidArgument"},
      {StatusCode::kUnavailable, 503, "Unavailable"},
      {StatusCode::kAborted, 409, "Aborted"},
      {StatusCode::kPermissionDenied, 403, "PermissionDenied"},
      {StatusCode::kResourceExhausted, 429, "ResourceExhausted"},
      {StatusCode::kFailedPrecondition, 412, "FailedPrecondition"},
      {StatusCode::kCorruption, 500, "Corruption"},
      {StatusCode::kIOError, 500, "IOError"},
      {StatusCode::kAlreadyExists, 409, "AlreadyExists"},
      {StatusCode::kNotSupported, 501, "NotSupported"},
  };
  for (const StatusCase& c : cases) {
    const Response r = ErrorResponse(Status(c.code, "what \"went\" wrong\n"));
    EXPECT_EQ(r.status, c.http_status) << c.name;
    EXPECT_EQ(HttpStatusFor(c.code), c.http_status) << c.name;
    EXPECT_EQ(r.content_type, "application/json");
    EXPECT_EQ(r.body, "{\"error\":{\"code\":\"" + std::string(c.name) +
                          "\",\"message\":\"what \\\"went\\\" wrong\\n\"}}");
    const auto body = nlohmann::json::parse(r.body);
    EXPECT_EQ(body["error"]["code"], c.name);
    EXPECT_EQ(body["error"]["message"], "what \"went\" wrong\n");
  }
}

TEST(ErrorResponseTest, BytesThatAreNotUtf8AreReplaced) {
  const Response r = ErrorResponse(Status::NotFound(std::string("key \xff\x00 missing", 14)));
  const auto body = nlohmann::json::parse(r.body);  // valid JSON
  EXPECT_EQ(body["error"]["message"].get<std::string>(),
            std::string("key \xEF\xBF\xBD") + '\0' + " missing");
}

}  // namespace
}  // namespace vellum::http
