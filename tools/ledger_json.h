// Copyright (c) Vellum authors.
//
// JSON output helpers shared by the ledger and log commands (internal to tools/; not
// included by headers, so nlohmann::json stays a private dependency).
//
// Thread safety: pure functions.

#ifndef VELLUM_TOOLS_LEDGER_JSON_H_
#define VELLUM_TOOLS_LEDGER_JSON_H_

#include <nlohmann/json.hpp>
#include <ostream>
#include <string>
#include <string_view>

#include "base/bytes.h"
#include "vellum/status.h"

namespace vellum::tools {

using OrderedJson = nlohmann::ordered_json;

// A key or value as a JSON string: the text itself, or its hex with --hex. Text that
// is not UTF-8 is caught when the JSON is written (see DumpJson).
inline OrderedJson DataJson(std::string_view data, bool hex) {
  return hex ? OrderedJson(HexEncode(AsBytes(data))) : OrderedJson(std::string(data));
}

// `j` as one line of JSON. InvalidArgument if it holds a string that is not UTF-8,
// which happens only for a binary key or value shown as text.
inline Result<std::string> DumpJson(const OrderedJson& j) {
  try {
    return j.dump();
  } catch (const nlohmann::json::type_error&) {
    return Status::InvalidArgument(
        "a key or value is not UTF-8 text and cannot be written as a JSON string: use --hex");
  }
}

// Writes `j` as one line of JSON and a newline.
inline Status WriteJsonLine(std::ostream& out, const OrderedJson& j) {
  VELLUM_ASSIGN_OR_RETURN(std::string text, DumpJson(j));
  text += '\n';
  out.write(text.data(), static_cast<std::streamsize>(text.size()));
  out.flush();
  if (!out) return Status::IOError("writing to stdout failed");
  return Status::OK();
}

}  // namespace vellum::tools

#endif  // VELLUM_TOOLS_LEDGER_JSON_H_
