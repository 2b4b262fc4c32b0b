// Copyright (c) Vellum authors.

#include "tools/trie_command.h"

#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <istream>
#include <nlohmann/json.hpp>
#include <ostream>
#include <streambuf>
#include <string_view>
#include <system_error>
#include <utility>

#include "crypto/hash.h"

namespace vellum::tools {
namespace {

using trie::TrieScheme;

// The longest input line: a key and a value of the largest sizes, in hex with "0x"
// prefixes, and room for the JSON around them.
constexpr size_t kMaxLineSize = 2 * (trie::kMaxKeySize + trie::kMaxValueSize) + 4096;
// The largest proof JSON verify reads: a proof may hold the largest value twice (in
// the leaf and in "value"), in hex, plus up to one node per key nibble.
constexpr size_t kMaxProofJsonSize = size_t{256} << 20;

constexpr std::string_view kSchemeNames = "'ethereum' or 'native'";

// Reads lines through a streambuf in large chunks, refusing lines longer than a limit
// (std::getline would buffer a newline-free input of any size).
class LineReader {
 public:
  explicit LineReader(std::streambuf* buf) : buf_(buf) {}

  enum class Outcome { kLine, kEnd, kTooLong };

  // The next line, without its '\n', in *line.
  Outcome Next(std::string* line, size_t max_size) {
    line->clear();
    bool any = false;
    for (;;) {
      if (pos_ == len_) {
        if (eof_ || buf_ == nullptr) return any ? Outcome::kLine : Outcome::kEnd;
        const std::streamsize n =
            buf_->sgetn(chunk_.data(), static_cast<std::streamsize>(chunk_.size()));
        pos_ = 0;
        len_ = n > 0 ? static_cast<size_t>(n) : 0;
        if (len_ == 0) {
          eof_ = true;
          return any ? Outcome::kLine : Outcome::kEnd;
        }
      }
      any = true;
      const char* start = chunk_.data() + pos_;
      const void* newline = std::memchr(start, '\n', len_ - pos_);
      const size_t n = newline != nullptr
                           ? static_cast<size_t>(static_cast<const char*>(newline) - start)
                           : len_ - pos_;
      if (line->size() + n > max_size) return Outcome::kTooLong;
      line->append(start, n);
      pos_ += n;
      if (newline != nullptr) {
        ++pos_;
        return Outcome::kLine;
      }
    }
  }

 private:
  std::streambuf* buf_;
  std::array<char, 1 << 16> chunk_{};
  size_t pos_ = 0;
  size_t len_ = 0;
  bool eof_ = false;
};

// FILE or "-" (stdin), opened for reading.
class Input {
 public:
  Status Open(const std::string& path, std::istream& stdin_stream) {
    if (path == "-") {
      stream_ = &stdin_stream;
      return Status::OK();
    }
    std::error_code ec;
    if (std::filesystem::is_directory(path, ec)) {
      return Status::InvalidArgument("'" + path + "' is a directory, not a file");
    }
    file_.open(path, std::ios::binary);
    if (!file_.is_open()) {
      const int error = errno;
      return Status::IOError("cannot open '" + path +
                             "': " + (error != 0 ? std::strerror(error) : "unknown error"));
    }
    stream_ = &file_;
    return Status::OK();
  }
  std::istream& stream() { return *stream_; }

