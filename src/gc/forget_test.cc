// Forget with dropped lists (recipe/dropped.h) against forget from the
// recipes: the same chunks must go, whatever mix of snapshots is forgotten,
// and an unusable list must only make forget slower, never wrong.

#include "gc/forget.h"

#include <map>

#include "gc/gc_test.h"
#include "gc/sweep.h"
#include "recipe/catalog.h"
#include "recipe/dropped.h"
#include "recipe/lease.h"
#include "testing/backend_copy.h"
#include "testing/status_matchers.h"

namespace vcsnap {
namespace {

enum class Lists { kKeep, kDelete, kCorrupt };

class ForgetListsTest : public GcTest {
 protected:
  // Nine daily backups of one VM: edits, a whole segment turned to zeros (a
  // hole), a shrunk image and a grown one.
  void MakeHistory() {
    std::mt19937_64 rng(77);
    img_ = Initial(77);
    std::vector<bool> dirty;
    for (int day = 0; day < 9; ++day) {
      if (day > 0) Mutate(&img_, rng, &dirty);
      if (day == 3) {
        std::memset(img_.data() + 5 * kSeg, 0, kSeg);
        dirty[5] = true;
      }
      if (day == 5) {
        img_.resize(img_.size() - 3 * kSeg);
        dirty.resize(img_.size() / kSeg);
      }
      if (day == 7) {
        img_.resize(img_.size() + 2 * kSeg, 0x11);
        dirty.resize(img_.size() / kSeg, true);
      }
      auto r = Backup("vm", img_, day == 0 ? nullptr : &dirty);
      ASSERT_OK(r);
      live_[r->snapshot] = img_;
    }
  }
  void Damage(Lists how) {
    for (const ObjectInfo& o : *mem_->List("vm/vm/dropped/")) {
      if (how == Lists::kDelete) {
        ASSERT_OK(mem_->Delete(o.name));
      }
      if (how == Lists::kCorrupt) {
        Bytes b = *mem_->Get(o.name);
        b[b.size() / 2] ^= 1;
        ASSERT_OK(mem_->Put(o.name, b));
      }
    }
  }
  // Forgets, in turn: the oldest, one in the middle, then by retention
  // (several at once, children of each other); returns each step's result.
  std::vector<ForgetResult> Run(Lists how) {
    SetUp();
    live_.clear();
    MakeHistory();
    Damage(how);
    std::vector<ForgetResult> out;
    const std::vector<ForgetOptions> steps = {{"vm", {"1"}, {}, false},
                                              {"vm", {"5"}, {}, false},
                                              {"vm", {}, {2, 0, 0}, false}};
    for (const ForgetOptions& o : steps) {
      auto r = RunForget(*repo_, o);
      EXPECT_OK(r);
      if (!r.ok()) return out;
      for (uint32_t id : r->forgotten) live_.erase(id);
      for (const auto& [id, img] : live_) EXPECT_TRUE(Restores("vm", id, img));
      out.push_back(*r);
    }
    if (how == Lists::kCorrupt) {
      // check names every corrupt list still there.
      auto c = RunCheck(*repo_, {false, 2});
      EXPECT_OK(c);
      EXPECT_FALSE(c->problems.empty());
      for (const std::string& p : c->problems) {
        EXPECT_NE(p.find("vm/vm/dropped/"), std::string::npos) << p;
      }
    } else {
      EXPECT_TRUE(CheckPasses(true));
    }
    return out;
  }

