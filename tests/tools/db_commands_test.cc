// Copyright (c) Vellum authors.
//
// Tests of the ledger commands of vellum-db (init, put, get, delete, tables, scan,
// history, digest, verify, proof verify, forget, stats, log show|verify|decrypt,
// keys new), driven through the real command line: in-process through RunVellumDb
// and through the vellum-db binary.

#include "tools/db_commands.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "base/bytes.h"
#include "tests/tools/cli_test_harness.h"
#include "tools/cli.h"
#include "tools/log_commands.h"
#include "vellum/keys.h"

namespace vellum::tools {
namespace {

namespace fs = std::filesystem;
using ::testing::AllOf;
using ::testing::ContainsRegex;
using ::testing::HasSubstr;
using ::testing::MatchesRegex;
using ::testing::Not;
using ::testing::StartsWith;

using Json = nlohmann::json;

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

std::string ReadFile(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}

void WriteFile(const std::string& path, const std::string& data) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f.write(data.data(), static_cast<std::streamsize>(data.size()));
}

// Parses `text` as one JSON document; a test failure (and null) if it is not.
Json ParseJson(const std::string& text) {
  try {
    return Json::parse(text);
  } catch (const Json::exception& e) {
    ADD_FAILURE() << "not JSON (" << e.what() << "): " << text;
    return Json();
  }
}

// The hex secret of a key file (its "vellum-...-key-v1 <hex>" line), to check that it
// is never printed.
std::string SecretHexOf(const std::string& key_file) {
  for (const std::string& line : Lines(ReadFile(key_file))) {
    if (!line.starts_with("vellum-")) continue;
    const size_t space = line.find(' ');
    if (space != std::string::npos) return line.substr(space + 1, 64);
  }
  ADD_FAILURE() << "no key line in " << key_file;
  return "no key line";
}

// Clears $VELLUM_KEY_FILE for the scope, restoring it afterwards.
class ScopedKeyFileEnv {
 public:
  explicit ScopedKeyFileEnv(const char* value) {
    const char* old = getenv("VELLUM_KEY_FILE");
    if (old != nullptr) old_ = old;
    if (value == nullptr) {
      unsetenv("VELLUM_KEY_FILE");
    } else {
      setenv("VELLUM_KEY_FILE", value, 1);
    }
  }
  ~ScopedKeyFileEnv() {
    if (old_.has_value()) {
      setenv("VELLUM_KEY_FILE", old_->c_str(), 1);
    } else {
      unsetenv("VELLUM_KEY_FILE");
    }
  }
  ScopedKeyFileEnv(const ScopedKeyFileEnv&) = delete;
  ScopedKeyFileEnv& operator=(const ScopedKeyFileEnv&) = delete;

