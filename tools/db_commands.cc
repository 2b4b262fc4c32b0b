// Copyright (c) Vellum authors.

#include "tools/db_commands.h"

#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <istream>
#include <limits>
#include <ostream>
#include <set>
#include <system_error>
#include <utility>

#include "base/bytes.h"
#include "tools/ledger_json.h"
#include "vellum/options.h"

namespace vellum::tools {
namespace {

constexpr int64_t kMaxInt = std::numeric_limits<int64_t>::max();
// The largest proof or digest JSON read from a file.
constexpr size_t kMaxJsonFileSize = size_t{256} << 20;

constexpr char kKeyFileNote[] =
    "\nThe master key file is --key-file FILE, or $VELLUM_KEY_FILE when --key-file is not\n"
    "given; the ledger directory is --db DIR (default ./vellum-data).\n";

constexpr char kDataNote[] =
    "\nKEY and VALUE are UTF-8 text as given; with --hex both are hex, and values (and keys)\n"
    "are printed as lowercase hex.\n";

std::string Quote(std::string_view s) { return "'" + std::string(s) + "'"; }

std::string Plural(uint64_t n, std::string_view one, std::string_view many) {
  return std::to_string(n) + " " + std::string(n == 1 ? one : many);
}

// The whole of FILE ("-": `in`), refusing more than `max_size` bytes.
Result<std::string> ReadWholeFile(const std::string& path, std::istream& in, size_t max_size,
                                  std::string_view what) {
  std::ifstream file;
  std::istream* stream = &in;
  if (path != "-") {
    std::error_code ec;
    if (std::filesystem::is_directory(path, ec)) {
      return Status::InvalidArgument(Quote(path) + " is a directory, not a file");
    }
    file.open(path, std::ios::binary);
    if (!file.is_open()) {
      const int error = errno;
      return Status::IOError("cannot open " + Quote(path) + ": " +
                             (error != 0 ? std::strerror(error) : "unknown error"));
    }
    stream = &file;
  }
  VELLUM_ASSIGN_OR_RETURN(std::string data, ReadAll(*stream, max_size, what));
  if (stream->bad()) return Status::IOError("reading " + std::string(what) + " failed");
  return data;
}

// Parses an optional --at VERSION.
Status ParseAt(const ParsedArgs& args, std::optional<uint64_t>* at) {
  VELLUM_ASSIGN_OR_RETURN(std::optional<int64_t> v, ParseIntFlag(args, "at", 0, kMaxInt));
  if (v.has_value()) *at = static_cast<uint64_t>(*v);
  return Status::OK();
}

ReadOptions ReadAt(const std::optional<uint64_t>& at) {
  ReadOptions options;
  options.version = at;
  return options;
}

uint64_t VersionRead(DB& db, const std::optional<uint64_t>& at) {
  return at.has_value() ? *at : db.Latest().version;
}

// A NotFound from a read, made clearer when the table is missing at that version.
Status ReadError(DB& db, const Status& status, std::string_view table,
                 const std::optional<uint64_t>& at) {
  if (!status.IsNotFound()) return status;
  Result<std::vector<std::string>> tables = db.ListTables(ReadAt(at));
  if (tables.ok() && !std::binary_search(tables->begin(), tables->end(), std::string(table))) {
    std::string message =
        "no table " + Quote(table) + " at version " + std::to_string(VersionRead(db, at)) + " (";
    if (tables->empty()) {
      message += "the ledger has no tables";
    } else {
      message += "tables: ";
      for (size_t i = 0; i < tables->size(); ++i) message += (i ? ", " : "") + (*tables)[i];
    }
    return Status::NotFound(message + ")");
  }
  return status;
}

OrderedJson CommitJson(const CommitInfo& info) {
  OrderedJson j;
  j["version"] = info.version;
  j["state_root"] = HexOf(info.state_root);
  j["log_index"] = info.log_index;
  j["entry_hash"] = HexOf(info.entry_hash);
  return j;
}

std::string CommitText(const CommitInfo& info) {
  return "committed version " + std::to_string(info.version) + " (log entry " +
         std::to_string(info.log_index) + ")\nstate root " + HexOf(info.state_root) + "\n";
}

Status WriteText(std::ostream& out, std::string_view text) {
  out.write(text.data(), static_cast<std::streamsize>(text.size()));
  out.flush();
  if (!out) return Status::IOError("writing to stdout failed");
  return Status::OK();
}

// Shows progress lines on a terminal stderr ("\r" overwrites the previous one).
class Progress {
 public:
  explicit Progress(std::ostream& err) : err_(err), enabled_(IsTerminalStderr(err)) {}
  ~Progress() { Finish(); }
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  std::function<void(std::string_view)> Callback() {
    if (!enabled_) return nullptr;
    return [this](std::string_view line) {
      err_ << "\r\033[K" << kProgramName << ": " << line << std::flush;
      shown_ = true;
    };
  }
  void Finish() {
    if (shown_) err_ << "\n" << std::flush;
    shown_ = false;
  }

