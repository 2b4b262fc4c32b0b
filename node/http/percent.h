// Copyright (c) Vellum authors.
//
// Percent-encoding (RFC 3986 section 2.1) for HTTP request targets: decoding path
// segments and query components into raw bytes (held in std::string, which may contain
// NUL and bytes >= 0x80), splitting a target into decoded segments and a query map, and
// encoding bytes for use in a path segment (clients and tests).
//
// Thread safety: pure functions; safe to call concurrently.

#ifndef VELLUM_NODE_HTTP_PERCENT_H_
#define VELLUM_NODE_HTTP_PERCENT_H_

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "vellum/result.h"

namespace vellum::http {

// The bytes spelled by `text`: every "%XX" (two hex digits, either case) becomes the
// byte 0xXX, every other byte is kept as is. With `plus_is_space` (query components,
// application/x-www-form-urlencoded) '+' becomes ' '; in paths '+' is literal.
// InvalidArgument for a '%' not followed by two hex digits (the message gives the
// offset, never the text: it may be key material).
Result<std::string> PercentDecode(std::string_view text, bool plus_is_space = false);

// `bytes` with every byte outside RFC 3986's unreserved set (A-Z a-z 0-9 - . _ ~)
// written as "%XX" (upper-case hex): safe as one path segment or query component.
std::string PercentEncode(std::string_view bytes);

// A request target in origin form ("/path?query"), split and decoded.
struct ParsedTarget {
  // The path split at '/' and each segment then decoded, so "%2F" stays inside its
  // segment: "/v1/kv/t/%00%ff%2F" gives {"v1", "kv", "t", "\x00\xff/"}. "/" gives no
  // segments; empty segments ("/a//b", "/a/") are kept as "".
  std::vector<std::string> path_segments;
  // "a=1&b=x%20y&c" gives {a: "1", b: "x y", c: ""}; empty pieces ("&&") are skipped.
  std::map<std::string, std::string> query;
};

// InvalidArgument for a target that does not start with '/', contains '#', has a
// malformed escape, or repeats a query parameter name (ambiguous).
Result<ParsedTarget> ParseTarget(std::string_view target);

}  // namespace vellum::http

#endif  // VELLUM_NODE_HTTP_PERCENT_H_
