#include "recipe/catalog.h"

#include "backend/fault_backend.h"
#include "backend/mem_backend.h"
#include "format/envelope.h"
#include "recipe/names.h"
#include "testing/status_matchers.h"
#include "util/coding.h"

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

// Version 2 keeps each backup's duration; version-1 catalogs (written before
// it) still open, with durations unknown.
TEST(Catalog, ReadsVersion1AndKeepsDurations) {
  Catalog c = SampleCatalog();
  c.entries[0].backup_ms = 1234;
  c.entries[1].backup_ms = UINT32_MAX;
  auto d = DecodeCatalog(EncodeCatalog(c, "c"), "c");
  ASSERT_OK(d);
  EXPECT_EQ(d->entries, c.entries);
  // A version-1 catalog, byte by byte as docs/format/recipes.md gave it.
  Bytes body;
  ByteWriter w(&body);
  w.U32(4);
  w.U32(2);
  for (const CatalogEntry& e : SampleCatalog().entries) {
    w.U32(e.id);
    w.U32(e.parent);
    w.U64(e.time_unix);
    w.U64(e.image_size);
    w.U64(e.logical_bytes);
    w.U64(e.stored_bytes);
    w.U32(e.pds_generation);
    w.U32(e.flags);
  }
  const EnvelopeSpec v1{
      {'V', 'C', 'A', 'T'}, "snapshot catalog", 1, 1, 16ull << 20};
  auto old = DecodeCatalog(EncodeEnvelope(v1, 1, "c", body), "c");
  ASSERT_OK(old);
  EXPECT_EQ(old->entries, SampleCatalog().entries);
  EXPECT_EQ(old->entries[1].backup_ms, 0u);
  // A version-1 body under a version-2 header is too short: Corruption.
  const EnvelopeSpec v2{
      {'V', 'C', 'A', 'T'}, "snapshot catalog", 1, 2, 16ull << 20};
  EXPECT_THAT(DecodeCatalog(EncodeEnvelope(v2, 2, "c", body), "c"),
              StatusIsWith(StatusCode::kCorruption, "do not fit"));
  const EnvelopeSpec v3{
      {'V', 'C', 'A', 'T'}, "snapshot catalog", 1, 3, 16ull << 20};
  EXPECT_THAT(DecodeCatalog(EncodeEnvelope(v3, 3, "c", body), "c"),
              StatusIs(StatusCode::kNotSupported));
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
  EXPECT_FALSE(empty->stored);
  ASSERT_OK(CommitCatalog(fault, "vm1", SampleCatalog()));
  EXPECT_TRUE(LoadCatalog(fault, "vm1")->stored);
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

// Snapshot recipes without a catalog: the catalog was lost. Never an empty
// catalog then (a backup would start over at ID 1, gc would sweep all).
TEST(Catalog, SnapshotRecipesWithoutACatalogAreALostCatalog) {
  MemBackend mem;
  ASSERT_OK(mem.Put(SnapshotRecipeName("vm1", 2), AsBytes("x")));
  ASSERT_OK(mem.Put(SnapshotRecipeName("vm10", 1), AsBytes("x")));
  EXPECT_THAT(
      LoadCatalog(mem, "vm1"),
      StatusIsWith(StatusCode::kCorruption,
                   "VM vm1: the catalog vm/vm1/catalog is missing but 1 "
                   "snapshot recipe(s) are stored (vm/vm1/snap/2)"));
  EXPECT_THAT(LoadCatalog(mem, "vm1"),
              StatusIsWith(StatusCode::kCorruption, "vcsnap recover --vm vm1"));
  // Another VM's recipes (a name that starts alike) do not count.
  ASSERT_OK(mem.Delete(SnapshotRecipeName("vm1", 2)));
  ASSERT_OK(LoadCatalog(mem, "vm1"));
  ASSERT_OK(CommitCatalog(mem, "vm10", Catalog{}));
  EXPECT_TRUE(LoadCatalog(mem, "vm10")->stored);
}

TEST(Catalog, ListAllVmsFindsVmsThatLostTheirMarker) {
  MemBackend mem;
  ASSERT_OK(mem.Put(VmMarkerName("a"), ByteView()));
  ASSERT_OK(mem.Put(CatalogName("a"), AsBytes("x")));
  ASSERT_OK(mem.Put(VmMarkerName("c"), ByteView()));  // no objects yet
  ASSERT_OK(mem.Put(SnapshotRecipeName("b", 1), AsBytes("x")));
  ASSERT_OK(mem.Put(LeaseName("d"), AsBytes("x")));  // a lease alone
  ASSERT_OK(mem.Put(LeaseName("e"), AsBytes("x")));
  ASSERT_OK(mem.Put(CatalogName("e"), AsBytes("x")));
  auto all = ListAllVms(mem);
  ASSERT_OK(all);
  EXPECT_EQ(all->vms, (std::vector<std::string>{"a", "b", "c", "e"}));
  EXPECT_EQ(all->unmarked, (std::vector<std::string>{"b", "e"}));
  EXPECT_EQ(*ListVmNames(mem), (std::vector<std::string>{"a", "c"}));
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
