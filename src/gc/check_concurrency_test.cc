// check beside changes of the VM it checks: problems that come from a
// concurrent forget are not reported; a VM that changes under every attempt
// is said to have changed, so the operator knows to check it again.

#include <functional>
#include <string>

#include "gc/check.h"
#include "gc/forget.h"
#include "gc/gc_test.h"
#include "pds/pds_table.h"
#include "pds/pds_update.h"
#include "recipe/catalog.h"
#include "recipe/names.h"
#include "testing/forwarding_backend.h"
#include "testing/status_matchers.h"

namespace vcsnap {
namespace {

// Runs `change` before forwarding the first `times` Gets of `trigger`: the
// change lands while check is in the middle of reading the VM.
class ChangeOnGet : public ::vcsnap::testing::ForwardingBackend {
 public:
  using ForwardingBackend::ForwardingBackend;
  std::string trigger;
  int times = 0;
  std::function<void()> change;
  Result<Bytes> Get(std::string_view name) override {
    if (name == trigger && times > 0) {
      --times;
      change();
    }
    return ForwardingBackend::Get(name);
  }
};

class CheckConcurrencyTest : public GcTest {
 protected:
  // Four daily snapshots of one VM.
  void FourSnapshots() { ASSERT_EQ(DailyBackups("vm", 12, 3).size(), 4u); }
  // check over a backend that forgets the oldest snapshot each time check
  // reads snapshot 4's recipe (once per attempt: after it has read the
  // older ones), the first `times` times.
  Result<CheckResult> CheckWhileForgetting(int times) {
    auto hook = std::make_unique<ChangeOnGet>(mem_.get());
    hook->trigger = SnapshotRecipeName("vm", 4);
    hook->times = times;
    hook->change = [this] {
      auto catalog = LoadCatalog(*mem_, "vm");
      ASSERT_OK(catalog);
      const std::string oldest = std::to_string(catalog->entries[0].id);
      forgotten_.push_back(
          RunForget(*repo_, {"vm", {oldest}, {}, false}).status());
    };
    auto repo = Repository::OpenOn(std::move(hook));
    if (!repo.ok()) return repo.status();
    return RunCheck(**repo, {true, 2});
  }
  std::vector<Status> forgotten_;
};

// Listing every VM takes two listings (markers, then data: ListAllVms); a
// VM's first backup that starts between them creates its marker, then its
// objects, and the second listing sees objects whose marker the first did
// not.
class FirstBackupDuringList : public ::vcsnap::testing::ForwardingBackend {
 public:
  using ForwardingBackend::ForwardingBackend;
  static constexpr char kObject[] = "vm/late/x";
  bool marker_too = true;  // false: a marker really lost
  Result<std::vector<ObjectInfo>> List(std::string_view prefix) override {
    Result<std::vector<ObjectInfo>> seen = ForwardingBackend::List(prefix);
    if (!seen.ok() || prefix != VmMarkerName("") || started_) return seen;
    started_ = true;  // the first backup of "late" starts now
    if (marker_too) {
      EXPECT_OK(ForwardingBackend::Create(VmMarkerName("late"), ByteView()));
    }
    EXPECT_OK(ForwardingBackend::Put(kObject, AsBytes("x")));
    return seen;
  }

