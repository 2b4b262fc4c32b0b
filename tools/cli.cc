// Copyright (c) Vellum authors.

#include "tools/cli.h"

#include <algorithm>
#include <array>
#include <istream>
#include <ostream>
#include <string>

#include "tools/cluster_commands.h"
#include "tools/db_commands.h"
#include "tools/key_commands.h"
#include "tools/log_commands.h"
#include "tools/shamir_command.h"
#include "tools/trie_command.h"
#include "vellum/check.h"

#ifndef VELLUM_VERSION
#define VELLUM_VERSION "unknown"
#endif

namespace vellum::tools {

// --- registry ------------------------------------------------------------------------

const CommandRegistry::Node* CommandRegistry::Node::Child(std::string_view child_name) const {
  for (const auto& child : children) {
    if (child->name == child_name) return child.get();
  }
  return nullptr;
}

CommandRegistry::Node* CommandRegistry::FindGroup(std::string_view path) {
  Node* node = &root_;
  while (!path.empty()) {
    const size_t space = path.find(' ');
    const std::string_view word = path.substr(0, space);
    path = space == std::string_view::npos ? std::string_view() : path.substr(space + 1);
    Node* child = nullptr;
    for (auto& candidate : node->children) {
      if (candidate->name == word) child = candidate.get();
    }
    if (child == nullptr || child->is_command()) return nullptr;
    node = child;
  }
  return node;
}

CommandRegistry::Node* CommandRegistry::AddNode(std::string path, std::string summary,
                                                Factory factory) {
  const size_t space = path.rfind(' ');
  const std::string parent_path = space == std::string::npos ? "" : path.substr(0, space);
  Node* parent = FindGroup(parent_path);
  VELLUM_CHECK_MSG(parent != nullptr, "a command's group must be registered first");
  auto node = std::make_unique<Node>();
  node->name = space == std::string::npos ? path : path.substr(space + 1);
  VELLUM_CHECK_MSG(!node->name.empty(), "empty command name");
  VELLUM_CHECK_MSG(parent->Child(node->name) == nullptr, "a command was registered twice");
  node->path = std::move(path);
  node->summary = std::move(summary);
  node->factory = std::move(factory);
  parent->children.push_back(std::move(node));
  return parent->children.back().get();
}

void CommandRegistry::AddGroup(std::string path, std::string summary) {
  AddNode(std::move(path), std::move(summary), nullptr);
}

void CommandRegistry::AddCommand(std::string path, std::string summary, Factory factory) {
  VELLUM_CHECK_MSG(static_cast<bool>(factory), "a command needs a factory");
  AddNode(std::move(path), std::move(summary), std::move(factory));
}

const CommandRegistry& DefaultRegistry() {
  static const CommandRegistry* const registry = [] {
    auto* r = new CommandRegistry();
    RegisterDbCommands(*r);
    RegisterLogCommands(*r);
    RegisterKeyCommands(*r);
    RegisterClusterCommands(*r);
    RegisterShamirCommands(*r);
    RegisterTrieCommands(*r);
    return r;
  }();
  return *registry;
}

std::string VersionString() { return std::string(kProgramName) + " " + VELLUM_VERSION; }

// --- helpers for commands that read text input ---------------------------------------

std::string LineName(size_t line_number) { return "line " + std::to_string(line_number); }

// --- options -------------------------------------------------------------------------

std::vector<FlagSpec> GlobalFlagSpecs() {
  return {
      FlagSpec::Value("db", "DIR", "the ledger directory (default ./vellum-data)"),
      FlagSpec::Value("key-file", "FILE",
                      "the ledger's master key file (default $VELLUM_KEY_FILE)"),
      FlagSpec::Bool("json", "print results as JSON"),
      FlagSpec::Bool("hex", "keys and values are hex, in arguments and output"),
      FlagSpec::Bool("help", "show help and exit").WithShort('h'),
      FlagSpec::Bool("version", "print the version and exit"),
  };
}

namespace {

struct GlobalUse {
  const char* flag;
  unsigned bit;
};
constexpr GlobalUse kGlobalUses[] = {
    {"db", kGlobalDb}, {"key-file", kGlobalKeyFile}, {"json", kGlobalJson}, {"hex", kGlobalHex}};

std::string FlagLeftColumn(const FlagSpec& spec) {
  std::string left = "  ";
  if (spec.short_name != 0) left += std::string("-") + spec.short_name + ", ";
  left += "--" + spec.name;
  if (spec.takes_value) left += " " + spec.value_name;
  return left;
}

void AppendFlagTable(const std::vector<FlagSpec>& specs, std::string* out) {
  size_t width = 0;
  for (const FlagSpec& spec : specs) width = std::max(width, FlagLeftColumn(spec).size());
  for (const FlagSpec& spec : specs) {
    std::string left = FlagLeftColumn(spec);
    left.resize(width + 3, ' ');
    *out += left + spec.help;
    if (spec.repeatable) *out += " (may be repeated)";
    *out += "\n";
  }
}

const FlagSpec& GlobalSpec(std::string_view name) {
  static const std::vector<FlagSpec>* const specs = new std::vector<FlagSpec>(GlobalFlagSpecs());
  for (const FlagSpec& spec : *specs) {
    if (spec.name == name) return spec;
  }
  VELLUM_UNREACHABLE();
}

// Every command below `node`, depth first, in registration order.
void CollectCommands(const CommandRegistry::Node& node,
                     std::vector<const CommandRegistry::Node*>* out) {
  for (const auto& child : node.children) {
    if (child->is_command()) {
      out->push_back(child.get());
    } else {
      CollectCommands(*child, out);
    }
  }
}

void AppendCommandTable(const std::vector<std::pair<std::string, std::string>>& rows,
                        std::string* out) {
  size_t width = 0;
  for (const auto& row : rows) width = std::max(width, row.first.size());
  for (const auto& [name, summary] : rows) {
    std::string left = "  " + name;
    left.resize(width + 5, ' ');
    *out += left + summary + "\n";
  }
}

std::string RootHelp(const CommandRegistry& registry) {
  std::string help = "Usage: " + std::string(kProgramName) +
                     " [global options] <command> [options] [arguments]\n\n"
                     "Administers and inspects Vellum ledger databases.\n\nCommands:\n";
  std::vector<const CommandRegistry::Node*> commands;
  CollectCommands(registry.root(), &commands);
  std::vector<std::pair<std::string, std::string>> rows;
  for (const auto* node : commands) rows.emplace_back(node->path, node->summary);
  AppendCommandTable(rows, &help);
  help += "\nGlobal options (before or after the command name):\n";
  AppendFlagTable(GlobalFlagSpecs(), &help);
  help += "\nRun '" + std::string(kProgramName) + " <command> --help' for a command's options.\n";
  return help;
}

std::string GroupHelp(const CommandRegistry::Node& group) {
  std::string help = "Usage: " + std::string(kProgramName) + " " + group.path +
                     " <command> [options]\n\n" + group.summary + ".\n\nCommands:\n";
  std::vector<std::pair<std::string, std::string>> rows;
  for (const auto& child : group.children) {
    rows.emplace_back(child->name + (child->is_command() ? "" : " ..."), child->summary);
  }
  AppendCommandTable(rows, &help);
  help += "\nRun '" + std::string(kProgramName) + " " + group.path +
          " <command> --help' for a command's options.\n";
  return help;
}

std::string CommandHelp(const CommandRegistry::Node& node, const Command& command) {
  std::string help = "Usage: " + std::string(kProgramName) + " " + node.path;
  const std::string synopsis = command.Synopsis();
  if (!synopsis.empty()) help += " " + synopsis;
  help += "\n\n" + node.summary + ".\n\n" + command.Description();
  if (!help.ends_with("\n")) help += "\n";
  std::vector<FlagSpec> options = command.Flags();
  for (const GlobalUse& use : kGlobalUses) {
    if ((command.UsedGlobals() & use.bit) != 0) options.push_back(GlobalSpec(use.flag));
  }
  options.push_back(GlobalSpec("help"));
  help += "\nOptions:\n";
  AppendFlagTable(options, &help);
  const std::string examples = command.Examples();
  if (!examples.empty()) {
    help += "\nExamples:\n" + examples;
    if (!help.ends_with("\n")) help += "\n";
  }
  return help;
}

std::string HelpFor(const CommandRegistry& registry, const CommandRegistry::Node& node,
                    const Command* command) {
  if (&node == &registry.root()) return RootHelp(registry);
  if (command != nullptr) return CommandHelp(node, *command);
  return GroupHelp(node);
}

// The command word quoted in an error, if it looks like one (never echo what might be
// a secret typed in the wrong place).
std::string QuoteCommandWord(std::string_view word) {
  const bool plain =
      !word.empty() && word.size() <= 32 && std::all_of(word.begin(), word.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
      });
  return plain ? "'" + std::string(word) + "'" : "(not shown)";
}

int UsageError(std::ostream& err, const CommandRegistry::Node& node, const Status& status) {
  err << kProgramName << ": " << status.message() << "\n";
  std::string where = std::string(kProgramName);
  if (!node.path.empty()) where += " " + node.path;
  err << "Run '" << where << " --help' for usage.\n";
  return kExitUsage;
}

}  // namespace

