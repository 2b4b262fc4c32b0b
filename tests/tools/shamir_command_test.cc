// Copyright (c) Vellum authors.
//
// Tests of the vellum-db framework (argument parser, command dispatch, help, exit
// codes) and of `vellum-db shamir split|combine`, both in-process through RunVellumDb
// and through the real binary.

#include "tools/shamir_command.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <cstdio>
#include <sstream>
#include <string>
#include <vector>

#include "tests/tools/cli_test_harness.h"
#include "tools/arg_parser.h"
#include "tools/cli.h"

namespace vellum::tools {
namespace {

using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

std::string Join(const std::vector<std::string>& lines, const std::vector<size_t>& picks) {
  std::string out;
  for (size_t i : picks) out += lines[i] + "\n";
  return out;
}

// Every subset of {0..n-1} with exactly k elements.
std::vector<std::vector<size_t>> Subsets(size_t n, size_t k) {
  std::vector<std::vector<size_t>> result;
  for (uint32_t mask = 0; mask < (1u << n); ++mask) {
    std::vector<size_t> subset;
    for (size_t i = 0; i < n; ++i) {
      if ((mask >> i) & 1) subset.push_back(i);
    }
    if (subset.size() == k) result.push_back(subset);
  }
  return result;
}

// --- argument parser ---------------------------------------------------------------

std::vector<FlagSpec> TestSpecs() {
  return {
      FlagSpec::Value("db", "DIR", "database"),
      FlagSpec::Value("tag", "T", "a tag").Repeatable(),
      FlagSpec::Bool("json", "json output"),
      FlagSpec::Bool("help", "help").WithShort('h'),
  };
}

TEST(CliArgParserTest, AllFlagForms) {
  auto args = ArgParser::ParseAll(
      {"pos1", "--db", "/tmp/a", "--tag=x", "--json", "-", "--tag", "y", "-5", "--", "--db", "-h"},
      TestSpecs());
  ASSERT_TRUE(args.ok()) << args.status().ToString();
  EXPECT_EQ(args->Get("db"), "/tmp/a");
  EXPECT_TRUE(args->Has("json"));
  EXPECT_FALSE(args->Has("help"));
  EXPECT_THAT(args->GetAll("tag"), ElementsAre("x", "y"));
  EXPECT_EQ(args->Count("tag"), 2u);
  EXPECT_EQ(args->Get("tag"), "y");
  EXPECT_EQ(args->Get("missing"), std::nullopt);
  EXPECT_THAT(args->positional(), ElementsAre("pos1", "-", "-5", "--db", "-h"));
}

TEST(CliArgParserTest, ValuesMayBeEmptyOrContainEqualsWhenAttached) {
  auto args = ArgParser::ParseAll({"--db=", "--tag=a=b", "--tag=--x"}, TestSpecs());
  ASSERT_TRUE(args.ok()) << args.status().ToString();
  EXPECT_EQ(args->Get("db"), "");
  EXPECT_THAT(args->GetAll("tag"), ElementsAre("a=b", "--x"));
}

TEST(CliArgParserTest, ShortFlag) {
  auto args = ArgParser::ParseAll({"-h"}, TestSpecs());
  ASSERT_TRUE(args.ok());
  EXPECT_TRUE(args->Has("help"));
}

TEST(CliArgParserTest, Errors) {
  struct Case {
    std::vector<std::string> tokens;
    std::string message;
  };
  const std::vector<Case> cases = {
      {{"--bogus"}, "unknown option --bogus"},
      {{"--jsn"}, "unknown option --jsn (did you mean --json?)"},
      {{"--db"}, "--db needs a value"},
      {{"--db", "--json"}, "--db needs a value"},
      {{"--db", "--"}, "--db needs a value"},
      {{"--json=yes"}, "--json takes no value"},
      {{"--db", "a", "--db=b"}, "--db was given more than once"},
      {{"--json", "--json"}, "--json was given more than once"},
      {{"-x"}, "unknown option -x"},
      {{"-help"}, "did you mean --help?"},
  };
  for (const Case& c : cases) {
    auto args = ArgParser::ParseAll(c.tokens, TestSpecs());
    ASSERT_FALSE(args.ok()) << c.message;
    EXPECT_TRUE(args.status().IsInvalidArgument());
    EXPECT_THAT(args.status().message(), HasSubstr(c.message));
  }
}

TEST(CliArgParserTest, ErrorsDoNotQuoteValues) {
  auto args = ArgParser::ParseAll({"--password=hunter2"}, TestSpecs());
  ASSERT_FALSE(args.ok());
  EXPECT_THAT(args.status().message(), HasSubstr("--password"));
  EXPECT_THAT(args.status().message(), Not(HasSubstr("hunter2")));
  args = ArgParser::ParseAll({"--json=hunter2"}, TestSpecs());
  ASSERT_FALSE(args.ok());
  EXPECT_THAT(args.status().message(), Not(HasSubstr("hunter2")));
}

TEST(CliArgParserTest, IncrementalParsingAddsFlagsAfterACommandWord) {
  ArgParser parser({"--json", "cmd", "--level", "3", "--json", "file"});
  parser.AddFlags(std::vector<FlagSpec>{FlagSpec::Bool("json", "")});
  ParsedArgs args;
  auto word = parser.NextPositional(&args);
  ASSERT_TRUE(word.ok());
  EXPECT_EQ(*word, "cmd");
  parser.AddFlags(std::vector<FlagSpec>{FlagSpec::Value("level", "N", "")});
  // --json a second time is an error: it is not repeatable.
  Status status = parser.ParseRest(&args);
  EXPECT_THAT(status.message(), HasSubstr("--json was given more than once"));
  EXPECT_EQ(args.Get("level"), "3");
}

TEST(CliArgParserTest, RemainingContains) {
  ArgParser parser({"a", "--x", "-h", "--", "--help"});
  EXPECT_TRUE(parser.RemainingContains("help", 'h'));
  EXPECT_FALSE(parser.RemainingContains("y", 0));
  ArgParser after_terminator({"a", "--", "--help"});
  EXPECT_FALSE(after_terminator.RemainingContains("help", 'h'));
}

TEST(CliArgParserTest, ParseIntFlag) {
  auto args = ArgParser::ParseAll({"--db", "42", "--tag=x"}, TestSpecs());
  ASSERT_TRUE(args.ok());
  auto value = ParseIntFlag(*args, "db", 1, 255);
  ASSERT_TRUE(value.ok());
  EXPECT_EQ(*value, 42);
  auto absent = ParseIntFlag(*args, "json", 1, 255);
  ASSERT_TRUE(absent.ok());
  EXPECT_EQ(*absent, std::nullopt);
  for (const char* bad :
       {"0", "256", "-1", "x", "", "4 2", "42x", "0x10", "99999999999999999999"}) {
    auto parsed = ArgParser::ParseAll({std::string("--db=") + bad}, TestSpecs());
    ASSERT_TRUE(parsed.ok());
    auto result = ParseIntFlag(*parsed, "db", 1, 255);
    ASSERT_FALSE(result.ok()) << bad;
    EXPECT_THAT(result.status().message(), HasSubstr("--db must be a whole number from 1 to 255"));
  }
}

TEST(CliArgParserTest, EditDistance) {
  EXPECT_EQ(EditDistance("", ""), 0u);
  EXPECT_EQ(EditDistance("abc", ""), 3u);
  EXPECT_EQ(EditDistance("threshold", "thresold"), 1u);
  EXPECT_EQ(EditDistance("kitten", "sitting"), 3u);
}

// --- framework ---------------------------------------------------------------------

// A command that reports what it was given, to test the framework without Shamir.
class EchoCommand final : public Command {
 public:
  std::vector<FlagSpec> Flags() const override {
    return {FlagSpec::Value("tag", "T", "a tag").Repeatable(), FlagSpec::Bool("loud", "shout")};
  }
  unsigned UsedGlobals() const override { return kGlobalDb | kGlobalJson; }
  std::string Synopsis() const override { return "[--tag T]... [ARG...]"; }
  std::string Description() const override { return "Echoes its arguments.\n"; }
  std::string Examples() const override { return "  vellum-db test echo --tag a x\n"; }
  Status Init(const ParsedArgs& args, const GlobalOptions& globals) override {
    if (args.positional().size() > 2) return Status::InvalidArgument("too many arguments");
    args_ = args;
    globals_ = globals;
    return Status::OK();
  }
  Status Run(CommandIo& io) override {
    if (args_.Has("loud")) return Status::IOError("too loud");
    io.out << "db=" << globals_.db.value_or("-") << " json=" << globals_.json;
    for (const std::string& tag : args_.GetAll("tag")) io.out << " tag=" << tag;
    for (const std::string& arg : args_.positional()) io.out << " arg=" << arg;
    return Status::OK();
  }

