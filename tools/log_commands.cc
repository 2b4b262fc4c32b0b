// Copyright (c) Vellum authors.

#include "tools/log_commands.h"

#include <ctime>
#include <limits>
#include <memory>
#include <ostream>
#include <span>
#include <string_view>
#include <utility>

#include "base/bytes.h"
#include "tools/ledger_json.h"
#include "vellum/db.h"
#include "vellum/keys.h"

namespace vellum::tools {
namespace {

constexpr int64_t kMaxInt = std::numeric_limits<int64_t>::max();

constexpr char kKeylessNote[] =
    "\nNeeds no key: the log's headers and integrity are readable without the master key.\n"
    "A key given with --key-file (or $VELLUM_KEY_FILE) is checked when the ledger opens.\n"
    "The ledger directory is --db DIR (default ./vellum-data).\n";

std::string Quote(std::string_view s) { return "'" + std::string(s) + "'"; }

std::string Plural(uint64_t n, std::string_view one, std::string_view many) {
  return std::to_string(n) + " " + std::string(n == 1 ? one : many);
}

Status ParseRangeFlags(const ParsedArgs& args, LogRange* range) {
  VELLUM_ASSIGN_OR_RETURN(std::optional<int64_t> from, ParseIntFlag(args, "from", 1, kMaxInt));
  VELLUM_ASSIGN_OR_RETURN(std::optional<int64_t> to, ParseIntFlag(args, "to", 1, kMaxInt));
  if (from.has_value()) range->from = static_cast<uint64_t>(*from);
  if (to.has_value()) range->to = static_cast<uint64_t>(*to);
  if (range->from.has_value() && range->to.has_value() && *range->to < *range->from) {
    return Status::InvalidArgument("--to must not be less than --from");
  }
  return Status::OK();
}

Status WriteText(std::ostream& out, std::string_view text) {
  out.write(text.data(), static_cast<std::streamsize>(text.size()));
  out.flush();
  if (!out) return Status::IOError("writing to stdout failed");
  return Status::OK();
}

std::string_view OpName(WriteBatch::OpKind kind) {
  switch (kind) {
    case WriteBatch::OpKind::kPut:
      return "put";
    case WriteBatch::OpKind::kDelete:
      return "delete";
    case WriteBatch::OpKind::kCreateTable:
      return "create_table";
    case WriteBatch::OpKind::kDropTable:
      return "drop_table";
  }
  return "unknown";
}

bool IsTableOp(WriteBatch::OpKind kind) {
  return kind == WriteBatch::OpKind::kCreateTable || kind == WriteBatch::OpKind::kDropTable;
}

}  // namespace

void RegisterLogCommands(CommandRegistry& registry) {
  registry.AddGroup("log",
                    "Inspect, verify and decrypt the ledger's hash-chained, encrypted log (e.g. "
                    "'vellum-db log verify --db DIR')");
  registry.AddCommand("log show", "Print the headers of log entries",
                      [] { return std::make_unique<LogShowCommand>(); });
  registry.AddCommand("log verify", "Check the log's hash chain and accumulator (no key needed)",
                      [] { return std::make_unique<LogVerifyCommand>(); });
  registry.AddCommand("log decrypt", "Decrypt log entries' writes with holder keys",
                      [] { return std::make_unique<LogDecryptCommand>(); });
}

std::string FormatTimeMicros(uint64_t micros) {
  const std::time_t seconds = static_cast<std::time_t>(micros / 1'000'000);
  std::tm tm{};
  if (gmtime_r(&seconds, &tm) == nullptr) return std::to_string(micros) + "us";
  char date[32];
  std::strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &tm);
  char fraction[16];
  std::snprintf(fraction, sizeof(fraction), ".%06llu",
                static_cast<unsigned long long>(micros % 1'000'000));
  return std::string(date) + fraction + "Z";
}

Result<std::pair<uint64_t, uint64_t>> LogRange::Resolve(uint64_t log_size) const {
  const uint64_t first = from.value_or(1);
  const uint64_t last = to.value_or(log_size);
  if ((from.has_value() || to.has_value()) && (first > log_size || last > log_size)) {
    return Status::InvalidArgument("the log has " + Plural(log_size, "entry", "entries") +
                                   "; entry " + std::to_string(std::max(first, last)) +
                                   " is past its end");
  }
  return std::make_pair(first, last);
}

// --- log show --------------------------------------------------------------------------

std::vector<FlagSpec> LogShowCommand::Flags() const {
  return {
      FlagSpec::Value("from", "I", "the first entry to show (default 1)"),
      FlagSpec::Value("to", "J", "the last entry to show (default: the last)"),
  };
}

std::string LogShowCommand::Synopsis() const { return "[--from I] [--to J]"; }

