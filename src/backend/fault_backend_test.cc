// FaultBackend: injected errors, crashes that drop exactly the non-durable
// data, torn tails and read corruption -- over both real backends.

#include "backend/fault_backend.h"

#include "backend/local_backend.h"
#include "backend/mem_backend.h"
#include "testing/forwarding_backend.h"
#include "testing/status_matchers.h"
#include "testing/temp_dir.h"

namespace vcsnap {
namespace {

using ::vcsnap::testing::StatusIs;
using ::vcsnap::testing::StatusIsWith;

std::string Str(const Result<Bytes>& b) { return std::string(AsChars(*b)); }

class FaultBackendTest : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    if (GetParam()) {
      target_ = std::move(
          *LocalBackend::Open(::vcsnap::testing::NewTempDir("fault"), true));
    } else {
      target_ = std::make_unique<MemBackend>();
    }
    fault_ = std::make_unique<FaultBackend>(target_.get());
  }
  FaultBackend& f() { return *fault_; }
  Backend& t() { return *target_; }

  std::unique_ptr<Backend> target_;
  std::unique_ptr<FaultBackend> fault_;
};

TEST_P(FaultBackendTest, CrashDropsUnsyncedAppendsAndKeepsSyncedData) {
  ASSERT_OK(f().Append("log", AsBytes("durable|")));
  ASSERT_OK(f().Sync("log"));
  ASSERT_OK(f().Append("log", AsBytes("lost")));
  ASSERT_OK(f().Append("never-synced", AsBytes("gone")));
  ASSERT_OK(f().Put("put", AsBytes("kept")));
  ASSERT_OK(f().Append("put", AsBytes("+tail")));
  ASSERT_OK(f().Create("created", AsBytes("kept too")));
  f().SimulateCrash();
  EXPECT_EQ(Str(f().Get("log")), "durable|");
  EXPECT_THAT(f().Get("never-synced"), StatusIs(StatusCode::kNotFound));
  EXPECT_EQ(Str(f().Get("put")), "kept");
  EXPECT_EQ(Str(f().Get("created")), "kept too");
  // Appends after the crash start from the durable state again.
  ASSERT_OK(f().Append("log", AsBytes("again")));
  ASSERT_OK(f().Sync("log"));
  f().SimulateCrash();
  EXPECT_EQ(Str(f().Get("log")), "durable|again");
}

TEST_P(FaultBackendTest, PutOverUnsyncedAppendMakesItDurable) {
  ASSERT_OK(f().Append("x", AsBytes("a")));
  ASSERT_OK(f().Put("x", AsBytes("whole")));
  f().SimulateCrash();
  EXPECT_EQ(Str(f().Get("x")), "whole");
  ASSERT_OK(f().Append("y", AsBytes("a")));
  ASSERT_OK(f().Delete("y"));
  f().SimulateCrash();
  EXPECT_THAT(f().Get("y"), StatusIs(StatusCode::kNotFound));
}

TEST_P(FaultBackendTest, CrashAtNthStopsEverythingUntilRestart) {
  ASSERT_OK(f().Append("log", AsBytes("a")));
  ASSERT_OK(f().Sync("log"));
  f().CrashAtNth(2);
  ASSERT_OK(f().Append("log", AsBytes("b")));  // op 1
  EXPECT_THAT(f().Put("p", AsBytes("x")),      // op 2: crash
              StatusIsWith(StatusCode::kIOError, "simulated crash"));
  EXPECT_TRUE(f().crashed());
  EXPECT_THAT(f().Get("log"), StatusIs(StatusCode::kIOError));
  EXPECT_THAT(f().List(""), StatusIs(StatusCode::kIOError));
  f().Restart();
  EXPECT_FALSE(f().crashed());
  EXPECT_EQ(Str(f().Get("log")), "a");
  EXPECT_THAT(f().Get("p"), StatusIs(StatusCode::kNotFound));
}

TEST_P(FaultBackendTest, ApplyThenCrashTakesEffectButReportsFailure) {
  f().CrashAtNth(1, /*apply_then_crash=*/true);
  EXPECT_THAT(f().Put("p", AsBytes("x")), StatusIs(StatusCode::kIOError));
  EXPECT_TRUE(f().crashed());
  f().Restart();
  EXPECT_EQ(Str(f().Get("p")), "x");
}

