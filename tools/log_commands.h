// Copyright (c) Vellum authors.
//
// vellum-db log show | verify | decrypt: the ledger's hash-chained, encrypted log.
//
//   log show      the headers of log entries (no key needed)
//   log verify    DB::Verify with log_only: the chain, entry hashes, share sets, the
//                 Merkle accumulator and the head record (no key needed)
//   log decrypt   decrypt entries' write sets with holder keys (--holder-key FILE,
//                 repeatable), or with the master key when the ledger is its own holder
//
// Thread safety: a command object is used by one thread at a time.

#ifndef VELLUM_TOOLS_LOG_COMMANDS_H_
#define VELLUM_TOOLS_LOG_COMMANDS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "tools/cli.h"
#include "tools/db_commands.h"

namespace vellum::tools {

// Registers the "log" group and its commands.
void RegisterLogCommands(CommandRegistry& registry);

// "2024-05-01T12:00:00.123456Z" for microseconds since the Unix epoch.
std::string FormatTimeMicros(uint64_t micros);

// --from I / --to J / --index I, as the log commands take them.
struct LogRange {
  std::optional<uint64_t> from;
  std::optional<uint64_t> to;
  // The entries [first, last] of a log of `log_size` entries (first > last when the
  // log is empty); InvalidArgument if the range lies past the end.
  Result<std::pair<uint64_t, uint64_t>> Resolve(uint64_t log_size) const;
};

class LogShowCommand final : public LedgerCommand {
 public:
  std::vector<FlagSpec> Flags() const override;
  unsigned UsedGlobals() const override { return kGlobalDb | kGlobalKeyFile | kGlobalJson; }
  std::string Synopsis() const override;
  std::string Description() const override;
  std::string Examples() const override;
  Status Init(const ParsedArgs& args, const GlobalOptions& globals) override;
  Status Run(CommandIo& io) override;

 private:
  LogRange range_;
};

class LogVerifyCommand final : public LedgerCommand {
 public:
  unsigned UsedGlobals() const override { return kGlobalDb | kGlobalKeyFile | kGlobalJson; }
  std::string Synopsis() const override;
  std::string Description() const override;
  std::string Examples() const override;
  Status Init(const ParsedArgs& args, const GlobalOptions& globals) override;
  Status Run(CommandIo& io) override;
};

class LogDecryptCommand final : public LedgerCommand {
 public:
  std::vector<FlagSpec> Flags() const override;
  unsigned UsedGlobals() const override {
    return kGlobalDb | kGlobalKeyFile | kGlobalJson | kGlobalHex;
  }
  std::string Synopsis() const override;
  std::string Description() const override;
  std::string Examples() const override;
  Status Init(const ParsedArgs& args, const GlobalOptions& globals) override;
  Status Run(CommandIo& io) override;

 private:
  std::vector<std::string> holder_key_files_;
  LogRange range_;
};

}  // namespace vellum::tools

#endif  // VELLUM_TOOLS_LOG_COMMANDS_H_
