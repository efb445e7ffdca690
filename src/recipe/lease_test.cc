#include "recipe/lease.h"

#include <sys/wait.h>
#include <unistd.h>

#include "backend/mem_backend.h"
#include "format/envelope.h"
#include "recipe/names.h"
#include "testing/status_matchers.h"

namespace vcsnap {
namespace {

using ::vcsnap::testing::StatusIs;
using ::vcsnap::testing::StatusIsWith;

TEST(Lease, SecondWriterIsRefusedWithTheHolderNamed) {
  MemBackend mem;
  auto first = Lease::Acquire(&mem, "vm1", "backup");
  ASSERT_OK(first);
  auto second = Lease::Acquire(&mem, "vm1", "forget");
  EXPECT_THAT(second, StatusIsWith(StatusCode::kBusy, "locked by 'backup'"));
  EXPECT_THAT(second, StatusIsWith(StatusCode::kBusy,
                                   "pid " + std::to_string(::getpid())));
  EXPECT_OK(Lease::Acquire(&mem, "vm2", "backup"));  // other VMs are free
  ASSERT_OK((*first)->Verify());
  ASSERT_OK((*first)->Release());
  EXPECT_OK(Lease::Acquire(&mem, "vm1", "forget"));
}

TEST(Lease, DestructorReleases) {
  MemBackend mem;
  { ASSERT_OK(Lease::Acquire(&mem, "vm1", "backup")); }
  EXPECT_THAT(ReadLease(mem, "vm1"), StatusIs(StatusCode::kNotFound));
}

TEST(Lease, BreakingRefusesALiveHolderUnlessForced) {
  MemBackend mem;
  auto held = Lease::Acquire(&mem, "vm1", "backup");
  ASSERT_OK(held);
  EXPECT_THAT(BreakLease(mem, "vm1", /*force=*/false),
              StatusIsWith(StatusCode::kBusy, "--force"));
  auto broken = BreakLease(mem, "vm1", /*force=*/true);
  ASSERT_OK(broken);
  EXPECT_EQ(broken->command, "backup");
  // The broken holder finds out before it commits, and does not delete
  // someone else's lease on release.
  auto next = Lease::Acquire(&mem, "vm1", "gc");
  ASSERT_OK(next);
  EXPECT_THAT((*held)->Verify(), StatusIsWith(StatusCode::kBusy, "broken"));
  EXPECT_THAT((*held)->Release(), StatusIs(StatusCode::kBusy));
  EXPECT_OK((*next)->Verify());
  EXPECT_THAT(BreakLease(mem, "vm9", false), StatusIs(StatusCode::kNotFound));
}

TEST(Lease, StaleByAgeOrDeadProcess) {
  MemBackend mem;
  auto held = Lease::Acquire(&mem, "vm1", "backup");
  ASSERT_OK(held);
  EXPECT_OK(BreakLease(mem, "vm1", false, std::chrono::seconds(-1)));
  // A dead process on this host: fork a child that exits at once.
  pid_t child = ::fork();
  if (child == 0) {
    ::_exit(0);
  }
  ASSERT_GT(child, 0);
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  LeaseHolder dead;
  char host[256] = {};
  ::gethostname(host, sizeof(host) - 1);
  dead.host = host;
  dead.pid = child;
  EXPECT_TRUE(dead.DeadOnThisHost());
  dead.pid = ::getpid();
  EXPECT_FALSE(dead.DeadOnThisHost());
  dead.host = "elsewhere";
  EXPECT_FALSE(dead.DeadOnThisHost());
}

TEST(Lease, UnreadableLeaseCanOnlyBeBroken) {
  MemBackend mem;
  ASSERT_OK(mem.Put(LeaseName("vm1"), AsBytes("garbage")));
  EXPECT_THAT(Lease::Acquire(&mem, "vm1", "backup"),
              StatusIsWith(StatusCode::kBusy, "unknown holder"));
  EXPECT_OK(BreakLease(mem, "vm1", false));
  EXPECT_OK(Lease::Acquire(&mem, "vm1", "backup"));
}

}  // namespace
}  // namespace vcsnap
