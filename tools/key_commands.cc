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
  registry.AddCommand("keys new",
                      "Write a new log key holder or node signing key and print its public key",
                      [] { return std::make_unique<KeysNewCommand>(); });
}

std::vector<FlagSpec> KeysNewCommand::Flags() const {
  return {
      FlagSpec::Value("out", "FILE", "the new key file (must not exist; written with mode 0600)"),
      FlagSpec::Value(
          "type", "T",
          "the kind of key: holder (X25519, the default) or signing (a node's Ed25519 key)"),
  };
}

std::string KeysNewCommand::Synopsis() const { return "--out FILE [--type holder|signing]"; }

std::string KeysNewCommand::Description() const {
  return "Generates a key pair and writes it to FILE (a new file, mode 0600; an existing\n"
         "file is never overwritten), then prints the public key, 64 hex digits on one line.\n"
         "\n"
         "  --type holder   (the default) an X25519 key pair for a log key holder: pass the\n"
         "                  public key to 'vellum-db init --holder'; the secret key decrypts\n"
         "                  log entries with 'vellum-db log decrypt --holder-key'.\n"
         "  --type signing  an Ed25519 key for one vellum-node: it signs the log entries the\n"
         "                  node appends as leader and its messages to its peers. Each node\n"
         "                  has its own; name it in node.yaml (keys.signing_key).\n"
         "\n"
         "With --json: "
         "{\"public_key\":\"<hex>\",\"key_file\":\"FILE\",\"type\":\"holder|signing\"}.\n"
         "\n"
         "The master key is made by 'vellum-db init' (when its --key-file does not exist yet);\n"
         "the digest signing key is derived from the master key and cannot be made separately.\n";
}

std::string KeysNewCommand::Examples() const {
  return "  vellum-db keys new --out alice.key\n"
         "  ALICE=$(vellum-db keys new --out alice.key)\n"
         "  vellum-db init --key-file master.key --holder $ALICE --holder $BOB --threshold 2\n"
         "  vellum-db keys new --type signing --out n1/signing.key\n";
}

Status KeysNewCommand::Init(const ParsedArgs& args, const GlobalOptions& globals) {
  VELLUM_RETURN_IF_ERROR(ExpectPositional(args, {}));
  const std::optional<std::string> out = args.Get("out");
  if (!out.has_value() || out->empty()) return Status::InvalidArgument("missing --out FILE");
  out_ = *out;
  const std::optional<std::string> type = args.Get("type");
  if (type.has_value() && *type != "holder" && *type != "signing") {
    return Status::InvalidArgument(
        "--type must be 'holder' or 'signing' (the master key is made by 'vellum-db init'; the "
        "digest signing key is derived from it)");
  }
  signing_ = type.has_value() && *type == "signing";
  json_ = globals.json;
  return Status::OK();
}

Status KeysNewCommand::Run(CommandIo& io) {
  std::string public_hex;
  Status written;
  if (signing_) {
    const NodeSigningKey key = NodeSigningKey::Generate();
    written = key.WriteFile(out_);
    public_hex = HexEncode(key.public_key());
  } else {
    const HolderKey key = HolderKey::Generate();
    written = key.WriteFile(out_);
    public_hex = PublicKeyToHex(key.public_key());
  }
  if (written.IsAlreadyExists()) {
    return Status::AlreadyExists("'" + out_ + "' already exists; a key file is never overwritten");
  }
  VELLUM_RETURN_IF_ERROR(written.WithContext("writing the key file '" + out_ + "'"));
  if (json_) {
    OrderedJson j;
    j["public_key"] = public_hex;
    j["key_file"] = out_;
    j["type"] = signing_ ? "signing" : "holder";
    return WriteJsonLine(io.out, j);
  }
  return WriteOutLine(io.out, public_hex);
}

}  // namespace vellum::tools
