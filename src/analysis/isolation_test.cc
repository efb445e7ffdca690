#include "analysis/isolation.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <functional>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "analysis/availability.h"
#include "backend/mem_backend.h"
#include "backup/backup.h"
#include "gc/forget.h"
#include "pds/pds_table.h"
#include "pds/pds_update.h"
#include "recipe/catalog.h"
#include "store/vm_store.h"
#include "testing/forwarding_backend.h"
#include "testing/small_repo.h"
#include "testing/status_matchers.h"
#include "testing/temp_dir.h"

namespace vcsnap {
namespace {

using ::testing::HasSubstr;
using ::vcsnap::testing::StatusIsWith;

// Small config (1 MiB blocks, 2 MiB containers) over incompressible images of
// a few MiB, so that every VM has several blocks and containers.
class IsolationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = ::vcsnap::testing::NewTempDir("isolation");
    repo_ =
        std::move(*Repository::InitOn(std::make_unique<MemBackend>(1 << 20),
                                      ::vcsnap::testing::SmallRepoConfig()));
  }

  static Bytes Random(uint64_t seed, size_t size) {
    std::mt19937_64 rng(seed);
    Bytes b(size);
    for (auto& x : b) x = static_cast<uint8_t>(rng());
    return b;
  }

  void Backup(const std::string& vm, const Bytes& img,
              const PdsIndex* pds = nullptr) {
    BackupOptions o;
    o.vm = vm;
    o.pds = pds;
    o.image_path = dir_ + "/" + vm + ".img";
    std::ofstream(o.image_path, std::ios::binary | std::ios::trunc)
        .write(reinterpret_cast<const char*>(img.data()), img.size());
    o.threads = 2;
    ASSERT_OK(RunBackup(*repo_, o));
  }

  // Objects whose name starts with `prefix` and contains `part`.
  uint64_t Count(const std::string& prefix, const std::string& part) {
    uint64_t n = 0;
    for (const ObjectInfo& o : *repo_->backend().List(prefix)) {
      if (o.name.find(part) != std::string::npos) n++;
    }
    return n;
  }
  uint64_t DataBlocks(const std::string& vm) {
    return Count("vm/" + vm + "/store/", "/b");
  }
  // Catalog + snapshot recipes + packs + container indexes (+ heads).
  uint64_t MetaObjects(const std::string& vm) {
    return Count("vm/" + vm + "/catalog", "") +
           Count("vm/" + vm + "/snap/", "") +
           Count("vm/" + vm + "/recipes/", "") +
           Count("vm/" + vm + "/store/", "/index") +
           Count("vm/" + vm + "/store/", "/head");
  }
  uint64_t StoredGroupBytes(const std::string& vm) {
    auto store = *VmStore::Open(&repo_->backend(), vm, repo_->config());
    uint64_t n = 0;
    for (const ContainerInfo& c : *store->ListContainers()) n += c.stored_bytes;
    return n;
  }
  const VmDependencies& Of(const IsolationReport& r, const std::string& vm) {
    for (const VmDependencies& d : r.vms) {
      if (d.vm == vm) return d;
    }
    ADD_FAILURE() << "no " << vm;
    return r.vms.at(0);
  }

  std::string dir_;
  std::unique_ptr<Repository> repo_;
};

constexpr size_t kImage = 5 << 20;

TEST_F(IsolationTest, DisjointVmsDependOnTheirOwnBlocks) {
  const char* vms[] = {"vm-a", "vm-b", "vm-c"};
  for (int day = 0; day < 2; day++) {
    for (int i = 0; i < 3; i++) {
      // Day 1 rewrites the second half of the image.
      Bytes img = Random(10 + i, kImage);
      Bytes half = Random(100 + i, kImage / 2);
      if (day == 1)
        std::copy(half.begin(), half.end(), img.begin() + kImage / 2);
      Backup(vms[i], img);
    }
  }
  Result<IsolationReport> r = AnalyzeIsolation(*repo_, {});
  ASSERT_OK(r);
  ASSERT_EQ(r->vms.size(), 3u);
  EXPECT_EQ(r->block_size, 1u << 20);
  EXPECT_EQ(r->vo_block_size, 1u << 20);
  uint64_t stored = 0, blocks = 0;
  for (const char* vm : vms) {
    SCOPED_TRACE(vm);
    const VmDependencies& d = Of(*r, vm);
    EXPECT_EQ(d.snapshots, 2u);
    EXPECT_GE(DataBlocks(vm), 8u);           // several blocks per VM
    EXPECT_EQ(d.vm_blocks, DataBlocks(vm));  // nothing forgotten: all used
    EXPECT_EQ(d.pds_blocks, 0u);
    EXPECT_EQ(d.meta_objects, MetaObjects(vm));
    EXPECT_EQ(
        d.vo_meta_objects,
        d.meta_objects - Count("vm/" + std::string(vm) + "/store/", "/index"));
    stored += StoredGroupBytes(vm);
    blocks += d.vm_blocks;
  }
  EXPECT_EQ(r->vm_store.blocks, blocks);
  EXPECT_EQ(r->vm_store.max_vms, 1u);
  EXPECT_EQ(r->pds.blocks, 0u);
  // Random data: nothing compresses, and the simulated log holds what the
  // stores hold, in blocks that only neighbouring VMs' runs can share.
  EXPECT_GT(r->vo_compression, 0.99);
  EXPECT_LE(r->vo_compression, 1.0);
  EXPECT_NEAR(static_cast<double>(r->vo_log_bytes), static_cast<double>(stored),
              0.01 * stored);
  EXPECT_LE(r->vo.max_vms, 3u);
  EXPECT_LT(r->vo.mean_vms, 1.5);
  EXPECT_GE(r->vo.blocks, 3 * kImage * 3 / 2 / (1 << 20));
}

