// The PDS lifecycle over real backups: shared content enters the PDS, later
// backups match it at level 3, old snapshots restore across updates, and a
// crash during an update leaves the previous generation in force.

#include <cstring>
#include <fstream>
#include <random>

#include "backend/fault_backend.h"
#include "backend/mem_backend.h"
#include "backup/backup.h"
#include "backup/restore.h"
#include "pds/pds_table.h"
#include "pds/pds_update.h"
#include "recipe/lease.h"
#include "store/pds_store.h"
#include "testing/forwarding_backend.h"
#include "testing/small_repo.h"
#include "testing/status_matchers.h"
#include "testing/temp_dir.h"

namespace vcsnap {
namespace {

using ::vcsnap::testing::StatusIs;
using ::vcsnap::testing::StatusIsWith;

class PdsLifecycle : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = ::vcsnap::testing::NewTempDir("pds");
    mem_ = std::make_unique<MemBackend>(1 << 20);
    fault_ = std::make_unique<FaultBackend>(mem_.get());
    repo_ = std::move(*Repository::InitOn(
        std::make_unique<::vcsnap::testing::ForwardingBackend>(fault_.get()),
        ::vcsnap::testing::SmallRepoConfig()));
  }
  Bytes Content(uint64_t seed, size_t n) {
    std::mt19937_64 rng(seed);
    Bytes b(n);
    for (size_t i = 0; i < n; i += 8) {
      uint64_t v = rng() & 0x3f3f3f3f3f3f3f3full;  // compressible
      std::memcpy(b.data() + i, &v, std::min<size_t>(8, n - i));
    }
    return b;
  }
  // A VM image: the shared "OS" part plus a VM-specific part.
  std::string Image(const std::string& name, uint64_t own_seed) {
    Bytes img = Content(1, 8 * 65536);
    Bytes own = Content(own_seed, 4 * 65536);
    img.insert(img.end(), own.begin(), own.end());
    std::string path = dir_ + "/" + name;
    std::ofstream(path, std::ios::binary)
        .write(reinterpret_cast<const char*>(img.data()), img.size());
    return path;
  }
  Result<BackupResult> Backup(const std::string& vm, const std::string& path,
                              const PdsIndex* pds) {
    BackupOptions o;
    o.vm = vm;
    o.image_path = path;
    o.threads = 2;
    o.pds = pds;
    return RunBackup(*repo_, o);
  }
  bool RestoresTo(const std::string& vm, const std::string& snap,
                  const std::string& path) {
    PdsStore pds(&repo_->backend());
    RestoreOptions o;
    o.vm = vm;
    o.snapshot = snap;
    o.output = dir_ + "/out.img";
    o.force = true;
    o.verify = true;
    o.pds = [&pds](const PdsRef& r) { return pds.Get(r); };
    Result<RestoreResult> r = RunRestore(*repo_, o);
    if (!r.ok()) {
      ADD_FAILURE() << r.status();
      return false;
    }
    std::ifstream a(path, std::ios::binary), b(o.output, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(a), {}) ==
           std::string(std::istreambuf_iterator<char>(b), {});
  }
  std::unique_ptr<PdsTable> Current() {
    return std::move(*PdsTable::Load(*mem_, *ReadCurrentPds(*mem_)));
  }

  std::string dir_;
  std::unique_ptr<MemBackend> mem_;
  std::unique_ptr<FaultBackend> fault_;
  std::unique_ptr<Repository> repo_;
};

TEST_F(PdsLifecycle, SharedContentEntersThePdsAndLaterBackupsMatchIt) {
  for (int v = 0; v < 3; ++v) {
    std::string vm = "vm" + std::to_string(v);
    ASSERT_OK(Backup(vm, Image(vm + ".img", 100 + v), nullptr));
  }
  EXPECT_THAT(RunPdsUpdate(*repo_, {0, 0}),
              StatusIsWith(StatusCode::kInvalidArgument, "--fraction"));
  EXPECT_THAT(RunPdsUpdate(*repo_, {1.5, 0}),
              StatusIs(StatusCode::kInvalidArgument));
  auto up = RunPdsUpdate(*repo_, {0.9, 0});
  ASSERT_OK(up);
  EXPECT_EQ(up->generation, 1u);
  EXPECT_GT(up->report.k, 0u);
  EXPECT_EQ(up->report.vms, 3u);
  auto pds = Current();
  // A new VM with the same OS part finds it at level 3 and stores only its own.
  std::string img = Image("new.img", 200);
  auto r = Backup("vm9", img, pds.get());
  ASSERT_OK(r);
  EXPECT_GE(r->stats.level3, 7u * 65536);
  EXPECT_TRUE(RestoresTo("vm9", "1", img));
  // Snapshots from before keep restoring after one and two more updates.
  ASSERT_OK(RunPdsUpdate(*repo_, {0.5, 0}));
  ASSERT_OK(RunPdsUpdate(*repo_, {0, 64 * kPdsEntryBytes}));
  EXPECT_EQ(*ReadCurrentPds(*mem_), 3u);
  EXPECT_TRUE(RestoresTo("vm9", "1", img));
  EXPECT_TRUE(RestoresTo("vm0", "1", dir_ + "/vm0.img"));
  auto r2 = Backup("vm9", img, Current().get());
  ASSERT_OK(r2);
  EXPECT_TRUE(RestoresTo("vm9", "2", img));
}

TEST_F(PdsLifecycle, ACrashDuringUpdateLeavesThePreviousGeneration) {
  for (int v = 0; v < 3; ++v) {
    std::string vm = "vm" + std::to_string(v);
    ASSERT_OK(Backup(vm, Image(vm + ".img", 100 + v), nullptr));
  }
  ASSERT_OK(RunPdsUpdate(*repo_, {0.9, 0}));
  uint64_t before = fault_->op_count();
  ASSERT_OK(RunPdsUpdate(*repo_, {0.5, 0}));
  const uint64_t ops = fault_->op_count() - before;
  ASSERT_OK(PublishPds(*mem_, 1));  // back to generation 1 for the loop
  for (uint64_t i = 1; i <= ops; i += std::max<uint64_t>(1, ops / 40)) {
    SCOPED_TRACE("crash at operation " + std::to_string(i));
    fault_->CrashAtNth(i);
    Result<PdsUpdateResult> crashed = RunPdsUpdate(*repo_, {0.5, 0});
    fault_->Restart();
    (void)BreakLeaseObject(*mem_, "pds/lease", "the PDS", true);
    Result<uint32_t> current = ReadCurrentPds(*mem_);
    ASSERT_OK(current);
    if (crashed.ok()) continue;  // the crash hit after publishing
    ASSERT_EQ(*current, 1u);
    auto pds = PdsTable::Load(*mem_, 1);
    ASSERT_OK(pds);
    auto r = Backup("vm0", dir_ + "/vm0.img", pds->get());
    ASSERT_OK(r);
    EXPECT_TRUE(RestoresTo("vm0", "latest", dir_ + "/vm0.img"));
  }
  ASSERT_OK(RunPdsUpdate(*repo_, {0.5, 0}));
}

}  // namespace
}  // namespace vcsnap
