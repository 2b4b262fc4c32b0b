// Copyright (c) Vellum authors.

#include "node/node_log.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <nlohmann/json.hpp>

namespace vellum::node {
namespace {

using Fields = std::vector<std::pair<std::string, std::string>>;

TEST(ParseKeyValueLineTest, SplitsPlainAndQuotedValues) {
  const Fields f = ParseKeyValueLine(
      "event=peer_refused peer_addr=10.0.0.2:7000 reason=\"bad \\\"cert\\\" = no\" bare");
  const Fields want = {{"event", "peer_refused"},
                       {"peer_addr", "10.0.0.2:7000"},
                       {"reason", "bad \"cert\" = no"},
                       {"", "bare"}};
  EXPECT_EQ(f, want);
}

TEST(ParseKeyValueLineTest, NeverFailsOnMalformedInput) {
  EXPECT_TRUE(ParseKeyValueLine("").empty());
  EXPECT_EQ(ParseKeyValueLine("a=\"unterminated"), (Fields{{"a", "unterminated"}}));
  EXPECT_EQ(ParseKeyValueLine("=x  k="), (Fields{{"", "x"}, {"k", ""}}));
}

NodeLog::Clock FixedClock() {
  return [] { return uint64_t{1795255200123456}; };  // 2026-11-21T10:00:00.123456Z
}

TEST(NodeLogTest, JsonLinesCarryTimeNodeAndFields) {
  NodeLog log(NodeLog::Format::kJson, 7, stderr, FixedClock());
  const std::string line = log.Format({{"event", "started"}, {"port", "7101"}});
  const nlohmann::json j = nlohmann::json::parse(line);
  EXPECT_EQ(j["ts"], "2026-11-21T10:00:00.123Z");
  EXPECT_EQ(j["node"], 7);
  EXPECT_EQ(j["event"], "started");
  EXPECT_EQ(j["port"], "7101");
}

TEST(NodeLogTest, TextLinesQuoteWhatNeedsIt) {
  NodeLog log(NodeLog::Format::kText, 2, stderr, FixedClock());
  EXPECT_EQ(log.Format({{"event", "alarm"}, {"reason", "state root \"x\" differs"}}),
            "ts=2026-11-21T10:00:00.123Z node=2 event=alarm reason=\"state root \\\"x\\\" "
            "differs\"");
}

TEST(NodeLogTest, ComponentLinesBecomeTheChosenFormat) {
  std::FILE* out = std::tmpfile();
  ASSERT_NE(out, nullptr);
  NodeLog log(NodeLog::Format::kJson, 1, out, FixedClock());
  log.Line("event=peer_connected direction=inbound node_id=3");
  log.Event("role_changed", {{"role", "leader"}});
  std::rewind(out);
  char buf[512];
  std::string first = std::fgets(buf, sizeof(buf), out);
  std::string second = std::fgets(buf, sizeof(buf), out);
  std::fclose(out);
  EXPECT_EQ(nlohmann::json::parse(first)["direction"], "inbound");
  EXPECT_EQ(nlohmann::json::parse(second)["event"], "role_changed");
  EXPECT_EQ(nlohmann::json::parse(second)["role"], "leader");
}

TEST(NodeLogTest, BytesThatAreNotUtf8DoNotBreakJsonLines) {
  NodeLog log(NodeLog::Format::kJson, 1, stderr, FixedClock());
  const std::string line = log.Format({{"reason", std::string("bad \xff byte")}});
  EXPECT_TRUE(nlohmann::json::accept(line)) << line;
}

}  // namespace
}  // namespace vellum::node