TEST_F(IsolationTest, IdenticalVmsShareEveryBlockOnlyInTheObliviousLayout) {
  Bytes img = Random(7, kImage);
  Backup("vm-a", img);
  Backup("vm-b", img);
  Result<IsolationReport> r = AnalyzeIsolation(*repo_, {});
  ASSERT_OK(r);
  const VmDependencies& a = Of(*r, "vm-a");
  const VmDependencies& b = Of(*r, "vm-b");
  // VM-centric: each has its own copy in its own store.
  EXPECT_EQ(a.vm_blocks, DataBlocks("vm-a"));
  EXPECT_EQ(b.vm_blocks, DataBlocks("vm-b"));
  EXPECT_EQ(r->vm_store.blocks, a.vm_blocks + b.vm_blocks);
  EXPECT_EQ(r->vm_store.mean_vms, 1.0);
  // VM-oblivious: vm-b's chunks all dedup into vm-a's blocks.
  EXPECT_EQ(a.vo_blocks, r->vo.blocks);
  EXPECT_EQ(b.vo_blocks, r->vo.blocks);
  EXPECT_EQ(r->vo.mean_vms, 2.0);
  EXPECT_EQ(r->vo.max_vms, 2u);
  ASSERT_EQ(r->vo.histogram.size(), 2u);
  EXPECT_EQ(r->vo.histogram[0], 0u);
  EXPECT_EQ(r->vo.histogram[1], r->vo.blocks);
  // The log holds one copy of vm-a's chunks: as many as its store holds.
  uint64_t vm_a_chunks = 0;
  auto store = *VmStore::Open(&repo_->backend(), "vm-a", repo_->config());
  for (const ContainerInfo& c : *store->ListContainers()) {
    vm_a_chunks += c.live_chunks;
  }
  EXPECT_EQ(r->distinct_chunks, vm_a_chunks);
}

TEST_F(IsolationTest, PdsBlocksAreSharedByTheVmsThatUseThem) {
  // Two images, each held by two VMs: every chunk is popular (the PDS takes
  // chunks of at least two VMs). Third copies then dedup against the PDS.
  Bytes x = Random(1, kImage), y = Random(2, kImage);
  Backup("vm-a", x);
  Backup("vm-b", x);
  Backup("vm-c", y);
  Backup("vm-d", y);
  ASSERT_OK(RunPdsUpdate(*repo_, {1.0, 0}));
  Result<std::unique_ptr<PdsIndex>> index =
      LoadCurrentPdsIndex(repo_->backend(), false);
  ASSERT_OK(index);
  ASSERT_NE(*index, nullptr);
  Backup("vm-e", x, index->get());
  Backup("vm-f", y, index->get());
  Result<IsolationReport> r = AnalyzeIsolation(*repo_, {});
  ASSERT_OK(r);
  const uint64_t pds_objects = Count("pds/g", "/b");
  ASSERT_GE(pds_objects, 8u);
  const VmDependencies& e = Of(*r, "vm-e");
  const VmDependencies& f = Of(*r, "vm-f");
  EXPECT_EQ(e.vm_blocks, 0u);
  EXPECT_EQ(f.vm_blocks, 0u);
  EXPECT_EQ(Of(*r, "vm-a").pds_blocks, 0u);
  EXPECT_GT(e.pds_blocks, 0u);
  EXPECT_GT(f.pds_blocks, 0u);
  // The PDS holds exactly x's and y's chunks, all used by vm-e or vm-f.
  EXPECT_EQ(r->pds.blocks, pds_objects);
  EXPECT_GE(e.pds_blocks + f.pds_blocks, pds_objects);
  EXPECT_LE(r->pds.max_vms, 2u);
  EXPECT_NEAR(r->pds.mean_vms * r->pds.blocks, e.pds_blocks + f.pds_blocks,
              1e-9);
  // VM-oblivious: every copy of x uses the blocks the first one filled.
  EXPECT_EQ(Of(*r, "vm-b").vo_blocks, Of(*r, "vm-a").vo_blocks);
  EXPECT_EQ(e.vo_blocks, Of(*r, "vm-a").vo_blocks);
  EXPECT_EQ(f.vo_blocks, Of(*r, "vm-c").vo_blocks);
  EXPECT_GE(r->vo.mean_vms, 3.0);
}