TEST_P(FaultBackendTest, FailNthFailsExactlyThatCall) {
  uint64_t before = f().op_count();
  f().FailNth(3);
  EXPECT_OK(f().Put("a", AsBytes("1")));
  EXPECT_OK(f().Put("b", AsBytes("2")));
  EXPECT_EQ(f().failed_call(), "");
  EXPECT_THAT(f().Put("c", AsBytes("3")),
              StatusIsWith(StatusCode::kIOError, "injected fault"));
  EXPECT_EQ(f().failed_call(), "put c");
  EXPECT_OK(f().Put("d", AsBytes("4")));
  EXPECT_EQ(f().op_count() - before, 4u);
  EXPECT_THAT(t().Get("c"), StatusIs(StatusCode::kNotFound));
  EXPECT_FALSE(f().crashed());
}

TEST_P(FaultBackendTest, FailKindFailsMatchingCallsOnly) {
  ASSERT_OK(f().Put("vm/a/x", AsBytes("1")));
  ASSERT_OK(f().Put("pds/x", AsBytes("1")));
  f().FailKind(OpKind::kGet, "vm/");
  EXPECT_THAT(f().Get("vm/a/x"), StatusIs(StatusCode::kIOError));
  EXPECT_OK(f().Get("pds/x"));
  EXPECT_OK(f().Read("vm/a/x", 0, 1));
  f().ClearFaults();
  EXPECT_OK(f().Get("vm/a/x"));
}

TEST_P(FaultBackendTest, TornTailKeepsAPrefixOfTheUnsyncedBytes) {
  ASSERT_OK(f().Append("log", AsBytes("base")));
  ASSERT_OK(f().Sync("log"));
  f().SetTornTail(42);
  bool saw_partial = false;
  for (int i = 0; i < 20; ++i) {
    ASSERT_OK(f().Append("log", AsBytes("0123456789")));
    f().SimulateCrash();
    std::string got = Str(f().Get("log"));
    ASSERT_GE(got.size(), 4u);
    ASSERT_LE(got.size(), 14u);
    EXPECT_EQ(got.substr(0, 4), "base");
    EXPECT_EQ(got.substr(4),
              std::string("0123456789").substr(0, got.size() - 4));
    saw_partial |= got.size() > 4 && got.size() < 14;
    ASSERT_OK(f().Put("log", AsBytes("base")));
  }
  EXPECT_TRUE(saw_partial);
}

TEST_P(FaultBackendTest, CorruptReadsFlipBytesWithoutTouchingStorage) {
  ASSERT_OK(f().Put("vm/a/blk", AsBytes("abcdef")));
  f().CorruptReads("vm/a/", 2, 0x20);
  EXPECT_EQ(Str(f().Get("vm/a/blk")), "abCdef");
  EXPECT_EQ(Str(f().Read("vm/a/blk", 1, 3)), "bCd");
  EXPECT_EQ(Str(f().Read("vm/a/blk", 3, 3)), "def");
  EXPECT_EQ(Str(t().Get("vm/a/blk")), "abcdef");
}

INSTANTIATE_TEST_SUITE_P(OverMemAndLocal, FaultBackendTest,
                         ::testing::Values(false, true),
                         [](const auto& param_info) {
                           return param_info.param ? "Local" : "Mem";
                         });

// The fault-isolation analysis asks through a FaultBackend in tests: the
// placement of the backend below shows, never faulted nor counted.
TEST(FaultBackendPlacement, QueriesPassThroughUnfaulted) {
  struct Placed : ::vcsnap::testing::ForwardingBackend {
    using ForwardingBackend::ForwardingBackend;
    Result<uint32_t> CopiesOf(std::string_view) override { return 3u; }
    Result<uint64_t> PlacementGroupOf(std::string_view n) override {
      return n.size();
    }
  };
  MemBackend mem;
  Placed placed(&mem);
  FaultBackend fault(&placed);
  fault.FailNth(1);
  EXPECT_EQ(*fault.CopiesOf("vm/a/catalog"), 3u);
  EXPECT_EQ(*fault.PlacementGroupOf("abc"), 3u);
  EXPECT_EQ(fault.op_count(), 0u);
  EXPECT_THAT(fault.Get("x"),
              ::vcsnap::testing::StatusIs(StatusCode::kIOError));
}

}  // namespace
}  // namespace vcsnap