 private:
  ParsedArgs args_;
  GlobalOptions globals_;
};

class CliFrameworkTest : public ::testing::Test {
 protected:
  CliFrameworkTest() {
    registry_.AddGroup("test", "Test commands");
    registry_.AddGroup("test deep", "Nested test commands");
    registry_.AddCommand("test echo", "Echo the arguments",
                         [] { return std::make_unique<EchoCommand>(); });
    registry_.AddCommand("test deep echo", "Echo, nested",
                         [] { return std::make_unique<EchoCommand>(); });
  }

  Outcome Run(std::vector<std::string> args) {
    std::istringstream in;
    std::ostringstream out;
    std::ostringstream err;
    Outcome outcome;
    outcome.exit_code = RunVellumDb(registry_, std::move(args), in, out, err);
    outcome.out = out.str();
    outcome.err = err.str();
    return outcome;
  }

  CommandRegistry registry_;
};

TEST_F(CliFrameworkTest, GlobalOptionsBeforeOrAfterTheCommand) {
  const std::string expected = "db=/d json=1 tag=a tag=b arg=x arg=y";
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"--db", "/d", "--json", "test", "echo", "--tag", "a", "x", "--tag=b", "y"},
           {"test", "echo", "--db=/d", "--tag", "a", "x", "--json", "--tag", "b", "y"},
           {"--json", "test", "--db", "/d", "echo", "--tag=a", "--tag=b", "x", "y"},
           {"test", "echo", "--tag", "a", "--tag", "b", "--db", "/d", "--json", "--", "x", "y"},
       }) {
    Outcome o = Run(args);
    EXPECT_EQ(o.exit_code, kExitOk) << o;
    EXPECT_EQ(o.out, expected);
  }
}

