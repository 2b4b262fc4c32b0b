// Copyright (c) Vellum authors.
//
// A small command-line argument parser for vellum-db (no global state, no getopt).
//
// Accepted forms:
//   --flag value    --flag=value    a flag that takes a value
//   --flag                          a boolean flag (--flag=value is an error)
//   -h                              a flag's one-letter short form, if it has one
//   positional                      anything else, including "-" and "-5"
//   --                              everything after it is positional
// A flag may be given more than once only if its spec says it repeats. A value that
// starts with "--" must be attached with '=' (so "--db --json" is an error, not a
// directory called "--json").
//
// The parser is incremental: NextPositional() consumes flags up to the next positional
// argument, so the caller can look at a command name and add that command's flags
// before parsing on. This is how vellum-db accepts global options before or after the
// command name while each command has its own options.
//
// Error messages quote flag names but never flag values or positional arguments (a
// careless user might type a secret there); the one exception is ParseIntFlag, whose
// values are numbers by definition, and it shortens what it quotes.
//
// Thread safety: a value type; one thread at a time.

#ifndef VELLUM_TOOLS_ARG_PARSER_H_
#define VELLUM_TOOLS_ARG_PARSER_H_

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "vellum/result.h"
#include "vellum/status.h"

namespace vellum::tools {

struct FlagSpec {
  std::string name;  // long name without the dashes: "threshold"
  bool takes_value = false;
  std::string value_name;  // for help and errors: "K" (flags that take a value)
  std::string help;        // one line
  bool repeatable = false;
  char short_name = 0;  // e.g. 'h' for -h; 0 for none

  // A flag that takes a value: --name VALUE_NAME.
  static FlagSpec Value(std::string name, std::string value_name, std::string help) {
    FlagSpec spec;
    spec.name = std::move(name);
    spec.takes_value = true;
    spec.value_name = std::move(value_name);
    spec.help = std::move(help);
    return spec;
  }
  // A boolean flag: --name.
  static FlagSpec Bool(std::string name, std::string help) {
    FlagSpec spec;
    spec.name = std::move(name);
    spec.help = std::move(help);
    return spec;
  }
  FlagSpec& WithShort(char c) {
    short_name = c;
    return *this;
  }
  FlagSpec& Repeatable() {
    repeatable = true;
    return *this;
  }
};

// The flags and positional arguments of one command line.
class ParsedArgs {
 public:
  // Whether the flag was given (at least once).
  bool Has(std::string_view name) const;
  // How many times the flag was given.
  size_t Count(std::string_view name) const;
  // The value of a value flag; with a repeated flag, the last one. nullopt if absent.
  std::optional<std::string> Get(std::string_view name) const;
  // Every value of a (repeatable) flag, in command-line order.
  std::vector<std::string> GetAll(std::string_view name) const;
  const std::vector<std::string>& positional() const { return positional_; }

  void AddFlag(std::string name, std::string value);
  void AddPositional(std::string arg) { positional_.push_back(std::move(arg)); }

 private:
  std::vector<std::pair<std::string, std::string>> flags_;  // in command-line order
  std::vector<std::string> positional_;
};

class ArgParser {
 public:
  explicit ArgParser(std::vector<std::string> tokens) : tokens_(std::move(tokens)) {}

  // Makes more flags known from here on. A name may be added only once.
  void AddFlags(std::span<const FlagSpec> specs);
  const std::vector<FlagSpec>& flags() const { return specs_; }

  // Parses flags into `args` up to the next positional argument and returns it;
  // nullopt once every token is consumed. InvalidArgument for an unknown flag (with a
  // "did you mean" hint when a known flag is close), a missing or unexpected value, or
  // a non-repeatable flag given twice.
  Result<std::optional<std::string>> NextPositional(ParsedArgs* args);

  // Parses every remaining token; positional arguments go to args->positional().
  Status ParseRest(ParsedArgs* args);

  // Whether any token not yet consumed, before a "--", is `--NAME` or `-SHORT`
  // (e.g. to honour --help after a parse error).
  bool RemainingContains(std::string_view name, char short_name) const;

  // Parses `tokens` against `specs` in one go.
  static Result<ParsedArgs> ParseAll(std::vector<std::string> tokens,
                                     std::span<const FlagSpec> specs);

 private:
  const FlagSpec* Find(std::string_view name) const;
  const FlagSpec* FindShort(char short_name) const;
  Status UnknownFlag(std::string_view shown, std::string_view name) const;
  Status ConsumeFlag(const FlagSpec& spec, std::string_view shown,
                     std::optional<std::string_view> attached, ParsedArgs* args);

  std::vector<std::string> tokens_;
  size_t next_ = 0;
  bool after_terminator_ = false;
  std::vector<FlagSpec> specs_;
};

// The integer value of a value flag, which must lie in [min, max]. nullopt if the
// flag is absent; InvalidArgument (quoting the flag and a shortened value) if it is
// not a decimal integer in range.
Result<std::optional<int64_t>> ParseIntFlag(const ParsedArgs& args, std::string_view name,
                                            int64_t min, int64_t max);

// The Levenshtein distance, for "did you mean" hints.
size_t EditDistance(std::string_view a, std::string_view b);

}  // namespace vellum::tools

#endif  // VELLUM_TOOLS_ARG_PARSER_H_