TEST_F(IsolationTest, OnlyLiveSnapshotsCount) {
  Backup("vm-a", Random(1, kImage));
  Backup("vm-a", Random(2, kImage));  // nothing in common with the first
  Result<IsolationReport> before = AnalyzeIsolation(*repo_, {});
  ASSERT_OK(before);
  EXPECT_EQ(Of(*before, "vm-a").vm_blocks, DataBlocks("vm-a"));
  ForgetOptions f;
  f.vm = "vm-a";
  f.snapshots = {"1"};
  ASSERT_OK(RunForget(*repo_, f));
  Result<IsolationReport> after = AnalyzeIsolation(*repo_, {});
  ASSERT_OK(after);
  const VmDependencies& d = Of(*after, "vm-a");
  EXPECT_EQ(d.snapshots, 1u);
  // Only the blocks of the second snapshot's chunks: at least its 5 MiB.
  EXPECT_LT(d.vm_blocks, Of(*before, "vm-a").vm_blocks);
  EXPECT_GE(d.vm_blocks, kImage / (1 << 20));
  // Everything forgotten: the VM depends on nothing and counts in no mean.
  f.snapshots = {"2"};
  ASSERT_OK(RunForget(*repo_, f));
  Result<IsolationReport> none = AnalyzeIsolation(*repo_, {});
  ASSERT_OK(none);
  EXPECT_EQ(Of(*none, "vm-a").vm_blocks, 0u);
  EXPECT_EQ(Of(*none, "vm-a").vo_blocks, 0u);
  AvailabilityRow row = ComputeAvailability(*none, 10, 3, 5, 9);
  EXPECT_EQ(row.vc_mean, 1.0);
  EXPECT_EQ(row.vc_vms_lost, 0.0);
}

TEST_F(IsolationTest, DamageIsAnErrorNamingThePlaceNeverANumber) {
  Backup("vm-a", Random(1, kImage));
  Backup("vm-b", Random(2, kImage));
  Backend& b = repo_->backend();
  // A container's index gone: the references into it resolve to nothing.
  ASSERT_OK(b.Delete("vm/vm-b/store/c0001/g00000001/index"));
  EXPECT_THAT(AnalyzeIsolation(*repo_, {}),
              StatusIsWith(StatusCode::kCorruption,
                           "VM vm-b snapshot 1 segment 0: chunk c0001:"));
  // A recipe pack gone.
  ASSERT_OK(b.Delete("vm/vm-a/recipes/1.0"));
  Result<IsolationReport> r = AnalyzeIsolation(*repo_, {});
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), HasSubstr("VM vm-a snapshot 1"));
  // A damaged catalog.
  Result<Bytes> cat = b.Get("vm/vm-a/catalog");
  ASSERT_OK(cat);
  (*cat)[cat->size() / 2] ^= 1;
  ASSERT_OK(b.Put("vm/vm-a/catalog", *cat));
  EXPECT_THAT(AnalyzeIsolation(*repo_, {}),
              StatusIsWith(StatusCode::kCorruption, "vm/vm-a/catalog"));
}

// A backend that places objects in 7 groups by a hash of the name, as Ceph
// places them in placement groups.
class GroupedBackend final : public ::vcsnap::testing::ForwardingBackend {
 public:
  explicit GroupedBackend(std::unique_ptr<Backend> target)
      : ForwardingBackend(target.get()), target_(std::move(target)) {}
  static uint64_t GroupOf(std::string_view name) {
    return std::hash<std::string_view>{}(name) % 7;
  }
  Result<uint64_t> PlacementGroupOf(std::string_view name) override {
    return GroupOf(name);
  }

 private:
  std::unique_ptr<Backend> target_;
};