  Bytes img_;
  std::map<uint32_t, Bytes> live_;
};

TEST_F(ForgetListsTest, ListsFindExactlyTheChunksTheRecipesFind) {
  const std::vector<ForgetResult> lists = Run(Lists::kKeep);
  auto gc = RunGc(*repo_, "vm");
  ASSERT_OK(gc);
  EXPECT_EQ(gc->leaked_chunks, 0u);
  EXPECT_EQ(gc->orphan_objects, 0u);
  const std::vector<ForgetResult> recipes = Run(Lists::kDelete);
  ASSERT_EQ(lists.size(), 3u);
  ASSERT_EQ(recipes.size(), 3u);
  uint64_t deleted = 0;
  for (size_t i = 0; i < lists.size(); ++i) {
    SCOPED_TRACE("step " + std::to_string(i));
    EXPECT_EQ(lists[i].forgotten, recipes[i].forgotten);
    EXPECT_EQ(lists[i].chunks_deleted, recipes[i].chunks_deleted);
    EXPECT_GE(lists[i].dropped_lists, 1u);
    EXPECT_EQ(recipes[i].dropped_lists, 0u);
    EXPECT_TRUE(lists[i].notes.empty());
    deleted += lists[i].chunks_deleted;
  }
  // The oldest snapshot: its successor's list names the churn; the recipes
  // name every chunk of the segments the snapshot rewrote.
  EXPECT_GT(recipes[0].candidate_recipes, 0u);
  EXPECT_LT(lists[0].candidate_chunks, recipes[0].candidate_chunks);
  // Forgetting 5 relinked 6's list across it (relative to 4), so the
  // retention step needs no recipe either: every step used lists only.
  EXPECT_EQ(lists[1].relinked_lists, 1u);
  for (const ForgetResult& r : lists) {
    EXPECT_EQ(r.dropped_lists, r.forgotten.size());
    EXPECT_EQ(r.candidate_recipes, 0u);
  }
  EXPECT_GT(deleted, 0u);
  gc = RunGc(*repo_, "vm");
  ASSERT_OK(gc);
  EXPECT_EQ(gc->leaked_chunks, 0u);
}

TEST_F(ForgetListsTest, ACorruptListIsReportedAndTheRecipesAreUsed) {
  const std::vector<ForgetResult> good = Run(Lists::kKeep);
  const std::vector<ForgetResult> bad = Run(Lists::kCorrupt);
  ASSERT_EQ(bad.size(), good.size());
  for (size_t i = 0; i < bad.size(); ++i) {
    EXPECT_EQ(bad[i].chunks_deleted, good[i].chunks_deleted);
    EXPECT_EQ(bad[i].dropped_lists, 0u);
    ASSERT_FALSE(bad[i].notes.empty());
    EXPECT_NE(bad[i].notes[0].find("vm/vm/dropped/"), std::string::npos)
        << bad[i].notes[0];
    EXPECT_NE(bad[i].notes[0].find("read the recipes"), std::string::npos);
  }
}

TEST_F(ForgetListsTest, AListOfAnotherParentIsNotUsed) {
  MakeHistory();
  // Snapshot 3's list claims to be relative to snapshot 1, not 2.
  auto list = LoadDropped(*mem_, "vm", 3);
  ASSERT_OK(list);
  list->parent = 1;
  ASSERT_OK(SaveDropped(*mem_, "vm", 3, *list));
  auto r = RunForget(*repo_, {"vm", {"2"}, {}, false});
  ASSERT_OK(r);
  EXPECT_EQ(r->dropped_lists, 0u);
  ASSERT_EQ(r->notes.size(), 1u);
  EXPECT_NE(r->notes[0].find("relative to snapshot 1, not 2"),
            std::string::npos)
      << r->notes[0];
  for (const auto& [id, img] : live_) {
    if (id != 2) {
      EXPECT_TRUE(Restores("vm", id, img));
    }
  }
  auto gc = RunGc(*repo_, "vm");
  ASSERT_OK(gc);
  EXPECT_EQ(gc->leaked_chunks, 0u);
}

TEST_F(ForgetListsTest, ABackupWritesAListOnlyWhenItHasAParent) {
  MakeHistory();
  EXPECT_THAT(LoadDropped(*mem_, "vm", 1),
              testing::StatusIs(StatusCode::kNotFound));
  for (uint32_t id = 2; id <= 9; ++id) {
    auto list = LoadDropped(*mem_, "vm", id);
    ASSERT_OK(list);
    EXPECT_EQ(list->parent, id - 1);
  }
  // The day-5 shrink dropped whole segments: their chunks are all listed.
  EXPECT_GT(LoadDropped(*mem_, "vm", 6)->refs.size(), 3 * kSeg / 8192);
}

// Crashes a forget of two middle snapshots (whose successor's list is then
// relinked) at every backend operation in turn. Every time: the snapshots
// the catalog names restore and check passes; after breaking the dead
// forget's lease, forgetting the rest works, and gc leaves the store exact.
TEST_F(ForgetListsTest, CrashAtEveryOperationOfAForget) {
  auto history = [&] {
    SetUp();
    live_.clear();
    std::mt19937_64 rng(5);
    img_ = Initial(5);
    img_.resize(8 * kSeg);  // small: this history is checked ~100 times
    std::vector<bool> dirty;
    for (int day = 0; day < 5; ++day) {
      if (day > 0) Mutate(&img_, rng, &dirty);
      auto r = Backup("vm", img_, day == 0 ? nullptr : &dirty);
      ASSERT_OK(r);
      live_[r->snapshot] = img_;
    }
  };
  const ForgetOptions middle{"vm", {"2", "3"}, {}, false};
  history();
  // Every round starts from this state (cheaper than five backups again).
  MemBackend saved(1 << 20);
  ::vcsnap::testing::CopyAll(*mem_, saved);
  const uint64_t before = fault_->op_count();
  auto r = RunForget(*repo_, middle);
  ASSERT_OK(r);
  ASSERT_EQ(r->relinked_lists, 1u);
  const uint64_t ops = fault_->op_count() - before;
  ASSERT_GT(ops, 10u);
  for (uint64_t i = 1; i <= ops; ++i) {
    for (bool apply : {false, true}) {
      SCOPED_TRACE("crash at operation " + std::to_string(i) +
                   (apply ? " (applied)" : ""));
      ::vcsnap::testing::CopyAll(saved, *mem_);
      fault_->CrashAtNth(i, apply);
      (void)RunForget(*repo_, middle);
      fault_->Restart();
      auto catalog = LoadCatalog(*mem_, "vm");
      ASSERT_OK(catalog);
      for (const CatalogEntry& e : catalog->entries) {
        ASSERT_TRUE(Restores("vm", e.id, live_[e.id]));
      }
      ASSERT_TRUE(CheckPasses(false));
      (void)BreakLease(*mem_, "vm", /*force=*/true);  // may be absent
      if (catalog->entries.size() == 5) {
        ASSERT_OK(RunForget(*repo_, middle));
      }
      ASSERT_OK(RunForget(*repo_, {"vm", {"1"}, {}, false}));
      for (uint32_t id : {4u, 5u}) ASSERT_TRUE(Restores("vm", id, live_[id]));
      ASSERT_OK(RunGc(*repo_, "vm"));
      auto again = RunGc(*repo_, "vm");
      ASSERT_OK(again);
      ASSERT_EQ(again->leaked_chunks, 0u);
      ASSERT_TRUE(CheckPasses(i == ops));
    }
  }
}

}  // namespace
}  // namespace vcsnap
