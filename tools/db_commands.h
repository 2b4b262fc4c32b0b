// Copyright (c) Vellum authors.
//
// The ledger commands of vellum-db, over the public API (vellum/db.h):
//
//   init                 create a ledger (and its master key file, if missing)
//   put / delete         commit one write (put creates the table if it is missing)
//   get                  read a value (or print a LedgerProof with --proof)
//   tables / scan        list tables, list a table's entries
//   history              every change of one key
//   digest               a signed Digest of the ledger, as JSON
//   verify               audit the whole ledger (DB::Verify)
//   proof verify         check a `get --proof` JSON with no database
//   forget               destroy the key shares of log entries (crypto-shredding)
//   stats                sizes and counts
//
// LedgerCommand is what they share with the log commands (log_commands.h): where the
// ledger and its key are (--db, default ./vellum-data; --key-file, default
// $VELLUM_KEY_FILE), --hex/--json handling of keys and values, and opening the DB
// with clear messages for the usual failures. Key material is only ever read from
// files named by --key-file / $VELLUM_KEY_FILE / --holder-key, never from argv, and
// is never printed.
//
// Thread safety: a command object is used by one thread at a time.

#ifndef VELLUM_TOOLS_DB_COMMANDS_H_
#define VELLUM_TOOLS_DB_COMMANDS_H_

#include <cstdint>
#include <functional>
#include <iosfwd>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tools/cli.h"
#include "vellum/db.h"
#include "vellum/digest.h"
#include "vellum/hash.h"
#include "vellum/keys.h"
#include "vellum/ledger_proof.h"

namespace vellum::tools {

// The ledger directory when --db is not given.
inline constexpr std::string_view kDefaultDbDir = "./vellum-data";
// The environment variable naming the master key file when --key-file is not given.
inline constexpr std::string_view kKeyFileEnv = "VELLUM_KEY_FILE";

// Registers the ledger commands (init, put, get, ..., the "proof" group).
void RegisterDbCommands(CommandRegistry& registry);

// --- shared by the ledger and log commands ---------------------------------------------

// The key file named by --key-file, else by $VELLUM_KEY_FILE (if set and non-empty).
std::optional<std::string> ResolveKeyFile(const GlobalOptions& globals);

// Whether `err` is the process's stderr and that is a terminal (progress is shown then).
bool IsTerminalStderr(const std::ostream& err);

// Lowercase hex of a 32-byte array.
std::string HexOf(const Hash& hash);

// Writes `line` and a newline, flushed; IOError if stdout failed.
Status WriteOutLine(std::ostream& out, std::string_view line);

// What vellum-db prints for a key or value: the bytes (text) or their hex (--hex).
std::string ShowData(std::string_view data, bool hex);

// Prints an audit report (DB::Verify) as text or JSON; Corruption ("verify found N
// problems") when it has findings. Shared by `verify` and `log verify`.
Status PrintAuditReport(const AuditReport& report, bool json, bool log_only, std::ostream& out);

// Checks that `args` has exactly the positional arguments `names` (for messages).
Status ExpectPositional(const ParsedArgs& args, const std::vector<std::string>& names);

// The base of every command that opens a ledger.
class LedgerCommand : public Command {
 public:
  // Whether the command needs the master key (a usage error without one), can use
  // one (it opens keyless without), or never opens the ledger with one.
  enum class KeyNeed { kRequired, kOptional, kNone };

 protected:
  // Reads --db, --key-file/$VELLUM_KEY_FILE, --json, --hex. Call from Init.
  Status InitLedger(const GlobalOptions& globals, KeyNeed need);
  // Decodes a KEY or VALUE argument: the text as is, or hex with --hex (a usage
  // error if it is not hex).
  Result<std::string> DecodeArg(const std::string& arg, std::string_view name) const;

  // Opens the existing ledger at db_path_ (with the key, if any), runs `fn`, closes
  // the ledger, and returns fn's status (or Close's if fn succeeded). Open's
  // failures become one clear message (no ledger, wrong key, in use, ...).
  Status WithLedger(const std::function<Status(DB&)>& fn) const;
  // The message for a failed DB::Open of db_path_.
  Status OpenError(const Status& status) const;

  std::string db_path_;
  std::optional<std::string> key_file_;
  bool json_ = false;
  bool hex_ = false;
};

class InitCommand final : public LedgerCommand {
 public:
  std::vector<FlagSpec> Flags() const override;
  unsigned UsedGlobals() const override { return kGlobalDb | kGlobalKeyFile | kGlobalJson; }
  std::string Synopsis() const override;
  std::string Description() const override;
  std::string Examples() const override;
  Status Init(const ParsedArgs& args, const GlobalOptions& globals) override;
  Status Run(CommandIo& io) override;