 private:
  bool started_ = false;
};

TEST_F(CheckConcurrencyTest,
       AFirstBackupStartingDuringTheListingIsNoLostMarker) {
  FourSnapshots();
  for (bool marker_created : {true, false}) {
    auto hook = std::make_unique<FirstBackupDuringList>(mem_.get());
    hook->marker_too = marker_created;
    auto repo = Repository::OpenOn(std::move(hook));
    ASSERT_OK(repo);
    Result<CheckResult> c = RunCheck(**repo, {});
    ASSERT_OK(c);
    if (marker_created) {
      EXPECT_TRUE(c->problems.empty()) << c->problems[0];
    } else {  // the marker is really missing: still reported
      ASSERT_FALSE(c->problems.empty());
      EXPECT_THAT(c->problems[0], ::testing::HasSubstr("VM late: its marker"));
    }
    ASSERT_OK(mem_->Delete(FirstBackupDuringList::kObject));
    (void)mem_->Delete(VmMarkerName("late"));
  }
}

TEST_F(CheckConcurrencyTest, AForgetDuringCheckIsNotReportedAsDamage) {
  FourSnapshots();
  auto c = CheckWhileForgetting(1);
  ASSERT_OK(c);
  ASSERT_EQ(forgotten_.size(), 1u);
  ASSERT_OK(forgotten_[0]);
  EXPECT_TRUE(c->problems.empty()) << c->problems[0];
  EXPECT_TRUE(c->unsettled_vms.empty());
  EXPECT_EQ(c->snapshots, 3u);  // the second attempt saw the new catalog
  ASSERT_TRUE(CheckPasses(true));
}

TEST_F(CheckConcurrencyTest, AVmChangingUnderEveryAttemptIsSaidToHaveChanged) {
  FourSnapshots();
  auto c = CheckWhileForgetting(3);
  ASSERT_OK(c);
  ASSERT_EQ(forgotten_.size(), 3u);
  for (const Status& s : forgotten_) ASSERT_OK(s);
  ASSERT_GE(c->problems.size(), 2u);
  EXPECT_NE(c->problems.back().find("VM vm: changed during each of 3 checks"),
            std::string::npos)
      << c->problems.back();
  EXPECT_EQ(c->unsettled_vms, std::vector<std::string>{"vm"});
  ASSERT_TRUE(CheckPasses(true));  // and it was only the changes
}

// A `pds update` beside the check publishes a new generation and retires
// the one check was reading: not damage; every time, it is said.
TEST_F(CheckConcurrencyTest, APdsUpdateDuringCheckIsNotReportedAsDamage) {
  for (int times : {1, 3}) {
    SCOPED_TRACE(times);
    SetUp();
    const Bytes img = Initial(4);
    ASSERT_OK(Backup("a", img, nullptr));
    ASSERT_OK(Backup("b", img, nullptr));
    ASSERT_OK(RunPdsUpdate(*repo_, {0.5, 0}));  // generation 1, unused
    std::vector<uint32_t> published;
    auto hook = std::make_unique<ChangeOnGet>(mem_.get());
    hook->times = times;
    hook->change = [&] {
      ASSERT_OK(RunPdsUpdate(*repo_, {0.5, 0}));
      published.push_back(*ReadCurrentPds(*mem_));
    };
    ChangeOnGet* h = hook.get();
    auto repo = Repository::OpenOn(std::move(hook));
    ASSERT_OK(repo);
    // Each attempt reads the index meta of the generation in force first.
    auto retarget = [&] {
      h->trigger =
          "pds/index/" + std::to_string(*ReadCurrentPds(*mem_)) + "/meta";
    };
    retarget();
    auto wrapped = h->change;
    h->change = [&, wrapped] {
      wrapped();
      retarget();
    };
    Result<CheckResult> c = RunCheck(**repo, {true, 2});
    ASSERT_OK(c);
    ASSERT_EQ(published.size(), static_cast<size_t>(times));
    // The generation checked first was retired under it.
    EXPECT_FALSE(mem_->Stat("pds/index/1/meta").ok());
    if (times == 1) {
      EXPECT_TRUE(c->problems.empty()) << c->problems[0];
      EXPECT_GT(c->pds_chunks_read, 0u);
    } else {
      ASSERT_GE(c->problems.size(), 2u);
      EXPECT_EQ(c->problems.back().rfind(
                    "PDS: a new generation was published during each of 3 "
                    "checks",
                    0),
                0u)
          << c->problems.back();
    }
    ASSERT_TRUE(CheckPasses(true));
  }
}

}  // namespace
}  // namespace vcsnap
