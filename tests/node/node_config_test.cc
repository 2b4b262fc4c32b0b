// Copyright (c) Vellum authors.
//
// node.yaml: a full config parses, relative paths resolve against the file's
// directory, defaults apply, a formatted config parses back to the same values, and
// every kind of mistake is an error naming the key.

#include "node/node_config.h"

#include <gtest/gtest.h>

namespace vellum::node {
namespace {

constexpr std::string_view kFull = R"(
node_id: 2
data_dir: data
peer_listen: 127.0.0.1:7102
client_listen: 127.0.0.1:7202
initial_members:
  - {id: 1, peer_address: "127.0.0.1:7101", client_url: "https://127.0.0.1:7201",
     signing_public_key: "1111111111111111111111111111111111111111111111111111111111111111",
     holder_public_key: "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"}
  - {id: 2, peer_address: "127.0.0.1:7102", client_url: "https://127.0.0.1:7202",
     signing_public_key: "2222222222222222222222222222222222222222222222222222222222222222",
     holder_public_key: "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"}
  - {id: 3, peer_address: "127.0.0.1:7103", client_url: "https://127.0.0.1:7203",
     signing_public_key: "3333333333333333333333333333333333333333333333333333333333333333",
     holder_public_key: "cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"}
tls:
  ca_certificate: ../ca.crt
  certificate: node.crt
  private_key: /etc/vellum/node.key
keys:
  master_key: ../master.key
  signing_key: signing.key
  holder_key: holder.key
raft:
  tick_ms: 50
  election_ticks: 20
sync: true
)";

TEST(NodeConfig, FullConfigParsesAndResolvesPaths) {
  auto c = ParseNodeConfig(kFull, "/srv/cluster/n2");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->node_id, 2u);
  EXPECT_EQ(c->data_dir, "/srv/cluster/n2/data");
  EXPECT_EQ(c->ca_certificate_file, "/srv/cluster/n2/../ca.crt");
  EXPECT_EQ(c->certificate_file, "/srv/cluster/n2/node.crt");
  EXPECT_EQ(c->private_key_file, "/etc/vellum/node.key");
  EXPECT_EQ(c->master_key_file, "/srv/cluster/n2/../master.key");
  EXPECT_EQ(c->holder_key_file, "/srv/cluster/n2/holder.key");
  EXPECT_EQ(c->initial_members[1].holder_public_key, std::string(64, 'b'));
  ASSERT_EQ(c->initial_members.size(), 3u);
  EXPECT_EQ(c->initial_members[2].client_url, "https://127.0.0.1:7203");
  EXPECT_EQ(c->tick_ms, 50u);
  EXPECT_EQ(c->election_ticks, 20);
  EXPECT_EQ(c->heartbeat_ticks, 1);  // the default
  EXPECT_EQ(c->log_format, "json");
  EXPECT_EQ(c->idle_poll_us, 1000u);  // the default
}

TEST(NodeConfig, FormattedConfigParsesBack) {
  auto c = ParseNodeConfig(kFull, "/srv/cluster/n2");
  ASSERT_TRUE(c.ok());
  auto again = ParseNodeConfig(FormatNodeConfig(*c), "");
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(FormatNodeConfig(*again), FormatNodeConfig(*c));
  EXPECT_EQ(again->initial_members.size(), 3u);
}

