// Copyright (c) Vellum authors.

#include "tools/key_commands.h"

#include <memory>
#include <optional>
#include <ostream>

#include "tools/db_commands.h"
#include "tools/ledger_json.h"
#include "vellum/keys.h"

namespace vellum::tools {

void RegisterKeyCommands(CommandRegistry& registry) {
  registry.AddGroup("keys",
                    "Make key files (e.g. 'vellum-db keys new --out alice.key' prints the public "
                    "key for 'init --holder')");
  registry.AddCommand("keys new", "Write a new log key holder key pair and print its public key",
                      [] { return std::make_unique<KeysNewCommand>(); });
}

std::vector<FlagSpec> KeysNewCommand::Flags() const {
  return {
      FlagSpec::Value("out", "FILE", "the new key file (must not exist; written with mode 0600)"),
      FlagSpec::Value("type", "T", "the kind of key: holder (the only kind; the default)"),
  };
}

std::string KeysNewCommand::Synopsis() const { return "--out FILE [--type holder]"; }

std::string KeysNewCommand::Description() const {
  return "Generates an X25519 key pair for a log key holder and writes it to FILE (a new\n"
         "file, mode 0600; an existing file is never overwritten). Prints the public key,\n"
         "64 hex digits on one line: pass it to 'vellum-db init --holder'. The secret key\n"
         "stays in FILE; it decrypts log entries with 'vellum-db log decrypt --holder-key'.\n"
         "With --json: {\"public_key\":\"<hex>\",\"key_file\":\"FILE\"}.\n"
         "\n"
         "Only holder keys are made here. The master key is made by 'vellum-db init' (when\n"
         "its --key-file does not exist yet); the digest signing key is derived from the\n"
         "master key and cannot be made separately.\n";
}

std::string KeysNewCommand::Examples() const {
  return "  vellum-db keys new --out alice.key\n"
         "  ALICE=$(vellum-db keys new --out alice.key)\n"
         "  vellum-db init --key-file master.key --holder $ALICE --holder $BOB --threshold 2\n";
}

Status KeysNewCommand::Init(const ParsedArgs& args, const GlobalOptions& globals) {
  VELLUM_RETURN_IF_ERROR(ExpectPositional(args, {}));
  const std::optional<std::string> out = args.Get("out");
  if (!out.has_value() || out->empty()) return Status::InvalidArgument("missing --out FILE");
  out_ = *out;
  const std::optional<std::string> type = args.Get("type");
  if (type.has_value() && *type != "holder") {
    return Status::InvalidArgument(
        "--type must be 'holder': only log key holder key pairs can be made (the master key is "
        "made by 'vellum-db init'; the signing key is derived from it)");
  }
  json_ = globals.json;
  return Status::OK();
}

Status KeysNewCommand::Run(CommandIo& io) {
  const HolderKey key = HolderKey::Generate();
  Status written = key.WriteFile(out_);
  if (written.IsAlreadyExists()) {
    return Status::AlreadyExists("'" + out_ + "' already exists; a key file is never overwritten");
  }
  VELLUM_RETURN_IF_ERROR(written.WithContext("writing the key file '" + out_ + "'"));
  const std::string public_hex = PublicKeyToHex(key.public_key());
  if (json_) {
    OrderedJson j;
    j["public_key"] = public_hex;
    j["key_file"] = out_;
    return WriteJsonLine(io.out, j);
  }
  return WriteOutLine(io.out, public_hex);
}

}  // namespace vellum::tools
