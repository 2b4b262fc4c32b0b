// Copyright (c) Vellum authors.
//
// Tests of `vellum-db trie root|prove|verify`, in-process through RunVellumDb and
// through the real binary, and of LoadTrieLines (batched commits, progress).

#include "tools/trie_command.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "base/bytes.h"
#include "tests/tools/cli_test_harness.h"
#include "tools/cli.h"
#include "trie/node_store.h"
#include "trie/trie.h"

namespace vellum::tools {
namespace {

using ::testing::AllOf;
using ::testing::EndsWith;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;
using trie::TrieScheme;

constexpr char kEthereumEmptyRoot[] =
    "56e81f171bcc55a6ff8345e692c0f86e5b48e01b996cadc001622fb5e363b421";
const std::string kNativeEmptyRoot(64, '0');

std::string Line(std::string_view key_hex, std::string_view value_hex) {
  nlohmann::ordered_json j;
  j["key"] = key_hex;
  j["value"] = value_hex;
  return j.dump() + "\n";
}

std::string AsciiHex(std::string_view s) { return HexEncode(AsBytes(s)); }

// A key or value of the ethereum vectors: "0x..." is hex, anything else its bytes.
std::string VectorHex(const std::string& s) {
  if (s.starts_with("0x")) return s.substr(2);
  return AsciiHex(s);
}

// The trieanyorder.json cases: name -> (input lines, expected root hex).
std::map<std::string, std::pair<std::string, std::string>> AnyOrderCases() {
  std::map<std::string, std::pair<std::string, std::string>> cases;
  std::ifstream f(VELLUM_TEST_DATA_DIR "/ethereum/trieanyorder.json");
  EXPECT_TRUE(f.is_open()) << "missing test data";
  if (!f.is_open()) return cases;
  const nlohmann::ordered_json all = nlohmann::ordered_json::parse(f);
  for (const auto& [name, c] : all.items()) {
    std::string lines;
    for (const auto& [key, value] : c.at("in").items()) {
      lines += Line(VectorHex(key), VectorHex(value.get<std::string>()));
    }
    std::string root = c.at("root").get<std::string>();
    if (root.starts_with("0x")) root = root.substr(2);
    cases[name] = {lines, root};
  }
  return cases;
}

const std::string& DogsLines() {
  static const std::string* const lines = new std::string(
      Line(AsciiHex("doe"), AsciiHex("reindeer")) + Line(AsciiHex("dog"), AsciiHex("puppy")) +
      Line(AsciiHex("dogglesworth"), AsciiHex("cat")));
  return *lines;
}

std::string SchemeName(TrieScheme scheme) { return std::string(trie::TrieSchemeName(scheme)); }

class TrieCommandTest : public ::testing::TestWithParam<Runner> {
 protected:
  Outcome Run(std::vector<std::string> args, const std::string& input = "") {
    return GetParam()(std::move(args), input);
  }
  // `trie root` of `lines`, passed as a file.
  Outcome Root(TrieScheme scheme, const std::string& lines) {
    TempFile file(lines);
    return Run({"trie", "root", "--scheme", SchemeName(scheme), file.path()});
  }
  Outcome Prove(TrieScheme scheme, const std::string& lines, const std::string& key_hex) {
    TempFile file(lines);
    return Run({"trie", "prove", "--scheme", SchemeName(scheme), file.path(), key_hex});
  }
  Outcome Verify(TrieScheme scheme, const std::string& proof_json) {
    TempFile file(proof_json);
    return Run({"trie", "verify", "--scheme", SchemeName(scheme), file.path()});
  }
};

const TrieScheme kSchemes[] = {TrieScheme::kEthereum, TrieScheme::kNative};

TEST_P(TrieCommandTest, EthereumRootsMatchTheVectors) {
  const auto cases = AnyOrderCases();
  ASSERT_TRUE(cases.count("dogs")) << "trieanyorder.json has no 'dogs' case";
  for (const auto& [name, c] : cases) {
    Outcome o = Root(TrieScheme::kEthereum, c.first);
    EXPECT_EQ(o.exit_code, 0) << name << ": " << o;
    EXPECT_EQ(o.out, c.second + "\n") << name;
    EXPECT_EQ(o.err, "") << name;
  }
  // The same "dogs" input on stdin.
  Outcome o = Run({"trie", "root", "--scheme", "ethereum", "-"}, DogsLines());
  EXPECT_EQ(o.exit_code, 0) << o;
  EXPECT_EQ(o.out, cases.at("dogs").second + "\n");
}

TEST_P(TrieCommandTest, EmptyInput) {
  Outcome native = Root(TrieScheme::kNative, "");
  EXPECT_EQ(native.exit_code, 0) << native;
  EXPECT_EQ(native.out, kNativeEmptyRoot + "\n");
  Outcome ethereum = Root(TrieScheme::kEthereum, "\n  \n\r\n");  // blank lines only
  EXPECT_EQ(ethereum.exit_code, 0) << ethereum;
  EXPECT_EQ(ethereum.out, std::string(kEthereumEmptyRoot) + "\n");
  // --scheme defaults to native.
  Outcome by_default = Run({"trie", "root", "-"}, "");
  EXPECT_EQ(by_default.exit_code, 0) << by_default;
  EXPECT_EQ(by_default.out, kNativeEmptyRoot + "\n");
}

TEST_P(TrieCommandTest, DefaultSchemeIsNative) {
  Outcome by_default = Run({"trie", "root", "-"}, DogsLines());
  Outcome native = Run({"trie", "root", "--scheme", "native", "-"}, DogsLines());
  Outcome ethereum = Run({"trie", "root", "--scheme=ethereum", "-"}, DogsLines());
  EXPECT_EQ(by_default.exit_code, 0) << by_default;
  EXPECT_EQ(by_default.out, native.out);
  EXPECT_NE(by_default.out, ethereum.out);
  EXPECT_EQ(by_default.out.size(), 65u);
}

TEST_P(TrieCommandTest, HexMayHaveAPrefixAndAnyCase) {
  const std::string mixed = Line("0x646F65", "0X7265696E64656572") + "  \n" +
                            Line("646f67", "0x7075707079") + "\n" +
                            Line("0x646F67676C6573776F727468", "636174");
  for (TrieScheme scheme : kSchemes) {
    Outcome plain = Root(scheme, DogsLines());
    Outcome other = Root(scheme, mixed);
    EXPECT_EQ(other.exit_code, 0) << other;
    EXPECT_EQ(other.out, plain.out);
  }
  // The key argument of prove too, and the output is canonical lowercase.
  Outcome proof = Prove(TrieScheme::kEthereum, DogsLines(), "0x646F67");
  ASSERT_EQ(proof.exit_code, 0) << proof;
  const nlohmann::json j = nlohmann::json::parse(proof.out);
  EXPECT_EQ(j.at("key"), "646f67");
  EXPECT_EQ(j.at("value"), "7075707079");
}

TEST_P(TrieCommandTest, ProveAndVerifyRoundTrip) {
  const std::string lines = DogsLines() + Line("00", "ff") + Line("0001", "fe") +
                            Line(std::string(64, 'a'), std::string(200, 'b'));
  struct Key {
    std::string hex;
    std::optional<std::string> value;
  };
  const std::vector<Key> keys = {
      {AsciiHex("dog"), AsciiHex("puppy")},
      {AsciiHex("doe"), AsciiHex("reindeer")},
      {AsciiHex("dogglesworth"), AsciiHex("cat")},
      {"00", "ff"},
      {"0001", "fe"},
      {std::string(64, 'a'), std::string(200, 'b')},
      {AsciiHex("do"), std::nullopt},    // a prefix of present keys
      {AsciiHex("dogs"), std::nullopt},  // extends a present key
      {AsciiHex("cat"), std::nullopt},   // diverges at once
      {"", std::nullopt},                // the empty key
      {"01", std::nullopt},
  };
  for (TrieScheme scheme : kSchemes) {
    Outcome root = Root(scheme, lines);
    ASSERT_EQ(root.exit_code, 0) << root;
    for (const Key& key : keys) {
      SCOPED_TRACE(SchemeName(scheme) + " key " + key.hex);
      Outcome proof = Prove(scheme, lines, key.hex);
      ASSERT_EQ(proof.exit_code, 0) << proof;
      EXPECT_EQ(proof.err, "");
      ASSERT_THAT(proof.out, EndsWith("}\n"));
      EXPECT_EQ(std::count(proof.out.begin(), proof.out.end(), '\n'), 1);
      const nlohmann::ordered_json j = nlohmann::ordered_json::parse(proof.out);
      ASSERT_TRUE(j.is_object());
      std::vector<std::string> fields;
      for (const auto& item : j.items()) fields.push_back(item.key());
      EXPECT_EQ(fields, (std::vector<std::string>{"root", "key", "value", "proof"}));
      EXPECT_EQ(j.at("root").get<std::string>() + "\n", root.out);
      EXPECT_EQ(j.at("key"), key.hex);
      if (key.value.has_value()) {
        EXPECT_EQ(j.at("value"), *key.value);
      } else {
        EXPECT_TRUE(j.at("value").is_null());
      }
      ASSERT_TRUE(j.at("proof").is_array());
      EXPECT_FALSE(j.at("proof").empty());
      for (const auto& item : j.at("proof")) EXPECT_TRUE(item.is_string());

      Outcome verified = Verify(scheme, proof.out);
      EXPECT_EQ(verified.exit_code, 0) << verified;
      EXPECT_EQ(verified.out, key.value.value_or("absent") + "\n");
      EXPECT_EQ(verified.err, "");

      // Through stdin, too.
      Outcome piped = Run({"trie", "verify", "--scheme", SchemeName(scheme), "-"}, proof.out);
      EXPECT_EQ(piped.exit_code, 0) << piped;
      EXPECT_EQ(piped.out, verified.out);
    }
  }
}

TEST_P(TrieCommandTest, AbsentKeyInAnEmptyTrie) {
  for (TrieScheme scheme : kSchemes) {
    Outcome proof = Prove(scheme, "", "01");
    ASSERT_EQ(proof.exit_code, 0) << proof;
    const nlohmann::json j = nlohmann::json::parse(proof.out);
    EXPECT_TRUE(j.at("value").is_null());
    Outcome verified = Verify(scheme, proof.out);
    EXPECT_EQ(verified.exit_code, 0) << verified;
    EXPECT_EQ(verified.out, "absent\n");
  }
}

TEST_P(TrieCommandTest, EditedProofItemFails) {
  const std::string lines = DogsLines() + Line("0123", "4567");
  for (TrieScheme scheme : kSchemes) {
    for (const std::string& key : {AsciiHex("dog"), AsciiHex("dogs"), std::string("0123")}) {
      SCOPED_TRACE(SchemeName(scheme) + " key " + key);
      Outcome proof = Prove(scheme, lines, key);
      ASSERT_EQ(proof.exit_code, 0) << proof;
      const nlohmann::json original = nlohmann::json::parse(proof.out);
      const size_t count = original.at("proof").size();
      for (size_t i = 0; i < count; ++i) {
        const std::string item = original.at("proof")[i].get<std::string>();
        for (size_t pos : {size_t{0}, item.size() / 2, item.size() - 1}) {
          nlohmann::json edited = original;
          std::string changed = item;
          changed[pos] = changed[pos] == '0' ? '1' : '0';
          edited["proof"][i] = changed;
          Outcome o = Verify(scheme, edited.dump());
          EXPECT_EQ(o.exit_code, kExitFailure) << "item " << i << " pos " << pos << ": " << o;
          EXPECT_EQ(o.out, "");
          EXPECT_THAT(o.err, StartsWith("vellum-db: the proof does not hold"));
        }
      }
      // A dropped item, an added one, and no items at all.
      nlohmann::json shorter = original;
      shorter["proof"].erase(shorter["proof"].size() - 1);
      EXPECT_EQ(Verify(scheme, shorter.dump()).exit_code, kExitFailure);
      nlohmann::json longer = original;
      longer["proof"].push_back("c0");
      EXPECT_EQ(Verify(scheme, longer.dump()).exit_code, kExitFailure);
      nlohmann::json none = original;
      none["proof"] = nlohmann::json::array();
      EXPECT_EQ(Verify(scheme, none.dump()).exit_code, kExitFailure);
      // Another key or root with the same items.
      nlohmann::json other_key = original;
      other_key["key"] = key == "0123" ? AsciiHex("dog") : std::string("0123");
      EXPECT_EQ(Verify(scheme, other_key.dump()).exit_code, kExitFailure);
      nlohmann::json other_root = original;
      other_root["root"] = std::string(64, '7');
      EXPECT_EQ(Verify(scheme, other_root.dump()).exit_code, kExitFailure);
    }
  }
}

TEST_P(TrieCommandTest, ProofOfTheOtherSchemeFails) {
  Outcome proof = Prove(TrieScheme::kNative, DogsLines(), AsciiHex("dog"));
  ASSERT_EQ(proof.exit_code, 0) << proof;
  Outcome o = Verify(TrieScheme::kEthereum, proof.out);
  EXPECT_EQ(o.exit_code, kExitFailure) << o;
  EXPECT_THAT(o.err, HasSubstr("does not hold"));
  Outcome back = Prove(TrieScheme::kEthereum, DogsLines(), AsciiHex("dog"));
  ASSERT_EQ(back.exit_code, 0) << back;
  EXPECT_EQ(Verify(TrieScheme::kNative, back.out).exit_code, kExitFailure);
}

TEST_P(TrieCommandTest, ChangedValueFails) {
  for (TrieScheme scheme : kSchemes) {
    SCOPED_TRACE(SchemeName(scheme));
    Outcome present = Prove(scheme, DogsLines(), AsciiHex("dog"));
    ASSERT_EQ(present.exit_code, 0) << present;
    nlohmann::json j = nlohmann::json::parse(present.out);

    j["value"] = AsciiHex("kitten");
    Outcome other = Verify(scheme, j.dump());
    EXPECT_EQ(other.exit_code, kExitFailure) << other;
    EXPECT_EQ(other.out, "");
    EXPECT_THAT(other.err, AllOf(StartsWith("vellum-db: "), HasSubstr("does not match"),
                                 HasSubstr("the proof shows the value 7075707079, not the one")));

    j["value"] = nullptr;
    Outcome null_claim = Verify(scheme, j.dump());
    EXPECT_EQ(null_claim.exit_code, kExitFailure) << null_claim;
    EXPECT_THAT(null_claim.err,
                HasSubstr("shows the key present with value 7075707079, but \"value\" is null"));

    Outcome absent = Prove(scheme, DogsLines(), AsciiHex("cat"));
    ASSERT_EQ(absent.exit_code, 0) << absent;
    nlohmann::json a = nlohmann::json::parse(absent.out);
    a["value"] = AsciiHex("meow");
    Outcome claims_present = Verify(scheme, a.dump());
    EXPECT_EQ(claims_present.exit_code, kExitFailure) << claims_present;
    EXPECT_THAT(claims_present.err,
                HasSubstr("the proof shows the key absent, but \"value\" is not null"));
  }
}

TEST_P(TrieCommandTest, DeleteLineRemovesAKey) {
  for (TrieScheme scheme : kSchemes) {
    SCOPED_TRACE(SchemeName(scheme));
    const std::string with_delete =
        Line("0101", "aa") + DogsLines() + Line("0101", "") + "{\"key\":\"0202\",\"value\":null}\n";
    Outcome deleted = Root(scheme, with_delete);
    Outcome never = Root(scheme, DogsLines());
    EXPECT_EQ(deleted.exit_code, 0) << deleted;
    EXPECT_EQ(deleted.out, never.out);

    Outcome proof = Prove(scheme, with_delete, "0101");
    ASSERT_EQ(proof.exit_code, 0) << proof;
    EXPECT_TRUE(nlohmann::json::parse(proof.out).at("value").is_null());
    Outcome verified = Verify(scheme, proof.out);
    EXPECT_EQ(verified.out, "absent\n");

    // Lines apply in order: a key set again after its delete is present.
    Outcome again = Root(scheme, with_delete + Line("0101", "aa"));
    Outcome kept = Root(scheme, Line("0101", "aa") + DogsLines());
    EXPECT_EQ(again.out, kept.out);
    // Deleting everything gives the empty root.
    Outcome empty =
        Root(scheme, DogsLines() + Line(AsciiHex("doe"), "") + Line(AsciiHex("dog"), "") +
                         Line(AsciiHex("dogglesworth"), ""));
    EXPECT_EQ(empty.out,
              (scheme == TrieScheme::kNative ? kNativeEmptyRoot : kEthereumEmptyRoot) + "\n");
  }
}

TEST_P(TrieCommandTest, MalformedLinesAreNamed) {
  struct Case {
    std::string line;
    std::string message;
  };
  const std::vector<Case> cases = {
      {"{\"key\":\"6g\",\"value\":\"00\"}", "\"key\" is not hex"},
      {"{\"key\":\"012\",\"value\":\"00\"}", "\"key\" is not hex: hex string has an odd number"},
      {"{\"key\":\"01\",\"value\":\"0xzz\"}", "\"value\" is not hex"},
      {"{\"value\":\"00\"}", "missing \"key\""},
      {"{\"key\":\"01\"}", "missing \"value\""},
      {"{\"key\":1,\"value\":\"00\"}", "\"key\" is not a string"},
      {"{\"key\":\"01\",\"value\":[]}", "\"value\" is not a string"},
      {"not json at all", "not valid JSON"},
      {"{\"key\":\"01\",\"value\":\"00\"", "not valid JSON"},
      {"{\"key\":\"01\",\"value\":\"00\"} {}", "not valid JSON"},
      {"[\"01\",\"00\"]", "not a JSON object"},
      {"\"0100\"", "not a JSON object"},
      {"{\"key\":\"" + std::string(2 * (trie::kMaxKeySize + 1), 'a') + "\",\"value\":\"00\"}",
       "the key is 1025 bytes, longer than the trie's limit of 1024"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.line.substr(0, 60));
    // Line 4: after a good line, a blank one and another good one.
    const std::string input =
        Line("01", "02") + "\n" + Line("03", "04") + c.line + "\n" + Line("05", "06");
    for (const std::string command : {"root", "prove"}) {
      TempFile file(input);
      std::vector<std::string> args = {"trie", command, file.path()};
      if (command == "prove") args.push_back("01");
      Outcome o = Run(args);
      EXPECT_EQ(o.exit_code, kExitFailure) << o;
      EXPECT_EQ(o.out, "");
      EXPECT_THAT(o.err, StartsWith("vellum-db: line 4: "));
      EXPECT_THAT(o.err, HasSubstr(c.message));
      EXPECT_EQ(std::count(o.err.begin(), o.err.end(), '\n'), 1) << o.err;
    }
  }
  // Binary junk and a NUL byte are malformed lines too, not crashes.
  Outcome junk = Run({"trie", "root", "-"}, std::string("\xff\xfe\x00\x01\n", 5));
  EXPECT_EQ(junk.exit_code, kExitFailure) << junk;
  EXPECT_THAT(junk.err, StartsWith("vellum-db: line 1: "));
  // A last line without a newline still counts.
  Outcome last = Run({"trie", "root", "-"}, Line("01", "02") + "{\"key\":\"01\"}");
  EXPECT_EQ(last.exit_code, kExitFailure) << last;
  EXPECT_THAT(last.err, HasSubstr("line 2: missing \"value\""));
}

TEST_P(TrieCommandTest, FileErrors) {
  const std::string missing = ::testing::TempDir() + "vellum_trie_cli_no_such_file";
  for (const std::vector<std::string>& args :
       std::vector<std::vector<std::string>>{{"trie", "root", missing},
                                             {"trie", "prove", missing, "00"},
                                             {"trie", "verify", missing},
                                             {"trie", "root", ::testing::TempDir()}}) {
    Outcome o = Run(args);
    EXPECT_EQ(o.exit_code, kExitFailure) << o;
    EXPECT_THAT(o.err, StartsWith("vellum-db: "));
  }
}

TEST_P(TrieCommandTest, MalformedProofJson) {
  Outcome proof = Prove(TrieScheme::kNative, DogsLines(), AsciiHex("dog"));
  ASSERT_EQ(proof.exit_code, 0) << proof;
  const nlohmann::json good = nlohmann::json::parse(proof.out);
  auto with = [&](const char* field, nlohmann::json value) {
    nlohmann::json j = good;
    j[field] = std::move(value);
    return j.dump();
  };
  auto without = [&](const char* field) {
    nlohmann::json j = good;
    j.erase(field);
    return j.dump();
  };
  struct Case {
    std::string json;
    std::string message;
  };
  const std::vector<Case> cases = {
      {"", "not valid JSON"},
      {"{", "not valid JSON"},
      {"[]", "not a JSON object"},
      {without("root"), "missing \"root\""},
      {without("key"), "missing \"key\""},
      {without("value"), "missing \"value\""},
      {without("proof"), "missing \"proof\""},
      {with("root", "00"), "\"root\" is 1 bytes, not 32"},
      {with("root", 5), "\"root\" is not a string"},
      {with("key", "0q"), "\"key\" is not hex"},
      {with("value", ""), "\"value\" is empty"},
      {with("value", true), "\"value\" is not a string"},
      {with("proof", "00"), "\"proof\" is not an array"},
      {with("proof", {"00", 1}), "\"proof\" item 1 is not a string"},
      {with("proof", {"00", "0"}), "\"proof\" item 1 is not hex"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.message);
    Outcome o = Verify(TrieScheme::kNative, c.json);
    EXPECT_EQ(o.exit_code, kExitFailure) << o;
    EXPECT_EQ(o.out, "");
    EXPECT_THAT(o.err, StartsWith("vellum-db: the proof JSON: "));
    EXPECT_THAT(o.err, HasSubstr(c.message));
  }
  // Upper case and 0x prefixes are accepted here too.
  nlohmann::json loud = good;
  std::string root = good.at("root").get<std::string>();
  for (char& ch : root) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  loud["root"] = "0x" + root;
  loud["key"] = "0X" + good.at("key").get<std::string>();
  Outcome o = Verify(TrieScheme::kNative, loud.dump());
  EXPECT_EQ(o.exit_code, 0) << o;
  EXPECT_EQ(o.out, AsciiHex("puppy") + "\n");
}

TEST_P(TrieCommandTest, BadFlagsAreUsageErrors) {
  TempFile file(DogsLines());
  struct Case {
    std::vector<std::string> args;
    std::string message;
  };
  const std::vector<Case> cases = {
      {{"root", "--scheme", "bitcoin", file.path()}, "--scheme must be 'ethereum' or 'native'"},
      {{"prove", "--scheme", "", file.path(), "00"}, "--scheme must be 'ethereum' or 'native'"},
      {{"verify", "--scheme", "Native", file.path()}, "--scheme must be 'ethereum' or 'native'"},
      {{"root", "--scheme"}, "--scheme needs a value"},
      {{"root"}, "missing FILE (use - for stdin)"},
      {{"root", file.path(), "extra"}, "too many arguments (expected FILE)"},
      {{"prove", file.path()}, "missing KEYHEX"},
      {{"prove", file.path(), "0g"}, "KEYHEX is not hex"},
      {{"prove", file.path(), "abc"}, "KEYHEX is not hex"},
      {{"prove", file.path(), std::string(2050, 'a')}, "longer than the trie's limit"},
      {{"prove", file.path(), "00", "01"}, "too many arguments (expected FILE KEYHEX)"},
      {{"verify"}, "missing PROOF_JSON_FILE"},
      {{"root", "--schema", "native", file.path()}, "unknown option --schema"},
      {{"root", "--json", file.path()}, "'trie root' does not use --json"},
      {{"verify", "--hex", file.path()}, "'trie verify' does not use --hex"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.message);
    std::vector<std::string> args = {"trie"};
    args.insert(args.end(), c.args.begin(), c.args.end());
    Outcome o = Run(args);
    EXPECT_EQ(o.exit_code, kExitUsage) << o;
    EXPECT_EQ(o.out, "");
    EXPECT_THAT(o.err, StartsWith("vellum-db: "));
    EXPECT_THAT(o.err, HasSubstr(c.message));
    EXPECT_THAT(o.err, HasSubstr("Run 'vellum-db trie " + c.args[0] + " --help' for usage."));
  }
  Outcome unknown = Run({"trie", "rot"});
  EXPECT_EQ(unknown.exit_code, kExitUsage);
  EXPECT_THAT(unknown.err, HasSubstr("did you mean 'root'?"));
  Outcome group = Run({"trie"});
  EXPECT_EQ(group.exit_code, kExitUsage);
  EXPECT_THAT(group.err, HasSubstr("trie: missing command"));
}

TEST_P(TrieCommandTest, Help) {
  for (const auto& args : std::vector<std::vector<std::string>>{{"trie", "--help"},
                                                                {"trie", "root", "--help"},
                                                                {"trie", "prove", "-h"},
                                                                {"trie", "verify", "--help"}}) {
    Outcome o = Run(args);
    EXPECT_EQ(o.exit_code, 0) << o;
    EXPECT_THAT(o.out, StartsWith("Usage: vellum-db trie"));
    EXPECT_THAT(o.out, HasSubstr("vellum-db trie"));  // an example
    EXPECT_THAT(o.out, HasSubstr("--scheme ethereum"));
    EXPECT_EQ(o.err, "");
  }
  Outcome root = Run({"trie", "root", "--help"});
  EXPECT_THAT(root.out, AllOf(HasSubstr("--scheme S"), HasSubstr("Examples:"), HasSubstr("0x"),
                              HasSubstr("'-' as FILE")));
  Outcome prove = Run({"trie", "prove", "--help"});
  EXPECT_THAT(prove.out, AllOf(HasSubstr("FILE KEYHEX"), HasSubstr("\"proof\"")));
  Outcome verify = Run({"trie", "verify", "--help"});
  EXPECT_THAT(verify.out, AllOf(HasSubstr("PROOF_JSON_FILE"), HasSubstr("absent")));
  Outcome group = Run({"trie", "--help"});
  EXPECT_THAT(group.out, AllOf(HasSubstr("root"), HasSubstr("prove"), HasSubstr("verify")));
  Outcome top = Run({"--help"});
  EXPECT_THAT(top.out, AllOf(HasSubstr("trie root"), HasSubstr("trie prove"),
                             HasSubstr("trie verify"), HasSubstr("shamir split")));
}

// More lines than one commit batch holds, with deletes and overwrites across batches.
TEST_P(TrieCommandTest, InputLongerThanACommitBatch) {
  std::string lines;
  const size_t n = kTrieLinesPerCommit + kTrieLinesPerCommit / 2;
  for (size_t i = 0; i < n; ++i) {
    const std::string key = std::to_string(i % 4000);
    lines += Line(AsciiHex(key), i % 7 == 3 ? "" : AsciiHex("v" + std::to_string(i)));
  }
  // The same final state, stated directly.
  std::map<std::string, std::string> state;
  for (size_t i = 0; i < n; ++i) {
    const std::string key = std::to_string(i % 4000);
    if (i % 7 == 3) {
      state.erase(key);
    } else {
      state[key] = "v" + std::to_string(i);
    }
  }
  std::string direct;
  for (const auto& [key, value] : state) direct += Line(AsciiHex(key), AsciiHex(value));
  Outcome batched = Root(TrieScheme::kNative, lines);
  Outcome expected = Root(TrieScheme::kNative, direct);
  EXPECT_EQ(batched.exit_code, 0) << batched;
  EXPECT_EQ(batched.out, expected.out);
  EXPECT_EQ(batched.err, "");  // stderr is not a terminal: no progress
}

// Test names: TrieCommandTest.<Name>/InProcess and TrieCommandTest.<Name>/Binary.
VELLUM_INSTANTIATE_FOR_RUNNERS(TrieCommandTest);

// --- LoadTrieLines -------------------------------------------------------------------

std::string RootHex(const LoadedTrie& loaded) { return HexEncode(loaded.trie->LatestRoot().hash); }

TEST(TrieCommandLoadTest, BatchSizeDoesNotChangeTheResult) {
  // Sets, overwrites and deletes of a few keys, so every batch boundary splits some
  // key's history.
  std::string lines;
  for (int i = 0; i < 60; ++i) {
    const std::string key = AsciiHex("k" + std::to_string(i % 9));
    lines += Line(key, i % 5 == 4 ? "" : AsciiHex(std::to_string(i)));
    if (i % 11 == 0) lines += "\n";
  }
  for (TrieScheme scheme : kSchemes) {
    std::string first;
    for (size_t per_commit : {size_t{1}, size_t{2}, size_t{3}, size_t{7}, size_t{1000}}) {
      std::istringstream in(lines);
      std::ostringstream progress;
      TrieLoadOptions options;
      options.scheme = scheme;
      options.lines_per_commit = per_commit;
      Result<LoadedTrie> loaded = LoadTrieLines(in, options, progress);
      ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
      EXPECT_EQ(loaded->lines, 66u);
      EXPECT_EQ(progress.str(), "");
      if (first.empty()) first = RootHex(*loaded);
      EXPECT_EQ(RootHex(*loaded), first) << "batches of " << per_commit;
    }
    // Each key's last line wins.
    std::istringstream in(lines);
    std::ostringstream progress;
    TrieLoadOptions options;
    options.scheme = scheme;
    options.lines_per_commit = 4;
    Result<LoadedTrie> loaded = LoadTrieLines(in, options, progress);
    ASSERT_TRUE(loaded.ok());
    const trie::TrieRoot root = loaded->trie->LatestRoot();
    auto k8 = loaded->trie->GetAtRoot(root, AsBytes("k8"));  // last written at i = 53
    ASSERT_TRUE(k8.ok());
    EXPECT_EQ(*k8, std::optional<Bytes>(ToBytes("53")));
    auto k0 = loaded->trie->GetAtRoot(root, AsBytes("k0"));  // deleted at i = 54
    ASSERT_TRUE(k0.ok());
    EXPECT_EQ(*k0, std::nullopt);
    auto k4 = loaded->trie->GetAtRoot(root, AsBytes("k4"));  // deleted at 49, set at 58
    ASSERT_TRUE(k4.ok());
    EXPECT_EQ(*k4, std::optional<Bytes>(ToBytes("58")));
  }
}

TEST(TrieCommandLoadTest, ProgressIsShownAndEndsTheLine) {
  std::string lines;
  for (int i = 0; i < 5; ++i) lines += Line("0" + std::to_string(i), "aa");
  std::istringstream in(lines);
  std::ostringstream progress;
  TrieLoadOptions options;
  options.progress_every = 2;
  Result<LoadedTrie> loaded = LoadTrieLines(in, options, progress);
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  EXPECT_EQ(progress.str(), "\rvellum-db: 2 lines read\rvellum-db: 4 lines read\n");

  // An error after progress output starts on a fresh line.
  std::istringstream bad(lines + "oops\n");
  std::ostringstream progress2;
  Result<LoadedTrie> failed = LoadTrieLines(bad, options, progress2);
  ASSERT_FALSE(failed.ok());
  EXPECT_THAT(failed.status().message(), StartsWith("line 6: "));
  EXPECT_THAT(progress2.str(), EndsWith("6 lines read\n"));
}

TEST(TrieCommandLoadTest, OverlongLineIsRefused) {
  // A newline-free input far larger than any valid line is refused without reading it
  // all into one string.
  class Endless : public std::streambuf {
   protected:
    int_type underflow() override {
      static char block[4096];
      std::fill(std::begin(block), std::end(block), 'a');
      setg(block, block, block + sizeof(block));
      return traits_type::to_int_type(block[0]);
    }
  };
  Endless endless;
  std::istream in(&endless);
  std::ostringstream progress;
  Result<LoadedTrie> loaded = LoadTrieLines(in, TrieLoadOptions(), progress);
  ASSERT_FALSE(loaded.ok());
  EXPECT_THAT(loaded.status().message(),
              AllOf(StartsWith("line 1 is longer than"), Not(HasSubstr("aaaa"))));
}

TEST(TrieCommandLoadTest, DecodeTrieHex) {
  EXPECT_EQ(*DecodeTrieHex("0xAbCd"), (Bytes{0xab, 0xcd}));
  EXPECT_EQ(*DecodeTrieHex("0XABCD"), (Bytes{0xab, 0xcd}));
  EXPECT_EQ(*DecodeTrieHex("abcd"), (Bytes{0xab, 0xcd}));
  EXPECT_EQ(*DecodeTrieHex("0x"), Bytes());
  EXPECT_EQ(*DecodeTrieHex(""), Bytes());
  EXPECT_FALSE(DecodeTrieHex("0x0").ok());
  EXPECT_FALSE(DecodeTrieHex("x0").ok());
  EXPECT_FALSE(DecodeTrieHex("0x0x00").ok());
}

}  // namespace
}  // namespace vellum::tools