TEST_F(CliFrameworkTest, NestedGroups) {
  Outcome o = Run({"test", "deep", "echo", "z"});
  EXPECT_EQ(o.exit_code, kExitOk) << o;
  EXPECT_EQ(o.out, "db=- json=0 arg=z");
}

TEST_F(CliFrameworkTest, CommandOptionsBeforeTheCommandAreUnknown) {
  Outcome o = Run({"--tag", "a", "test", "echo"});
  EXPECT_EQ(o.exit_code, kExitUsage);
  EXPECT_THAT(o.err, StartsWith("vellum-db: unknown option --tag"));
}

TEST_F(CliFrameworkTest, UnusedGlobalOptionIsAUsageError) {
  Outcome o = Run({"test", "echo", "--hex"});
  EXPECT_EQ(o.exit_code, kExitUsage);
  EXPECT_THAT(o.err, HasSubstr("'test echo' does not use --hex"));
}

TEST_F(CliFrameworkTest, InitFailureIsUsageRunFailureIsOperational) {
  Outcome usage = Run({"test", "echo", "a", "b", "c"});
  EXPECT_EQ(usage.exit_code, kExitUsage);
  EXPECT_THAT(usage.err, HasSubstr("vellum-db: too many arguments\n"));
  EXPECT_THAT(usage.err, HasSubstr("Run 'vellum-db test echo --help' for usage."));
  Outcome failed = Run({"test", "echo", "--loud"});
  EXPECT_EQ(failed.exit_code, kExitFailure);
  EXPECT_EQ(failed.err, "vellum-db: too loud\n");
}