std::string LogShowCommand::Description() const {
  return std::string(
             "Prints the headers of log entries I..J (all by default), oldest first: index,\n"
             "ledger version, Raft term, commit time (UTC), payload size, the k-of-n split of\n"
             "its key, whether it was forgotten, and its hashes (entry, previous entry, state\n"
             "root after it, payload, share set). The payload itself stays encrypted: see\n"
             "'vellum-db log decrypt'. With --json: {\"entries\":[{\"index\":N,\"version\":N,"
             "\"term\":N,\n\"time_micros\":N,\"time\":\"..\",\"payload_bytes\":N,\"threshold\":N,"
             "\"holders\":N,\"forgotten\":BOOL,\n\"entry_hash\":..,\"prev_entry_hash\":..,"
             "\"state_root_after\":..,\"payload_hash\":..,\n\"key_share_set_id\":..},...]}.\n") +
         kKeylessNote;
}

std::string LogShowCommand::Examples() const {
  return "  vellum-db log show\n"
         "  vellum-db log show --from 10 --to 20\n"
         "  vellum-db --json log show --from 5 --to 5\n";
}

Status LogShowCommand::Init(const ParsedArgs& args, const GlobalOptions& globals) {
  VELLUM_RETURN_IF_ERROR(ExpectPositional(args, {}));
  VELLUM_RETURN_IF_ERROR(InitLedger(globals, KeyNeed::kOptional));
  return ParseRangeFlags(args, &range_);
}

Status LogShowCommand::Run(CommandIo& io) {
  return WithLedger([&](DB& db) -> Status {
    VELLUM_ASSIGN_OR_RETURN(auto range, range_.Resolve(db.Latest().log_index));
    OrderedJson entries = OrderedJson::array();
    for (uint64_t i = range.first; i <= range.second; ++i) {
      Result<LogEntryInfo> entry = db.GetLogEntry(i);
      if (!entry.ok()) return entry.status().WithContext("log entry " + std::to_string(i));
      const LogEntryInfo& e = *entry;
      if (json_) {
        OrderedJson j;
        j["index"] = e.index;
        j["version"] = e.version;
        j["term"] = e.term;
        j["time_micros"] = e.time_micros;
        j["time"] = FormatTimeMicros(e.time_micros);
        j["payload_bytes"] = e.payload_bytes;
        j["threshold"] = e.threshold;
        j["holders"] = e.holders;
        j["forgotten"] = e.forgotten;
        j["entry_hash"] = HexOf(e.entry_hash);
        j["prev_entry_hash"] = HexOf(e.prev_entry_hash);
        j["state_root_after"] = HexOf(e.state_root_after);
        j["payload_hash"] = HexOf(e.payload_hash);
        j["key_share_set_id"] = HexOf(e.key_share_set_id);
        entries.push_back(std::move(j));
        continue;
      }
      std::string text = "entry " + std::to_string(e.index) + "  version " +
                         std::to_string(e.version) + "  term " + std::to_string(e.term) + "  " +
                         FormatTimeMicros(e.time_micros) + "  payload " +
                         Plural(e.payload_bytes, "byte", "bytes") + "  key " +
                         std::to_string(e.threshold) + "-of-" + std::to_string(e.holders) +
                         (e.forgotten ? "  FORGOTTEN" : "") + "\n";
      text += "  entry hash    " + HexOf(e.entry_hash) + "\n";
      text += "  prev hash     " + HexOf(e.prev_entry_hash) + "\n";
      text += "  state root    " + HexOf(e.state_root_after) + "\n";
      text += "  payload hash  " + HexOf(e.payload_hash) + "\n";
      text += "  share set     " + HexOf(e.key_share_set_id) + "\n";
      VELLUM_RETURN_IF_ERROR(WriteText(io.out, text));
    }
    if (json_) {
      OrderedJson j;
      j["entries"] = std::move(entries);
      return WriteJsonLine(io.out, j);
    }
    return Status::OK();
  });
}

// --- log verify ------------------------------------------------------------------------

std::string LogVerifyCommand::Synopsis() const { return ""; }

std::string LogVerifyCommand::Description() const {
  return std::string(
             "Checks the log alone: every entry's hash and its link to the previous one, the\n"
             "key share sets, the RFC 6962 Merkle accumulator over the entry hashes, and the\n"
             "head record. Forgotten entries (crypto-shredded) still verify.\n"
             "Clean: prints 'ok: N log entries checked', exit 0. Otherwise one line per\n"
             "finding, 'LOCATION: PROBLEM', and exit 1. With --json: {\"ok\":BOOL,"
             "\"log_entries\":N,\n\"findings\":[{\"location\":..,\"problem\":..},...]}.\n"
             "'vellum-db verify' checks everything, with the master key.\n") +
         kKeylessNote;
}