 private:
  std::ifstream file_;
  std::istream* stream_ = nullptr;
};

// The whole of `in`, refusing more than `max_size` bytes.

// A JSON string field of `object` as hex bytes; `field` names it in messages.
Result<Bytes> HexField(const nlohmann::json& object, const char* field) {
  const auto it = object.find(field);
  if (it == object.end()) return Status::InvalidArgument(std::string("missing \"") + field + "\"");
  if (!it->is_string()) {
    return Status::InvalidArgument(std::string("\"") + field + "\" is not a string");
  }
  Result<Bytes> bytes = DecodeTrieHex(it->get_ref<const std::string&>());
  if (!bytes.ok()) {
    return Status::InvalidArgument(std::string("\"") + field +
                                   "\" is not hex: " + bytes.status().message());
  }
  return bytes;
}

Status CheckKeySize(size_t size) {
  if (size > trie::kMaxKeySize) {
    return Status::InvalidArgument("the key is " + std::to_string(size) +
                                   " bytes, longer than the trie's limit of " +
                                   std::to_string(trie::kMaxKeySize));
  }
  return Status::OK();
}

// Parses `text` as JSON; InvalidArgument (with the error's byte offset, never the
// input) if it is not.
Result<nlohmann::json> ParseJson(std::string_view text) {
  try {
    return nlohmann::json::parse(text.begin(), text.end());
  } catch (const nlohmann::json::parse_error& e) {
    return Status::InvalidArgument("not valid JSON (error at byte " + std::to_string(e.byte) + ")");
  } catch (const nlohmann::json::exception&) {
    return Status::InvalidArgument("not valid JSON");
  }
}

// One input line, already known not to be blank, as a trie operation.
Result<trie::TrieOp> ParseOpLine(std::string_view line) {
  VELLUM_ASSIGN_OR_RETURN(nlohmann::json j, ParseJson(line));
  if (!j.is_object()) {
    return Status::InvalidArgument(
        "not a JSON object (expected {\"key\":\"<hex>\",\"value\":\"<hex>\"})");
  }
  trie::TrieOp op;
  VELLUM_ASSIGN_OR_RETURN(op.key, HexField(j, "key"));
  VELLUM_RETURN_IF_ERROR(CheckKeySize(op.key.size()));
  const auto value = j.find("value");
  if (value != j.end() && value->is_null()) return op;  // null deletes, like ""
  VELLUM_ASSIGN_OR_RETURN(op.value, HexField(j, "value"));
  if (op.value.size() > trie::kMaxValueSize) {
    return Status::InvalidArgument("the value is " + std::to_string(op.value.size()) +
                                   " bytes, longer than the trie's limit of " +
                                   std::to_string(trie::kMaxValueSize));
  }
  return op;
}

// A value for a message: its hex, shortened if long.
std::string ShortHex(ByteView value) {
  constexpr size_t kShown = 32;
  if (value.size() <= kShown) return HexEncode(value);
  return HexEncode(value.first(kShown)) + "... (" + std::to_string(value.size()) + " bytes)";
}

// Why `claimed` (the JSON's "value") is not what the proof shows.
std::string MismatchReason(const std::optional<Bytes>& shown, const std::optional<Bytes>& claimed) {
  if (!shown.has_value()) return "the proof shows the key absent, but \"value\" is not null";
  if (!claimed.has_value()) {
    return "the proof shows the key present with value " + ShortHex(*shown) +
           ", but \"value\" is null";
  }
  return "the proof shows the value " + ShortHex(*shown) + ", not the one \"value\" claims";
}

// Progress on stderr only when it is the process's stderr and a terminal.
bool StderrIsTerminal(const std::ostream& err) {
  return err.rdbuf() == std::cerr.rdbuf() && isatty(STDERR_FILENO) == 1;
}

Status WriteLine(std::ostream& out, std::string_view line) {
  out.write(line.data(), static_cast<std::streamsize>(line.size()));
  out.put('\n');
  out.flush();
  if (!out) return Status::IOError("writing to stdout failed");
  return Status::OK();
}

constexpr char kInputFormat[] =
    "FILE holds one JSON object a line, {\"key\":\"<hex>\",\"value\":\"<hex>\"}, applied in\n"
    "order (for a key given twice, the later line wins). An empty value, \"\" or null,\n"
    "deletes the key. Blank lines are skipped. Hex may be upper or lower case, with or\n"
    "without a \"0x\" prefix. Keys are 0..1024 bytes, values at most 16 MiB. '-' as FILE\n"
    "reads stdin. A malformed line stops the command with an error naming the line.\n"
    "Lines are committed 10,000 at a time, so big files need little memory; on a\n"
    "terminal, progress is shown on stderr every 100,000 lines.\n";

}  // namespace

Result<Bytes> DecodeTrieHex(std::string_view hex) {
  if (hex.size() >= 2 && hex[0] == '0' && (hex[1] == 'x' || hex[1] == 'X')) hex.remove_prefix(2);
  return HexDecode(hex);
}

void RegisterTrieCommands(CommandRegistry& registry) {
  // The group's help shows only this summary, so it carries the example.
  registry.AddGroup("trie",
                    "Build a Merkle-Patricia trie from key/value lines and print its root, prove\n"
                    "a key, or verify a proof (e.g. 'vellum-db trie root --scheme ethereum "
                    "pairs.jsonl')");
  registry.AddCommand("trie root", "Print the root hash of the trie built from key/value lines",
                      [] { return std::make_unique<TrieRootCommand>(); });
  registry.AddCommand("trie prove", "Print a proof of a key's value or absence as JSON",
                      [] { return std::make_unique<TrieProveCommand>(); });
  registry.AddCommand("trie verify", "Check a proof JSON written by 'trie prove'",
                      [] { return std::make_unique<TrieVerifyCommand>(); });
}

// --- loading -------------------------------------------------------------------------

Result<LoadedTrie> LoadTrieLines(std::istream& in, const TrieLoadOptions& options,
                                 std::ostream& progress) {
  LoadedTrie loaded;
  loaded.store = std::make_unique<trie::MemNodeStore>();
  trie::TrieOptions trie_options;
  trie_options.scheme = options.scheme;
  trie_options.cache_bytes = 16 << 20;
  VELLUM_ASSIGN_OR_RETURN(loaded.trie, trie::Trie::Open(trie_options, loaded.store.get()));

  const size_t per_commit = std::max<size_t>(options.lines_per_commit, 1);
  std::vector<trie::TrieOp> batch;
  size_t batch_first_line = 0;
  uint64_t version = 0;
  auto commit = [&]() -> Status {
    if (batch.empty()) return Status::OK();
    const std::string where = "applying lines " + std::to_string(batch_first_line) + " to " +
                              std::to_string(loaded.lines);
    Result<trie::CommitInfo> info = loaded.trie->Commit(++version, std::move(batch));
    batch.clear();
    if (!info.ok()) return info.status().WithContext(where);
    // Only the latest state is needed: drop the nodes the older versions alone use.
    return loaded.trie->Prune(version).WithContext(where);
  };

  bool progress_shown = false;
  auto read_all = [&]() -> Status {
    LineReader reader(in.rdbuf());
    std::string line;
    for (;;) {
      const LineReader::Outcome outcome = reader.Next(&line, kMaxLineSize);
      if (outcome == LineReader::Outcome::kEnd) break;
      ++loaded.lines;
      if (outcome == LineReader::Outcome::kTooLong) {
        return Status::InvalidArgument(LineName(loaded.lines) + " is longer than the " +
                                       std::to_string(kMaxLineSize) + " bytes a line may have");
      }
      if (options.progress_every != 0 && loaded.lines % options.progress_every == 0) {
        progress << "\r" << kProgramName << ": " << loaded.lines << " lines read" << std::flush;
        progress_shown = true;
      }
      const std::string_view trimmed = TrimSpace(line);
      if (trimmed.empty()) continue;
      Result<trie::TrieOp> op = ParseOpLine(trimmed);
      if (!op.ok()) return op.status().WithContext(LineName(loaded.lines));
      if (batch.empty()) batch_first_line = loaded.lines;
      batch.push_back(std::move(op).value());
      if (batch.size() >= per_commit) VELLUM_RETURN_IF_ERROR(commit());
    }
    if (in.bad()) return Status::IOError("reading the input failed");
    return commit();
  };
  Status status = read_all();
  if (progress_shown) progress << "\n" << std::flush;  // errors start on a line of their own
  if (!status.ok()) return status;
  return loaded;
}

// --- shared --------------------------------------------------------------------------

std::vector<FlagSpec> TrieCommandBase::Flags() const {
  return {FlagSpec::Value("scheme", "S", "the trie scheme: ethereum or native (default native)")};
}

Status TrieCommandBase::InitCommon(const ParsedArgs& args, const std::vector<std::string>& names) {
  const std::optional<std::string> scheme = args.Get("scheme");
  if (scheme.has_value()) {
    Result<TrieScheme> parsed = trie::ParseTrieScheme(*scheme);
    if (!parsed.ok()) {
      return Status::InvalidArgument("--scheme must be " + std::string(kSchemeNames));
    }
    scheme_ = *parsed;
  }
  const std::vector<std::string>& given = args.positional();
  if (given.size() < names.size()) {
    return Status::InvalidArgument(
        "missing " + names[given.size()] +
        (names[given.size()].ends_with("FILE") ? " (use - for stdin)" : ""));
  }
  if (given.size() > names.size()) {
    std::string expected;
    for (const std::string& name : names) expected += (expected.empty() ? "" : " ") + name;
    return Status::InvalidArgument("too many arguments (expected " + expected + ")");
  }
  positional_ = given;
  return Status::OK();
}

Result<LoadedTrie> TrieCommandBase::Load(CommandIo& io) const {
  Input input;
  VELLUM_RETURN_IF_ERROR(input.Open(positional_.at(0), io.in));
  TrieLoadOptions options;
  options.scheme = scheme_;
  options.progress_every = StderrIsTerminal(io.err) ? kTrieProgressLines : 0;
  return LoadTrieLines(input.stream(), options, io.err);
}

// --- root ----------------------------------------------------------------------------

std::string TrieRootCommand::Synopsis() const { return "[--scheme ethereum|native] FILE"; }

std::string TrieRootCommand::Description() const {
  return std::string(
             "Builds the trie in memory and prints its root hash as lowercase hex and a\n"
             "newline. The root of an empty trie is 56e81f17...b421 (ethereum) or 64 zeros\n"
             "(native).\n\n") +
         kInputFormat;
}

std::string TrieRootCommand::Examples() const {
  return "  printf '%s\\n' '{\"key\":\"646f67\",\"value\":\"7075707079\"}' | "
         "vellum-db trie root --scheme ethereum -\n"
         "  vellum-db trie root pairs.jsonl\n";
}

Status TrieRootCommand::Init(const ParsedArgs& args, const GlobalOptions& /*globals*/) {
  return InitCommon(args, {"FILE"});
}

Status TrieRootCommand::Run(CommandIo& io) {
  VELLUM_ASSIGN_OR_RETURN(LoadedTrie loaded, Load(io));
  return WriteLine(io.out, HexEncode(loaded.trie->LatestRoot().hash));
}

// --- prove ---------------------------------------------------------------------------

std::string TrieProveCommand::Synopsis() const { return "[--scheme ethereum|native] FILE KEYHEX"; }

std::string TrieProveCommand::Description() const {
  return std::string(
             "Builds the trie in memory and prints a proof of KEYHEX as one line of JSON:\n"
             "  {\"root\":\"<hex>\",\"key\":\"<hex>\",\"value\":\"<hex>\" or null,"
             "\"proof\":[\"<hex>\",...]}\n"
             "\"value\" is null when the key is absent (the proof then shows its absence).\n"
             "\"proof\" is the list of proof items: for ethereum the RLP nodes from the root, as\n"
             "eth_getProof gives them; for native the steps of docs/formats/proof.md.\n"
             "Check it with 'vellum-db trie verify'.\n\n") +
         kInputFormat;
}

std::string TrieProveCommand::Examples() const {
  return "  vellum-db trie prove --scheme ethereum pairs.jsonl 0x646f67 > proof.json\n"
         "  vellum-db trie verify --scheme ethereum proof.json\n";
}

Status TrieProveCommand::Init(const ParsedArgs& args, const GlobalOptions& /*globals*/) {
  VELLUM_RETURN_IF_ERROR(InitCommon(args, {"FILE", "KEYHEX"}));
  Result<Bytes> key = DecodeTrieHex(positional_[1]);
  if (!key.ok()) return Status::InvalidArgument("KEYHEX is not hex: " + key.status().message());
  VELLUM_RETURN_IF_ERROR(CheckKeySize(key->size()));
  key_ = std::move(key).value();
  return Status::OK();
}

Status TrieProveCommand::Run(CommandIo& io) {
  VELLUM_ASSIGN_OR_RETURN(LoadedTrie loaded, Load(io));
  const trie::TrieRoot root = loaded.trie->LatestRoot();
  VELLUM_ASSIGN_OR_RETURN(std::optional<Bytes> value, loaded.trie->GetAtRoot(root, key_));
  VELLUM_ASSIGN_OR_RETURN(trie::Proof proof, loaded.trie->ProveAtRoot(root, key_));
  // The proof must show what the trie holds; anything else is a bug worth reporting.
  Result<std::optional<Bytes>> shown = trie::VerifyProof(scheme_, root.hash, key_, proof);
  if (!shown.ok() || *shown != value) {
    return Status::Corruption("internal error: the proof made does not verify");
  }

  nlohmann::ordered_json j;
  j["root"] = HexEncode(root.hash);
  j["key"] = HexEncode(key_);
  j["value"] = value.has_value() ? nlohmann::ordered_json(HexEncode(*value)) : nullptr;
  nlohmann::ordered_json items = nlohmann::ordered_json::array();
  for (const Bytes& item : proof.items) items.push_back(HexEncode(item));
  j["proof"] = std::move(items);
  return WriteLine(io.out, j.dump());
}

// --- verify --------------------------------------------------------------------------

std::string TrieVerifyCommand::Synopsis() const {
  return "[--scheme ethereum|native] PROOF_JSON_FILE";
}

std::string TrieVerifyCommand::Description() const {
  return "Reads a proof JSON as 'vellum-db trie prove' writes it ('-' reads stdin):\n"
         "  {\"root\":\"<hex>\",\"key\":\"<hex>\",\"value\":\"<hex>\" or null,"
         "\"proof\":[\"<hex>\",...]}\n"
         "and checks the proof items against the root and the key alone, with no database.\n"
         "If the proof holds and shows what \"value\" claims (null: the key is absent),\n"
         "prints the value as lowercase hex, or 'absent', and exits 0. Otherwise exits 1 with\n"
         "the reason: the proof is invalid for this root, key and scheme, or \"value\" does\n"
         "not match what the proof shows. Hex may be upper or lower case, with or without\n"
         "a \"0x\" prefix.\n";
}

std::string TrieVerifyCommand::Examples() const {
  return "  vellum-db trie verify --scheme ethereum proof.json\n"
         "  vellum-db trie prove pairs.jsonl 0x01ff | vellum-db trie verify -\n";
}

Status TrieVerifyCommand::Init(const ParsedArgs& args, const GlobalOptions& /*globals*/) {
  return InitCommon(args, {"PROOF_JSON_FILE"});
}

Status TrieVerifyCommand::Run(CommandIo& io) {
  Input input;
  VELLUM_RETURN_IF_ERROR(input.Open(positional_.at(0), io.in));
  VELLUM_ASSIGN_OR_RETURN(std::string text,
                          ReadAll(input.stream(), kMaxProofJsonSize, "the proof JSON"));
  if (input.stream().bad()) return Status::IOError("reading the proof JSON failed");

  Result<nlohmann::json> parsed = ParseJson(text);
  if (!parsed.ok()) return parsed.status().WithContext("the proof JSON");
  const nlohmann::json& j = *parsed;
  auto bad = [](const Status& s) { return s.WithContext("the proof JSON"); };
  if (!j.is_object()) return bad(Status::InvalidArgument("not a JSON object"));

  Result<Bytes> root_bytes = HexField(j, "root");
  if (!root_bytes.ok()) return bad(root_bytes.status());
  crypto::Hash256 root{};
  if (root_bytes->size() != root.size()) {
    return bad(Status::InvalidArgument("\"root\" is " + std::to_string(root_bytes->size()) +
                                       " bytes, not " + std::to_string(root.size())));
  }
  std::copy(root_bytes->begin(), root_bytes->end(), root.begin());

  Result<Bytes> key = HexField(j, "key");
  if (!key.ok()) return bad(key.status());
  if (Status s = CheckKeySize(key->size()); !s.ok()) return bad(s);

  const auto value_it = j.find("value");
  if (value_it == j.end()) return bad(Status::InvalidArgument("missing \"value\""));
  std::optional<Bytes> claimed;
  if (!value_it->is_null()) {
    Result<Bytes> value = HexField(j, "value");
    if (!value.ok()) return bad(value.status());
    if (value->empty()) {
      return bad(Status::InvalidArgument("\"value\" is empty; an absent key has null"));
    }
    claimed = std::move(value).value();
  }

  const auto proof_it = j.find("proof");
  if (proof_it == j.end()) return bad(Status::InvalidArgument("missing \"proof\""));
  if (!proof_it->is_array()) return bad(Status::InvalidArgument("\"proof\" is not an array"));
  trie::Proof proof;
  proof.scheme = scheme_;
  for (size_t i = 0; i < proof_it->size(); ++i) {
    const nlohmann::json& item = (*proof_it)[i];
    if (!item.is_string()) {
      return bad(
          Status::InvalidArgument("\"proof\" item " + std::to_string(i) + " is not a string"));
    }
    Result<Bytes> bytes = DecodeTrieHex(item.get_ref<const std::string&>());
    if (!bytes.ok()) {
      return bad(Status::InvalidArgument("\"proof\" item " + std::to_string(i) +
                                         " is not hex: " + bytes.status().message()));
    }
    proof.items.push_back(std::move(bytes).value());
  }

  Result<std::optional<Bytes>> shown = trie::VerifyProof(scheme_, root, *key, proof);
  if (!shown.ok()) {
    return Status::Corruption("the proof does not hold for this root and key (" +
                              std::string(trie::TrieSchemeName(scheme_)) +
                              " scheme): " + shown.status().message());
  }
  if (*shown != claimed) {
    return Status::Corruption("the proof holds but \"value\" does not match it: " +
                              MismatchReason(*shown, claimed));
  }
  return WriteLine(io.out, shown->has_value() ? HexEncode(**shown) : "absent");
}

}  // namespace vellum::tools
