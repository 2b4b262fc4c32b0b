// Copyright (c) Vellum authors.
//
// Percent-decoding and target parsing (see percent.h).
//
// Thread safety: pure functions.

#include "node/http/percent.h"

#include <cstdint>
#include <utility>

namespace vellum::http {
namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool IsUnreserved(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~';
}

}  // namespace

Result<std::string> PercentDecode(std::string_view text, bool plus_is_space) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '%') {
      const int hi = i + 1 < text.size() ? HexValue(text[i + 1]) : -1;
      const int lo = i + 2 < text.size() ? HexValue(text[i + 2]) : -1;
      if (hi < 0 || lo < 0) {
        return Status::InvalidArgument("malformed percent-escape at offset " + std::to_string(i));
      }
      out += static_cast<char>((hi << 4) | lo);
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out += ' ';
    } else {
      out += c;
    }
  }
  return out;
}

std::string PercentEncode(std::string_view bytes) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(bytes.size());
  for (const char c : bytes) {
    if (IsUnreserved(c)) {
      out += c;
    } else {
      const auto u = static_cast<uint8_t>(c);
      out += '%';
      out += kHex[u >> 4];
      out += kHex[u & 0xf];
    }
  }
  return out;
}

Result<ParsedTarget> ParseTarget(std::string_view target) {
  if (target.empty() || target.front() != '/') {
    return Status::InvalidArgument("request target must be an absolute path (origin form)");
  }
  if (target.find('#') != std::string_view::npos) {
    return Status::InvalidArgument("request target must not contain a fragment");
  }
  const size_t question = target.find('?');
  const std::string_view path = target.substr(0, question);
  const std::string_view query =
      question == std::string_view::npos ? std::string_view() : target.substr(question + 1);

  ParsedTarget parsed;
  if (path != "/") {
    size_t start = 1;  // after the leading '/'
    while (true) {
      const size_t slash = path.find('/', start);
      const std::string_view raw = path.substr(start, slash - start);
      Result<std::string> segment = PercentDecode(raw);
      if (!segment.ok()) return segment.status().WithContext("path");
      parsed.path_segments.push_back(std::move(segment).value());
      if (slash == std::string_view::npos) break;
      start = slash + 1;
    }
  }

  size_t start = 0;
  while (start <= query.size() && !query.empty()) {
    const size_t amp = query.find('&', start);
    const std::string_view piece = query.substr(start, amp - start);
    if (!piece.empty()) {
      const size_t eq = piece.find('=');
      Result<std::string> name = PercentDecode(piece.substr(0, eq), /*plus_is_space=*/true);
      if (!name.ok()) return name.status().WithContext("query");
      Result<std::string> value =
          PercentDecode(eq == std::string_view::npos ? std::string_view() : piece.substr(eq + 1),
                        /*plus_is_space=*/true);
      if (!value.ok()) return value.status().WithContext("query");
      if (!parsed.query.emplace(std::move(name).value(), std::move(value).value()).second) {
        return Status::InvalidArgument("query parameter repeated");
      }
    }
    if (amp == std::string_view::npos) break;
    start = amp + 1;
  }
  return parsed;
}

}  // namespace vellum::http