std::string LogVerifyCommand::Examples() const {
  return "  vellum-db log verify --db ./ledger\n"
         "  vellum-db --json log verify\n";
}

Status LogVerifyCommand::Init(const ParsedArgs& args, const GlobalOptions& globals) {
  VELLUM_RETURN_IF_ERROR(ExpectPositional(args, {}));
  return InitLedger(globals, KeyNeed::kOptional);
}

Status LogVerifyCommand::Run(CommandIo& io) {
  return WithLedger([&](DB& db) -> Status {
    AuditOptions audit;
    audit.log_only = true;
    bool shown = false;
    if (IsTerminalStderr(io.err)) {
      audit.progress = [&](std::string_view line) {
        io.err << "\r\033[K" << kProgramName << ": " << line << std::flush;
        shown = true;
      };
    }
    Result<AuditReport> report = db.Verify(audit);
    if (shown) io.err << "\n" << std::flush;
    if (!report.ok()) return report.status().WithContext("log verify");
    return PrintAuditReport(*report, json_, /*log_only=*/true, io.out);
  });
}

// --- log decrypt -----------------------------------------------------------------------

std::vector<FlagSpec> LogDecryptCommand::Flags() const {
  return {
      FlagSpec::Value("holder-key", "FILE", "a holder's key file ('keys new --out FILE')")
          .Repeatable(),
      FlagSpec::Value("index", "I", "decrypt only entry I"),
      FlagSpec::Value("from", "I", "the first entry to decrypt (default 1)"),
      FlagSpec::Value("to", "J", "the last entry to decrypt (default: the last)"),
  };
}

std::string LogDecryptCommand::Synopsis() const {
  return "[--holder-key FILE]... [--index I | --from I --to J] [--hex]";
}

std::string LogDecryptCommand::Description() const {
  return "Decrypts the write sets of log entries (all by default) and prints their\n"
         "operations, oldest first:\n"
         "  entry N (version V): K ops\n"
         "    create_table TABLE | drop_table TABLE | put TABLE KEY VALUE | delete TABLE KEY\n"
         "Each entry's key was split k-of-n across the holders named at 'vellum-db init'\n"
         "(in a vellum-node's ledger, DATA_DIR/ledger: the members' holder.key files when\n"
         "the entry was written, k a majority): give at least k holders' key files with\n"
         "--holder-key (keys of other holders are ignored). Fewer than k: exit 1, saying\n"
         "how many the entry needs. A ledger created without --holder is its own holder:\n"
         "give no --holder-key, only the master key (--key-file or $VELLUM_KEY_FILE).\n"
         "\n"
         "Entries whose key shares were destroyed ('vellum-db forget') cannot be decrypted\n"
         "by anyone: with --index that is an error; over a range each is reported as\n"
         "'entry N: forgotten' and the command exits 1 after the others are printed.\n"
         "\n"
         "With --json: {\"entries\":[{\"index\":N,\"version\":N,\"forgotten\":BOOL,\"ops\":"
         "[{\"op\":\"put\",\n\"table\":..,\"key\":..,\"value\":..},...]},...]}. Keys and values "
         "are text unless --hex.\n"
         "The decrypted data is printed to stdout: mind where it goes.\n";
}

std::string LogDecryptCommand::Examples() const {
  return "  vellum-db log decrypt --holder-key alice.key --holder-key bob.key\n"
         "  vellum-db log decrypt --holder-key alice.key --holder-key carol.key --index 7\n"
         "  vellum-db log decrypt --key-file master.key   # a ledger that is its own holder\n";
}

Status LogDecryptCommand::Init(const ParsedArgs& args, const GlobalOptions& globals) {
  VELLUM_RETURN_IF_ERROR(ExpectPositional(args, {}));
  VELLUM_RETURN_IF_ERROR(InitLedger(globals, KeyNeed::kOptional));
  VELLUM_RETURN_IF_ERROR(ParseRangeFlags(args, &range_));
  VELLUM_ASSIGN_OR_RETURN(std::optional<int64_t> index, ParseIntFlag(args, "index", 1, kMaxInt));
  if (index.has_value()) {
    if (range_.from.has_value() || range_.to.has_value()) {
      return Status::InvalidArgument("give either --index or --from/--to, not both");
    }
    range_.from = static_cast<uint64_t>(*index);
    range_.to = range_.from;
  }
  holder_key_files_ = args.GetAll("holder-key");
  for (const std::string& file : holder_key_files_) {
    if (file.empty()) return Status::InvalidArgument("--holder-key needs a file name");
  }
  return Status::OK();
}