TEST_F(IsolationTest, PlacementGroupsCountTheGroupsOfTheObjectsUsed) {
  repo_ = std::move(*Repository::InitOn(
      std::make_unique<GroupedBackend>(std::make_unique<MemBackend>(1 << 20)),
      ::vcsnap::testing::SmallRepoConfig()));
  Backup("vm-a", Random(1, kImage));
  Backup("vm-a", Random(2, kImage));
  Backup("vm-b", Random(3, 2 << 20));
  Result<IsolationReport> r = AnalyzeIsolation(*repo_, {});
  ASSERT_OK(r);
  ASSERT_TRUE(r->placement_groups);
  for (const char* vm : {"vm-a", "vm-b"}) {
    SCOPED_TRACE(vm);
    // The groups of every object listed that the VM depends on: nothing is
    // forgotten, so all its blocks, packs, indexes, recipes and catalog.
    std::set<uint64_t> groups;
    const std::string prefix = "vm/" + std::string(vm) + "/";
    for (const ObjectInfo& o : *repo_->backend().List(prefix)) {
      const std::string rest = o.name.substr(prefix.size());
      if (rest == "catalog" || rest.starts_with("snap/") ||
          rest.starts_with("recipes/") ||
          (rest.starts_with("store/") &&
           (rest.find("/b") != std::string::npos || rest.ends_with("/index") ||
            rest.ends_with("/head")))) {
        groups.insert(GroupedBackend::GroupOf(o.name));
      }
    }
    const VmDependencies& d = Of(*r, vm);
    EXPECT_EQ(d.vm_pgs, groups.size());
    EXPECT_EQ(d.pds_pgs, 0u);
    EXPECT_GE(d.vo_pgs, 1u);
    EXPECT_LE(d.vo_pgs, 7u);
  }
  // Availability by group: 3 of 10 machines down, 3 replicas.
  AvailabilityRow row = ComputeAvailability(*r, 10, 3, 5, 3);
  const double loss = 1.0 / 120;
  const VmDependencies& a = Of(*r, "vm-a");
  const VmDependencies& b = Of(*r, "vm-b");
  EXPECT_NEAR(row.vc_pg_mean,
              (std::pow(1 - loss, a.vm_pgs) + std::pow(1 - loss, b.vm_pgs)) / 2,
              1e-12);
  EXPECT_NEAR(row.vo_pg_mean,
              (std::pow(1 - loss, a.vo_pgs) + std::pow(1 - loss, b.vo_pgs)) / 2,
              1e-12);
  // Fewer groups than blocks: losing by group is less likely.
  EXPECT_GT(row.vc_pg_mean, row.vc_mean);
}

TEST_F(IsolationTest, NoPlacementGroupsOnPlainBackends) {
  Backup("vm-a", Random(1, 2 << 20));
  Result<IsolationReport> r = AnalyzeIsolation(*repo_, {});
  ASSERT_OK(r);
  EXPECT_FALSE(r->placement_groups);
  EXPECT_EQ(Of(*r, "vm-a").vm_pgs, 0u);
  AvailabilityRow row = ComputeAvailability(*r, 10, 3, 5, 3);
  EXPECT_EQ(row.vc_pg_mean, 1.0);
}

TEST(IsolationAvailability, FollowsThePaperModelPerVm) {
  IsolationReport r;
  VmDependencies one;
  one.vm = "one";
  one.snapshots = 1;
  one.vm_blocks = 10;
  one.meta_objects = 5;
  one.pds_blocks = 3;
  one.vo_blocks = 40;
  one.vo_meta_objects = 4;
  VmDependencies two = one;
  two.vm = "two";
  two.vm_blocks = 2;
  two.vo_blocks = 8;
  VmDependencies empty;  // no snapshots: not counted
  empty.vm = "empty";
  r.vms = {one, two, empty};
  // 4 of 10 machines: a 3-replica block is lost with 4/120, a 5-replica one
  // never.
  AvailabilityRow row = ComputeAvailability(r, 10, 3, 5, 4);
  const double q = 1 - 4.0 / 120;
  EXPECT_EQ(row.failed, 4u);
  EXPECT_DOUBLE_EQ(row.block, q);
  EXPECT_DOUBLE_EQ(row.pds_block, 1.0);
  EXPECT_NEAR(row.vc_mean, (std::pow(q, 15) + std::pow(q, 7)) / 2, 1e-12);
  EXPECT_NEAR(row.vo_mean, (std::pow(q, 44) + std::pow(q, 12)) / 2, 1e-12);
  EXPECT_NEAR(row.vc_worst, std::pow(q, 15), 1e-12);
  EXPECT_NEAR(row.vo_worst, std::pow(q, 44), 1e-12);
  EXPECT_NEAR(row.vc_vms_lost, 2 - std::pow(q, 15) - std::pow(q, 7), 1e-12);
  // 6 of 10: PDS blocks (5 replicas) can be lost too: C(6,5)/C(10,5).
  row = ComputeAvailability(r, 10, 3, 5, 6);
  const double q3 = 1 - 20.0 / 120, q5 = 1 - 6.0 / 252;
  EXPECT_DOUBLE_EQ(row.pds_block, q5);
  EXPECT_NEAR(row.vc_worst, std::pow(q3, 15) * std::pow(q5, 3), 1e-12);
}

}  // namespace
}  // namespace vcsnap
