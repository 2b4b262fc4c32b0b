// Copyright (c) Vellum authors.

#include "tools/arg_parser.h"

#include <algorithm>
#include <charconv>

#include "vellum/check.h"

namespace vellum::tools {

bool ParsedArgs::Has(std::string_view name) const { return Count(name) > 0; }

size_t ParsedArgs::Count(std::string_view name) const {
  return static_cast<size_t>(std::count_if(flags_.begin(), flags_.end(),
                                           [&](const auto& flag) { return flag.first == name; }));
}

std::optional<std::string> ParsedArgs::Get(std::string_view name) const {
  for (auto it = flags_.rbegin(); it != flags_.rend(); ++it) {
    if (it->first == name) return it->second;
  }
  return std::nullopt;
}

std::vector<std::string> ParsedArgs::GetAll(std::string_view name) const {
  std::vector<std::string> values;
  for (const auto& [flag, value] : flags_) {
    if (flag == name) values.push_back(value);
  }
  return values;
}

void ParsedArgs::AddFlag(std::string name, std::string value) {
  flags_.emplace_back(std::move(name), std::move(value));
}

void ArgParser::AddFlags(std::span<const FlagSpec> specs) {
  for (const FlagSpec& spec : specs) {
    VELLUM_CHECK_MSG(Find(spec.name) == nullptr, "a flag was defined twice");
    VELLUM_CHECK_MSG(spec.short_name == 0 || FindShort(spec.short_name) == nullptr,
                     "a short flag was defined twice");
    specs_.push_back(spec);
  }
}

const FlagSpec* ArgParser::Find(std::string_view name) const {
  for (const FlagSpec& spec : specs_) {
    if (spec.name == name) return &spec;
  }
  return nullptr;
}

const FlagSpec* ArgParser::FindShort(char short_name) const {
  for (const FlagSpec& spec : specs_) {
    if (spec.short_name != 0 && spec.short_name == short_name) return &spec;
  }
  return nullptr;
}

Status ArgParser::UnknownFlag(std::string_view shown, std::string_view name) const {
  std::string message = "unknown option " + std::string(shown);
  const FlagSpec* best = nullptr;
  size_t best_distance = 0;
  for (const FlagSpec& spec : specs_) {
    const size_t distance = EditDistance(name, spec.name);
    if (best == nullptr || distance < best_distance) {
      best = &spec;
      best_distance = distance;
    }
  }
  if (best != nullptr && !name.empty() && best_distance <= std::max<size_t>(1, name.size() / 3)) {
    message += " (did you mean --" + best->name + "?)";
  }
  return Status::InvalidArgument(std::move(message));
}

Status ArgParser::ConsumeFlag(const FlagSpec& spec, std::string_view shown,
                              std::optional<std::string_view> attached, ParsedArgs* args) {
  if (!spec.repeatable && args->Has(spec.name)) {
    return Status::InvalidArgument(std::string(shown) + " was given more than once");
  }
  if (!spec.takes_value) {
    if (attached.has_value()) {
      return Status::InvalidArgument(std::string(shown) + " takes no value");
    }
    args->AddFlag(spec.name, "");
    return Status::OK();
  }
  if (attached.has_value()) {
    args->AddFlag(spec.name, std::string(*attached));
    return Status::OK();
  }
  if (next_ >= tokens_.size() || tokens_[next_] == "--" ||
      std::string_view(tokens_[next_]).starts_with("--")) {
    return Status::InvalidArgument(std::string(shown) + " needs a value (" + std::string(shown) +
                                   " " + spec.value_name + ")");
  }
  args->AddFlag(spec.name, tokens_[next_++]);
  return Status::OK();
}

Result<std::optional<std::string>> ArgParser::NextPositional(ParsedArgs* args) {
  while (next_ < tokens_.size()) {
    const std::string& token = tokens_[next_++];
    const std::string_view view = token;
    if (after_terminator_) return std::optional<std::string>(token);
    if (view == "--") {
      after_terminator_ = true;
      continue;
    }
    if (view.starts_with("--")) {
      const std::string_view body = view.substr(2);
      const size_t equals = body.find('=');
      const std::string_view name = body.substr(0, equals);
      std::optional<std::string_view> attached;
      if (equals != std::string_view::npos) attached = body.substr(equals + 1);
      const std::string shown = "--" + std::string(name);
      const FlagSpec* spec = Find(name);
      if (spec == nullptr) return UnknownFlag(shown, name);
      VELLUM_RETURN_IF_ERROR(ConsumeFlag(*spec, shown, attached, args));
      continue;
    }
    // "-x": a short flag. "-" alone and negative numbers are positional.
    if (view.size() >= 2 && view[0] == '-' && !(view[1] >= '0' && view[1] <= '9')) {
      const std::string shown(view.substr(0, 2));
      const FlagSpec* spec = view.size() == 2 ? FindShort(view[1]) : nullptr;
      if (spec == nullptr) {
        return UnknownFlag(view.size() == 2 ? shown : "-" + shown.substr(1) + "...",
                           view.substr(1));
      }
      VELLUM_RETURN_IF_ERROR(ConsumeFlag(*spec, shown, std::nullopt, args));
      continue;
    }
    return std::optional<std::string>(token);
  }
  return std::optional<std::string>();
}

Status ArgParser::ParseRest(ParsedArgs* args) {
  for (;;) {
    VELLUM_ASSIGN_OR_RETURN(std::optional<std::string> positional, NextPositional(args));
    if (!positional.has_value()) return Status::OK();
    args->AddPositional(std::move(*positional));
  }
}

bool ArgParser::RemainingContains(std::string_view name, char short_name) const {
  for (size_t i = next_; i < tokens_.size() && !after_terminator_; ++i) {
    const std::string_view token = tokens_[i];
    if (token == "--") return false;
    if (token.starts_with("--") && token.substr(2) == name) return true;
    if (short_name != 0 && token.size() == 2 && token[0] == '-' && token[1] == short_name) {
      return true;
    }
  }
  return false;
}

Result<ParsedArgs> ArgParser::ParseAll(std::vector<std::string> tokens,
                                       std::span<const FlagSpec> specs) {
  ArgParser parser(std::move(tokens));
  parser.AddFlags(specs);
  ParsedArgs args;
  VELLUM_RETURN_IF_ERROR(parser.ParseRest(&args));
  return args;
}

Result<std::optional<int64_t>> ParseIntFlag(const ParsedArgs& args, std::string_view name,
                                            int64_t min, int64_t max) {
  const std::optional<std::string> value = args.Get(name);
  if (!value.has_value()) return std::optional<int64_t>();
  int64_t parsed = 0;
  const char* begin = value->data();
  const char* end = begin + value->size();
  const auto [ptr, ec] = std::from_chars(begin, end, parsed);
  if (value->empty() || ec != std::errc() || ptr != end || parsed < min || parsed > max) {
    std::string quoted = value->size() > 20 ? value->substr(0, 20) + "..." : *value;
    return Status::InvalidArgument("--" + std::string(name) + " must be a whole number from " +
                                   std::to_string(min) + " to " + std::to_string(max) + ", got '" +
                                   quoted + "'");
  }
  return std::optional<int64_t>(parsed);
}

size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

}  // namespace vellum::tools
