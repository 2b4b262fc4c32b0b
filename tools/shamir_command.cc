// Copyright (c) Vellum authors.

#include "tools/shamir_command.h"

#include <istream>
#include <map>
#include <ostream>
#include <string_view>

#include "crypto/random.h"
#include "crypto/secure_bytes.h"
#include "crypto/shamir.h"

namespace vellum::tools {
namespace {

// A share line of the largest secret is about 2 MiB; anything much longer is not one.
constexpr size_t kMaxShareLineSize = 4 * kMaxShamirSecretSize;

// Reads all of `in` into guarded memory, refusing more than kMaxShamirSecretSize bytes.
Result<crypto::SecureBytes> ReadSecret(std::istream& in) {
  crypto::SecureBytes buffer(kMaxShamirSecretSize + 1);
  in.read(reinterpret_cast<char*>(buffer.data()), static_cast<std::streamsize>(buffer.size()));
  const size_t size = static_cast<size_t>(in.gcount());
  if (in.bad()) return Status::IOError("reading the secret from stdin failed");
  if (size > kMaxShamirSecretSize) {
    return Status::ResourceExhausted(
        "the secret on stdin is larger than 1 MiB, the most 'shamir split' accepts; split a "
        "key that encrypts the data instead");
  }
  crypto::SecureBytes secret = crypto::SecureBytes::CopyFrom(buffer.view().first(size));
  return secret;
}

// Wipes a std::string that held share data when it goes out of scope or is reused.
class WipeOnExit {
 public:
  explicit WipeOnExit(std::string& s) : s_(s) {}
  ~WipeOnExit() { crypto::SecureWipe(s_.data(), s_.size()); }
  WipeOnExit(const WipeOnExit&) = delete;
  WipeOnExit& operator=(const WipeOnExit&) = delete;

