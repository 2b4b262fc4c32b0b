// Copyright (c) Vellum authors.

#include "base/path.h"

#include <gtest/gtest.h>

namespace vellum {
namespace {

TEST(PathTest, NormalizeStripsTrailingSlashes) { EXPECT_EQ(NormalizePath("a/b///"), "a/b"); }

TEST(PathTest, NormalizeKeepsTheRoot) { EXPECT_EQ(NormalizePath("/"), "/"); }

TEST(PathTest, ParentOfABareNameIsEmpty) { EXPECT_EQ(ParentDir("a"), ""); }

TEST(PathTest, ParentOfAnEntryOfTheRootIsTheRoot) { EXPECT_EQ(ParentDir("/a"), "/"); }

TEST(PathTest, ParentIgnoresTrailingSlashes) { EXPECT_EQ(ParentDir("a/b/"), "a"); }

}  // namespace
}  // namespace vellum
