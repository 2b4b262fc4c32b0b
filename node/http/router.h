// Copyright (c) Vellum authors.
//
// The HTTP vocabulary of the node's client API: Request and Response, the Handler and
// Responder callbacks, the JSON error body built from a vellum::Status, and Router,
// which maps a method and a path pattern such as "/v1/kv/{table}/{key}" to a handler.
//
// Routing: a pattern is '/'-separated segments, each either a literal or a parameter
// "{name}" that matches any one non-empty (decoded) segment. Among the patterns that
// match a path and have a handler for the method, the most specific wins: segment by
// segment from the left, a literal beats a parameter. A path that no pattern matches
// is 404; a path that matches only for other methods is 405 with an Allow header.
//
// Thread safety: Add() is not thread-safe and is meant for set-up; once routes are added,
// Find() and Dispatch() are const and may be called concurrently. Response, Request and
// ErrorResponse are values / pure functions.

#ifndef VELLUM_NODE_HTTP_ROUTER_H_
#define VELLUM_NODE_HTTP_ROUTER_H_

#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "vellum/status.h"

namespace vellum::http {

struct Request {
  std::string method;                          // as sent, e.g. "GET"
  std::string target;                          // raw, e.g. "/v1/kv/t/%00?x=1"
  std::vector<std::string> path_segments;      // percent-decoded bytes
  std::map<std::string, std::string> query;    // decoded names and values
  std::map<std::string, std::string> headers;  // lower-case names; repeats joined by ","
  std::string body;
  std::string client_common_name;  // CN of the verified client certificate
  // Filled by the router: the pattern that matched ("/v1/kv/{table}/{key}") and the
  // values of its parameters by name (decoded bytes: params["key"] may hold NUL bytes).
  std::string route;
  std::map<std::string, std::string> params;
};

struct Response {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  // Extra header fields. Content-Length, Transfer-Encoding and Connection are the
  // server's and are ignored here; a name that is not an HTTP token or a value with
  // CR, LF or NUL makes the response a 500.
  std::vector<std::pair<std::string, std::string>> headers;
};

// Completes a request. Call it exactly once (a second call aborts), from any thread,
// now or later (a write waits for a Raft commit). Responding after the server gave up
// (handler_timeout_ms, the connection closed, Stop()) is harmless: the response is
// dropped. Destroying every copy without calling it answers 500.
using Responder = std::function<void(Response)>;
using Handler = std::function<void(Request, Responder)>;

// The HTTP status for a non-OK Status code: NotFound 404, InvalidArgument 400,
// Unavailable 503, Aborted 409, PermissionDenied 403, ResourceExhausted 429,
// FailedPrecondition 412, Corruption 500, IOError 500, AlreadyExists 409,
// NotSupported 501.
int HttpStatusFor(StatusCode code);

// {"error":{"code":"<code>","message":"<message>"}} (JSON-escaped; bytes that are not
// UTF-8 become U+FFFD) with the given HTTP status.
Response ErrorResponse(int http_status, std::string_view code, std::string_view message);
// ErrorResponse(HttpStatusFor(status.code()), StatusCodeName(status.code()),
// status.message()). `status` must not be OK.
Response ErrorResponse(const Status& status);

class Router {
 public:
  // Adds a route. `method` is an upper-case HTTP token ("GET"); `pattern` starts with
  // '/', and each segment is a literal (no '{', '}', '%', '?', '#') or "{name}" with
  // name [A-Za-z_][A-Za-z0-9_]* unique in the pattern. Adding the same method twice for
  // patterns of the same shape ("/a/{x}" and "/a/{y}"), or a malformed pattern, is a
  // programming error and aborts.
  void Add(std::string method, std::string pattern, Handler handler);

  // Whether a route for `method` has the shape of `pattern`.
  bool Has(std::string_view method, std::string_view pattern) const;

  struct Match {
    int status = 404;                  // 200 (found), 404 or 405
    const Handler* handler = nullptr;  // when found; valid while the Router lives
    std::string route;                 // the matched pattern when found
    std::map<std::string, std::string> params;
    std::string allow;  // for 405: the methods the path has, e.g. "GET, PUT"
  };
  Match Find(std::string_view method, const std::vector<std::string>& path_segments) const;

  // Finds the route of `request` (its method and path_segments), fills request.route
  // and request.params and calls the handler; or answers 404 or 405 (with Allow).
  void Dispatch(Request request, Responder respond) const;

 private:
  struct Segment {
    bool is_param = false;
    std::string text;  // the literal, or the parameter's name
  };
  struct Route {
    std::string method;
    std::string pattern;
    std::vector<Segment> segments;
    Handler handler;
  };
  static bool Matches(const Route& route, const std::vector<std::string>& path_segments);
  // Whether `a` is more specific than `b` (both matching the same path).
  static bool MoreSpecific(const Route& a, const Route& b);

  std::vector<Route> routes_;
};

}  // namespace vellum::http

#endif  // VELLUM_NODE_HTTP_ROUTER_H_
