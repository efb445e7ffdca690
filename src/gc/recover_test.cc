// RunRecover: a lost or damaged catalog rebuilt from the snapshot recipes,
// a lost marker restored; what no command may do while the catalog is lost.

#include "gc/recover.h"

#include "gc/forget.h"
#include "gc/gc_test.h"
#include "gc/sweep.h"
#include "pds/pds_table.h"
#include "pds/pds_update.h"
#include "recipe/names.h"
#include "store/container_format.h"
#include "testing/status_matchers.h"

namespace vcsnap {
namespace {

using ::vcsnap::testing::StatusIs;
using ::vcsnap::testing::StatusIsWith;

class RecoverTest : public GcTest {
 protected:
  // Four daily snapshots, the newest forgotten, snapshot 1 protected.
  void History() {
    days_ = DailyBackups("vm", 3, 3);
    ASSERT_EQ(days_.size(), 4u);
    ASSERT_OK(RunForget(*repo_, {"vm", {"4"}, {}, false}));
    ASSERT_OK(SetProtected(*repo_, "vm", "1", true));
    auto c = LoadCatalog(*mem_, "vm");
    ASSERT_OK(c);
    before_ = *c;
  }
  std::vector<Bytes> days_;
  Catalog before_;
};

TEST_F(RecoverTest, ALostCatalogStopsEveryCommandUntilRecoverRebuildsIt) {
  History();
  ASSERT_OK(mem_->Delete(CatalogName("vm")));
  // Nothing starts over, nothing is swept.
  EXPECT_THAT(Backup("vm", days_[3], nullptr),
              StatusIsWith(StatusCode::kCorruption, "the catalog was lost"));
  EXPECT_THAT(RunGc(*repo_, "vm"),
              StatusIsWith(StatusCode::kCorruption, "vcsnap recover --vm vm"));
  EXPECT_THAT(RunForget(*repo_, {"vm", {"1"}, {}, false}),
              StatusIs(StatusCode::kCorruption));
  auto check = RunCheck(*repo_, {false, 2});
  ASSERT_OK(check);
  ASSERT_EQ(check->problems.size(), 1u);
  EXPECT_NE(check->problems[0].find("the catalog was lost"), std::string::npos);

  auto dry = RunRecover(*repo_, {"vm", true});
  ASSERT_OK(dry);
  EXPECT_EQ(dry->catalog_problem, "missing");
  EXPECT_FALSE(dry->catalog_rebuilt);
  EXPECT_EQ(dry->snapshots, (std::vector<uint32_t>{1, 2, 3}));
  EXPECT_THAT(LoadCatalog(*mem_, "vm"), StatusIs(StatusCode::kCorruption));

  auto r = RunRecover(*repo_, {"vm", false});
  ASSERT_OK(r);
  EXPECT_TRUE(r->catalog_rebuilt);
  EXPECT_FALSE(r->marker_restored);
  EXPECT_TRUE(r->problems.empty()) << r->problems[0];
  EXPECT_GE(r->next_id, 6u);  // 4 was forgotten: never reused, one skipped
  auto after = LoadCatalog(*mem_, "vm");
  ASSERT_OK(after);
  EXPECT_EQ(after->next_id, r->next_id);
  ASSERT_EQ(after->entries.size(), before_.entries.size());
  for (size_t i = 0; i < after->entries.size(); ++i) {
    CatalogEntry want = before_.entries[i];
    want.flags = 0;      // protection is not in the snapshot recipes,
    want.backup_ms = 0;  // nor the backup's duration
    EXPECT_EQ(after->entries[i], want) << i;
  }
  for (uint32_t id = 1; id <= 3; ++id) {
    EXPECT_TRUE(Restores("vm", id, days_[id - 1]));
  }
  EXPECT_TRUE(CheckPasses(true));
  // The next backup's bitmap may be relative to a forgotten snapshot: it is
  // not trusted, and the snapshot is right.
  Bytes img = days_[2];
  std::mt19937_64 rng(8);
  std::vector<bool> dirty;
  Mutate(&img, rng, &dirty);
  auto next = Backup("vm", img, &dirty);
  ASSERT_OK(next);
  EXPECT_EQ(next->snapshot, r->next_id);
  EXPECT_EQ(next->stats.level1, 0u);
  EXPECT_TRUE(Restores("vm", next->snapshot, img));
}

TEST_F(RecoverTest, ADamagedCatalogIsKeptAsideAndDamagedRecipesSkipped) {
  History();
  auto original = mem_->Get(CatalogName("vm"));
  ASSERT_OK(original);
  Bytes bad = *original;
  bad[bad.size() / 2] ^= 1;
  ASSERT_OK(mem_->Put(CatalogName("vm"), bad));
  ASSERT_OK(mem_->Put(SnapshotRecipeName("vm", 2), AsBytes("garbage")));
  auto r = RunRecover(*repo_, {"vm", false});
  ASSERT_OK(r);
  EXPECT_NE(r->catalog_problem.find("checksum"), std::string::npos)
      << r->catalog_problem;
  EXPECT_EQ(r->snapshots, (std::vector<uint32_t>{1, 3}));
  ASSERT_EQ(r->skipped.size(), 1u);
  EXPECT_EQ(r->skipped[0].rfind("vm/vm/snap/2: ", 0), 0u) << r->skipped[0];
  EXPECT_EQ(*mem_->Get(CatalogName("vm") + ".damaged"), bad);
  EXPECT_TRUE(Restores("vm", 1, days_[0]));
  EXPECT_TRUE(Restores("vm", 3, days_[2]));
}

TEST_F(RecoverTest, ALostMarkerIsRestoredAndAnIntactCatalogLeftAlone) {
  History();
  ASSERT_OK(mem_->Delete(VmMarkerName("vm")));
  EXPECT_TRUE(ListVmNames(*mem_)->empty());
  auto r = RunRecover(*repo_, {"vm", false});
  ASSERT_OK(r);
  EXPECT_TRUE(r->marker_restored);
  EXPECT_TRUE(r->catalog_problem.empty());
  EXPECT_FALSE(r->catalog_rebuilt);
  EXPECT_EQ(*ListVmNames(*mem_), std::vector<std::string>{"vm"});
  EXPECT_EQ(LoadCatalog(*mem_, "vm")->entries, before_.entries);  // flags
  EXPECT_THAT(RunRecover(*repo_, {"nothing", false}),
              StatusIsWith(StatusCode::kNotFound, "no objects"));
}

// Every deletion log of the VM that has a record `i`: that record's CID
// flipped (a whole record that fails its checksum). Fails without one.
void DamageDlogRecord(Backend& b, size_t i) {
  int damaged = 0;
  for (const ObjectInfo& o : *b.List(StorePrefix("vm"))) {
    if (!o.name.ends_with("/dlog") ||
        o.size < kDlogHeaderSize + (i + 1) * kDlogRecordSize) {
      continue;
    }
    Result<Bytes> bytes = b.Get(o.name);
    ASSERT_OK(bytes);
    (*bytes)[kDlogHeaderSize + i * kDlogRecordSize] ^= 1;
    ASSERT_OK(b.Put(o.name, *bytes));
    ++damaged;
  }
  ASSERT_GT(damaged, 0);
}

TEST_F(RecoverTest, ADamagedDeletionLogStopsNoDeletionAndGcMakesItExact) {
  History();  // the forget of snapshot 4 logged its chunks
  DamageDlogRecord(*mem_, 0);
  auto check = RunCheck(*repo_, {false, 2});
  ASSERT_OK(check);
  ASSERT_FALSE(check->problems.empty());
  EXPECT_NE(check->problems[0].find("deletion log damaged"), std::string::npos)
      << check->problems[0];
  EXPECT_NE(check->problems[0].find("vcsnap recover --vm vm"),
            std::string::npos);
  // forget rewrites the log on its own and says so.
  auto f = RunForget(*repo_, {"vm", {"2", "3"}, {}, false});
  ASSERT_OK(f);
  ASSERT_GT(f->chunks_deleted, 0u);
  ASSERT_FALSE(f->notes.empty());
  EXPECT_NE(f->notes.back().find("deletion log damaged"), std::string::npos);
  EXPECT_NE(f->notes.back().find("gc --vm vm"), std::string::npos);
  // gc rewrites it and logs the lost record's chunk again: no leak left.
  DamageDlogRecord(*mem_, 1);
  auto gc = RunGc(*repo_, "vm");
  ASSERT_OK(gc);
  ASSERT_GE(gc->notes.size(), 1u);
  EXPECT_GE(gc->leaked_chunks, 1u);
  EXPECT_EQ(DeadChunks(*mem_, repo_->config(), "vm"), 0u);
  ASSERT_OK(RunCompact(*repo_, "vm", 0.0));
  EXPECT_TRUE(Restores("vm", 1, days_[0]));
  EXPECT_TRUE(CheckPasses(true));
}

TEST_F(RecoverTest, RecoverRewritesADamagedDeletionLog) {
  History();
  DamageDlogRecord(*mem_, 0);
  auto r = RunRecover(*repo_, {"vm", false});
  ASSERT_OK(r);
  ASSERT_EQ(r->store_repairs.size(), 1u);
  EXPECT_NE(r->store_repairs[0].find("rewritten with its"), std::string::npos)
      << r->store_repairs[0];
  EXPECT_TRUE(r->problems.empty());
  EXPECT_TRUE(CheckPasses(true));
}

TEST_F(RecoverTest, ADamagedIndexIsRebuiltFromTheDataBlocks) {
  History();
  const std::string index = IndexName("vm", 1, 1);
  Result<Bytes> bytes = mem_->Get(index);
  ASSERT_OK(bytes);
  (*bytes)[kIndexHeaderSize + 5] ^= 0x20;
  ASSERT_OK(mem_->Put(index, *bytes));
  EXPECT_FALSE(Restores("vm", 1, days_[0]));
  EXPECT_THAT(Backup("vm", days_[3], nullptr),
              StatusIs(StatusCode::kCorruption));
  auto dry = RunRecover(*repo_, {"vm", true});
  ASSERT_OK(dry);
  ASSERT_EQ(dry->store_repairs.size(), 1u);
  EXPECT_NE(dry->store_repairs[0].find("would be rebuilt"), std::string::npos);
  EXPECT_EQ(*mem_->Get(index), *bytes) << "a dry run changed the index";

  auto r = RunRecover(*repo_, {"vm", false});
  ASSERT_OK(r);
  ASSERT_EQ(r->store_repairs.size(), 1u);
  EXPECT_NE(r->store_repairs[0].find("rebuilt from the data blocks"),
            std::string::npos)
      << r->store_repairs[0];
  EXPECT_TRUE(r->problems.empty()) << r->problems[0];
  for (uint32_t id = 1; id <= 3; ++id) {
    EXPECT_TRUE(Restores("vm", id, days_[id - 1]));
  }
  auto next = Backup("vm", days_[3], nullptr);
  ASSERT_OK(next);
  EXPECT_TRUE(Restores("vm", next->snapshot, days_[3]));
  EXPECT_TRUE(CheckPasses(true));
}

// PDS retirement finds a VM by its objects: a lost marker does not let it
// retire a generation that VM's snapshots use.
TEST_F(RecoverTest, ALostMarkerDoesNotLetRetirementDeleteItsGeneration) {
  const Bytes img = Initial(6);
  ASSERT_OK(Backup("a", img, nullptr));
  ASSERT_OK(Backup("b", img, nullptr));
  ASSERT_OK(RunPdsUpdate(*repo_, {0.5, 0}));
  auto table = PdsTable::Load(*mem_, 1);
  ASSERT_OK(table);
  auto c = Backup("c", img, nullptr, table->get());  // only c uses gen 1
  ASSERT_OK(c);
  ASSERT_GT(c->stats.level3, 0u);
  ASSERT_OK(mem_->Delete(VmMarkerName("c")));
  auto update = RunPdsUpdate(*repo_, {0.5, 0});
  ASSERT_OK(update);
  EXPECT_EQ(update->retire.referenced, std::vector<uint32_t>{1});
  EXPECT_TRUE(Restores("c", 1, img));
}

}  // namespace
}  // namespace vcsnap
