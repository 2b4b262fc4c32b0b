// Copyright (c) Vellum authors.
//
// The vellum-db command-line framework, in the shape of RocksDB's ldb: one class per
// command, a registry that maps command paths ("shamir split", later "trie prove",
// "log verify", ...) to factories, and RunVellumDb, which parses the command line,
// picks the command, and maps outcomes to exit codes:
//   0  success (also for --help and --version)
//   1  the command ran and failed (bad input data, I/O, corruption)
//   2  usage error (unknown command or option, bad option value); usage goes to stderr
// Every error is one line on stderr starting with "vellum-db: ".
//
// Global options (GlobalFlagSpecs) are accepted before or after the command name:
//   --db DIR, --key-file FILE, --json, --hex, --help/-h, --version.
// A command declares which of --db/--key-file/--json/--hex it uses; giving one it
// does not use is a usage error rather than being silently ignored.
//
// Adding a command: derive from Command, and register it (with its group, if it is
// the first command of a new group) in a Register*Commands function called from
// DefaultRegistry() in cli.cc.
//
// Thread safety: RunVellumDb may be called concurrently with distinct streams.

#ifndef VELLUM_TOOLS_CLI_H_
#define VELLUM_TOOLS_CLI_H_

#include <cstddef>
#include <functional>
#include <iosfwd>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tools/arg_parser.h"
#include "vellum/result.h"
#include "vellum/status.h"

namespace vellum::tools {

inline constexpr std::string_view kProgramName = "vellum-db";

// Exit codes of vellum-db.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;
inline constexpr int kExitUsage = 2;

// The global options, as parsed.
struct GlobalOptions {
  std::optional<std::string> db;        // --db DIR
  std::optional<std::string> key_file;  // --key-file FILE
  bool json = false;                    // --json
  bool hex = false;                     // --hex
};

// Bits naming the global options a command uses.
enum GlobalOption : unsigned {
  kGlobalDb = 1u << 0,
  kGlobalKeyFile = 1u << 1,
  kGlobalJson = 1u << 2,
  kGlobalHex = 1u << 3,
};

// The streams a command reads and writes. Commands write results to `out`, warnings
// to `err` (prefixed "vellum-db: warning: "), and return errors as a Status.
struct CommandIo {
  std::istream& in;
  std::ostream& out;
  std::ostream& err;
};

class Command {
 public:
  virtual ~Command() = default;

  // The options specific to this command (the global ones are added by the framework).
  virtual std::vector<FlagSpec> Flags() const { return {}; }
  // A bitwise OR of GlobalOption values: the global options this command uses.
  virtual unsigned UsedGlobals() const { return 0; }

  // Help text pieces. The framework composes the --help output as
  //   Usage: vellum-db <path> <Synopsis()>
  //   <Description()>
  //   Options: (generated from Flags() and UsedGlobals())
  //   Examples: <Examples()>
  virtual std::string Synopsis() const = 0;
  virtual std::string Description() const = 0;
  virtual std::string Examples() const { return ""; }

  // Checks the arguments and keeps what Run needs. A failure is a usage error (exit 2).
  virtual Status Init(const ParsedArgs& args, const GlobalOptions& globals) = 0;
  // Does the work. A failure is an operational error (exit 1).
  virtual Status Run(CommandIo& io) = 0;
};

class CommandRegistry {
 public:
  using Factory = std::function<std::unique_ptr<Command>()>;

  // A group of commands, e.g. "shamir" or "log"; nested groups are space-separated
  // ("trie proof"). A group must be added before its commands.
  void AddGroup(std::string path, std::string summary);
  // A runnable command, e.g. "shamir split". Its parent group must exist.
  void AddCommand(std::string path, std::string summary, Factory factory);

  struct Node {
    std::string name;     // the last word of the path
    std::string path;     // the full path, e.g. "shamir split"; empty for the root
    std::string summary;  // one line
    Factory factory;      // set for commands, empty for groups
    std::vector<std::unique_ptr<Node>> children;

    bool is_command() const { return static_cast<bool>(factory); }
    const Node* Child(std::string_view child_name) const;
  };
  const Node& root() const { return root_; }

 private:
  Node* FindGroup(std::string_view path);
  Node* AddNode(std::string path, std::string summary, Factory factory);

  Node root_;
};

// The registry of every vellum-db command.
const CommandRegistry& DefaultRegistry();

// The global option specs (--db, --key-file, --json, --hex, --help/-h, --version).
std::vector<FlagSpec> GlobalFlagSpecs();

// Runs vellum-db with `args` (without the program name) and returns the exit code.
int RunVellumDb(const CommandRegistry& registry, std::vector<std::string> args, std::istream& in,
                std::ostream& out, std::ostream& err);
// As above with the default registry and main()'s arguments.
int RunVellumDb(int argc, const char* const* argv, std::istream& in, std::ostream& out,
                std::ostream& err);

// "vellum-db <version>".
std::string VersionString();

// --- helpers for commands that read text input ---------------------------------------

// "line N", naming a line of the input (counted from 1) in messages.
std::string LineName(size_t line_number);

// Everything `in` holds, refusing more than `max_size` bytes (ResourceExhausted, naming
// `what`).
Result<std::string> ReadAll(std::istream& in, size_t max_size, std::string_view what);

}  // namespace vellum::tools

#endif  // VELLUM_TOOLS_CLI_H_
