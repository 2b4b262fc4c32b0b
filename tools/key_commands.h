// Copyright (c) Vellum authors.
//
// vellum-db keys new: make a log key holder's X25519 key pair (vellum/keys.h). The
// secret key goes only to the file named by --out (mode 0600, never overwritten);
// the public key is printed, to be passed to `vellum-db init --holder`.
//
// Thread safety: a command object is used by one thread at a time.

#ifndef VELLUM_TOOLS_KEY_COMMANDS_H_
#define VELLUM_TOOLS_KEY_COMMANDS_H_

#include <string>
#include <vector>

#include "tools/cli.h"

namespace vellum::tools {

// Registers the "keys" group and its commands.
void RegisterKeyCommands(CommandRegistry& registry);

class KeysNewCommand final : public Command {
 public:
  std::vector<FlagSpec> Flags() const override;
  unsigned UsedGlobals() const override { return kGlobalJson; }
  std::string Synopsis() const override;
  std::string Description() const override;
  std::string Examples() const override;
  Status Init(const ParsedArgs& args, const GlobalOptions& globals) override;
  Status Run(CommandIo& io) override;

 private:
  std::string out_;
  bool json_ = false;
  bool signing_ = false;  // --type signing: a node's Ed25519 key
};

}  // namespace vellum::tools

#endif  // VELLUM_TOOLS_KEY_COMMANDS_H_