TEST_F(CliFrameworkTest, HelpAtEveryLevel) {
  Outcome root = Run({"--help"});
  EXPECT_EQ(root.exit_code, kExitOk);
  EXPECT_THAT(root.out, AllOf(StartsWith("Usage: vellum-db"), HasSubstr("test echo"),
                              HasSubstr("test deep echo"), HasSubstr("Echo, nested"),
                              HasSubstr("--key-file FILE")));
  Outcome group = Run({"test", "-h"});
  EXPECT_EQ(group.exit_code, kExitOk);
  EXPECT_THAT(group.out, AllOf(StartsWith("Usage: vellum-db test <command>"), HasSubstr("echo"),
                               HasSubstr("deep ...")));
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"test", "echo", "--help"}, {"--help", "test", "echo"}, {"test", "echo", "-h", "x"}}) {
    Outcome command = Run(args);
    EXPECT_EQ(command.exit_code, kExitOk);
    EXPECT_THAT(command.out,
                AllOf(StartsWith("Usage: vellum-db test echo [--tag T]... [ARG...]"),
                      HasSubstr("Echoes its arguments."), HasSubstr("--tag T"),
                      HasSubstr("(may be repeated)"), HasSubstr("--db DIR"), HasSubstr("--json"),
                      Not(HasSubstr("--hex")), HasSubstr("Examples:")));
  }
}

TEST_F(CliFrameworkTest, HelpWinsOverAParseError) {
  Outcome o = Run({"test", "echo", "--bogus", "--help"});
  EXPECT_EQ(o.exit_code, kExitOk);
  EXPECT_THAT(o.out, StartsWith("Usage: vellum-db test echo"));
}

TEST_F(CliFrameworkTest, MissingAndUnknownCommands) {
  Outcome none = Run({});
  EXPECT_EQ(none.exit_code, kExitUsage);
  EXPECT_THAT(none.err, StartsWith("Usage: vellum-db"));
  EXPECT_EQ(none.out, "");

  Outcome group_only = Run({"test"});
  EXPECT_EQ(group_only.exit_code, kExitUsage);
  EXPECT_THAT(group_only.err, StartsWith("vellum-db: test: missing command"));

  Outcome typo = Run({"tset"});
  EXPECT_EQ(typo.exit_code, kExitUsage);
  EXPECT_THAT(typo.err, HasSubstr("unknown command 'tset' (did you mean 'test'?)"));

  Outcome sub = Run({"test", "ecko"});
  EXPECT_EQ(sub.exit_code, kExitUsage);
  EXPECT_THAT(sub.err, HasSubstr("test: unknown command 'ecko' (did you mean 'echo'?)"));

  // Something that might be a secret typed in the wrong place is not echoed.
  Outcome secret = Run({"Tr0ub4dor&3"});
  EXPECT_EQ(secret.exit_code, kExitUsage);
  EXPECT_THAT(secret.err, Not(HasSubstr("Tr0ub4dor")));
}

TEST_F(CliFrameworkTest, Version) {
  for (const auto& args :
       std::vector<std::vector<std::string>>{{"--version"}, {"test", "echo", "--version"}}) {
    Outcome o = Run(args);
    EXPECT_EQ(o.exit_code, kExitOk);
    EXPECT_EQ(o.out, VersionString() + "\n");
  }
  EXPECT_THAT(VersionString(), StartsWith("vellum-db "));
  EXPECT_NE(VersionString(), "vellum-db unknown");
}

TEST(CliTest, DefaultRegistryHasTheShamirCommands) {
  Outcome o = RunInProcess({"--help"});
  EXPECT_EQ(o.exit_code, kExitOk);
  EXPECT_THAT(o.out,
              AllOf(StartsWith("Usage:"), HasSubstr("shamir split"), HasSubstr("shamir combine")));
}

// --- shamir split / combine, both in-process and through the binary ------------------

class ShamirCommandTest : public ::testing::TestWithParam<Runner> {
 protected:
  Outcome Run(std::vector<std::string> args, const std::string& input = "") {
    return GetParam()(std::move(args), input);
  }
  std::vector<std::string> Split(const std::string& secret, int k, int n) {
    Outcome o =
        Run({"shamir", "split", "--threshold", std::to_string(k), "--shares", std::to_string(n)},
            secret);
    EXPECT_EQ(o.exit_code, 0) << o;
    std::vector<std::string> lines = Lines(o.out);
    EXPECT_EQ(lines.size(), static_cast<size_t>(n));
    return lines;
  }
};