 private:
  std::optional<std::string> old_;
};

class DbCommandTest : public ::testing::TestWithParam<Runner> {
 protected:
  void SetUp() override {
    std::string pattern = (fs::path(::testing::TempDir()) / "vellum_db_cli_XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    db_ = dir_ + "/ledger";
    key_ = dir_ + "/master.key";
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  Outcome Run(std::vector<std::string> args, const std::string& input = "") {
    return GetParam()(std::move(args), input);
  }
  // A ledger command with --db and --key-file (given before the command words).
  Outcome Db(std::vector<std::string> args, const std::string& input = "") {
    std::vector<std::string> full = {"--db", db_, "--key-file", key_};
    full.insert(full.end(), args.begin(), args.end());
    return Run(std::move(full), input);
  }
  // `init`, expecting success.
  void Init(std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"init"};
    args.insert(args.end(), extra.begin(), extra.end());
    Outcome o = Db(args);
    ASSERT_EQ(o.exit_code, 0) << o;
  }
  // `put`, expecting success.
  void Put(const std::string& table, const std::string& key, const std::string& value) {
    Outcome o = Db({"put", table, key, value});
    ASSERT_EQ(o.exit_code, 0) << o;
  }
  // The latest state root, from `digest`.
  std::string StateRoot() {
    Outcome o = Db({"digest"});
    EXPECT_EQ(o.exit_code, 0) << o;
    Json j = ParseJson(o.out);
    return j.is_object() && j.contains("state_root") ? j["state_root"].get<std::string>() : "";
  }
  std::string Path(const std::string& name) const { return dir_ + "/" + name; }

  ScopedKeyFileEnv no_env_{nullptr};
  std::string dir_;
  std::string db_;
  std::string key_;
};

// --- the main flow ---------------------------------------------------------------------

TEST_P(DbCommandTest, InitPutGetHistoryDeleteTablesScanDigestVerify) {
  Outcome init = Db({"init"});
  ASSERT_EQ(init.exit_code, 0) << init;
  EXPECT_THAT(init.out, AllOf(HasSubstr("created ledger in '" + db_ + "'"), HasSubstr("created"),
                              HasSubstr("its own holder"), HasSubstr("ledger id")));
  EXPECT_EQ(init.err, "");
  ASSERT_TRUE(fs::exists(key_));
  struct stat st {};
  ASSERT_EQ(stat(key_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);

  Outcome put = Db({"put", "accounts", "alice", "100"});
  ASSERT_EQ(put.exit_code, 0) << put;
  EXPECT_THAT(put.out, AllOf(StartsWith("created table 'accounts'\n"),
                             ContainsRegex("committed version [0-9]+ \\(log entry [0-9]+\\)"),
                             ContainsRegex("state root [0-9a-f]{64}")));
  Outcome put2 = Db({"put", "accounts", "alice", "120"});
  ASSERT_EQ(put2.exit_code, 0) << put2;
  EXPECT_THAT(put2.out, Not(HasSubstr("created table")));
  Put("accounts", "bob", "7");

  Outcome get = Db({"get", "accounts", "alice"});
  EXPECT_EQ(get.exit_code, 0) << get;
  EXPECT_EQ(get.out, "120\n");

  Outcome history = Db({"history", "accounts", "alice"});
  EXPECT_EQ(history.exit_code, 0) << history;
  const std::vector<std::string> changes = Lines(history.out);
  ASSERT_EQ(changes.size(), 2u) << history;
  EXPECT_THAT(changes[0], MatchesRegex("version [0-9]+: 100"));
  EXPECT_THAT(changes[1], MatchesRegex("version [0-9]+: 120"));

  Outcome del = Db({"delete", "accounts", "alice"});
  EXPECT_EQ(del.exit_code, 0) << del;
  EXPECT_THAT(del.out, HasSubstr("deleted the key from 'accounts'"));
  Outcome absent = Db({"get", "accounts", "alice"});
  EXPECT_EQ(absent.exit_code, kExitFailure) << absent;
  EXPECT_EQ(absent.out, "");
  EXPECT_THAT(absent.err, AllOf(StartsWith("vellum-db: not found"), HasSubstr("'accounts'")));
  EXPECT_EQ(Lines(absent.err).size(), 1u);
  Outcome history2 = Db({"history", "accounts", "alice"});
  EXPECT_EQ(history2.exit_code, 0) << history2;
  EXPECT_THAT(Lines(history2.out).back(), MatchesRegex("version [0-9]+: deleted"));

  Put("audit", "e1", "login");
  Outcome tables = Db({"tables"});
  EXPECT_EQ(tables.exit_code, 0) << tables;
  EXPECT_EQ(tables.out, "accounts\naudit\n");

  Put("accounts", "carol", "3");
  Outcome scan = Db({"scan", "accounts"});
  EXPECT_EQ(scan.exit_code, 0) << scan;
  std::vector<std::string> rows = Lines(scan.out);
  std::sort(rows.begin(), rows.end());
  EXPECT_EQ(rows, (std::vector<std::string>{"bob\t7", "carol\t3"}));
  Outcome limited = Db({"scan", "accounts", "--limit", "1"});
  EXPECT_EQ(limited.exit_code, 0) << limited;
  EXPECT_EQ(Lines(limited.out).size(), 1u);

  Outcome digest = Db({"digest"});
  EXPECT_EQ(digest.exit_code, 0) << digest;
  Json d = ParseJson(digest.out);
  ASSERT_TRUE(d.is_object()) << digest;
  EXPECT_TRUE(d.contains("state_root"));

  Outcome verify = Db({"verify"});
  EXPECT_EQ(verify.exit_code, 0) << verify;
  EXPECT_THAT(verify.out, StartsWith("ok: "));

  // Nothing printed the master key.
  const std::string secret = SecretHexOf(key_);
  ASSERT_EQ(secret.size(), 64u);
  for (const Outcome* o : {&init, &put, &get, &history, &del, &digest, &verify}) {
    EXPECT_THAT(o->out + o->err, Not(HasSubstr(secret)));
  }
}

TEST_P(DbCommandTest, GetAtAnOlderVersion) {
  Init();
  Outcome first = Db({"--json", "put", "t", "k", "one"});
  ASSERT_EQ(first.exit_code, 0) << first;
  const uint64_t v1 = ParseJson(first.out)["version"].get<uint64_t>();
  Put("t", "k", "two");
  Outcome now = Db({"get", "t", "k"});
  EXPECT_EQ(now.out, "two\n");
  Outcome then = Db({"get", "--at", std::to_string(v1), "t", "k"});
  EXPECT_EQ(then.exit_code, 0) << then;
  EXPECT_EQ(then.out, "one\n");
  Outcome tables_before = Db({"tables", "--at", "0"});
  EXPECT_EQ(tables_before.exit_code, 0) << tables_before;
  EXPECT_EQ(tables_before.out, "");
  Outcome bad = Db({"get", "--at", "x", "t", "k"});
  EXPECT_EQ(bad.exit_code, kExitUsage) << bad;
}

TEST_P(DbCommandTest, MissingTableIsAClearError) {
  Init();
  Put("accounts", "a", "1");
  Outcome o = Db({"get", "acounts", "a"});
  EXPECT_EQ(o.exit_code, kExitFailure) << o;
  EXPECT_THAT(o.err, AllOf(StartsWith("vellum-db: "), HasSubstr("'acounts'")));
  Outcome del = Db({"delete", "nope", "a"});
  EXPECT_EQ(del.exit_code, kExitFailure) << del;
  Outcome scan = Db({"scan", "nope"});
  EXPECT_EQ(scan.exit_code, kExitFailure) << scan;
}

TEST_P(DbCommandTest, DeleteOfAnAbsentKeySaysSo) {
  Init();
  Put("t", "a", "1");
  Outcome o = Db({"--json", "delete", "t", "zzz"});
  EXPECT_EQ(o.exit_code, 0) << o;
  Json j = ParseJson(o.out);
  EXPECT_EQ(j["existed"], false);
  Outcome text = Db({"delete", "t", "zzz"});
  EXPECT_THAT(text.out, HasSubstr("the key was not in 't'"));
}

// --- JSON and hex ----------------------------------------------------------------------

TEST_P(DbCommandTest, JsonOutputParses) {
  Outcome init = Db({"--json", "init"});
  ASSERT_EQ(init.exit_code, 0) << init;
  Json i = ParseJson(init.out);
  EXPECT_EQ(i["key_file_created"], true);
  EXPECT_EQ(i["threshold"], 1);
  EXPECT_TRUE(i["holders"].empty());

  Outcome put = Db({"put", "--json", "accounts", "alice", "100"});
  ASSERT_EQ(put.exit_code, 0) << put;
  Json p = ParseJson(put.out);
  EXPECT_TRUE(p["version"].is_number_unsigned());
  EXPECT_TRUE(p["log_index"].is_number_unsigned());
  EXPECT_THAT(p["state_root"].get<std::string>(), MatchesRegex("[0-9a-f]{64}"));
  EXPECT_THAT(p["entry_hash"].get<std::string>(), MatchesRegex("[0-9a-f]{64}"));
  EXPECT_EQ(p["created_table"], true);

  Json g = ParseJson(Db({"get", "accounts", "alice", "--json"}).out);
  EXPECT_EQ(g["value"], "100");
  EXPECT_EQ(g["found"], true);
  EXPECT_EQ(g["version"], p["version"]);
  Outcome absent = Db({"--json", "get", "accounts", "nobody"});
  EXPECT_EQ(absent.exit_code, kExitFailure);
  Json a = ParseJson(absent.out);
  EXPECT_EQ(a["found"], false);
  EXPECT_TRUE(a["value"].is_null());

  Json t = ParseJson(Db({"--json", "tables"}).out);
  EXPECT_EQ(t["tables"], Json::array({"accounts"}));
  Json s = ParseJson(Db({"--json", "scan", "accounts"}).out);
  ASSERT_EQ(s["entries"].size(), 1u);
  EXPECT_EQ(s["entries"][0]["key"], "alice");
  EXPECT_EQ(s["entries"][0]["value"], "100");
  Json h = ParseJson(Db({"--json", "history", "accounts", "alice"}).out);
  ASSERT_EQ(h["changes"].size(), 1u);
  EXPECT_EQ(h["changes"][0]["value"], "100");
  EXPECT_EQ(h["changes"][0]["version"], p["version"]);
  Json v = ParseJson(Db({"--json", "verify"}).out);
  EXPECT_EQ(v["ok"], true);
  EXPECT_TRUE(v["findings"].empty());
  Json st = ParseJson(Db({"--json", "stats"}).out);
  EXPECT_EQ(st["version"], p["version"]);
  EXPECT_EQ(st["tables"], 1);
  Json ls = ParseJson(Db({"--json", "log", "show"}).out);
  ASSERT_FALSE(ls["entries"].empty());
  EXPECT_EQ(ls["entries"].back()["entry_hash"], p["entry_hash"]);
  Json lv = ParseJson(Db({"--json", "log", "verify"}).out);
  EXPECT_EQ(lv["ok"], true);
  Json ld = ParseJson(Db({"--json", "log", "decrypt"}).out);
  ASSERT_FALSE(ld["entries"].empty());
  const Json& ops = ld["entries"].back()["ops"];
  EXPECT_TRUE(std::any_of(ops.begin(), ops.end(), [](const Json& op) {
    return op["op"] == "put" && op["table"] == "accounts" && op["key"] == "alice" &&
           op["value"] == "100";
  })) << ld.dump();
  // The digest is always JSON, with or without --json.
  EXPECT_TRUE(ParseJson(Db({"--json", "digest"}).out).is_object());
}

TEST_P(DbCommandTest, HexKeysAndValues) {
  Init();
  Outcome put = Db({"--hex", "put", "blobs", "00ff", "48656C6C6F"});
  ASSERT_EQ(put.exit_code, 0) << put;
  Outcome get = Db({"get", "--hex", "blobs", "00ff"});
  EXPECT_EQ(get.exit_code, 0) << get;
  EXPECT_EQ(get.out, "48656c6c6f\n");
  // Text keys are their bytes: "AB" is the key 4142.
  Put("blobs", "AB", "text");
  Outcome as_hex = Db({"get", "--hex", "blobs", "4142"});
  EXPECT_EQ(as_hex.out, "74657874\n");
  Outcome scan = Db({"scan", "--hex", "blobs"});
  std::vector<std::string> rows = Lines(scan.out);
  std::sort(rows.begin(), rows.end());
  EXPECT_EQ(rows, (std::vector<std::string>{"00ff\t48656c6c6f", "4142\t74657874"}));
  Json j = ParseJson(Db({"--json", "--hex", "get", "blobs", "00ff"}).out);
  EXPECT_EQ(j["key"], "00ff");
  EXPECT_EQ(j["value"], "48656c6c6f");
  // A binary value shown as JSON text is refused, with a pointer to --hex.
  Db({"--hex", "put", "blobs", "01", "ff00fe"});
  Outcome binary = Db({"--json", "scan", "blobs"});
  EXPECT_EQ(binary.exit_code, kExitFailure) << binary;
  EXPECT_THAT(binary.err, HasSubstr("--hex"));
  // Bad hex is a usage error, and is not echoed.
  Outcome bad = Db({"--hex", "get", "blobs", "0xzz"});
  EXPECT_EQ(bad.exit_code, kExitUsage) << bad;
  EXPECT_THAT(bad.err, AllOf(HasSubstr("KEY is not hex"), Not(HasSubstr("0xzz"))));
}

// --- proofs ----------------------------------------------------------------------------

TEST_P(DbCommandTest, ProofVerify) {
  Init();
  Put("accounts", "alice", "100");
  Put("accounts", "bob", "7");
  Outcome proof = Db({"get", "--proof", "accounts", "alice"});
  ASSERT_EQ(proof.exit_code, 0) << proof;
  ASSERT_TRUE(ParseJson(proof.out).is_object());
  const std::string proof_file = Path("proof.json");
  WriteFile(proof_file, proof.out);
  const std::string root = StateRoot();
  ASSERT_EQ(root.size(), 64u);

  // Against a trusted root, without the key: holds, binding not checked.
  Outcome ok = Run({"proof", "verify", proof_file, "--root", root});
  EXPECT_EQ(ok.exit_code, 0) << ok;
  EXPECT_THAT(ok.out, AllOf(StartsWith("value: 100\n"), HasSubstr("table: accounts"),
                            HasSubstr("(given with --root)"), HasSubstr("binding: not checked")));
  EXPECT_EQ(ok.err, "");
  // With the master key: the binding is checked too.
  Outcome bound = Run({"proof", "verify", "--key-file", key_, "--root", root, proof_file});
  EXPECT_EQ(bound.exit_code, 0) << bound;
  EXPECT_THAT(bound.out, HasSubstr("binding: checked"));
  Json bj = ParseJson(
      Run({"--json", "proof", "verify", "--key-file", key_, "--root", root, proof_file}).out);
  EXPECT_EQ(bj["valid"], true);
  EXPECT_EQ(bj["present"], true);
  EXPECT_EQ(bj["value"], "100");
  EXPECT_EQ(bj["root_trusted"], true);
  EXPECT_EQ(bj["binding_checked"], true);
  // Without --root: holds against its own root, with a caveat.
  Outcome own = Run({"proof", "verify", proof_file});
  EXPECT_EQ(own.exit_code, 0) << own;
  EXPECT_THAT(own.err, HasSubstr("warning: no --root given"));
  EXPECT_THAT(own.out, HasSubstr("NOT checked against a trusted root"));
  // stdin.
  Outcome piped = Run({"proof", "verify", "--root", root, "-"}, proof.out);
  EXPECT_EQ(piped.exit_code, 0) << piped;

  // Another root: rejected.
  std::string other_root = root;
  other_root[0] = other_root[0] == '0' ? '1' : '0';
  Outcome wrong_root = Run({"proof", "verify", proof_file, "--root", other_root});
  EXPECT_EQ(wrong_root.exit_code, kExitFailure) << wrong_root;
  EXPECT_THAT(wrong_root.err, StartsWith("vellum-db: the proof does not hold"));

  // A tampered proof: a changed value, checked with the key, is rejected.
  Json tampered = ParseJson(proof.out);
  bool changed = false;
  for (auto& [name, member] : tampered.items()) {
    if (name == "value" && member.is_string()) {
      member = member.get<std::string>() == "100" ? "999" : "313939";  // text or hex form
      changed = true;
    }
  }
  ASSERT_TRUE(changed) << "the proof JSON has no string \"value\": " << proof.out;
  WriteFile(Path("tampered.json"), tampered.dump());
  Outcome forged =
      Run({"proof", "verify", "--key-file", key_, "--root", root, Path("tampered.json")});
  EXPECT_EQ(forged.exit_code, kExitFailure) << forged;
  EXPECT_THAT(forged.err, StartsWith("vellum-db: "));
  // A damaged trie path is rejected even without the key.
  Json damaged = ParseJson(proof.out);
  bool edited = false;
  for (const char* field : {"table_proof", "top_proof"}) {
    if (!edited && damaged.contains(field) && damaged[field].is_array() &&
        !damaged[field].empty() && damaged[field][0].is_string()) {
      std::string item = damaged[field][0].get<std::string>();
      const size_t mid = item.size() / 2;
      item[mid] = item[mid] == '0' ? '1' : '0';
      damaged[field][0] = item;
      edited = true;
    }
  }
  if (edited) {
    WriteFile(Path("damaged.json"), damaged.dump());
    Outcome broken = Run({"proof", "verify", "--root", root, Path("damaged.json")});
    EXPECT_EQ(broken.exit_code, kExitFailure) << broken;
  }
  // Not a proof at all.
  WriteFile(Path("junk.json"), "{\"hello\":1}");
  Outcome junk = Run({"proof", "verify", Path("junk.json")});
  EXPECT_EQ(junk.exit_code, kExitFailure) << junk;
  EXPECT_THAT(junk.err, StartsWith("vellum-db: the proof JSON"));
  Outcome bad_root = Run({"proof", "verify", proof_file, "--root", "abc"});
  EXPECT_EQ(bad_root.exit_code, kExitUsage) << bad_root;
}

TEST_P(DbCommandTest, ProofOfAbsence) {
  Init();
  Put("accounts", "alice", "100");
  Outcome proof = Db({"get", "--proof", "accounts", "nobody"});
  ASSERT_EQ(proof.exit_code, 0) << proof;
  WriteFile(Path("absent.json"), proof.out);
  Outcome o =
      Run({"proof", "verify", "--key-file", key_, "--root", StateRoot(), Path("absent.json")});
  EXPECT_EQ(o.exit_code, 0) << o;
  EXPECT_THAT(o.out, StartsWith("value: absent\n"));
}

// --- holders, the log, forgetting ------------------------------------------------------

TEST_P(DbCommandTest, HoldersDecryptTheLogUntilItIsForgotten) {
  std::vector<std::string> pubs;
  std::vector<std::string> holder_files;
  for (const char* name : {"alice.key", "bob.key", "carol.key"}) {
    const std::string file = Path(name);
    Outcome o = Run({"keys", "new", "--out", file});
    ASSERT_EQ(o.exit_code, 0) << o;
    ASSERT_THAT(o.out, MatchesRegex("[0-9a-f]{64}\n"));
    struct stat st {};
    ASSERT_EQ(stat(file.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
    EXPECT_THAT(o.out, Not(HasSubstr(SecretHexOf(file))));
    pubs.push_back(o.out.substr(0, 64));
    holder_files.push_back(file);
  }
  EXPECT_NE(pubs[0], pubs[1]);

  Outcome init = Db(
      {"init", "--holder", pubs[0], "--holder", pubs[1], "--holder", pubs[2], "--threshold", "2"});
  ASSERT_EQ(init.exit_code, 0) << init;
  EXPECT_THAT(init.out, AllOf(HasSubstr("any 2 of 3"), HasSubstr(pubs[2])));
  Put("accounts", "alice", "100");
  Put("accounts", "bob", "250");

  // Two holders decrypt; the master key is not needed for that.
  Outcome two =
      Db({"log", "decrypt", "--holder-key", holder_files[0], "--holder-key", holder_files[2]});
  ASSERT_EQ(two.exit_code, 0) << two;
  EXPECT_THAT(two.out, AllOf(HasSubstr("put accounts alice 100"), HasSubstr("put accounts bob 250"),
                             HasSubstr("create_table accounts")));
  Outcome one = Db({"log", "decrypt", "--holder-key", holder_files[1]});
  EXPECT_EQ(one.exit_code, kExitFailure) << one;
  EXPECT_THAT(one.err, AllOf(StartsWith("vellum-db: log entry 1 cannot be decrypted"),
                             HasSubstr("2 of its 3 holders")));
  EXPECT_EQ(Lines(one.err).size(), 1u);
  Outcome none = Db({"log", "decrypt"});
  EXPECT_EQ(none.exit_code, kExitFailure) << none;

  // Log headers need no key.
  Outcome show = Run({"--db", db_, "log", "show"});
  EXPECT_EQ(show.exit_code, 0) << show;
  EXPECT_THAT(show.out, AllOf(HasSubstr("key 2-of-3"), Not(HasSubstr("FORGOTTEN"))));

  // Forget the whole log.
  Json last = ParseJson(Run({"--db", db_, "--json", "log", "show"}).out);
  ASSERT_FALSE(last["entries"].empty());
  const uint64_t log_size = last["entries"].back()["index"].get<uint64_t>();
  Outcome forget = Db({"forget", "--from", "1", "--to", std::to_string(log_size)});
  ASSERT_EQ(forget.exit_code, 0) << forget;
  EXPECT_THAT(forget.out, HasSubstr("forgot log entries 1.." + std::to_string(log_size)));
  Outcome again = Db({"--json", "forget", "--from", "1", "--to", std::to_string(log_size)});
  ASSERT_EQ(again.exit_code, 0) << again;
  EXPECT_EQ(ParseJson(again.out)["forgotten"], 0);

  Outcome after = Db({"log", "decrypt", "--holder-key", holder_files[0], "--holder-key",
                      holder_files[1], "--index", "1"});
  EXPECT_EQ(after.exit_code, kExitFailure) << after;
  EXPECT_THAT(after.err, AllOf(StartsWith("vellum-db: log entry 1"), HasSubstr("forget")));
  Outcome all_after =
      Db({"log", "decrypt", "--holder-key", holder_files[0], "--holder-key", holder_files[1]});
  EXPECT_EQ(all_after.exit_code, kExitFailure) << all_after;
  EXPECT_THAT(all_after.out, HasSubstr("forgotten"));
  EXPECT_THAT(all_after.out, Not(HasSubstr("alice")));

  // The chain still verifies, without any key; the state is untouched.
  Outcome log_verify = Run({"--db", db_, "log", "verify"});
  EXPECT_EQ(log_verify.exit_code, 0) << log_verify;
  EXPECT_THAT(log_verify.out, StartsWith("ok: "));
  Outcome verify = Db({"verify"});
  EXPECT_EQ(verify.exit_code, 0) << verify;
  EXPECT_EQ(Db({"get", "accounts", "bob"}).out, "250\n");
  Outcome shown = Run({"--db", db_, "log", "show", "--from", "1", "--to", "1"});
  EXPECT_THAT(shown.out, HasSubstr("FORGOTTEN"));
}

TEST_P(DbCommandTest, SelfHeldLogDecryptsWithTheMasterKey) {
  Init();
  Put("t", "k", "v");
  Outcome o = Db({"log", "decrypt"});
  EXPECT_EQ(o.exit_code, 0) << o;
  EXPECT_THAT(o.out, HasSubstr("put t k v"));
}

TEST_P(DbCommandTest, ForgetArguments) {
  Init();
  Put("t", "k", "v");
  EXPECT_EQ(Db({"forget"}).exit_code, kExitUsage);
  EXPECT_EQ(Db({"forget", "--from", "3", "--to", "2"}).exit_code, kExitUsage);
  EXPECT_EQ(Db({"forget", "--from", "0"}).exit_code, kExitUsage);
  Outcome past = Db({"forget", "--from", "1", "--to", "1000"});
  EXPECT_EQ(past.exit_code, kExitFailure) << past;
  EXPECT_THAT(past.err, HasSubstr("past its end"));
}

TEST_P(DbCommandTest, InitArguments) {
  EXPECT_EQ(Db({"init", "--threshold", "2"}).exit_code, kExitUsage);
  EXPECT_EQ(Db({"init", "--holder", "abcd"}).exit_code, kExitUsage);
  const std::string pub(64, 'a');
  Outcome dup = Db({"init", "--holder", pub, "--holder", pub});
  EXPECT_EQ(dup.exit_code, kExitUsage) << dup;
  EXPECT_THAT(dup.err, HasSubstr("repeats"));
  Outcome too_many = Db({"init", "--holder", pub, "--threshold", "2"});
  EXPECT_EQ(too_many.exit_code, kExitUsage) << too_many;
  Outcome no_key = Run({"--db", db_, "init"});
  EXPECT_EQ(no_key.exit_code, kExitUsage) << no_key;
  EXPECT_THAT(no_key.err, HasSubstr("VELLUM_KEY_FILE"));
  EXPECT_FALSE(fs::exists(db_));

  Init();
  // A second init fails and keeps the existing key.
  const std::string key_before = ReadFile(key_);
  Outcome twice = Db({"init"});
  EXPECT_EQ(twice.exit_code, kExitFailure) << twice;
  EXPECT_THAT(twice.err, HasSubstr("already exists"));
  EXPECT_EQ(ReadFile(key_), key_before);
  // A new key made for a failed init is not left behind.
  Outcome other = Run({"--db", db_, "--key-file", Path("other.key"), "init"});
  EXPECT_EQ(other.exit_code, kExitFailure) << other;
  EXPECT_FALSE(fs::exists(Path("other.key")));
}

TEST_P(DbCommandTest, InitReusesAnExistingKeyFile) {
  Init();
  const std::string second_db = Path("second");
  Outcome o = Run({"init", "--db", second_db, "--key-file", key_});
  EXPECT_EQ(o.exit_code, 0) << o;
  EXPECT_THAT(o.out, HasSubstr("existing key reused"));
}

// --- errors ----------------------------------------------------------------------------

TEST_P(DbCommandTest, WrongKeyFile) {
  Init();
  Put("t", "k", "v");
  // Another ledger's key.
  ASSERT_EQ(Run({"init", "--db", Path("other-ledger"), "--key-file", Path("other.key")}).exit_code,
            0);
  Outcome wrong = Run({"--db", db_, "--key-file", Path("other.key"), "get", "t", "k"});
  EXPECT_EQ(wrong.exit_code, kExitFailure) << wrong;
  EXPECT_THAT(wrong.err, AllOf(StartsWith("vellum-db: cannot open the ledger"),
                               HasSubstr("wrong master key")));
  EXPECT_EQ(Lines(wrong.err).size(), 1u);
  EXPECT_EQ(wrong.out, "");
  // Not a key file.
  WriteFile(Path("junk.key"), "hello\n");
  Outcome junk = Run({"--db", db_, "--key-file", Path("junk.key"), "get", "t", "k"});
  EXPECT_EQ(junk.exit_code, kExitFailure) << junk;
  EXPECT_THAT(junk.err, HasSubstr("junk.key"));
  EXPECT_THAT(junk.err, Not(HasSubstr("hello")));
  // No such file.
  Outcome missing = Run({"--db", db_, "--key-file", Path("nope.key"), "get", "t", "k"});
  EXPECT_EQ(missing.exit_code, kExitFailure) << missing;
  EXPECT_THAT(missing.err, HasSubstr("does not exist"));
  // No key at all: a usage error.
  Outcome none = Run({"--db", db_, "get", "t", "k"});
  EXPECT_EQ(none.exit_code, kExitUsage) << none;
  EXPECT_THAT(none.err, HasSubstr("--key-file"));
}

TEST_P(DbCommandTest, MissingLedger) {
  Init();  // makes the key file
  Outcome o = Run({"--db", Path("nowhere"), "--key-file", key_, "get", "t", "k"});
  EXPECT_EQ(o.exit_code, kExitFailure) << o;
  EXPECT_THAT(o.err, AllOf(StartsWith("vellum-db: no ledger in"), HasSubstr("vellum-db init")));
  fs::create_directory(Path("empty"));
  Outcome empty = Run({"--db", Path("empty"), "--key-file", key_, "tables"});
  EXPECT_EQ(empty.exit_code, kExitFailure) << empty;
  EXPECT_THAT(empty.err, StartsWith("vellum-db: "));
  Outcome log = Run({"--db", Path("nowhere"), "log", "verify"});
  EXPECT_EQ(log.exit_code, kExitFailure) << log;
}

TEST_P(DbCommandTest, KeyFileFromTheEnvironment) {
  Init();
  ScopedKeyFileEnv env(key_.c_str());
  Outcome put = Run({"--db", db_, "put", "t", "k", "from-env"});
  EXPECT_EQ(put.exit_code, 0) << put;
  Outcome get = Run({"get", "t", "k", "--db", db_});
  EXPECT_EQ(get.exit_code, 0) << get;
  EXPECT_EQ(get.out, "from-env\n");
}

TEST_P(DbCommandTest, StatsAndLogNeedNoKey) {
  Init();
  Put("t", "k", "v");
  Outcome stats = Run({"--db", db_, "stats"});
  EXPECT_EQ(stats.exit_code, 0) << stats;
  EXPECT_THAT(stats.out, AllOf(HasSubstr("version"), HasSubstr("log entries")));
  Outcome show = Run({"--db", db_, "log", "show", "--from", "1"});
  EXPECT_EQ(show.exit_code, 0) << show;
  EXPECT_THAT(show.out, StartsWith("entry 1 "));
  Outcome past = Run({"--db", db_, "log", "show", "--from", "99"});
  EXPECT_EQ(past.exit_code, kExitFailure) << past;
  // A command that needs the key says so.
  Outcome get = Run({"--db", db_, "get", "t", "k"});
  EXPECT_EQ(get.exit_code, kExitUsage) << get;
}

// Damaged files are found: flip bytes in the middle of the largest table or WAL file.
TEST_P(DbCommandTest, FlippedBytesAreFound) {
  Init();
  std::string big;
  for (int i = 0; i < 4000; ++i) big += "value-" + std::to_string(i * 7919) + ";";
  for (int i = 0; i < 8; ++i) Put("data", "key" + std::to_string(i), big + std::to_string(i));
  Outcome digest = Db({"digest"});
  ASSERT_EQ(digest.exit_code, 0) << digest;
  WriteFile(Path("digest.json"), digest.out);
  ASSERT_EQ(Db({"verify"}).exit_code, 0);

  std::string victim;
  uintmax_t victim_size = 0;
  for (const auto& entry : fs::recursive_directory_iterator(db_)) {
    const std::string ext = entry.path().extension().string();
    if (!entry.is_regular_file() || (ext != ".sst" && ext != ".log")) continue;
    if (entry.file_size() > victim_size) {
      victim = entry.path().string();
      victim_size = entry.file_size();
    }
  }
  ASSERT_FALSE(victim.empty()) << "no .sst or .log file in " << db_;
  ASSERT_GT(victim_size, 1000u);
  {
    std::fstream f(victim, std::ios::in | std::ios::out | std::ios::binary);
    for (uintmax_t offset = victim_size / 2; offset < victim_size / 2 + 16; ++offset) {
      f.seekg(static_cast<std::streamoff>(offset));
      const int c = f.get();
      f.seekp(static_cast<std::streamoff>(offset));
      f.put(static_cast<char>(c ^ 0x5a));
    }
  }
  // Either the ledger fails to open, or verify finds the damage (a dropped WAL tail
  // is a rollback, which the earlier digest reveals).
  Outcome verify = Db({"verify", "--against", Path("digest.json")});
  EXPECT_NE(verify.exit_code, 0) << verify;
  EXPECT_THAT(verify.err, StartsWith("vellum-db: "));
}

// --- keys new --------------------------------------------------------------------------

TEST_P(DbCommandTest, KeysNew) {
  const std::string file = Path("h.key");
  Outcome o = Run({"--json", "keys", "new", "--out", file});
  ASSERT_EQ(o.exit_code, 0) << o;
  Json j = ParseJson(o.out);
  EXPECT_THAT(j["public_key"].get<std::string>(), MatchesRegex("[0-9a-f]{64}"));
  Outcome again = Run({"keys", "new", "--out", file});
  EXPECT_EQ(again.exit_code, kExitFailure) << again;
  EXPECT_THAT(again.err, HasSubstr("never overwritten"));
  // A node signing key: an Ed25519 key file that reads back with the same public key.
  Outcome signing = Run({"--json", "keys", "new", "--type", "signing", "--out", Path("s.key")});
  ASSERT_EQ(signing.exit_code, 0) << signing;
  Json s = ParseJson(signing.out);
  EXPECT_EQ(s["type"], "signing");
  auto read_back = NodeSigningKey::ReadFile(Path("s.key"));
  ASSERT_TRUE(read_back.ok()) << read_back.status().ToString();
  EXPECT_EQ(HexEncode(read_back->public_key()), s["public_key"].get<std::string>());
  // Kinds do not mix: a signing key file is not a holder key file.
  EXPECT_FALSE(HolderKey::ReadFile(Path("s.key")).ok());
  Outcome bad_type = Run({"keys", "new", "--type", "master", "--out", Path("m.key")});
  EXPECT_EQ(bad_type.exit_code, kExitUsage) << bad_type;
  EXPECT_THAT(bad_type.err, HasSubstr("'holder' or 'signing'"));
  EXPECT_EQ(Run({"keys", "new"}).exit_code, kExitUsage);
  EXPECT_EQ(Run({"keys", "new", "--out", Path("x.key"), "--db", db_}).exit_code, kExitUsage);
}

// --- cluster init ----------------------------------------------------------------------

TEST_P(DbCommandTest, ClusterInit) {
  const std::string dir = Path("cluster");
  Outcome o = Run({"cluster", "init", "--nodes", "2", "--dir", dir, "--base-port", "27100"});
  ASSERT_EQ(o.exit_code, 0) << o;
  EXPECT_THAT(o.out, AllOf(HasSubstr("vellum-node --config " + dir + "/n1/node.yaml"),
                           HasSubstr("vellum-node --config " + dir + "/n2/node.yaml")));
  std::ifstream endpoints(dir + "/endpoints");
  std::string first;
  std::getline(endpoints, first);
  EXPECT_EQ(first, "https://127.0.0.1:27201");
  Outcome again = Run({"cluster", "init", "--dir", dir});
  EXPECT_EQ(again.exit_code, kExitFailure) << again;
  EXPECT_THAT(again.err, HasSubstr("not empty"));
  EXPECT_EQ(Run({"cluster", "init", "--nodes", "0", "--dir", Path("c0")}).exit_code, kExitUsage);
  EXPECT_EQ(Run({"cluster", "init"}).exit_code, kExitUsage);

  Outcome added = Run({"cluster", "add-node", "--dir", dir, "--id", "3", "--json"});
  ASSERT_EQ(added.exit_code, 0) << added;
  EXPECT_THAT(added.out, AllOf(HasSubstr("\"config\":\"" + dir + "/n3/node.yaml\""),
                               HasSubstr("\"endpoint\":\"https://127.0.0.1:27203\""),
                               HasSubstr("\"holder_public_key\"")));
  Outcome twice = Run({"cluster", "add-node", "--dir", dir, "--id", "3"});
  EXPECT_EQ(twice.exit_code, kExitFailure) << twice;
  EXPECT_THAT(twice.err, HasSubstr("already exists"));
  EXPECT_EQ(Run({"cluster", "add-node", "--dir", dir}).exit_code, kExitUsage);
  EXPECT_EQ(Run({"cluster", "add-node", "--dir", dir, "--id", "100"}).exit_code, kExitUsage);
}

// --- help ------------------------------------------------------------------------------

TEST_P(DbCommandTest, EveryCommandHasHelpWithExamples) {
  const std::vector<std::vector<std::string>> commands = {{"init"},
                                                          {"put"},
                                                          {"get"},
                                                          {"delete"},
                                                          {"tables"},
                                                          {"scan"},
                                                          {"history"},
                                                          {"digest"},
                                                          {"verify"},
                                                          {"proof", "verify"},
                                                          {"forget"},
                                                          {"stats"},
                                                          {"log", "show"},
                                                          {"log", "verify"},
                                                          {"log", "decrypt"},
                                                          {"keys", "new"},
                                                          {"cluster", "init"},
                                                          {"cluster", "add-node"}};
  for (const auto& command : commands) {
    std::vector<std::string> args = command;
    args.push_back("--help");
    Outcome o = Run(args);
    std::string path;
    for (const std::string& word : command) path += (path.empty() ? "" : " ") + word;
    EXPECT_EQ(o.exit_code, 0) << path << ": " << o;
    EXPECT_THAT(o.out, AllOf(StartsWith("Usage: vellum-db " + path), HasSubstr("Examples:"),
                             HasSubstr("vellum-db " + path)))
        << path;
  }
  Outcome top = Run({"--help"});
  EXPECT_THAT(top.out, AllOf(HasSubstr("  init"), HasSubstr("log decrypt"),
                             HasSubstr("proof verify"), HasSubstr("keys new"),
                             HasSubstr("./vellum-data"), HasSubstr("VELLUM_KEY_FILE")));
  for (const char* group : {"log", "proof", "keys"}) {
    Outcome o = Run({group, "--help"});
    EXPECT_EQ(o.exit_code, 0) << o;
  }
}

TEST_P(DbCommandTest, UsageErrors) {
  Init();
  EXPECT_EQ(Db({"put", "t", "k"}).exit_code, kExitUsage);
  EXPECT_EQ(Db({"get", "t"}).exit_code, kExitUsage);
  EXPECT_EQ(Db({"get", "t", "k", "extra"}).exit_code, kExitUsage);
  EXPECT_EQ(Db({"scan", "t", "--limit", "0"}).exit_code, kExitUsage);
  EXPECT_EQ(Db({"log", "decrypt", "--index", "1", "--from", "1"}).exit_code, kExitUsage);
  Outcome hex = Run({"--db", db_, "--hex", "tables"});
  EXPECT_EQ(hex.exit_code, kExitUsage) << hex;
  EXPECT_THAT(hex.err, HasSubstr("'tables' does not use --hex"));
}

// Test names: DbCommandTest.<Name>/InProcess and DbCommandTest.<Name>/Binary.
VELLUM_INSTANTIATE_FOR_RUNNERS(DbCommandTest);

TEST(DbCommandHelpersTest, FormatTimeMicros) {
  EXPECT_EQ(FormatTimeMicros(0), "1970-01-01T00:00:00.000000Z");
  EXPECT_EQ(FormatTimeMicros(1'700'000'000'123'456), "2023-11-14T22:13:20.123456Z");
}

TEST(DbCommandHelpersTest, LogRange) {
  LogRange all;
  auto r = all.Resolve(5);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, std::make_pair(uint64_t{1}, uint64_t{5}));
  auto empty = all.Resolve(0);
  ASSERT_TRUE(empty.ok());
  EXPECT_GT(empty->first, empty->second);
  LogRange past;
  past.from = 6;
  EXPECT_FALSE(past.Resolve(5).ok());
}

}  // namespace
}  // namespace vellum::tools
