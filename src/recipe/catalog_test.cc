#include "recipe/catalog.h"

#include "backend/fault_backend.h"
#include "backend/mem_backend.h"
#include "recipe/names.h"
#include "testing/status_matchers.h"

namespace vcsnap {
namespace {

using ::vcsnap::testing::StatusIs;
using ::vcsnap::testing::StatusIsWith;

Catalog SampleCatalog() {
  Catalog c;
  c.next_id = 4;
  c.entries.push_back({1, 0, 100, 4096, 4096, 1000, 0, 0});
  c.entries.push_back({3, 1, 200, 8192, 8192, 10, 2, 1});
  return c;
}

TEST(Catalog, RoundTripAndLookup) {
  auto d = DecodeCatalog(EncodeCatalog(SampleCatalog(), "c"), "c");
  ASSERT_OK(d);
  EXPECT_EQ(d->entries, SampleCatalog().entries);
  EXPECT_EQ(d->next_id, 4u);
  EXPECT_EQ(d->Find(3)->parent, 1u);
  EXPECT_EQ(d->Find(2), nullptr);
  EXPECT_EQ(d->Latest()->id, 3u);
}

TEST(Catalog, RejectsOutOfOrderIds) {
  Catalog c = SampleCatalog();
  std::swap(c.entries[0], c.entries[1]);
  EXPECT_THAT(DecodeCatalog(EncodeCatalog(c, "c"), "c"),
              StatusIsWith(StatusCode::kCorruption, "out of order"));
  c = SampleCatalog();
  c.next_id = 3;
  EXPECT_THAT(DecodeCatalog(EncodeCatalog(c, "c"), "c"),
              StatusIs(StatusCode::kCorruption));
}

TEST(Catalog, LoadMissingIsEmptyAndCommitIsAtomic) {
  MemBackend mem;
  FaultBackend fault(&mem);
  auto empty = LoadCatalog(fault, "vm1");
  ASSERT_OK(empty);
  EXPECT_TRUE(empty->entries.empty());
  EXPECT_EQ(empty->next_id, 1u);
  ASSERT_OK(CommitCatalog(fault, "vm1", SampleCatalog()));
  Catalog bigger = SampleCatalog();
  bigger.entries.push_back({4, 3, 300, 1, 1, 1, 0, 0});
  bigger.next_id = 5;
  fault.CrashAtNth(1);
  EXPECT_THAT(CommitCatalog(fault, "vm1", bigger),
              StatusIsWith(StatusCode::kIOError, "vm1"));
  fault.Restart();
  EXPECT_EQ(LoadCatalog(fault, "vm1")->entries.size(), 2u);
  fault.CorruptReads(CatalogName("vm1"), 20);
  EXPECT_THAT(LoadCatalog(fault, "vm1"),
              StatusIsWith(StatusCode::kCorruption, "VM vm1"));
}

TEST(Catalog, ResolveSnapshotId) {
  Catalog c = SampleCatalog();
  EXPECT_EQ(*ResolveSnapshotId(c, "v", "latest"), 3u);
  EXPECT_EQ(*ResolveSnapshotId(c, "v", "1"), 1u);
  EXPECT_THAT(ResolveSnapshotId(c, "v", "2"),
              StatusIsWith(StatusCode::kNotFound, "no snapshot 2"));
  for (const char* bad : {"", "0", "-1", "1x", "abc", "99999999999"}) {
    EXPECT_THAT(ResolveSnapshotId(c, "v", bad),
                StatusIs(StatusCode::kInvalidArgument))
        << bad;
  }
  EXPECT_THAT(ResolveSnapshotId(Catalog{}, "v", "latest"),
              StatusIs(StatusCode::kNotFound));
}

}  // namespace
}  // namespace vcsnap