TEST_P(ShamirCommandTest, EveryThreeOfFiveRecoverTheSecret) {
  const std::vector<std::string> lines = Split("secret", 3, 5);
  ASSERT_EQ(lines.size(), 5u);
  for (const std::string& line : lines) EXPECT_THAT(line, StartsWith("vellum-share-1-"));
  for (const auto& subset : Subsets(5, 3)) {
    Outcome o = Run({"shamir", "combine"}, Join(lines, subset));
    EXPECT_EQ(o.exit_code, 0) << o;
    EXPECT_EQ(o.out, "secret");  // exactly: no newline added
    EXPECT_EQ(o.err, "");
  }
  // Four and five lines, in another order, work too.
  for (const auto& picks : std::vector<std::vector<size_t>>{{4, 2, 0, 1}, {3, 1, 4, 0, 2}}) {
    Outcome o = Run({"shamir", "combine"}, Join(lines, picks));
    EXPECT_EQ(o.exit_code, 0) << o;
    EXPECT_EQ(o.out, "secret");
  }
}

TEST_P(ShamirCommandTest, BinarySecretRoundTrips) {
  std::string secret("\x00\xff\x00\n\r\xfe\x01 \xff\xff", 10);
  for (int i = 0; i < 256; ++i) secret.push_back(static_cast<char>(i));
  const std::vector<std::string> lines = Split(secret, 2, 3);
  ASSERT_EQ(lines.size(), 3u);
  Outcome o = Run({"shamir", "combine"}, Join(lines, {2, 0}));
  EXPECT_EQ(o.exit_code, 0) << o;
  EXPECT_EQ(o.out, secret);
  EXPECT_EQ(o.out.size(), secret.size());
}

TEST_P(ShamirCommandTest, HexOutputBeforeOrAfterTheCommand) {
  const std::vector<std::string> lines = Split("abc", 2, 2);
  ASSERT_EQ(lines.size(), 2u);
  for (const auto& args : std::vector<std::vector<std::string>>{{"shamir", "combine", "--hex"},
                                                                {"--hex", "shamir", "combine"}}) {
    Outcome o = Run(args, Join(lines, {0, 1}));
    EXPECT_EQ(o.exit_code, 0) << o;
    EXPECT_EQ(o.out, "616263\n");
  }
}

TEST_P(ShamirCommandTest, BlankLinesCommentsAndWhitespaceAreIgnored) {
  const std::vector<std::string> lines = Split("x", 2, 3);
  ASSERT_EQ(lines.size(), 3u);
  const std::string input =
      "# shares of the backup key\n\n   \n  " + lines[0] + "  \r\n#" + lines[1] + "\n" + lines[2];
  Outcome o = Run({"shamir", "combine"}, input);
  EXPECT_EQ(o.exit_code, 0) << o;
  EXPECT_EQ(o.out, "x");
}

TEST_P(ShamirCommandTest, TooFewShares) {
  const std::vector<std::string> lines = Split("secret", 3, 5);
  ASSERT_EQ(lines.size(), 5u);
  Outcome o = Run({"shamir", "combine"}, Join(lines, {0, 3}));
  EXPECT_EQ(o.exit_code, kExitFailure);
  EXPECT_EQ(o.out, "");
  EXPECT_EQ(o.err, "vellum-db: need 3 shares, got 2\n");
}

TEST_P(ShamirCommandTest, SharesOfDifferentSplits) {
  const std::vector<std::string> a = Split("secret", 2, 3);
  const std::vector<std::string> b = Split("secret", 2, 3);
  ASSERT_EQ(a.size(), 3u);
  ASSERT_EQ(b.size(), 3u);
  Outcome o = Run({"shamir", "combine"}, a[0] + "\n" + b[1] + "\n");
  EXPECT_EQ(o.exit_code, kExitFailure);
  EXPECT_EQ(o.out, "");
  EXPECT_THAT(o.err, HasSubstr("line 2 comes from a different split than line 1"));
}

