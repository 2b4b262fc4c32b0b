// Copyright (c) Vellum authors.
//
// vellum-db trie root | prove | verify: build a Merkle-Patricia trie (trie/trie.h) in
// memory from a file of JSON lines and print its root or a proof of one key, and check
// such a proof with nothing but the proof itself.
//
// The input of root and prove: one JSON object a line, {"key":"<hex>","value":"<hex>"},
// applied in order; an empty value (or null) deletes the key; blank lines are skipped.
// Hex is upper or lower case, with or without a "0x" prefix. "-" names stdin.
//
// The proof JSON (written by prove, read by verify):
//   {"root":"<hex>","key":"<hex>","value":"<hex>" or null,"proof":["<hex>",...]}
// where "proof" is Proof::items and "value" is null when the key is absent.
//
// Thread safety: a command object is used by one thread at a time.

#ifndef VELLUM_TOOLS_TRIE_COMMAND_H_
#define VELLUM_TOOLS_TRIE_COMMAND_H_

#include <cstddef>
#include <cstdint>
#include <iosfwd>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/bytes.h"
#include "tools/cli.h"
#include "trie/node_store.h"
#include "trie/trie.h"

namespace vellum::tools {

// Lines applied per Commit when building a trie from a file: each batch becomes a new
// version and older versions are pruned, so memory stays bounded on big inputs.
inline constexpr size_t kTrieLinesPerCommit = 10'000;
// When stderr is a terminal, progress is shown every this many lines.
inline constexpr size_t kTrieProgressLines = 100'000;

// Registers the "trie" group and its commands.
void RegisterTrieCommands(CommandRegistry& registry);

// Hex as the trie commands accept it: any case, with or without a "0x"/"0X" prefix.
Result<Bytes> DecodeTrieHex(std::string_view hex);

// A trie built in memory from JSON lines. `trie` uses `store`.
struct LoadedTrie {
  std::unique_ptr<trie::MemNodeStore> store;
  std::unique_ptr<trie::Trie> trie;
  size_t lines = 0;  // lines read, blank ones included
};

struct TrieLoadOptions {
  trie::TrieScheme scheme = trie::TrieScheme::kNative;
  size_t lines_per_commit = kTrieLinesPerCommit;  // >= 1
  // Write "\rvellum-db: N lines read" to `progress` every this many lines (and a
  // final newline); 0 for no progress output.
  size_t progress_every = 0;
};

// Reads JSON lines from `in` and applies them in order. InvalidArgument naming the
// line for a malformed line.
Result<LoadedTrie> LoadTrieLines(std::istream& in, const TrieLoadOptions& options,
                                 std::ostream& progress);

// What the three commands share: --scheme, and reading FILE or stdin.
class TrieCommandBase : public Command {
 public:
  std::vector<FlagSpec> Flags() const override;

 protected:
  // Parses --scheme and checks that there are exactly `names.size()` positional
  // arguments, called `names` in messages.
  Status InitCommon(const ParsedArgs& args, const std::vector<std::string>& names);
  // Builds the trie from positional argument 0 (a path or "-").
  Result<LoadedTrie> Load(CommandIo& io) const;

  trie::TrieScheme scheme_ = trie::TrieScheme::kNative;
  std::vector<std::string> positional_;
};

class TrieRootCommand final : public TrieCommandBase {
 public:
  std::string Synopsis() const override;
  std::string Description() const override;
  std::string Examples() const override;
  Status Init(const ParsedArgs& args, const GlobalOptions& globals) override;
  Status Run(CommandIo& io) override;
};

class TrieProveCommand final : public TrieCommandBase {
 public:
  std::string Synopsis() const override;
  std::string Description() const override;
  std::string Examples() const override;
  Status Init(const ParsedArgs& args, const GlobalOptions& globals) override;
  Status Run(CommandIo& io) override;

 private:
  Bytes key_;
};

class TrieVerifyCommand final : public TrieCommandBase {
 public:
  std::string Synopsis() const override;
  std::string Description() const override;
  std::string Examples() const override;
  Status Init(const ParsedArgs& args, const GlobalOptions& globals) override;
  Status Run(CommandIo& io) override;
};

}  // namespace vellum::tools

#endif  // VELLUM_TOOLS_TRIE_COMMAND_H_