void ExpectError(std::string_view yaml, std::string_view mentions) {
  auto c = ParseNodeConfig(yaml, "/x");
  ASSERT_FALSE(c.ok()) << "accepted: " << yaml;
  EXPECT_EQ(c.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(c.status().message().find(mentions), std::string::npos) << c.status().ToString();
}

std::string Replace(std::string_view text, std::string_view from, std::string_view to) {
  std::string s(text);
  const size_t at = s.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  s.replace(at, from.size(), to);
  return s;
}

TEST(NodeConfig, MistakesAreErrorsNamingTheKey) {
  ExpectError(Replace(kFull, "node_id: 2", "node_idd: 2"), "node_idd");
  ExpectError(Replace(kFull, "node_id: 2", "node_id: two"), "node_id");
  ExpectError(Replace(kFull, "node_id: 2", "node_id: 0"), "node_id");
  ExpectError(Replace(kFull, "  tick_ms: 50", "  tick_ms: 50\n  tickms: 5"), "raft.tickms");
  ExpectError(Replace(kFull, "  signing_key: signing.key\n", ""), "keys.signing_key");
  ExpectError(Replace(kFull, "peer_listen: 127.0.0.1:7102", "peer_listen: 127.0.0.1"),
              "peer_listen");
  ExpectError(Replace(kFull, "peer_listen: 127.0.0.1:7102", "peer_listen: h:99999"), "peer_listen");
  ExpectError(Replace(kFull, "{id: 3,", "{id: 2,"), "listed twice");
  ExpectError(Replace(kFull, "node_id: 2", "node_id: 9"), "does not list this node");
  ExpectError(Replace(kFull, "election_ticks: 20", "election_ticks: 1"), "election_ticks");
  ExpectError(Replace(kFull, "sync: true", "sync: maybe"), "sync");
  ExpectError(Replace(kFull, "tls:\n", "tls: [\n"), "not valid YAML at line");
  ExpectError(Replace(kFull, std::string(64, '3'), std::string(63, '3')), "signing_public_key");
  ExpectError(Replace(kFull, std::string(64, 'c'), std::string(64, 'x')), "holder_public_key");
  ExpectError(Replace(kFull, "  holder_key: holder.key\n", ""), "keys.holder_key");
  ExpectError("- just\n- a list\n", "mapping");
  ExpectError("", "mapping");
}

TEST(NodeConfig, IdlePollParsesAndRoundTrips) {
  auto c = ParseNodeConfig(Replace(kFull, "sync: true", "sync: true\nidle_poll_us: 0"), "");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->idle_poll_us, 0u);
  auto again = ParseNodeConfig(FormatNodeConfig(*c), "");
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(again->idle_poll_us, 0u);
  ExpectError(Replace(kFull, "sync: true", "sync: true\nidle_poll_us: 100001"), "idle_poll_us");
  ExpectError(Replace(kFull, "sync: true", "sync: true\nidle_poll_us: -1"), "idle_poll_us");
}

TEST(NodeConfig, SnapshotSettingsParseAndRoundTrip) {
  auto defaults = ParseNodeConfig(kFull, "/x");
  ASSERT_TRUE(defaults.ok());
  EXPECT_EQ(defaults->snapshot_interval_entries, 10000u);
  EXPECT_EQ(defaults->snapshot_tail_entries, 1000u);
  const std::string yaml =
      Replace(kFull, "  tick_ms: 50",
              "  tick_ms: 50\n  snapshot_interval_entries: 20\n  snapshot_tail_entries: 0\n"
              "  snapshot_max_bytes: 2097152\n  snapshot_fetch_timeout_ms: 5000");
  auto c = ParseNodeConfig(yaml, "/x");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->snapshot_interval_entries, 20u);
  EXPECT_EQ(c->snapshot_tail_entries, 0u);
  EXPECT_EQ(c->snapshot_max_bytes, 2097152u);
  EXPECT_EQ(c->snapshot_fetch_timeout_ms, 5000u);
  auto again = ParseNodeConfig(FormatNodeConfig(*c), "");
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(again->snapshot_interval_entries, 20u);
  EXPECT_EQ(again->snapshot_fetch_timeout_ms, 5000u);
  ExpectError(Replace(kFull, "  tick_ms: 50", "  tick_ms: 50\n  snapshot_max_bytes: 10"),
              "snapshot_max_bytes");
  ExpectError(Replace(kFull, "  tick_ms: 50", "  tick_ms: 50\n  snapshot_interval: 10"),
              "raft.snapshot_interval");
}

TEST(NodeConfig, MissingFileIsAnError) {
  auto c = LoadNodeConfig("/nonexistent/vellum/node.yaml");
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("/nonexistent/vellum/node.yaml"), std::string::npos);
}

}  // namespace
}  // namespace vellum::node