TEST_P(ShamirCommandTest, EditedLineIsNamed) {
  std::vector<std::string> lines = Split("secret", 2, 3);
  ASSERT_EQ(lines.size(), 3u);
  // Change one hex digit of the third line somewhere in the share data.
  std::string& victim = lines[2];
  const size_t pos = victim.size() - 20;
  victim[pos] = victim[pos] == 'a' ? 'b' : 'a';
  Outcome o = Run({"shamir", "combine"}, "# comment\n" + Join(lines, {0, 2}));
  EXPECT_EQ(o.exit_code, kExitFailure);
  EXPECT_EQ(o.out, "");
  EXPECT_EQ(o.err, "vellum-db: line 3: share line is damaged: checksum mismatch\n");
  // No share data in the message.
  EXPECT_THAT(o.err, Not(HasSubstr(victim.substr(20, 16))));

  Outcome non_hex = Run({"shamir", "combine"}, lines[0] + "\n" + lines[1].substr(0, 30) + "z" +
                                                   lines[1].substr(31) + "\n");
  EXPECT_EQ(non_hex.exit_code, kExitFailure);
  EXPECT_EQ(non_hex.err,
            "vellum-db: line 2: share line is damaged: non-hex character at position 30\n");

  Outcome truncated = Run({"shamir", "combine"}, lines[0].substr(0, lines[0].size() - 2) + "\n");
  EXPECT_EQ(truncated.exit_code, kExitFailure);
  EXPECT_THAT(truncated.err, HasSubstr("line 1: share line is damaged"));
}

TEST_P(ShamirCommandTest, NotShareLines) {
  Outcome o = Run({"shamir", "combine"}, "\nhello world\n");
  EXPECT_EQ(o.exit_code, kExitFailure);
  EXPECT_THAT(o.err, HasSubstr("line 2: not a Vellum share line"));

  Outcome empty = Run({"shamir", "combine"}, "# nothing here\n");
  EXPECT_EQ(empty.exit_code, kExitFailure);
  EXPECT_THAT(empty.err, HasSubstr("no share lines on stdin"));
}

TEST_P(ShamirCommandTest, RepeatedLine) {
  const std::vector<std::string> lines = Split("secret", 2, 3);
  ASSERT_EQ(lines.size(), 3u);
  Outcome o = Run({"shamir", "combine"}, Join(lines, {1, 0, 1}));
  EXPECT_EQ(o.exit_code, kExitFailure);
  EXPECT_THAT(o.err, HasSubstr("line 3 repeats share 2 of line 1"));
}

TEST_P(ShamirCommandTest, EmptySecretWarnsAndRoundTrips) {
  Outcome split = Run({"shamir", "split", "--threshold", "2", "--shares", "2"}, "");
  EXPECT_EQ(split.exit_code, 0) << split;
  EXPECT_THAT(split.err, HasSubstr("vellum-db: warning: the secret on stdin is empty"));
  Outcome combine = Run({"shamir", "combine"}, split.out);
  EXPECT_EQ(combine.exit_code, 0) << combine;
  EXPECT_EQ(combine.out, "");
}

TEST_P(ShamirCommandTest, SecretSizeLimit) {
  const std::string largest(kMaxShamirSecretSize, '\x5a');
  Outcome ok = Run({"shamir", "split", "--threshold", "1", "--shares", "1"}, largest);
  EXPECT_EQ(ok.exit_code, 0) << ok;
  Outcome back = Run({"shamir", "combine"}, ok.out);
  EXPECT_EQ(back.exit_code, 0) << back;
  EXPECT_TRUE(back.out == largest);

  Outcome too_big = Run({"shamir", "split", "--threshold", "1", "--shares", "1"}, largest + "\x5a");
  EXPECT_EQ(too_big.exit_code, kExitFailure);
  EXPECT_EQ(too_big.out, "");
  EXPECT_THAT(too_big.err, HasSubstr("larger than 1 MiB"));
}