 private:
  std::vector<HolderKey::PublicKey> holders_;
  int threshold_ = 1;
};

class PutCommand final : public LedgerCommand {
 public:
  unsigned UsedGlobals() const override {
    return kGlobalDb | kGlobalKeyFile | kGlobalJson | kGlobalHex;
  }
  std::string Synopsis() const override;
  std::string Description() const override;
  std::string Examples() const override;
  Status Init(const ParsedArgs& args, const GlobalOptions& globals) override;
  Status Run(CommandIo& io) override;

 private:
  std::string table_;
  std::string key_;
  std::string value_;
};

class DeleteCommand final : public LedgerCommand {
 public:
  unsigned UsedGlobals() const override {
    return kGlobalDb | kGlobalKeyFile | kGlobalJson | kGlobalHex;
  }
  std::string Synopsis() const override;
  std::string Description() const override;
  std::string Examples() const override;
  Status Init(const ParsedArgs& args, const GlobalOptions& globals) override;
  Status Run(CommandIo& io) override;

 private:
  std::string table_;
  std::string key_;
};

class GetCommand final : public LedgerCommand {
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
  std::string table_;
  std::string key_;
  std::optional<uint64_t> at_;
  bool proof_ = false;
};

class TablesCommand final : public LedgerCommand {
 public:
  std::vector<FlagSpec> Flags() const override;
  unsigned UsedGlobals() const override { return kGlobalDb | kGlobalKeyFile | kGlobalJson; }
  std::string Synopsis() const override;
  std::string Description() const override;
  std::string Examples() const override;
  Status Init(const ParsedArgs& args, const GlobalOptions& globals) override;
  Status Run(CommandIo& io) override;

 private:
  std::optional<uint64_t> at_;
};

class ScanCommand final : public LedgerCommand {
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
  std::string table_;
  std::optional<uint64_t> at_;
  uint64_t limit_ = 0;  // 0: no limit
};

class HistoryCommand final : public LedgerCommand {
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
  std::string table_;
  std::string key_;
  uint64_t limit_ = 0;
};

class DigestCommand final : public LedgerCommand {
 public:
  unsigned UsedGlobals() const override { return kGlobalDb | kGlobalKeyFile | kGlobalJson; }
  std::string Synopsis() const override;
  std::string Description() const override;
  std::string Examples() const override;
  Status Init(const ParsedArgs& args, const GlobalOptions& globals) override;
  Status Run(CommandIo& io) override;
};

class VerifyCommand final : public LedgerCommand {
 public:
  std::vector<FlagSpec> Flags() const override;
  unsigned UsedGlobals() const override { return kGlobalDb | kGlobalKeyFile | kGlobalJson; }
  std::string Synopsis() const override;
  std::string Description() const override;
  std::string Examples() const override;
  Status Init(const ParsedArgs& args, const GlobalOptions& globals) override;
  Status Run(CommandIo& io) override;

 private:
  std::optional<std::string> against_;
};

class ProofVerifyCommand final : public Command {
 public:
  std::vector<FlagSpec> Flags() const override;
  unsigned UsedGlobals() const override { return kGlobalKeyFile | kGlobalJson | kGlobalHex; }
  std::string Synopsis() const override;
  std::string Description() const override;
  std::string Examples() const override;
  Status Init(const ParsedArgs& args, const GlobalOptions& globals) override;
  Status Run(CommandIo& io) override;

 private:
  std::string file_;
  std::optional<Hash> root_;
  std::optional<std::string> key_file_;
  bool key_file_explicit_ = false;  // --key-file, rather than $VELLUM_KEY_FILE
  bool json_ = false;
  bool hex_ = false;
};

class ForgetCommand final : public LedgerCommand {
 public:
  std::vector<FlagSpec> Flags() const override;
  unsigned UsedGlobals() const override { return kGlobalDb | kGlobalKeyFile | kGlobalJson; }
  std::string Synopsis() const override;
  std::string Description() const override;
  std::string Examples() const override;
  Status Init(const ParsedArgs& args, const GlobalOptions& globals) override;
  Status Run(CommandIo& io) override;

 private:
  uint64_t from_ = 0;
  uint64_t to_ = 0;
};

class StatsCommand final : public LedgerCommand {
 public:
  unsigned UsedGlobals() const override { return kGlobalDb | kGlobalKeyFile | kGlobalJson; }
  std::string Synopsis() const override;
  std::string Description() const override;
  std::string Examples() const override;
  Status Init(const ParsedArgs& args, const GlobalOptions& globals) override;
  Status Run(CommandIo& io) override;
};

}  // namespace vellum::tools

#endif  // VELLUM_TOOLS_DB_COMMANDS_H_