Status LogDecryptCommand::Run(CommandIo& io) {
  std::vector<HolderKey> keys;
  keys.reserve(holder_key_files_.size());
  for (const std::string& file : holder_key_files_) {
    Result<HolderKey> key = HolderKey::ReadFile(file);
    if (!key.ok()) {
      if (key.status().IsNotFound()) {
        return Status::NotFound("the holder key file " + Quote(file) + " does not exist");
      }
      return key.status().WithContext("reading the holder key file " + Quote(file));
    }
    keys.push_back(std::move(key).value());
  }
  std::vector<const HolderKey*> key_pointers;
  for (const HolderKey& key : keys) key_pointers.push_back(&key);
  const bool single = range_.from.has_value() && range_.from == range_.to;

  return WithLedger([&](DB& db) -> Status {
    VELLUM_ASSIGN_OR_RETURN(auto range, range_.Resolve(db.Latest().log_index));
    OrderedJson entries = OrderedJson::array();
    uint64_t forgotten = 0;
    for (uint64_t i = range.first; i <= range.second; ++i) {
      const std::string where = "log entry " + std::to_string(i);
      Result<LogEntryInfo> info = db.GetLogEntry(i);
      if (!info.ok()) return info.status().WithContext(where);
      if (info->forgotten) {
        if (single) {
          return Status::FailedPrecondition(
              where +
              " cannot be decrypted: its key shares were destroyed ('vellum-db forget'); "
              "nobody can read its payload any more");
        }
        ++forgotten;
        if (json_) {
          OrderedJson j;
          j["index"] = info->index;
          j["version"] = info->version;
          j["forgotten"] = true;
          j["ops"] = OrderedJson::array();
          entries.push_back(std::move(j));
        } else {
          VELLUM_RETURN_IF_ERROR(WriteText(
              io.out, "entry " + std::to_string(i) + " (version " + std::to_string(info->version) +
                          "): forgotten (its key shares were destroyed)\n"));
        }
        continue;
      }
      Result<std::vector<LogOp>> ops = db.DecryptLogEntry(i, key_pointers);
      if (!ops.ok()) {
        // The ledger's message may name the entry already; say it once.
        std::string_view reason = ops.status().message();
        while (reason.starts_with(where + ": ")) reason.remove_prefix(where.size() + 2);
        std::string message = where + " cannot be decrypted: " + std::string(reason);
        if (ops.status().IsFailedPrecondition() || ops.status().IsPermissionDenied()) {
          if (info->holders > 0 && !holder_key_files_.empty()) {
            message += " (it needs the keys of " + std::to_string(info->threshold) + " of its " +
                       std::to_string(info->holders) + " holders; " +
                       Plural(holder_key_files_.size(), "--holder-key was", "--holder-keys were") +
                       " given)";
          } else if (holder_key_files_.empty()) {
            message += " (give the key files of " + std::to_string(info->threshold) + " of its " +
                       std::to_string(info->holders) + " holders with --holder-key FILE" +
                       (key_file_.has_value()
                            ? std::string(")")
                            : std::string("; a ledger that is its own holder needs the master key "
                                          "instead, with --key-file)"));
          }
        }
        return Status(ops.status().code(), message);
      }
      if (json_) {
        OrderedJson j;
        j["index"] = info->index;
        j["version"] = info->version;
        j["forgotten"] = false;
        OrderedJson list = OrderedJson::array();
        for (const LogOp& op : *ops) {
          OrderedJson o;
          o["op"] = OpName(op.kind);
          o["table"] = op.table;
          if (!IsTableOp(op.kind)) o["key"] = DataJson(op.key, hex_);
          if (op.kind == WriteBatch::OpKind::kPut) o["value"] = DataJson(op.value, hex_);
          list.push_back(std::move(o));
        }
        j["ops"] = std::move(list);
        entries.push_back(std::move(j));
        continue;
      }
      std::string text = "entry " + std::to_string(i) + " (version " +
                         std::to_string(info->version) + "): " + Plural(ops->size(), "op", "ops") +
                         "\n";
      for (const LogOp& op : *ops) {
        text += "  " + std::string(OpName(op.kind)) + " " + op.table;
        if (!IsTableOp(op.kind)) text += " " + ShowData(op.key, hex_);
        if (op.kind == WriteBatch::OpKind::kPut) text += " " + ShowData(op.value, hex_);
        text += "\n";
      }
      VELLUM_RETURN_IF_ERROR(WriteText(io.out, text));
    }
    if (json_) {
      OrderedJson j;
      j["entries"] = std::move(entries);
      VELLUM_RETURN_IF_ERROR(WriteJsonLine(io.out, j));
    }
    if (forgotten > 0) {
      return Status::FailedPrecondition(
          Plural(forgotten, "log entry", "log entries") +
          " could not be decrypted: their key shares were destroyed ('vellum-db forget')");
    }
    return Status::OK();
  });
}

}  // namespace vellum::tools