TEST_P(ShamirCommandTest, BadFlagsAreUsageErrors) {
  struct Case {
    std::vector<std::string> args;
    std::string message;
  };
  const std::vector<Case> cases = {
      {{"--threshold", "0", "--shares", "3"}, "--threshold must be a whole number from 1 to 255"},
      {{"--threshold", "2", "--shares", "256"}, "--shares must be a whole number from 1 to 255"},
      {{"--threshold", "4", "--shares", "3"}, "--threshold (4) cannot be larger than --shares (3)"},
      {{"--shares", "3"}, "missing --threshold K"},
      {{"--threshold", "2"}, "missing --shares N"},
      {{"--threshold", "two", "--shares", "3"}, "--threshold must be a whole number"},
      {{"--threshold", "2", "--shares", "3x"}, "--shares must be a whole number"},
      {{"--threshold", "-1", "--shares", "3"}, "--threshold must be a whole number"},
      {{"--threshold"}, "--threshold needs a value"},
      {{"--thresold", "2", "--shares", "3"},
       "unknown option --thresold (did you mean --threshold?)"},
      {{"--threshold", "2", "--shares", "3", "--json"}, "'shamir split' does not use --json"},
      {{"--threshold", "2", "--shares", "3", "hunter2"}, "takes no arguments"},
  };
  for (const Case& c : cases) {
    std::vector<std::string> args = {"shamir", "split"};
    args.insert(args.end(), c.args.begin(), c.args.end());
    Outcome o = Run(args, "secret");
    EXPECT_EQ(o.exit_code, kExitUsage) << c.message;
    EXPECT_EQ(o.out, "");
    EXPECT_THAT(o.err, StartsWith("vellum-db: "));
    EXPECT_THAT(o.err, HasSubstr(c.message));
    EXPECT_THAT(o.err, HasSubstr("Run 'vellum-db shamir split --help' for usage."));
    EXPECT_THAT(o.err, Not(HasSubstr("hunter2")));
  }
  Outcome combine_arg = Run({"shamir", "combine", "extra"}, "");
  EXPECT_EQ(combine_arg.exit_code, kExitUsage);
}

TEST_P(ShamirCommandTest, Help) {
  for (const auto& args : std::vector<std::vector<std::string>>{{"--help"},
                                                                {"-h"},
                                                                {"shamir", "--help"},
                                                                {"shamir", "split", "--help"},
                                                                {"shamir", "combine", "--help"},
                                                                {"shamir", "split", "-h"}}) {
    Outcome o = Run(args);
    EXPECT_EQ(o.exit_code, 0) << o;
    EXPECT_THAT(o.out, StartsWith("Usage"));
    EXPECT_EQ(o.err, "");
  }
  Outcome split = Run({"shamir", "split", "--help"});
  EXPECT_THAT(split.out, AllOf(HasSubstr("--threshold K"), HasSubstr("--shares N"),
                               HasSubstr("Examples:"), HasSubstr("printf")));
  Outcome group = Run({"shamir", "--help"});
  EXPECT_THAT(group.out, AllOf(HasSubstr("split"), HasSubstr("combine")));
}

TEST_P(ShamirCommandTest, NoArgumentsIsAUsageError) {
  Outcome o = Run({});
  EXPECT_EQ(o.exit_code, kExitUsage);
  EXPECT_THAT(o.err, StartsWith("Usage"));
  EXPECT_EQ(o.out, "");
  Outcome group = Run({"shamir"});
  EXPECT_EQ(group.exit_code, kExitUsage);
}

TEST_P(ShamirCommandTest, Version) {
  Outcome o = Run({"--version"});
  EXPECT_EQ(o.exit_code, 0);
  EXPECT_EQ(o.out, VersionString() + "\n");
}

// Test names: ShamirCommandTest.<Name>/InProcess and ShamirCommandTest.<Name>/Binary.
VELLUM_INSTANTIATE_FOR_RUNNERS(ShamirCommandTest);

// A direct check of the brief's pipeline: printf secret | vellum-db shamir split, then
// every 3 of the 5 lines back through the real binary.
TEST(ShamirCommandBinaryTest, PrintfPipeline) {
  const std::string command =
      std::string("printf secret | ") + BinaryPath() + " shamir split --threshold 3 --shares 5";
  FILE* pipe = popen(command.c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  std::string output;
  char buffer[4096];
  for (size_t n; (n = fread(buffer, 1, sizeof(buffer), pipe)) > 0;) output.append(buffer, n);
  ASSERT_EQ(pclose(pipe), 0);
  const std::vector<std::string> lines = Lines(output);
  ASSERT_EQ(lines.size(), 5u);
  for (const auto& subset : Subsets(5, 3)) {
    Outcome o = RunBinary({"shamir", "combine"}, Join(lines, subset));
    EXPECT_EQ(o.exit_code, 0) << o;
    EXPECT_EQ(o.out, "secret");
  }
}

}  // namespace
}  // namespace vellum::tools