 private:
  std::string& s_;
};

}  // namespace

void RegisterShamirCommands(CommandRegistry& registry) {
  registry.AddGroup("shamir", "Split a secret into shares and recombine them (Shamir)");
  registry.AddCommand("shamir split", "Split the secret on stdin into N shares, any K recover it",
                      [] { return std::make_unique<ShamirSplitCommand>(crypto::SystemRandom()); });
  registry.AddCommand("shamir combine", "Recover a secret from share lines on stdin",
                      [] { return std::make_unique<ShamirCombineCommand>(); });
}

// --- split ---------------------------------------------------------------------------

std::vector<FlagSpec> ShamirSplitCommand::Flags() const {
  return {
      FlagSpec::Value("threshold", "K", "how many shares recover the secret (1..N)"),
      FlagSpec::Value("shares", "N", "how many shares to make (1..255)"),
  };
}

std::string ShamirSplitCommand::Synopsis() const {
  return "--threshold K --shares N < SECRET > SHARES";
}

std::string ShamirSplitCommand::Description() const {
  return "Reads the secret from stdin: every byte up to end of file, binary-safe, at most\n"
         "1 MiB. A trailing newline is part of the secret, so use printf rather than echo.\n"
         "Writes N share lines (vellum-share-1-...) to stdout, one per line. Any K of them\n"
         "give the secret back with 'vellum-db shamir combine'; fewer reveal nothing about\n"
         "it. Every share is secret material: hand each to a different custodian.\n";
}

std::string ShamirSplitCommand::Examples() const {
  return "  printf '%s' \"$SECRET\" | vellum-db shamir split --threshold 3 --shares 5 > "
         "shares.txt\n"
         "  vellum-db shamir split --threshold 2 --shares 3 < master.key\n";
}

Status ShamirSplitCommand::Init(const ParsedArgs& args, const GlobalOptions& /*globals*/) {
  if (!args.positional().empty()) {
    return Status::InvalidArgument(
        "'shamir split' takes no arguments; the secret is read from stdin");
  }
  VELLUM_ASSIGN_OR_RETURN(std::optional<int64_t> shares, ParseIntFlag(args, "shares", 1, 255));
  VELLUM_ASSIGN_OR_RETURN(std::optional<int64_t> threshold,
                          ParseIntFlag(args, "threshold", 1, 255));
  if (!threshold.has_value()) {
    return Status::InvalidArgument("missing --threshold K (how many shares recover the secret)");
  }
  if (!shares.has_value()) {
    return Status::InvalidArgument("missing --shares N (how many shares to make)");
  }
  if (*threshold > *shares) {
    return Status::InvalidArgument("--threshold (" + std::to_string(*threshold) +
                                   ") cannot be larger than --shares (" + std::to_string(*shares) +
                                   ")");
  }
  threshold_ = static_cast<int>(*threshold);
  shares_ = static_cast<int>(*shares);
  return Status::OK();
}

Status ShamirSplitCommand::Run(CommandIo& io) {
  VELLUM_ASSIGN_OR_RETURN(crypto::SecureBytes secret, ReadSecret(io.in));
  if (secret.empty()) {
    io.err << kProgramName
           << ": warning: the secret on stdin is empty; the shares will recover an empty "
              "secret\n";
  }
  VELLUM_ASSIGN_OR_RETURN(std::vector<crypto::ShamirShare> shares,
                          crypto::ShamirSplit(secret.view(), threshold_, shares_, random_));
  for (const crypto::ShamirShare& share : shares) {
    std::string line = crypto::EncodeShare(share);
    WipeOnExit wipe(line);
    line += '\n';
    io.out.write(line.data(), static_cast<std::streamsize>(line.size()));
  }
  io.out.flush();
  if (!io.out) return Status::IOError("writing the shares to stdout failed");
  return Status::OK();
}

// --- combine -------------------------------------------------------------------------

std::string ShamirCombineCommand::Synopsis() const { return "[--hex] < SHARES > SECRET"; }

std::string ShamirCombineCommand::Description() const {
  return "Reads share lines (vellum-share-1-...) from stdin, one per line; blank lines and\n"
         "lines starting with '#' are ignored. Needs at least the split's threshold of\n"
         "shares; any further shares are checked against the others. Writes the secret's\n"
         "bytes exactly to stdout (no newline added), or as hex with --hex.\n"
         "A damaged line is reported with its line number; shares that were altered\n"
         "consistently are detected by the secret's integrity tag.\n";
}

std::string ShamirCombineCommand::Examples() const {
  return "  vellum-db shamir combine < three-of-the-shares.txt > master.key\n"
         "  cat share-alice.txt share-bob.txt share-carol.txt | vellum-db shamir combine --hex\n";
}

Status ShamirCombineCommand::Init(const ParsedArgs& args, const GlobalOptions& globals) {
  if (!args.positional().empty()) {
    return Status::InvalidArgument(
        "'shamir combine' takes no arguments; the shares are read from stdin");
  }
  hex_ = globals.hex;
  return Status::OK();
}

Status ShamirCombineCommand::Run(CommandIo& io) {
  std::vector<crypto::ShamirShare> shares;
  std::vector<size_t> line_numbers;  // of each share
  std::map<uint8_t, size_t> line_of_index;
  std::string line;
  line.reserve(1 << 16);  // fewer reallocations leaving unwiped copies behind
  size_t line_number = 0;
  while (std::getline(io.in, line)) {
    WipeOnExit wipe(line);
    ++line_number;
    const std::string_view trimmed = TrimSpace(line);
    if (trimmed.empty() || trimmed.front() == '#') continue;
    if (trimmed.size() > kMaxShareLineSize) {
      return Status::InvalidArgument(LineName(line_number) + " is too long to be a share line");
    }
    Result<crypto::ShamirShare> share = crypto::DecodeShare(trimmed);
    if (!share.ok()) return share.status().WithContext(LineName(line_number));
    if (!shares.empty() && share->split_id != shares.front().split_id) {
      return Status::InvalidArgument(LineName(line_number) + " comes from a different split than " +
                                     LineName(line_numbers.front()) +
                                     "; combine shares of one split only");
    }
    const auto [it, inserted] = line_of_index.emplace(share->index, line_number);
    if (!inserted) {
      return Status::InvalidArgument(LineName(line_number) + " repeats share " +
                                     std::to_string(share->index) + " of " + LineName(it->second));
    }
    shares.push_back(std::move(share).value());
    line_numbers.push_back(line_number);
  }
  if (io.in.bad()) return Status::IOError("reading the shares from stdin failed");
  if (shares.empty()) {
    return Status::InvalidArgument("no share lines on stdin (share lines start with \"" +
                                   std::string(crypto::kShareLinePrefix) + "\")");
  }

  VELLUM_ASSIGN_OR_RETURN(crypto::SecureBytes secret, crypto::ShamirCombine(shares));
  if (hex_) {
    std::string hex = HexEncode(secret.view());
    WipeOnExit wipe(hex);
    hex += '\n';
    io.out.write(hex.data(), static_cast<std::streamsize>(hex.size()));
  } else {
    io.out.write(reinterpret_cast<const char*>(secret.data()),
                 static_cast<std::streamsize>(secret.size()));
  }
  io.out.flush();
  if (!io.out) return Status::IOError("writing the secret to stdout failed");
  return Status::OK();
}

}  // namespace vellum::tools
