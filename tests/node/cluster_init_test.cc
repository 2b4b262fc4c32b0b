// Copyright (c) Vellum authors.
//
// InitLocalCluster (vellum-db cluster init): the files it writes, their modes, that
// every node.yaml loads and names its own certificate and keys, that the
// certificates chain to the CA with the right names, and that it never overwrites.

#include "node/cluster_init.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "base/bytes.h"
#include "crypto/x509.h"
#include "node/node_config.h"
#include "vellum/keys.h"

namespace vellum::node {
namespace {

namespace fs = std::filesystem;

std::string ReadText(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

unsigned Mode(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
  return st.st_mode & 0777;
}

class ClusterInitTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = (fs::temp_directory_path() /
            ("vellum_cluster_init_" + std::to_string(::getpid()) + "_" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name()))
               .string();
    fs::remove_all(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string dir_;
};

TEST_F(ClusterInitTest, WritesAWorkingLayout) {
  LocalClusterOptions options;
  options.nodes = 3;
  options.dir = dir_;
  options.base_port = 17100;
  auto layout = InitLocalCluster(options);
  ASSERT_TRUE(layout.ok()) << layout.status().ToString();
  ASSERT_EQ(layout->config_files.size(), 3u);
  EXPECT_EQ(ReadText(dir_ + "/endpoints"),
            "https://127.0.0.1:17201\nhttps://127.0.0.1:17202\nhttps://127.0.0.1:17203\n");
  for (const char* secret :
       {"/ca.key", "/client.key", "/master.key", "/n1/node.key", "/n2/signing.key"}) {
    EXPECT_EQ(Mode(dir_ + secret), 0600u) << secret;
  }
  EXPECT_TRUE(MasterKey::ReadFile(dir_ + "/master.key").ok());
  auto client_cn = crypto::CertificateCommonName(ReadText(dir_ + "/client.crt"));
  ASSERT_TRUE(client_cn.ok());
  EXPECT_EQ(*client_cn, "client");

  for (int i = 1; i <= 3; ++i) {
    const std::string node_dir = dir_ + "/n" + std::to_string(i);
    auto config = LoadNodeConfig(node_dir + "/node.yaml");
    ASSERT_TRUE(config.ok()) << config.status().ToString();
    EXPECT_EQ(config->node_id, static_cast<uint64_t>(i));
    EXPECT_EQ(config->peer_listen, "127.0.0.1:" + std::to_string(17100 + i));
    EXPECT_EQ(config->client_listen, "127.0.0.1:" + std::to_string(17200 + i));
    ASSERT_EQ(config->initial_members.size(), 3u);
    // The paths resolve to the files that were written.
    EXPECT_TRUE(fs::exists(config->ca_certificate_file)) << config->ca_certificate_file;
    EXPECT_TRUE(fs::exists(config->master_key_file)) << config->master_key_file;
    auto cn = crypto::CertificateCommonName(ReadText(config->certificate_file));
    ASSERT_TRUE(cn.ok());
    EXPECT_EQ(*cn, "node-" + std::to_string(i));
    auto signing = NodeSigningKey::ReadFile(config->signing_key_file);
    ASSERT_TRUE(signing.ok()) << signing.status().ToString();
    EXPECT_EQ(HexEncode(signing->public_key()), config->initial_members[i - 1].signing_public_key);
    auto holder = HolderKey::ReadFile(config->holder_key_file);
    ASSERT_TRUE(holder.ok()) << holder.status().ToString();
    EXPECT_EQ(PublicKeyToHex(holder->public_key()),
              config->initial_members[i - 1].holder_public_key);
  }
  // Each node's signing key is its own.
  auto a = LoadNodeConfig(layout->config_files[0]);
  ASSERT_TRUE(a.ok());
  EXPECT_NE(a->initial_members[0].signing_public_key, a->initial_members[1].signing_public_key);
}

TEST_F(ClusterInitTest, NeverOverwritesAndRejectsBadOptions) {
  LocalClusterOptions options;
  options.dir = dir_;
  ASSERT_TRUE(InitLocalCluster(options).ok());
  const std::string master_before = ReadText(dir_ + "/master.key");
  auto again = InitLocalCluster(options);
  EXPECT_EQ(again.status().code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(ReadText(dir_ + "/master.key"), master_before);

  options.dir = dir_ + "/other";
  options.nodes = 0;
  EXPECT_EQ(InitLocalCluster(options).status().code(), StatusCode::kInvalidArgument);
  options.nodes = 10;
  EXPECT_EQ(InitLocalCluster(options).status().code(), StatusCode::kInvalidArgument);
  options.nodes = 3;
  options.base_port = 80;
  EXPECT_EQ(InitLocalCluster(options).status().code(), StatusCode::kInvalidArgument);
}

TEST_F(ClusterInitTest, AddNodeWritesAJoiningNodeOnTheSameScheme) {
  LocalClusterOptions options;
  options.dir = dir_;
  options.base_port = 17100;
  ASSERT_TRUE(InitLocalCluster(options).ok());
  AddNodeOptions add;
  add.dir = dir_ + "/";
  add.id = 5;
  auto added = AddLocalClusterNode(add);
  ASSERT_TRUE(added.ok()) << added.status().ToString();
  EXPECT_EQ(added->endpoint, "https://127.0.0.1:17205");
  EXPECT_EQ(ReadText(dir_ + "/endpoints"),
            "https://127.0.0.1:17201\nhttps://127.0.0.1:17202\nhttps://127.0.0.1:17203\n"
            "https://127.0.0.1:17205\n");
  auto config = LoadNodeConfig(added->config_file);
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_TRUE(config->join);
  EXPECT_EQ(config->node_id, 5u);
  EXPECT_EQ(config->peer_listen, "127.0.0.1:17105");
  ASSERT_EQ(config->initial_members.size(), 4u);
  EXPECT_EQ(config->initial_members[3].id, 5u);
  auto cn = crypto::CertificateCommonName(ReadText(config->certificate_file));
  ASSERT_TRUE(cn.ok());
  EXPECT_EQ(*cn, "node-5");
  for (const char* secret : {"/n5/node.key", "/n5/signing.key", "/n5/holder.key"}) {
    EXPECT_EQ(Mode(dir_ + secret), 0600u) << secret;
  }
  // The member record names the keys the node's files hold.
  EXPECT_EQ(ReadText(dir_ + "/n5/member.json"), added->member_record_json + "\n");
  auto holder = HolderKey::ReadFile(config->holder_key_file);
  ASSERT_TRUE(holder.ok());
  EXPECT_NE(added->member_record_json.find("\"holder_public_key\":\"" +
                                           PublicKeyToHex(holder->public_key()) + "\""),
            std::string::npos)
      << added->member_record_json;

  // Never twice, never a founder's id, never outside a cluster directory.
  EXPECT_EQ(AddLocalClusterNode(add).status().code(), StatusCode::kAlreadyExists);
  add.id = 2;
  EXPECT_EQ(AddLocalClusterNode(add).status().code(), StatusCode::kAlreadyExists);
  add.id = 0;
  EXPECT_EQ(AddLocalClusterNode(add).status().code(), StatusCode::kInvalidArgument);
  add.id = 6;
  add.dir = dir_ + "/n1";
  EXPECT_EQ(AddLocalClusterNode(add).status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace vellum::node