 private:
  std::ostream& err_;
  bool enabled_;
  bool shown_ = false;
};

}  // namespace

// --- shared ----------------------------------------------------------------------------

std::optional<std::string> ResolveKeyFile(const GlobalOptions& globals) {
  if (globals.key_file.has_value()) return globals.key_file;
  const char* env = std::getenv(std::string(kKeyFileEnv).c_str());
  if (env != nullptr && *env != '\0') return std::string(env);
  return std::nullopt;
}

bool IsTerminalStderr(const std::ostream& err) {
  return err.rdbuf() == std::cerr.rdbuf() && isatty(STDERR_FILENO) == 1;
}

std::string HexOf(const Hash& hash) { return HexEncode(ByteView(hash.data(), hash.size())); }

Status WriteOutLine(std::ostream& out, std::string_view line) {
  out.write(line.data(), static_cast<std::streamsize>(line.size()));
  out.put('\n');
  out.flush();
  if (!out) return Status::IOError("writing to stdout failed");
  return Status::OK();
}

std::string ShowData(std::string_view data, bool hex) {
  return hex ? HexEncode(AsBytes(data)) : std::string(data);
}

Status ExpectPositional(const ParsedArgs& args, const std::vector<std::string>& names) {
  const std::vector<std::string>& given = args.positional();
  if (given.size() < names.size()) return Status::InvalidArgument("missing " + names[given.size()]);
  if (given.size() > names.size()) {
    if (names.empty()) return Status::InvalidArgument("this command takes no arguments");
    std::string expected;
    for (const std::string& name : names) expected += (expected.empty() ? "" : " ") + name;
    return Status::InvalidArgument("too many arguments (expected " + expected + ")");
  }
  return Status::OK();
}

Status LedgerCommand::InitLedger(const GlobalOptions& globals, KeyNeed need) {
  db_path_ = globals.db.value_or(std::string(kDefaultDbDir));
  if (db_path_.empty()) return Status::InvalidArgument("--db needs a directory");
  json_ = globals.json;
  hex_ = globals.hex;
  if (need != KeyNeed::kNone) key_file_ = ResolveKeyFile(globals);
  if (key_file_.has_value() && key_file_->empty()) {
    return Status::InvalidArgument("--key-file needs a file name");
  }
  if (need == KeyNeed::kRequired && !key_file_.has_value()) {
    return Status::InvalidArgument(
        "this command needs the ledger's master key: give --key-file FILE or set " +
        std::string(kKeyFileEnv));
  }
  return Status::OK();
}

Result<std::string> LedgerCommand::DecodeArg(const std::string& arg, std::string_view name) const {
  if (!hex_) return arg;
  Result<Bytes> bytes = HexDecode(arg);
  if (!bytes.ok()) {
    return Status::InvalidArgument(std::string(name) +
                                   " is not hex (--hex): " + bytes.status().message());
  }
  return std::string(AsChars(*bytes));
}

Status LedgerCommand::OpenError(const Status& status) const {
  const std::string where = "cannot open the ledger in " + Quote(db_path_);
  if (status.IsNotFound()) {
    return Status::NotFound(where +
                            ": there is no ledger there (create one with 'vellum-db init')");
  }
  if (status.IsPermissionDenied()) {
    return Status::PermissionDenied(where + ": wrong master key (the key file " +
                                    Quote(key_file_.value_or("")) + " is not this ledger's)");
  }
  if (status.IsUnavailable()) {
    return Status::Unavailable(where + ": it is in use by another process (" + status.message() +
                               ")");
  }
  return status.WithContext(where);
}

Status LedgerCommand::WithLedger(const std::function<Status(DB&)>& fn) const {
  std::error_code ec;
  if (!std::filesystem::exists(db_path_, ec)) {
    return Status::NotFound("no ledger in " + Quote(db_path_) +
                            ": the directory does not exist (create one with 'vellum-db init', or "
                            "give --db DIR)");
  }
  Options options;
  if (key_file_.has_value()) {
    // Read the key once up front, for a message naming the file rather than the ledger.
    Result<MasterKey> key = MasterKey::ReadFile(*key_file_);
    if (!key.ok()) {
      if (key.status().IsNotFound()) {
        return Status::NotFound("the key file " + Quote(*key_file_) + " does not exist");
      }
      return key.status().WithContext("reading the key file " + Quote(*key_file_));
    }
    options.key_file = *key_file_;
  }
  std::unique_ptr<DB> db;
  Status status = DB::Open(options, db_path_, &db);
  if (!status.ok()) return OpenError(status);
  Status result = fn(*db);
  Status closed = db->Close();
  if (!result.ok()) return result;
  return closed.WithContext("closing the ledger");
}

void RegisterDbCommands(CommandRegistry& registry) {
  registry.AddCommand("init", "Create a ledger (and its master key file, if missing)",
                      [] { return std::make_unique<InitCommand>(); });
  registry.AddCommand("put", "Set a key's value in a table (creating the table if needed)",
                      [] { return std::make_unique<PutCommand>(); });
  registry.AddCommand("get", "Print a key's value, verified against the state root",
                      [] { return std::make_unique<GetCommand>(); });
  registry.AddCommand("delete", "Delete a key from a table",
                      [] { return std::make_unique<DeleteCommand>(); });
  registry.AddCommand("tables", "List the tables",
                      [] { return std::make_unique<TablesCommand>(); });
  registry.AddCommand("scan", "List the entries of a table",
                      [] { return std::make_unique<ScanCommand>(); });
  registry.AddCommand("history", "Print every change of a key",
                      [] { return std::make_unique<HistoryCommand>(); });
  registry.AddCommand("digest", "Print a signed digest of the ledger (JSON)",
                      [] { return std::make_unique<DigestCommand>(); });
  registry.AddCommand("verify", "Audit the whole ledger: log, tries, values",
                      [] { return std::make_unique<VerifyCommand>(); });
  registry.AddGroup("proof",
                    "Check ledger proofs without a database (e.g. 'vellum-db proof verify "
                    "proof.json --root HEX')");
  registry.AddCommand("proof verify", "Check a proof written by 'get --proof'",
                      [] { return std::make_unique<ProofVerifyCommand>(); });
  registry.AddCommand("forget", "Destroy the key shares of log entries (crypto-shredding)",
                      [] { return std::make_unique<ForgetCommand>(); });
  registry.AddCommand("stats", "Print the ledger's sizes and counts",
                      [] { return std::make_unique<StatsCommand>(); });
}

// --- init ------------------------------------------------------------------------------

std::vector<FlagSpec> InitCommand::Flags() const {
  return {
      FlagSpec::Value("holder", "PUBHEX",
                      "a log key holder's X25519 public key, 64 hex digits ('keys new' prints it)")
          .Repeatable(),
      FlagSpec::Value("threshold", "K", "how many holders decrypt a log entry (default 1)"),
  };
}

std::string InitCommand::Synopsis() const {
  return "[--db DIR] --key-file FILE [--holder PUBHEX]... [--threshold K]";
}

std::string InitCommand::Description() const {
  return std::string(
             "Creates a new, empty ledger in DIR (the directory is created; a directory that\n"
             "already holds a ledger is an error). The master key is read from FILE; if FILE\n"
             "does not exist, a new random master key is written there first (mode 0600).\n"
             "Keep that file safe and secret: without it the ledger cannot be opened.\n"
             "\n"
             "Each log entry's key is split K-of-N across the --holder public keys: any K of\n"
             "the holders' secret keys decrypt it ('vellum-db log decrypt'). Without --holder\n"
             "the ledger is its own holder (K = 1) and the master key alone decrypts the log.\n"
             "Holders are fixed at creation.\n"
             "\n"
             "Prints the ledger directory, the key file (created or reused), the holders and\n"
             "the ledger id and digest signing public key (pin the latter to check digests).\n") +
         kKeyFileNote;
}

std::string InitCommand::Examples() const {
  return "  vellum-db init --db ./ledger --key-file ./master.key\n"
         "  vellum-db keys new --out alice.key   # on each holder's machine; prints PUBHEX\n"
         "  vellum-db init --db ./ledger --key-file ./master.key \\\n"
         "      --holder $ALICE_PUB --holder $BOB_PUB --holder $CAROL_PUB --threshold 2\n";
}

Status InitCommand::Init(const ParsedArgs& args, const GlobalOptions& globals) {
  VELLUM_RETURN_IF_ERROR(ExpectPositional(args, {}));
  VELLUM_RETURN_IF_ERROR(InitLedger(globals, KeyNeed::kRequired));
  const std::vector<std::string> hexes = args.GetAll("holder");
  std::set<HolderKey::PublicKey> seen;
  for (size_t i = 0; i < hexes.size(); ++i) {
    Result<HolderKey::PublicKey> key = PublicKeyFromHex(TrimSpace(hexes[i]));
    if (!key.ok()) {
      return Status::InvalidArgument("--holder number " + std::to_string(i + 1) +
                                     " is not a public key (64 hex digits)");
    }
    if (!seen.insert(*key).second) {
      return Status::InvalidArgument("--holder number " + std::to_string(i + 1) +
                                     " repeats an earlier holder");
    }
    holders_.push_back(*key);
  }
  const int64_t n = holders_.empty() ? 1 : static_cast<int64_t>(holders_.size());
  Result<std::optional<int64_t>> threshold = ParseIntFlag(args, "threshold", 1, 255);
  if (!threshold.ok()) return threshold.status();
  if (threshold->has_value()) {
    if (**threshold > n) {
      return Status::InvalidArgument(
          holders_.empty()
              ? std::string("--threshold must be 1 without --holder (the ledger is its own holder)")
              : "--threshold " + std::to_string(**threshold) + " is more than the " +
                    std::to_string(n) + " holders given");
    }
    threshold_ = static_cast<int>(**threshold);
  }
  return Status::OK();
}

Status InitCommand::Run(CommandIo& io) {
  const std::string& key_path = *key_file_;
  std::error_code ec;
  bool created_key = false;
  if (std::filesystem::exists(key_path, ec)) {
    Result<MasterKey> existing = MasterKey::ReadFile(key_path);
    if (!existing.ok()) {
      return existing.status().WithContext("the key file " + Quote(key_path) +
                                           " exists but cannot be used");
    }
  } else {
    VELLUM_RETURN_IF_ERROR(MasterKey::Generate().WriteFile(key_path).WithContext(
        "writing the new key file " + Quote(key_path)));
    created_key = true;
  }

  Options options;
  options.create_if_missing = true;
  options.error_if_exists = true;
  options.key_file = key_path;
  options.log_key_holders = holders_;
  options.log_threshold = threshold_;
  std::unique_ptr<DB> db;
  Status status = DB::Open(options, db_path_, &db);
  if (!status.ok()) {
    // A key made for a ledger that was not created protects nothing: do not leave it.
    if (created_key) std::filesystem::remove(key_path, ec);
    if (status.IsAlreadyExists()) {
      return Status::AlreadyExists("a ledger already exists in " + Quote(db_path_));
    }
    return status.WithContext("creating the ledger in " + Quote(db_path_));
  }
  Result<Digest> digest = db->GetDigest();
  Status closed = db->Close();
  VELLUM_RETURN_IF_ERROR(closed.WithContext("closing the new ledger"));

  if (json_) {
    OrderedJson j;
    j["db"] = db_path_;
    j["key_file"] = key_path;
    j["key_file_created"] = created_key;
    OrderedJson holders = OrderedJson::array();
    for (const auto& holder : holders_) holders.push_back(PublicKeyToHex(holder));
    j["holders"] = std::move(holders);
    j["threshold"] = threshold_;
    if (digest.ok()) {
      j["ledger_id"] = digest->ledger_id;
      j["public_key"] = HexEncode(ByteView(digest->public_key.data(), digest->public_key.size()));
    }
    return WriteJsonLine(io.out, j);
  }
  std::string text = "created ledger in " + Quote(db_path_) + "\n";
  text += "master key file " + Quote(key_path) +
          (created_key ? ": created (mode 0600); keep it safe, the ledger cannot be opened "
                         "without it\n"
                       : ": existing key reused\n");
  if (holders_.empty()) {
    text +=
        "log key holders: none given, so the ledger is its own holder (1 of 1): the master key "
        "decrypts the log\n";
  } else {
    text += "log key holders: any " + std::to_string(threshold_) + " of " +
            std::to_string(holders_.size()) + " decrypt the log\n";
    for (size_t i = 0; i < holders_.size(); ++i) {
      text += "  holder " + std::to_string(i + 1) + ": " + PublicKeyToHex(holders_[i]) + "\n";
    }
  }
  if (digest.ok()) {
    text += "ledger id " + digest->ledger_id + "\n";
    text += "digest signing public key " +
            HexEncode(ByteView(digest->public_key.data(), digest->public_key.size())) + "\n";
  }
  return WriteText(io.out, text);
}

// --- put -------------------------------------------------------------------------------

std::string PutCommand::Synopsis() const { return "[--hex] TABLE KEY VALUE"; }

std::string PutCommand::Description() const {
  return std::string(
             "Sets KEY to VALUE in TABLE and commits it as a new version (synced to disk before\n"
             "it returns). A TABLE that does not exist yet is created in the same commit, and\n"
             "the output says so.\n"
             "\n"
             "Prints the new version, its log entry and its state root; with --json one line\n"
             "{\"version\":N,\"state_root\":\"<hex>\",\"log_index\":N,\"entry_hash\":\"<hex>\","
             "\"created_table\":BOOL}.\n") +
         kDataNote + kKeyFileNote;
}

std::string PutCommand::Examples() const {
  return "  vellum-db put accounts alice 100\n"
         "  vellum-db --json put accounts bob 250\n"
         "  vellum-db put --hex blobs 00ff 48656c6c6f\n";
}

Status PutCommand::Init(const ParsedArgs& args, const GlobalOptions& globals) {
  VELLUM_RETURN_IF_ERROR(ExpectPositional(args, {"TABLE", "KEY", "VALUE"}));
  VELLUM_RETURN_IF_ERROR(InitLedger(globals, KeyNeed::kRequired));
  table_ = args.positional()[0];
  if (table_.empty()) return Status::InvalidArgument("TABLE must not be empty");
  VELLUM_ASSIGN_OR_RETURN(key_, DecodeArg(args.positional()[1], "KEY"));
  VELLUM_ASSIGN_OR_RETURN(value_, DecodeArg(args.positional()[2], "VALUE"));
  return Status::OK();
}

Status PutCommand::Run(CommandIo& io) {
  return WithLedger([&](DB& db) -> Status {
    VELLUM_ASSIGN_OR_RETURN(std::vector<std::string> tables, db.ListTables());
    const bool create = !std::binary_search(tables.begin(), tables.end(), table_);
    WriteBatch batch;
    if (create) batch.CreateTable(table_);
    batch.Put(table_, key_, value_);
    Result<CommitInfo> info = db.Write({}, batch);
    if (!info.ok()) return info.status().WithContext("committing the write");
    if (json_) {
      OrderedJson j = CommitJson(*info);
      j["created_table"] = create;
      return WriteJsonLine(io.out, j);
    }
    return WriteText(io.out,
                     (create ? "created table " + Quote(table_) + "\n" : "") + CommitText(*info));
  });
}

// --- delete ----------------------------------------------------------------------------

std::string DeleteCommand::Synopsis() const { return "[--hex] TABLE KEY"; }

std::string DeleteCommand::Description() const {
  return std::string(
             "Deletes KEY from TABLE and commits it as a new version. Deleting a key that is\n"
             "not there still commits a version (recorded in the log) but changes no state;\n"
             "the output says so. A TABLE that does not exist is an error.\n"
             "\n"
             "Prints the new version, its log entry and its state root; with --json one line\n"
             "{\"version\":N,\"state_root\":\"<hex>\",\"log_index\":N,\"entry_hash\":\"<hex>\","
             "\"existed\":BOOL}.\n") +
         kDataNote + kKeyFileNote;
}

std::string DeleteCommand::Examples() const {
  return "  vellum-db delete accounts alice\n"
         "  vellum-db delete --hex blobs 00ff\n";
}

Status DeleteCommand::Init(const ParsedArgs& args, const GlobalOptions& globals) {
  VELLUM_RETURN_IF_ERROR(ExpectPositional(args, {"TABLE", "KEY"}));
  VELLUM_RETURN_IF_ERROR(InitLedger(globals, KeyNeed::kRequired));
  table_ = args.positional()[0];
  if (table_.empty()) return Status::InvalidArgument("TABLE must not be empty");
  VELLUM_ASSIGN_OR_RETURN(key_, DecodeArg(args.positional()[1], "KEY"));
  return Status::OK();
}

Status DeleteCommand::Run(CommandIo& io) {
  return WithLedger([&](DB& db) -> Status {
    // Only to say whether there was something to delete.
    Result<std::optional<std::string>> old = db.Get({}, table_, key_);
    if (!old.ok()) return ReadError(db, old.status(), table_, std::nullopt);
    const bool existed = old->has_value();
    WriteBatch batch;
    batch.Delete(table_, key_);
    Result<CommitInfo> info = db.Write({}, batch);
    if (!info.ok()) return info.status().WithContext("committing the delete");
    if (json_) {
      OrderedJson j = CommitJson(*info);
      j["existed"] = existed;
      return WriteJsonLine(io.out, j);
    }
    return WriteText(
        io.out, std::string(existed ? "deleted the key from " + Quote(table_)
                                    : "the key was not in " + Quote(table_) + "; nothing changed") +
                    "\n" + CommitText(*info));
  });
}

// --- get -------------------------------------------------------------------------------

std::vector<FlagSpec> GetCommand::Flags() const {
  return {
      FlagSpec::Value("at", "VERSION", "read the ledger as of this version (default: the latest)"),
      FlagSpec::Bool("proof", "print a proof of the value (or of its absence) as JSON"),
  };
}

std::string GetCommand::Synopsis() const { return "[--at VERSION] [--proof] [--hex] TABLE KEY"; }

std::string GetCommand::Description() const {
  return std::string(
             "Prints the value of KEY in TABLE and a newline, read from the version's trie and\n"
             "verified against its state root. With --json: {\"table\":..,\"key\":..,"
             "\"version\":N,\n\"found\":BOOL,\"value\":\"..\" or null}.\n"
             "\n"
             "An absent key prints 'not found' on stderr and exits 1 (with --json the object,\n"
             "with \"found\":false, is printed first). A missing table or a version outside the\n"
             "retention window also exits 1.\n"
             "\n"
             "--proof prints a LedgerProof JSON instead: evidence that at that version's state\n"
             "root the key had that value, or was absent. It exits 0 in both cases (the proof\n"
             "says which). Check it anywhere with 'vellum-db proof verify'.\n") +
         kDataNote + kKeyFileNote;
}

std::string GetCommand::Examples() const {
  return "  vellum-db get accounts alice\n"
         "  vellum-db get --at 3 accounts alice\n"
         "  vellum-db get --proof accounts alice > proof.json\n"
         "  vellum-db proof verify proof.json --root $(vellum-db digest | jq -r .state_root)\n";
}

Status GetCommand::Init(const ParsedArgs& args, const GlobalOptions& globals) {
  VELLUM_RETURN_IF_ERROR(ExpectPositional(args, {"TABLE", "KEY"}));
  VELLUM_RETURN_IF_ERROR(InitLedger(globals, KeyNeed::kRequired));
  VELLUM_RETURN_IF_ERROR(ParseAt(args, &at_));
  proof_ = args.Has("proof");
  table_ = args.positional()[0];
  if (table_.empty()) return Status::InvalidArgument("TABLE must not be empty");
  VELLUM_ASSIGN_OR_RETURN(key_, DecodeArg(args.positional()[1], "KEY"));
  return Status::OK();
}

Status GetCommand::Run(CommandIo& io) {
  return WithLedger([&](DB& db) -> Status {
    if (proof_) {
      Result<LedgerProof> proof = db.GetWithProof(ReadAt(at_), table_, key_);
      if (!proof.ok()) return ReadError(db, proof.status(), table_, at_);
      return WriteOutLine(io.out, TrimSpace(proof->ToJson()));
    }
    Result<std::optional<std::string>> value = db.Get(ReadAt(at_), table_, key_);
    if (!value.ok()) return ReadError(db, value.status(), table_, at_);
    const uint64_t version = VersionRead(db, at_);
    if (json_) {
      OrderedJson j;
      j["table"] = table_;
      j["key"] = DataJson(key_, hex_);
      j["version"] = version;
      j["found"] = value->has_value();
      j["value"] = value->has_value() ? DataJson(**value, hex_) : OrderedJson(nullptr);
      VELLUM_RETURN_IF_ERROR(WriteJsonLine(io.out, j));
    } else if (value->has_value()) {
      VELLUM_RETURN_IF_ERROR(WriteOutLine(io.out, ShowData(**value, hex_)));
    }
    if (!value->has_value()) {
      return Status::NotFound("not found: table " + Quote(table_) + " has no such key at version " +
                              std::to_string(version));
    }
    return Status::OK();
  });
}

// --- tables ----------------------------------------------------------------------------

std::vector<FlagSpec> TablesCommand::Flags() const {
  return {FlagSpec::Value("at", "VERSION", "list the tables of this version (default: latest)")};
}

std::string TablesCommand::Synopsis() const { return "[--at VERSION]"; }

std::string TablesCommand::Description() const {
  return std::string(
             "Prints the names of the tables, sorted, one per line. With --json:\n"
             "{\"version\":N,\"tables\":[\"..\",...]}.\n") +
         kKeyFileNote;
}

std::string TablesCommand::Examples() const {
  return "  vellum-db tables\n"
         "  vellum-db --json tables --at 2\n";
}

Status TablesCommand::Init(const ParsedArgs& args, const GlobalOptions& globals) {
  VELLUM_RETURN_IF_ERROR(ExpectPositional(args, {}));
  VELLUM_RETURN_IF_ERROR(InitLedger(globals, KeyNeed::kRequired));
  return ParseAt(args, &at_);
}

Status TablesCommand::Run(CommandIo& io) {
  return WithLedger([&](DB& db) -> Status {
    VELLUM_ASSIGN_OR_RETURN(std::vector<std::string> tables, db.ListTables(ReadAt(at_)));
    if (json_) {
      OrderedJson j;
      j["version"] = VersionRead(db, at_);
      j["tables"] = tables;
      return WriteJsonLine(io.out, j);
    }
    std::string text;
    for (const std::string& table : tables) text += table + "\n";
    return WriteText(io.out, text);
  });
}

// --- scan ------------------------------------------------------------------------------

std::vector<FlagSpec> ScanCommand::Flags() const {
  return {
      FlagSpec::Value("at", "VERSION", "read the table as of this version (default: latest)"),
      FlagSpec::Value("limit", "N", "print at most N entries"),
  };
}

std::string ScanCommand::Synopsis() const { return "[--at VERSION] [--limit N] [--hex] TABLE"; }

std::string ScanCommand::Description() const {
  return std::string(
             "Prints every entry of TABLE, one 'KEY<TAB>VALUE' line each, verified against\n"
             "the state root. The order is that of the keys' keyed hashes: stable, but not\n"
             "sorted. Use --hex (or --json) for keys or values that hold tabs, newlines or\n"
             "binary data. With --json: {\"table\":..,\"version\":N,\"entries\":[{\"key\":..,"
             "\"value\":..},...]}.\n") +
         kDataNote + kKeyFileNote;
}

std::string ScanCommand::Examples() const {
  return "  vellum-db scan accounts\n"
         "  vellum-db scan --limit 10 --hex blobs\n"
         "  vellum-db --json scan accounts --at 4\n";
}

Status ScanCommand::Init(const ParsedArgs& args, const GlobalOptions& globals) {
  VELLUM_RETURN_IF_ERROR(ExpectPositional(args, {"TABLE"}));
  VELLUM_RETURN_IF_ERROR(InitLedger(globals, KeyNeed::kRequired));
  VELLUM_RETURN_IF_ERROR(ParseAt(args, &at_));
  VELLUM_ASSIGN_OR_RETURN(std::optional<int64_t> limit, ParseIntFlag(args, "limit", 1, kMaxInt));
  limit_ = limit.has_value() ? static_cast<uint64_t>(*limit) : 0;
  table_ = args.positional()[0];
  if (table_.empty()) return Status::InvalidArgument("TABLE must not be empty");
  return Status::OK();
}

Status ScanCommand::Run(CommandIo& io) {
  return WithLedger([&](DB& db) -> Status {
    const uint64_t version = VersionRead(db, at_);
    if (json_) {
      OrderedJson head;
      head["table"] = table_;
      head["version"] = version;
      VELLUM_ASSIGN_OR_RETURN(std::string prefix, DumpJson(head));
      prefix.pop_back();  // the closing '}'
      io.out << prefix << ",\"entries\":[";
    }
    uint64_t count = 0;
    Status inner;
    Status status = db.Scan(ReadAt(at_), table_, [&](std::string_view key, std::string_view value) {
      if (json_) {
        OrderedJson entry;
        entry["key"] = DataJson(key, hex_);
        entry["value"] = DataJson(value, hex_);
        Result<std::string> text = DumpJson(entry);
        if (!text.ok()) {
          inner = text.status();
          return false;
        }
        io.out << (count == 0 ? "" : ",") << *text;
      } else {
        io.out << ShowData(key, hex_) << '\t' << ShowData(value, hex_) << '\n';
      }
      ++count;
      if (!io.out) {
        inner = Status::IOError("writing to stdout failed");
        return false;
      }
      return limit_ == 0 || count < limit_;
    });
    if (json_ && status.ok() && inner.ok()) io.out << "]}\n";
    io.out.flush();
    if (!status.ok()) return ReadError(db, status, table_, at_);
    VELLUM_RETURN_IF_ERROR(inner);
    if (!io.out) return Status::IOError("writing to stdout failed");
    return Status::OK();
  });
}

// --- history ---------------------------------------------------------------------------

std::vector<FlagSpec> HistoryCommand::Flags() const {
  return {FlagSpec::Value("limit", "N", "print only the newest N changes")};
}

std::string HistoryCommand::Synopsis() const { return "[--limit N] [--hex] TABLE KEY"; }

std::string HistoryCommand::Description() const {
  return std::string(
             "Prints every change of KEY in TABLE, oldest first, one line each:\n"
             "'version N: VALUE', or 'version N: deleted'. Changes within the retention\n"
             "window are verified against their version's state root. A key that was never\n"
             "written prints 'not found' on stderr and exits 1. With --json:\n"
             "{\"table\":..,\"key\":..,\"changes\":[{\"version\":N,\"value\":\"..\" or null,"
             "\"verified\":BOOL},...]}\n(null: deleted). A change older than the retention window "
             "is authenticated by\nits encryption but not checked against a state root; text "
             "output marks it\n'(not verified: older than the retention window)'.\n") +
         kDataNote + kKeyFileNote;
}

std::string HistoryCommand::Examples() const {
  return "  vellum-db history accounts alice\n"
         "  vellum-db --json history --limit 5 accounts alice\n";
}

Status HistoryCommand::Init(const ParsedArgs& args, const GlobalOptions& globals) {
  VELLUM_RETURN_IF_ERROR(ExpectPositional(args, {"TABLE", "KEY"}));
  VELLUM_RETURN_IF_ERROR(InitLedger(globals, KeyNeed::kRequired));
  VELLUM_ASSIGN_OR_RETURN(std::optional<int64_t> limit, ParseIntFlag(args, "limit", 1, kMaxInt));
  limit_ = limit.has_value() ? static_cast<uint64_t>(*limit) : 0;
  table_ = args.positional()[0];
  if (table_.empty()) return Status::InvalidArgument("TABLE must not be empty");
  VELLUM_ASSIGN_OR_RETURN(key_, DecodeArg(args.positional()[1], "KEY"));
  return Status::OK();
}

Status HistoryCommand::Run(CommandIo& io) {
  return WithLedger([&](DB& db) -> Status {
    Result<std::vector<HistoryEntry>> history =
        db.History(table_, key_, static_cast<size_t>(limit_));
    if (!history.ok()) return ReadError(db, history.status(), table_, std::nullopt);
    if (json_) {
      OrderedJson j;
      j["table"] = table_;
      j["key"] = DataJson(key_, hex_);
      OrderedJson changes = OrderedJson::array();
      for (const HistoryEntry& entry : *history) {
        OrderedJson change;
        change["version"] = entry.version;
        change["value"] = entry.value.has_value() ? DataJson(*entry.value, hex_) : nullptr;
        change["verified"] = entry.verified;
        changes.push_back(std::move(change));
      }
      j["changes"] = std::move(changes);
      VELLUM_RETURN_IF_ERROR(WriteJsonLine(io.out, j));
    } else {
      std::string text;
      for (const HistoryEntry& entry : *history) {
        text += "version " + std::to_string(entry.version) + ": " +
                (entry.value.has_value() ? ShowData(*entry.value, hex_) : "deleted") +
                (entry.verified ? "" : "  (not verified: older than the retention window)") + "\n";
      }
      VELLUM_RETURN_IF_ERROR(WriteText(io.out, text));
    }
    if (history->empty()) {
      return Status::NotFound("not found: the key has no history in table " + Quote(table_));
    }
    return Status::OK();
  });
}

// --- digest ----------------------------------------------------------------------------

std::string DigestCommand::Synopsis() const { return ""; }

std::string DigestCommand::Description() const {
  return std::string(
             "Prints a digest of the ledger's latest version as one line of JSON (always JSON;\n"
             "--json is accepted and changes nothing): the ledger id, version, state root, log\n"
             "size, log head hash and log Merkle root, signed with the ledger's Ed25519 key.\n"
             "Keep digests: 'vellum-db verify --against FILE' checks that the ledger still\n"
             "extends one (no rollback, no fork), and a digest's state_root is the trusted\n"
             "root for 'vellum-db proof verify --root'.\n") +
         kKeyFileNote;
}

std::string DigestCommand::Examples() const {
  return "  vellum-db digest > digest-v12.json\n"
         "  vellum-db verify --against digest-v12.json\n";
}

Status DigestCommand::Init(const ParsedArgs& args, const GlobalOptions& globals) {
  VELLUM_RETURN_IF_ERROR(ExpectPositional(args, {}));
  return InitLedger(globals, KeyNeed::kRequired);
}

Status DigestCommand::Run(CommandIo& io) {
  return WithLedger([&](DB& db) -> Status {
    VELLUM_ASSIGN_OR_RETURN(Digest digest, db.GetDigest());
    return WriteOutLine(io.out, TrimSpace(digest.ToJson()));
  });
}

// --- verify ----------------------------------------------------------------------------

std::vector<FlagSpec> VerifyCommand::Flags() const {
  return {FlagSpec::Value("against", "DIGEST_FILE",
                          "also check that the ledger extends this earlier digest")};
}

std::string VerifyCommand::Synopsis() const { return "[--against DIGEST_FILE]"; }

std::string VerifyCommand::Description() const {
  return std::string(
             "Audits the whole ledger: the log's hash chain, entry hashes, key share sets and\n"
             "Merkle accumulator; every table trie node against its parent's hash; every key\n"
             "and value against its keyed hash; the metadata. With --against, also that the\n"
             "ledger extends the digest in DIGEST_FILE (written by 'vellum-db digest'): same\n"
             "ledger, same signing key, and the digest's log is a prefix of today's.\n"
             "\n"
             "Clean: prints 'ok' with what was checked, exit 0. Otherwise prints one line per\n"
             "finding, 'LOCATION: PROBLEM', and exits 1. A ledger too damaged to open also\n"
             "exits 1. With --json: {\"ok\":BOOL,\"log_entries\":N,\"tables\":N,\"keys\":N,"
             "\"values\":N,\n\"findings\":[{\"location\":..,\"problem\":..},"
             "...]}. Progress is shown on stderr\nwhen it is a terminal.\n"
             "'vellum-db log verify' checks the log alone, without the master key.\n") +
         kKeyFileNote;
}

std::string VerifyCommand::Examples() const {
  return "  vellum-db verify\n"
         "  vellum-db verify --against digest-v12.json\n";
}

Status VerifyCommand::Init(const ParsedArgs& args, const GlobalOptions& globals) {
  VELLUM_RETURN_IF_ERROR(ExpectPositional(args, {}));
  VELLUM_RETURN_IF_ERROR(InitLedger(globals, KeyNeed::kRequired));
  against_ = args.Get("against");
  if (against_.has_value() && against_->empty()) {
    return Status::InvalidArgument("--against needs a file name");
  }
  return Status::OK();
}

Status PrintAuditReport(const AuditReport& report, bool json, bool log_only, std::ostream& out) {
  if (json) {
    OrderedJson j;
    j["ok"] = report.ok();
    j["log_entries"] = report.log_entries;
    if (!log_only) {
      j["tables"] = report.tables;
      j["keys"] = report.keys;
      j["values"] = report.values;
    }
    OrderedJson findings = OrderedJson::array();
    for (const AuditFinding& finding : report.findings) {
      OrderedJson f;
      f["location"] = finding.location;
      f["problem"] = finding.problem;
      findings.push_back(std::move(f));
    }
    j["findings"] = std::move(findings);
    VELLUM_RETURN_IF_ERROR(WriteJsonLine(out, j));
  } else if (report.ok()) {
    std::string text = "ok: " + Plural(report.log_entries, "log entry", "log entries");
    if (!log_only) {
      text += ", " + Plural(report.tables, "table", "tables") + ", " +
              Plural(report.keys, "key", "keys") + ", " + Plural(report.values, "value", "values");
    }
    VELLUM_RETURN_IF_ERROR(WriteOutLine(out, text + " checked"));
  } else {
    std::string text;
    for (const AuditFinding& finding : report.findings) {
      text += finding.location + ": " + finding.problem + "\n";
    }
    VELLUM_RETURN_IF_ERROR(WriteText(out, text));
  }
  if (!report.ok()) {
    return Status::Corruption(std::string(log_only ? "log verify" : "verify") + " found " +
                              Plural(report.findings.size(), "problem", "problems"));
  }
  return Status::OK();
}

Status VerifyCommand::Run(CommandIo& io) {
  AuditOptions audit;
  if (against_.has_value()) {
    VELLUM_ASSIGN_OR_RETURN(std::string text,
                            ReadWholeFile(*against_, io.in, kMaxJsonFileSize, "the digest file"));
    Result<Digest> digest = Digest::FromJson(text);
    if (!digest.ok()) {
      return digest.status().WithContext("the digest file " + Quote(*against_));
    }
    audit.against = std::move(digest).value();
  }
  return WithLedger([&](DB& db) -> Status {
    Progress progress(io.err);
    audit.progress = progress.Callback();
    Result<AuditReport> report = db.Verify(audit);
    progress.Finish();
    if (!report.ok()) return report.status().WithContext("verify");
    return PrintAuditReport(*report, json_, /*log_only=*/false, io.out);
  });
}

// --- proof verify ----------------------------------------------------------------------

std::vector<FlagSpec> ProofVerifyCommand::Flags() const {
  return {FlagSpec::Value("root", "HEX",
                          "the state root you trust (64 hex digits), e.g. a digest's state_root")};
}

std::string ProofVerifyCommand::Synopsis() const { return "[--root HEX] [--hex] FILE"; }

std::string ProofVerifyCommand::Description() const {
  return "Checks a proof JSON written by 'vellum-db get --proof' (FILE, or '-' for stdin)\n"
         "with no database: the two trie paths, from the key's keyed hash to its table's\n"
         "root and from the table to the state root.\n"
         "\n"
         "The state root is the one you trust, given with --root (take it from a digest\n"
         "you checked, 'vellum-db digest'). Without --root the proof is checked against its\n"
         "own state_root, which shows only that it is self-consistent; a warning says so.\n"
         "\n"
         "Without the master key the proof binds keyed hashes, not the table name, key and\n"
         "value themselves. With --key-file FILE (or $VELLUM_KEY_FILE) naming the ledger's\n"
         "master key, those are checked too. The output says whether they were.\n"
         "\n"
         "Holds: prints the value (or 'absent'), the table, version and state root, and\n"
         "whether the binding was checked; exit 0. With --json: {\"valid\":true,\"present\":"
         "BOOL,\n\"table\":..,\"key\":..,\"value\":..|null,\"ledger_id\":..,\"version\":N,\"state_"
         "root\":..,"
         "\"root_trusted\":BOOL,\n\"binding_checked\":BOOL}. Does not hold: exit 1 with the "
         "reason.\n"
         "With --hex, the key and value are printed as hex.\n";
}

std::string ProofVerifyCommand::Examples() const {
  return "  vellum-db get --proof accounts alice > proof.json\n"
         "  vellum-db proof verify proof.json --root 3b1f...e9\n"
         "  vellum-db proof verify --key-file master.key proof.json\n";
}

Status ProofVerifyCommand::Init(const ParsedArgs& args, const GlobalOptions& globals) {
  VELLUM_RETURN_IF_ERROR(ExpectPositional(args, {"FILE"}));
  file_ = args.positional()[0];
  json_ = globals.json;
  hex_ = globals.hex;
  key_file_explicit_ = globals.key_file.has_value();
  key_file_ = ResolveKeyFile(globals);
  if (key_file_.has_value() && key_file_->empty()) {
    return Status::InvalidArgument("--key-file needs a file name");
  }
  if (const std::optional<std::string> root = args.Get("root"); root.has_value()) {
    std::string_view hex = TrimSpace(*root);
    if (hex.size() >= 2 && hex[0] == '0' && (hex[1] == 'x' || hex[1] == 'X')) hex.remove_prefix(2);
    Result<Hash> hash = HashFromHex(hex);
    if (!hash.ok()) return Status::InvalidArgument("--root must be 64 hex digits");
    root_ = *hash;
  }
  return Status::OK();
}

Status ProofVerifyCommand::Run(CommandIo& io) {
  VELLUM_ASSIGN_OR_RETURN(std::string text,
                          ReadWholeFile(file_, io.in, kMaxJsonFileSize, "the proof JSON"));
  Result<LedgerProof> proof = LedgerProof::FromJson(text);
  if (!proof.ok()) return proof.status().WithContext("the proof JSON");

  std::optional<MasterKey> key;
  std::string key_note;
  if (key_file_.has_value()) {
    Result<MasterKey> read = MasterKey::ReadFile(*key_file_);
    if (read.ok()) {
      key.emplace(std::move(read).value());
    } else if (key_file_explicit_) {
      return read.status().WithContext("reading the key file " + Quote(*key_file_));
    } else {
      io.err << kProgramName << ": warning: cannot read the key file $" << kKeyFileEnv
             << " names, so the binding is not checked: " << read.status().message() << "\n";
    }
  }
  if (!root_.has_value()) {
    io.err << kProgramName
           << ": warning: no --root given: checked against the proof's own state root, which "
              "shows only that the proof is self-consistent, not that it is the ledger's\n";
  }
  const Hash trusted = root_.value_or(proof->state_root);
  Result<ProofCheck> check = VerifyLedgerProof(*proof, trusted, key.has_value() ? &*key : nullptr);
  if (!check.ok()) {
    return Status::Corruption("the proof does not hold: " + check.status().message());
  }
  if (json_) {
    OrderedJson j;
    j["valid"] = true;
    j["present"] = check->present;
    j["table"] = proof->table;
    j["key"] = DataJson(proof->key, hex_);
    j["value"] = check->value.has_value() ? DataJson(*check->value, hex_) : OrderedJson(nullptr);
    j["ledger_id"] = proof->ledger_id;
    j["version"] = proof->version;
    j["state_root"] = HexOf(trusted);
    j["root_trusted"] = root_.has_value();
    j["binding_checked"] = check->binding_checked;
    return WriteJsonLine(io.out, j);
  }
  std::string out;
  out += "value: " +
         (check->present && check->value.has_value() ? ShowData(*check->value, hex_)
                                                     : std::string("absent")) +
         "\n";
  out += "table: " + proof->table + "\n";
  out += "ledger: " + proof->ledger_id + "\n";
  out += "version: " + std::to_string(proof->version) + "\n";
  out += "state root: " + HexOf(trusted) +
         (root_.has_value() ? " (given with --root)\n"
                            : " (the proof's own; NOT checked against a trusted root)\n");
  out += check->binding_checked
             ? "binding: checked: the table name, key and value match their keyed hashes\n"
             : "binding: not checked (no master key): the proof binds keyed hashes only\n";
  return WriteText(io.out, out);
}

// --- forget ----------------------------------------------------------------------------

std::vector<FlagSpec> ForgetCommand::Flags() const {
  return {
      FlagSpec::Value("from", "I", "the first log entry to forget (1-based)"),
      FlagSpec::Value("to", "J", "the last log entry to forget (default: I)"),
  };
}

std::string ForgetCommand::Synopsis() const { return "--from I [--to J]"; }

std::string ForgetCommand::Description() const {
  return std::string(
             "Crypto-shredding: destroys the key shares of log entries I..J (inclusive), so\n"
             "that nobody, not even all the holders together, can decrypt their payloads\n"
             "again. It cannot be undone and asks for no confirmation. The hash chain, the\n"
             "Merkle accumulator, digests and proofs still verify ('vellum-db log verify'), and\n"
             "the ledger's current state is unchanged: only the log's record of those writes\n"
             "becomes unreadable.\n"
             "\n"
             "Prints the range and how many entries were forgotten now (entries forgotten\n"
             "before are counted apart). With --json: {\"from\":I,\"to\":J,\"forgotten\":N,\n"
             "\"already_forgotten\":N}.\n") +
         kKeyFileNote;
}

std::string ForgetCommand::Examples() const {
  return "  vellum-db forget --from 1 --to 100\n"
         "  vellum-db forget --from 7\n";
}

Status ForgetCommand::Init(const ParsedArgs& args, const GlobalOptions& globals) {
  VELLUM_RETURN_IF_ERROR(ExpectPositional(args, {}));
  VELLUM_RETURN_IF_ERROR(InitLedger(globals, KeyNeed::kRequired));
  VELLUM_ASSIGN_OR_RETURN(std::optional<int64_t> from, ParseIntFlag(args, "from", 1, kMaxInt));
  VELLUM_ASSIGN_OR_RETURN(std::optional<int64_t> to, ParseIntFlag(args, "to", 1, kMaxInt));
  if (!from.has_value()) return Status::InvalidArgument("missing --from I");
  from_ = static_cast<uint64_t>(*from);
  to_ = to.has_value() ? static_cast<uint64_t>(*to) : from_;
  if (to_ < from_) return Status::InvalidArgument("--to must not be less than --from");
  return Status::OK();
}

Status ForgetCommand::Run(CommandIo& io) {
  return WithLedger([&](DB& db) -> Status {
    const uint64_t log_size = db.Latest().log_index;
    if (to_ > log_size) {
      return Status::InvalidArgument("the log has " + Plural(log_size, "entry", "entries") +
                                     "; --to " + std::to_string(to_) + " is past its end");
    }
    VELLUM_ASSIGN_OR_RETURN(uint64_t forgotten, db.Forget(from_, to_));
    const uint64_t range = to_ - from_ + 1;
    const uint64_t already = range >= forgotten ? range - forgotten : 0;
    if (json_) {
      OrderedJson j;
      j["from"] = from_;
      j["to"] = to_;
      j["forgotten"] = forgotten;
      j["already_forgotten"] = already;
      return WriteJsonLine(io.out, j);
    }
    std::string text = "forgot log entries " + std::to_string(from_) + ".." + std::to_string(to_) +
                       ": destroyed the key shares of " + Plural(forgotten, "entry", "entries");
    if (already > 0) text += " (" + std::to_string(already) + " had been forgotten before)";
    text +=
        "\ntheir payloads can no longer be decrypted by anyone; the chain and proofs still "
        "verify\n";
    return WriteText(io.out, text);
  });
}

// --- stats -----------------------------------------------------------------------------

std::string StatsCommand::Synopsis() const { return ""; }

std::string StatsCommand::Description() const {
  return std::string(
             "Prints the latest and oldest readable versions, the log's size, the number of\n"
             "tables, and per RocksDB column family the bytes in table files on disk, the\n"
             "bytes in memtables (also in the write-ahead log) and the estimated number of\n"
             "keys. Works without the master key (the number of tables, whose names are\n"
             "encrypted, is then unknown: null in JSON). With --json: {\"version\":N,\n"
             "\"oldest_version\":N,\"log_size\":N,\"tables\":N,\"sst_bytes\":N,"
             "\"memtable_bytes\":N,\n\"column_families\":[{\"name\":..,\"sst_bytes\":N,"
             "\"memtable_bytes\":N,\"estimated_keys\":N},...]}\n(the top-level byte counts are "
             "the sums).\n") +
         kKeyFileNote;
}

std::string StatsCommand::Examples() const {
  return "  vellum-db stats\n"
         "  vellum-db --json stats --db ./ledger\n";
}

Status StatsCommand::Init(const ParsedArgs& args, const GlobalOptions& globals) {
  VELLUM_RETURN_IF_ERROR(ExpectPositional(args, {}));
  return InitLedger(globals, KeyNeed::kOptional);
}

Status StatsCommand::Run(CommandIo& io) {
  return WithLedger([&](DB& db) -> Status {
    VELLUM_ASSIGN_OR_RETURN(DBStats stats, db.GetStats());
    const bool keyless = !key_file_.has_value();
    uint64_t sst_bytes = 0;
    uint64_t memtable_bytes = 0;
    for (const DBStats::ColumnFamily& cf : stats.column_families) {
      sst_bytes += cf.sst_bytes;
      memtable_bytes += cf.memtable_bytes;
    }
    if (json_) {
      OrderedJson j;
      j["version"] = stats.version;
      j["oldest_version"] = stats.oldest_version;
      j["log_size"] = stats.log_size;
      // Opened keyless, the ledger cannot read its (encrypted) table list.
      j["tables"] = keyless ? OrderedJson(nullptr) : OrderedJson(stats.tables);
      j["sst_bytes"] = sst_bytes;
      j["memtable_bytes"] = memtable_bytes;
      OrderedJson families = OrderedJson::array();
      for (const DBStats::ColumnFamily& cf : stats.column_families) {
        OrderedJson f;
        f["name"] = cf.name;
        f["sst_bytes"] = cf.sst_bytes;
        f["memtable_bytes"] = cf.memtable_bytes;
        f["estimated_keys"] = cf.estimated_keys;
        families.push_back(std::move(f));
      }
      j["column_families"] = std::move(families);
      return WriteJsonLine(io.out, j);
    }
    std::string text;
    auto row = [&](std::string label, uint64_t value) {
      label.resize(std::max<size_t>(label.size() + 1, 16), ' ');
      text += label + std::to_string(value) + "\n";
    };
    row("version", stats.version);
    row("oldest version", stats.oldest_version);
    row("log entries", stats.log_size);
    if (keyless) {
      text += "tables          unknown without the master key\n";
    } else {
      row("tables", stats.tables);
    }
    row("sst bytes", sst_bytes);
    row("memtable bytes", memtable_bytes);
    if (!stats.column_families.empty()) {
      size_t width = 0;
      for (const auto& cf : stats.column_families) width = std::max(width, cf.name.size());
      text += "column families (sst bytes, memtable bytes, estimated keys):\n";
      for (const DBStats::ColumnFamily& cf : stats.column_families) {
        std::string name = cf.name;
        name.resize(width, ' ');
        text += "  " + name + "  " + std::to_string(cf.sst_bytes) + "  " +
                std::to_string(cf.memtable_bytes) + "  " + std::to_string(cf.estimated_keys) + "\n";
      }
    }
    return WriteText(io.out, text);
  });
}

}  // namespace vellum::tools
