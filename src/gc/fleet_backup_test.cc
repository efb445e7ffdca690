// The whole product over a generated fleet (issue 6's acceptance test):
// every VM of a multi-VM, multi-day fleet is backed up day by day with its
// CBT bitmap, the PDS is recomputed, some snapshots are forgotten and the
// leak repaired -- and every live snapshot restores byte-exact and check
// --read-data finds nothing. Uses the repository's default parameters (2 MiB
// segments, 3/4/64 KiB chunks) on the local backend, as a user would.

#include "backup/backup.h"
#include "backup/restore.h"
#include "fleet/fleet.h"
#include "fleet/manifest.h"
#include "gc/check.h"
#include "gc/forget.h"
#include "gc/sweep.h"
#include "pds/pds_table.h"
#include "pds/pds_update.h"
#include "source/dirty_bitmap.h"
#include "store/pds_store.h"
#include "testing/status_matchers.h"
#include "testing/temp_dir.h"

namespace vcsnap {
namespace {

TEST(FleetBackup, EveryDayOfEveryVmRestoresByteExact) {
  const std::string dir = ::vcsnap::testing::NewTempDir("fleet-backup");
  auto manifest = fleet::GenerateFleet(fleet::TinyFleetOptions(dir + "/fleet"));
  ASSERT_OK(manifest);
  auto repo = Repository::Init(dir + "/repo", RepoConfig::NewDefault());
  ASSERT_OK(repo);
  const uint32_t vms = static_cast<uint32_t>(manifest->vms.size());
  const uint32_t days = static_cast<uint32_t>(manifest->vms[0].days.size());
  ASSERT_GE(vms, 2u);
  ASSERT_GE(days, 3u);
  std::unique_ptr<PdsTable> pds;
  uint64_t level1 = 0, logical = 0;
  for (uint32_t d = 0; d < days; ++d) {
    for (uint32_t v = 0; v < vms; ++v) {
      BackupOptions o;
      o.vm = fleet::VmName(v);
      o.image_path = dir + "/fleet/" + fleet::ImagePath(v, d);
      if (d > 0) o.bitmap_path = dir + "/fleet/" + fleet::BitmapPath(v, d);
      o.threads = 2;
      o.pds = pds.get();
      auto r = RunBackup(**repo, o);
      ASSERT_OK(r);
      ASSERT_EQ(r->snapshot, d + 1);
      const BackupStats& s = r->stats;
      ASSERT_EQ(s.level1 + s.level2 + s.level3 + s.zero + s.new_bytes,
                s.logical);
      // Every segment the day's bitmap calls clean is reused (level 1).
      if (d > 0) {
        const uint64_t seg = (*repo)->config().segment_size;
        auto bitmap = DirtyBitmap::Load(*o.bitmap_path, seg, s.logical, seg);
        ASSERT_OK(bitmap);
        uint64_t clean = 0;
        for (uint64_t i = 0; i < bitmap->segments(); ++i) {
          if (!bitmap->dirty(i)) clean += std::min(seg, s.logical - i * seg);
        }
        ASSERT_EQ(s.level1, clean) << o.vm << " day " << d;
      }
      level1 += s.level1;
      logical += s.logical;
    }
    ASSERT_OK(RunPdsUpdate(**repo, {0.05, 0}));
    auto g = ReadCurrentPds((*repo)->backend());
    ASSERT_OK(g);
    auto table = PdsTable::Load((*repo)->backend(), *g);
    ASSERT_OK(table);
    pds = std::move(*table);
  }
  // The fleet's days leave some segments clean (how many depends on the
  // files of the machine the images are built from).
  EXPECT_GT(level1, 0u);
  EXPECT_LT(level1, logical);

  // Forget the middle days of one VM, repair, and compact.
  ASSERT_OK(RunForget(**repo, {fleet::VmName(0), {"2"}, {}, false}));
  ASSERT_OK(RunGc(**repo, fleet::VmName(0)));
  ASSERT_OK(RunCompact(**repo, fleet::VmName(0), 0.0));

  PdsStore pds_store(&(*repo)->backend(), (*repo)->config().keys.get());
  for (uint32_t v = 0; v < vms; ++v) {
    for (uint32_t d = 0; d < days; ++d) {
      if (v == 0 && d == 1) continue;  // forgotten
      SCOPED_TRACE(fleet::VmName(v) + " day " + std::to_string(d));
      RestoreOptions o;
      o.vm = fleet::VmName(v);
      o.snapshot = std::to_string(d + 1);
      o.output = dir + "/restored.img";
      o.force = true;
      o.verify = (d == days - 1);
      o.pds = [&](const PdsRef& r) { return pds_store.Get(r); };
      ASSERT_OK(RunRestore(**repo, o));
      ASSERT_TRUE(::vcsnap::testing::ReadTestFile(o.output) ==
                  ::vcsnap::testing::ReadTestFile(dir + "/fleet/" +
                                                  fleet::ImagePath(v, d)));
    }
  }
  auto check = RunCheck(**repo, {true, 2});
  ASSERT_OK(check);
  EXPECT_TRUE(check->problems.empty()) << check->problems[0];
}

}  // namespace
}  // namespace vcsnap
