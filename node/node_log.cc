// Copyright (c) Vellum authors.

#include "node/node_log.h"

#include <chrono>
#include <ctime>
#include <nlohmann/json.hpp>

namespace vellum::node {

namespace {

uint64_t WallClockMicros() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count());
}

// RFC 3339 in UTC with milliseconds: 2026-11-21T10:00:00.123Z.
std::string Timestamp(uint64_t micros) {
  const std::time_t seconds = static_cast<std::time_t>(micros / 1000000);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char buf[80];
  std::snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%03uZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<unsigned>((micros / 1000) % 1000));
  return buf;
}

bool NeedsQuotes(std::string_view value) {
  if (value.empty()) return true;
  for (char c : value) {
    if (c == ' ' || c == '"' || c == '=' || c == '\\' || static_cast<unsigned char>(c) < 0x20) {
      return true;
    }
  }
  return false;
}

void AppendQuoted(std::string* out, std::string_view value) {
  out->push_back('"');
  for (char c : value) {
    switch (c) {
      case '"':
        *out += "\\\"";
        break;
      case '\\':
        *out += "\\\\";
        break;
      case '\n':
        *out += "\\n";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof(buf), "\\x%02x", static_cast<unsigned char>(c));
          *out += buf;
        } else {
          out->push_back(c);
        }
    }
  }
  out->push_back('"');
}

}  // namespace

std::vector<std::pair<std::string, std::string>> ParseKeyValueLine(std::string_view line) {
  std::vector<std::pair<std::string, std::string>> fields;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && line[i] == ' ') ++i;
    if (i >= line.size()) break;
    size_t key_end = i;
    while (key_end < line.size() && line[key_end] != '=' && line[key_end] != ' ') ++key_end;
    std::string key;
    if (key_end < line.size() && line[key_end] == '=') {
      key = std::string(line.substr(i, key_end - i));
      i = key_end + 1;
    }
    std::string value;
    if (i < line.size() && line[i] == '"') {
      ++i;
      while (i < line.size() && line[i] != '"') {
        if (line[i] == '\\' && i + 1 < line.size()) {
          ++i;
          value.push_back(line[i] == 'n' ? '\n' : line[i]);
        } else {
          value.push_back(line[i]);
        }
        ++i;
      }
      ++i;  // the closing quote
    } else {
      while (i < line.size() && line[i] != ' ') value.push_back(line[i++]);
    }
    fields.emplace_back(std::move(key), std::move(value));
  }
  return fields;
}

NodeLog::NodeLog(enum Format format, uint64_t node_id, std::FILE* out, Clock clock)
    : format_(format),
      node_id_(node_id),
      out_(out),
      clock_(clock ? std::move(clock) : Clock(WallClockMicros)) {}

std::string NodeLog::Format(const std::vector<std::pair<std::string, std::string>>& fields) const {
  const std::string ts = Timestamp(clock_());
  if (format_ == Format::kJson) {
    nlohmann::ordered_json j;
    j["ts"] = ts;
    j["node"] = node_id_;
    for (const auto& [key, value] : fields) j[key.empty() ? std::string("msg") : key] = value;
    // Bytes that are not UTF-8 become U+FFFD rather than failing the line.
    return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  }
  std::string line = "ts=" + ts + " node=" + std::to_string(node_id_);
  for (const auto& [key, value] : fields) {
    line.push_back(' ');
    if (!key.empty()) line += key + "=";
    if (NeedsQuotes(value)) {
      AppendQuoted(&line, value);
    } else {
      line += value;
    }
  }
  return line;
}

void NodeLog::Line(std::string_view line) { Event({}, ParseKeyValueLine(line)); }

void NodeLog::Event(std::string_view event,
                    const std::vector<std::pair<std::string, std::string>>& fields) {
  std::string text;
  if (event.empty()) {
    text = Format(fields);
  } else {
    std::vector<std::pair<std::string, std::string>> all;
    all.reserve(fields.size() + 1);
    all.emplace_back("event", std::string(event));
    all.insert(all.end(), fields.begin(), fields.end());
    text = Format(all);
  }
  text.push_back('\n');
  std::lock_guard lock(mu_);
  std::fwrite(text.data(), 1, text.size(), out_);
  std::fflush(out_);
}

}  // namespace vellum::node
