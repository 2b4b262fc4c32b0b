// Copyright (c) Vellum authors.

#include "vellum/status.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "vellum/result.h"

namespace vellum {
namespace {

TEST(StatusTest, DefaultIsOk) {
  Status s;
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kOk);
  EXPECT_EQ(s.ToString(), "OK");
  EXPECT_EQ(s, Status::OK());
}

TEST(StatusTest, EveryFactoryHasItsCodeAndPredicate) {
  struct Case {
    Status status;
    StatusCode code;
    bool (Status::*predicate)() const;
    const char* name;
  };
  const Case cases[] = {
      {Status::NotFound("m"), StatusCode::kNotFound, &Status::IsNotFound, "NotFound"},
      {Status::InvalidArgument("m"), StatusCode::kInvalidArgument, &Status::IsInvalidArgument,
       "InvalidArgument"},
      {Status::Corruption("m"), StatusCode::kCorruption, &Status::IsCorruption, "Corruption"},
      {Status::IOError("m"), StatusCode::kIOError, &Status::IsIOError, "IOError"},
      {Status::Aborted("m"), StatusCode::kAborted, &Status::IsAborted, "Aborted"},
      {Status::Unavailable("m"), StatusCode::kUnavailable, &Status::IsUnavailable, "Unavailable"},
      {Status::FailedPrecondition("m"), StatusCode::kFailedPrecondition,
       &Status::IsFailedPrecondition, "FailedPrecondition"},
      {Status::NotSupported("m"), StatusCode::kNotSupported, &Status::IsNotSupported,
       "NotSupported"},
      {Status::PermissionDenied("m"), StatusCode::kPermissionDenied, &Status::IsPermissionDenied,
       "PermissionDenied"},
      {Status::ResourceExhausted("m"), StatusCode::kResourceExhausted, &Status::IsResourceExhausted,
       "ResourceExhausted"},
      {Status::AlreadyExists("m"), StatusCode::kAlreadyExists, &Status::IsAlreadyExists,
       "AlreadyExists"},
  };
  for (const Case& c : cases) {
    EXPECT_FALSE(c.status.ok()) << c.name;
    EXPECT_EQ(c.status.code(), c.code) << c.name;
    EXPECT_TRUE((c.status.*c.predicate)()) << c.name;
    EXPECT_EQ(c.status.message(), "m");
    EXPECT_EQ(c.status.ToString(), std::string(c.name) + ": m");
    EXPECT_EQ(StatusCodeName(c.code), c.name);
    // Exactly one predicate holds.
    int held = 0;
    for (const Case& other : cases) held += (c.status.*other.predicate)() ? 1 : 0;
    EXPECT_EQ(held, 1) << c.name;
  }
}

TEST(StatusTest, OkCodeDropsMessage) {
  Status s(StatusCode::kOk, "ignored");
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(s.message(), "");
}

TEST(StatusTest, WithContextPrefixesMessageAndKeepsCode) {
  Status s = Status::Corruption("checksum mismatch").WithContext("share 3");
  EXPECT_TRUE(s.IsCorruption());
  EXPECT_EQ(s.message(), "share 3: checksum mismatch");
  EXPECT_TRUE(Status::OK().WithContext("anything").ok());
}

Status FailIf(bool fail) { return fail ? Status::IOError("disk") : Status::OK(); }

Status Propagate(bool fail, int* reached) {
  VELLUM_RETURN_IF_ERROR(FailIf(fail));
  ++*reached;
  return Status::OK();
}

TEST(StatusTest, ReturnIfErrorPropagates) {
  int reached = 0;
  EXPECT_TRUE(Propagate(false, &reached).ok());
  EXPECT_EQ(reached, 1);
  Status s = Propagate(true, &reached);
  EXPECT_TRUE(s.IsIOError());
  EXPECT_EQ(reached, 1);
}

Result<int> ParsePositive(int v) {
  if (v <= 0) return Status::InvalidArgument("not positive");
  return v;
}

Result<int> Doubled(int v) {
  VELLUM_ASSIGN_OR_RETURN(int parsed, ParsePositive(v));
  return parsed * 2;
}

TEST(ResultTest, HoldsValueOrStatus) {
  Result<int> good = ParsePositive(4);
  ASSERT_TRUE(good.ok());
  EXPECT_EQ(*good, 4);
  EXPECT_TRUE(good.status().ok());

  Result<int> bad = ParsePositive(-1);
  EXPECT_FALSE(bad.ok());
  EXPECT_TRUE(bad.status().IsInvalidArgument());
}

TEST(ResultTest, AssignOrReturnPropagates) {
  EXPECT_EQ(*Doubled(21), 42);
  EXPECT_TRUE(Doubled(0).status().IsInvalidArgument());
}

TEST(ResultTest, MoveOnlyValues) {
  Result<std::unique_ptr<int>> r = std::make_unique<int>(7);
  ASSERT_TRUE(r.ok());
  std::unique_ptr<int> p = std::move(r).value();
  EXPECT_EQ(*p, 7);
}

TEST(ResultDeathTest, ValueOfFailedResultAborts) {
  Result<int> bad = Status::NotFound("x");
  EXPECT_DEATH({ (void)bad.value(); }, "value\\(\\) of a failed Result");
}

TEST(ResultDeathTest, ResultFromOkStatusAborts) {
  EXPECT_DEATH(
      {
        Result<int> r = Status::OK();
        (void)r;
      },
      "non-OK Status");
}

TEST(CheckDeathTest, FailedCheckAbortsWithLocation) {
  EXPECT_DEATH(VELLUM_CHECK(1 + 1 == 3), "check failed at .*status_test.cc:[0-9]+: 1 \\+ 1 == 3");
  EXPECT_DEATH(VELLUM_CHECK_MSG(false, "why it matters"), "why it matters");
}

}  // namespace
}  // namespace vellum
