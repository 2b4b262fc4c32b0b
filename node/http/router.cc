// Copyright (c) Vellum authors.
//
// Router, error responses and the Status-to-HTTP mapping (see router.h).
//
// Thread safety: as documented in the header.

#include "node/http/router.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <set>

#include "vellum/check.h"

namespace vellum::http {
namespace {

bool IsTokenChar(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
         std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool IsParamName(std::string_view name) {
  if (name.empty()) return false;
  const auto alpha = [](char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'); };
  if (!alpha(name.front()) && name.front() != '_') return false;
  return std::all_of(name.begin(), name.end(),
                     [&](char c) { return alpha(c) || (c >= '0' && c <= '9') || c == '_'; });
}

// "/a/{x}" and "/a/{y}" have the same shape "/a/{}".
template <typename Segments>
std::string ShapeOf(const Segments& segments) {
  std::string shape;
  for (const auto& segment : segments) {
    shape += '/';
    shape += segment.is_param ? std::string("{}") : segment.text;
  }
  return shape.empty() ? "/" : shape;
}

}  // namespace

int HttpStatusFor(StatusCode code) {
  switch (code) {
    case StatusCode::kOk:
      return 200;
    case StatusCode::kNotFound:
      return 404;
    case StatusCode::kInvalidArgument:
      return 400;
    case StatusCode::kUnavailable:
      return 503;
    case StatusCode::kAborted:
      return 409;
    case StatusCode::kPermissionDenied:
      return 403;
    case StatusCode::kResourceExhausted:
      return 429;
    case StatusCode::kFailedPrecondition:
      return 412;
    case StatusCode::kCorruption:
      return 500;
    case StatusCode::kIOError:
      return 500;
    case StatusCode::kAlreadyExists:
      return 409;
    case StatusCode::kNotSupported:
      return 501;
  }
  return 500;
}

Response ErrorResponse(int http_status, std::string_view code, std::string_view message) {
  nlohmann::json body;
  body["error"]["code"] = std::string(code);
  body["error"]["message"] = std::string(message);
  Response response;
  response.status = http_status;
  response.content_type = "application/json";
  response.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return response;
}

Response ErrorResponse(const Status& status) {
  VELLUM_CHECK_MSG(!status.ok(), "ErrorResponse of an OK Status");
  return ErrorResponse(HttpStatusFor(status.code()), StatusCodeName(status.code()),
                       status.message());
}

void Router::Add(std::string method, std::string pattern, Handler handler) {
  VELLUM_CHECK_MSG(
      !method.empty() &&
          std::all_of(method.begin(), method.end(),
                      [](char c) { return IsTokenChar(c) && !(c >= 'a' && c <= 'z'); }),
      "route method must be an upper-case HTTP token");
  VELLUM_CHECK_MSG(!pattern.empty() && pattern.front() == '/', "route pattern must start with /");
  VELLUM_CHECK_MSG(handler != nullptr, "route handler must not be empty");
  Route route;
  route.method = std::move(method);
  if (pattern != "/") {
    std::set<std::string> names;
    size_t start = 1;
    while (true) {
      const size_t slash = pattern.find('/', start);
      const std::string text = pattern.substr(start, slash - start);
      Segment segment;
      if (text.size() >= 2 && text.front() == '{' && text.back() == '}') {
        segment.is_param = true;
        segment.text = text.substr(1, text.size() - 2);
        VELLUM_CHECK_MSG(IsParamName(segment.text), "route parameter name is malformed");
        VELLUM_CHECK_MSG(names.insert(segment.text).second, "route parameter name repeated");
      } else {
        VELLUM_CHECK_MSG(text.find_first_of("{}%?#") == std::string::npos,
                         "route literal segment has one of {}%?#");
        segment.text = text;
      }
      route.segments.push_back(std::move(segment));
      if (slash == std::string::npos) break;
      start = slash + 1;
    }
  }
  route.pattern = std::move(pattern);
  route.handler = std::move(handler);
  VELLUM_CHECK_MSG(!Has(route.method, route.pattern), "route added twice");
  routes_.push_back(std::move(route));
}

bool Router::Has(std::string_view method, std::string_view pattern) const {
  // Parse `pattern` into a shape the cheap way: parameters are whole "{...}" segments.
  std::string shape;
  if (pattern != "/") {
    size_t start = 1;
    while (true) {
      const size_t slash = pattern.find('/', start);
      const std::string_view text = pattern.substr(start, slash - start);
      shape += '/';
      shape += text.size() >= 2 && text.front() == '{' && text.back() == '}' ? std::string("{}")
                                                                             : std::string(text);
      if (slash == std::string_view::npos) break;
      start = slash + 1;
    }
  }
  if (shape.empty()) shape = "/";
  return std::any_of(routes_.begin(), routes_.end(), [&](const Route& r) {
    return r.method == method && ShapeOf(r.segments) == shape;
  });
}

bool Router::Matches(const Route& route, const std::vector<std::string>& path_segments) {
  if (route.segments.size() != path_segments.size()) return false;
  for (size_t i = 0; i < path_segments.size(); ++i) {
    const Segment& s = route.segments[i];
    if (s.is_param ? path_segments[i].empty() : s.text != path_segments[i]) return false;
  }
  return true;
}

bool Router::MoreSpecific(const Route& a, const Route& b) {
  for (size_t i = 0; i < a.segments.size() && i < b.segments.size(); ++i) {
    if (a.segments[i].is_param != b.segments[i].is_param) return !a.segments[i].is_param;
  }
  return false;
}

Router::Match Router::Find(std::string_view method,
                           const std::vector<std::string>& path_segments) const {
  Match match;
  const Route* best = nullptr;
  std::set<std::string> allowed;
  for (const Route& route : routes_) {
    if (!Matches(route, path_segments)) continue;
    allowed.insert(route.method);
    if (route.method != method) continue;
    if (best == nullptr || MoreSpecific(route, *best)) best = &route;
  }
  if (best == nullptr) {
    if (!allowed.empty()) {
      match.status = 405;
      for (const std::string& m : allowed) {
        if (!match.allow.empty()) match.allow += ", ";
        match.allow += m;
      }
    }
    return match;
  }
  match.status = 200;
  match.handler = &best->handler;
  match.route = best->pattern;
  for (size_t i = 0; i < path_segments.size(); ++i) {
    if (best->segments[i].is_param) match.params[best->segments[i].text] = path_segments[i];
  }
  return match;
}

void Router::Dispatch(Request request, Responder respond) const {
  Match match = Find(request.method, request.path_segments);
  if (match.status == 404) {
    respond(ErrorResponse(404, "NotFound", "no route for this path"));
    return;
  }
  if (match.status == 405) {
    Response response =
        ErrorResponse(405, "MethodNotAllowed", "method " + request.method + " not allowed here");
    response.headers.emplace_back("Allow", match.allow);
    respond(std::move(response));
    return;
  }
  request.route = std::move(match.route);
  request.params = std::move(match.params);
  (*match.handler)(std::move(request), std::move(respond));
}

}  // namespace vellum::http
