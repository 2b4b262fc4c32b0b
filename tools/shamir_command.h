// Copyright (c) Vellum authors.
//
// vellum-db shamir split | combine: Shamir secret sharing of a secret on stdin
// (crypto/shamir.h). split writes one share line per share to stdout; combine reads
// share lines from stdin and writes the secret's bytes, exactly, to stdout.
//
// Thread safety: a command object is used by one thread at a time.

#ifndef VELLUM_TOOLS_SHAMIR_COMMAND_H_
#define VELLUM_TOOLS_SHAMIR_COMMAND_H_

#include <cstddef>
#include <string>
#include <vector>

#include "tools/cli.h"
#include "vellum/env.h"

namespace vellum::tools {

// The largest secret `shamir split` accepts: it is meant for keys, not for data.
inline constexpr size_t kMaxShamirSecretSize = size_t{1} << 20;

// Registers the "shamir" group and its commands.
void RegisterShamirCommands(CommandRegistry& registry);

class ShamirSplitCommand final : public Command {
 public:
  // `random` supplies the split's randomness (SystemRandom() in vellum-db).
  explicit ShamirSplitCommand(RandomSource& random) : random_(random) {}

  std::vector<FlagSpec> Flags() const override;
  std::string Synopsis() const override;
  std::string Description() const override;
  std::string Examples() const override;
  Status Init(const ParsedArgs& args, const GlobalOptions& globals) override;
  Status Run(CommandIo& io) override;

 private:
  RandomSource& random_;
  int threshold_ = 0;
  int shares_ = 0;
};

class ShamirCombineCommand final : public Command {
 public:
  unsigned UsedGlobals() const override { return kGlobalHex; }
  std::string Synopsis() const override;
  std::string Description() const override;
  std::string Examples() const override;
  Status Init(const ParsedArgs& args, const GlobalOptions& globals) override;
  Status Run(CommandIo& io) override;

 private:
  bool hex_ = false;
};

}  // namespace vellum::tools

#endif  // VELLUM_TOOLS_SHAMIR_COMMAND_H_
