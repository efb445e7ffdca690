#include "util/status.h"

#include <memory>

#include "testing/status_matchers.h"
#include "util/result.h"

namespace vcsnap {
namespace {

using ::vcsnap::testing::StatusIs;

TEST(Status, OkByDefault) {
  Status s;
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(s.ToString(), "OK");
  EXPECT_TRUE(s.WithContext("ignored").ok());
}

TEST(Status, CodesMessagesAndContext) {
  Status s = Status::Corruption("bad magic").WithContext("container 7");
  EXPECT_TRUE(s.IsCorruption());
  EXPECT_EQ(s.message(), "container 7: bad magic");
  EXPECT_EQ(s.ToString(), "Corruption: container 7: bad magic");
  EXPECT_FALSE(s.retryable());
  Status io = Status::IOError("timeout", /*retryable=*/true);
  EXPECT_TRUE(io.retryable());
  EXPECT_EQ(io.ToString(), "IOError (retryable): timeout");
  EXPECT_TRUE(io.WithContext("x").retryable());
  EXPECT_EQ(Status::Busy("held").code(), StatusCode::kBusy);
  EXPECT_EQ(StatusCodeName(StatusCode::kNotSupported), "NotSupported");
  EXPECT_TRUE(s.IsUnreadable());
  EXPECT_TRUE(Status::NotSupported("version 9").IsUnreadable());
  EXPECT_FALSE(io.IsUnreadable());
  EXPECT_FALSE(Status::NotFound("gone").IsUnreadable());
}

Status FailsWhen(bool fail) {
  VCSNAP_RETURN_IF_ERROR(fail ? Status::NotFound("x") : Status::Ok());
  return Status::InvalidArgument("reached the end");
}

TEST(Status, ReturnIfErrorReturnsEarly) {
  EXPECT_THAT(FailsWhen(true), StatusIs(StatusCode::kNotFound));
  EXPECT_THAT(FailsWhen(false), StatusIs(StatusCode::kInvalidArgument));
}

Result<int> Half(int v) {
  if (v % 2) return Status::InvalidArgument("odd");
  return v / 2;
}

Result<int> Quarter(int v) {
  VCSNAP_ASSIGN_OR_RETURN(int h, Half(v));
  VCSNAP_ASSIGN_OR_RETURN(h, Half(h));
  return h;
}

TEST(Result, ValueOrStatus) {
  EXPECT_EQ(*Quarter(8), 2);
  EXPECT_THAT(Quarter(6), StatusIs(StatusCode::kInvalidArgument));
  Result<std::unique_ptr<int>> p = std::make_unique<int>(3);
  ASSERT_TRUE(p.ok());
  std::unique_ptr<int> owned = std::move(p).value();
  EXPECT_EQ(*owned, 3);
}

TEST(ResultDeathTest, ValueOfErrorAborts) {
  Result<int> r = Status::NotFound("gone");
  EXPECT_DEATH((void)r.value(), "value\\(\\) of failed Result");
  EXPECT_DEATH(Result<int>(Status::Ok()), "OK Status");
}

}  // namespace
}  // namespace vcsnap