// --- running -------------------------------------------------------------------------

int RunVellumDb(const CommandRegistry& registry, std::vector<std::string> args, std::istream& in,
                std::ostream& out, std::ostream& err) {
  const CommandRegistry::Node& root = registry.root();
  if (args.empty()) {
    err << RootHelp(registry);
    return kExitUsage;
  }
  ArgParser parser(std::move(args));
  parser.AddFlags(GlobalFlagSpecs());
  ParsedArgs parsed;
  const CommandRegistry::Node* node = &root;
  std::unique_ptr<Command> command;

  // A parse error is reported unless help was asked for anywhere on the line.
  auto parse_failed = [&](const Status& status) {
    if (parsed.Has("help") || parser.RemainingContains("help", 'h')) {
      out << HelpFor(registry, *node, command.get());
      return kExitOk;
    }
    return UsageError(err, *node, status);
  };

  // Walk down the command tree: positional arguments name groups, then a command.
  while (!node->is_command()) {
    auto next = parser.NextPositional(&parsed);
    if (!next.ok()) return parse_failed(next.status());
    if (!next->has_value()) break;
    const std::string& word = **next;
    const CommandRegistry::Node* child = node->Child(word);
    if (child == nullptr) {
      std::string message = "unknown command " + QuoteCommandWord(word);
      if (!node->path.empty()) message = node->path + ": " + message;
      const CommandRegistry::Node* closest = nullptr;
      size_t best = 0;
      for (const auto& candidate : node->children) {
        const size_t distance = EditDistance(word, candidate->name);
        if (closest == nullptr || distance < best) {
          closest = candidate.get();
          best = distance;
        }
      }
      if (closest != nullptr && best <= 2) message += " (did you mean '" + closest->name + "'?)";
      return UsageError(err, *node, Status::InvalidArgument(message));
    }
    node = child;
  }

  if (node->is_command()) {
    command = node->factory();
    const std::vector<FlagSpec> flags = command->Flags();
    parser.AddFlags(flags);
    Status status = parser.ParseRest(&parsed);
    if (!status.ok()) return parse_failed(status);
  }

  if (parsed.Has("help")) {
    out << HelpFor(registry, *node, command.get());
    return kExitOk;
  }
  if (parsed.Has("version")) {
    out << VersionString() << "\n";
    return kExitOk;
  }
  if (command == nullptr) {
    err << kProgramName << ": " << (node->path.empty() ? "" : node->path + ": ")
        << "missing command\n\n"
        << HelpFor(registry, *node, nullptr);
    return kExitUsage;
  }

  GlobalOptions globals;
  globals.db = parsed.Get("db");
  globals.key_file = parsed.Get("key-file");
  globals.json = parsed.Has("json");
  globals.hex = parsed.Has("hex");
  for (const GlobalUse& use : kGlobalUses) {
    if (parsed.Has(use.flag) && (command->UsedGlobals() & use.bit) == 0) {
      return UsageError(
          err, *node,
          Status::InvalidArgument("'" + node->path + "' does not use --" + std::string(use.flag)));
    }
  }
  Status status = command->Init(parsed, globals);
  if (!status.ok()) return UsageError(err, *node, status);

  CommandIo io{in, out, err};
  status = command->Run(io);
  out.flush();
  if (!status.ok()) {
    err << kProgramName << ": " << status.message() << "\n";
    return kExitFailure;
  }
  if (!out) {
    err << kProgramName << ": writing to stdout failed\n";
    return kExitFailure;
  }
  return kExitOk;
}

int RunVellumDb(int argc, const char* const* argv, std::istream& in, std::ostream& out,
                std::ostream& err) {
  std::vector<std::string> args;
  for (int i = 1; i < argc; ++i) args.emplace_back(argv[i]);
  return RunVellumDb(DefaultRegistry(), std::move(args), in, out, err);
}

Result<std::string> ReadAll(std::istream& in, size_t max_size, std::string_view what) {
  std::string data;
  std::streambuf* buf = in.rdbuf();
  if (buf == nullptr) return data;
  std::array<char, 1 << 16> chunk{};
  for (;;) {
    const std::streamsize n = buf->sgetn(chunk.data(), static_cast<std::streamsize>(chunk.size()));
    if (n <= 0) break;
    if (data.size() + static_cast<size_t>(n) > max_size) {
      return Status::ResourceExhausted(std::string(what) + " is larger than " +
                                       std::to_string(max_size >> 20) + " MiB");
    }
    data.append(chunk.data(), static_cast<size_t>(n));
  }
  return data;
}

}  // namespace vellum::tools
