// The PDS lifecycle over real backups: shared content enters the PDS, later
// backups match it at level 3, old snapshots restore across updates, and a
// crash during an update leaves the previous generation in force.

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <random>

#include "backend/fault_backend.h"
#include "backend/mem_backend.h"
#include "backup/backup.h"
#include "backup/restore.h"
#include "pds/fp_run.h"
#include "pds/pds_retire.h"
#include "pds/pds_table.h"
#include "pds/pds_update.h"
#include "recipe/lease.h"
#include "store/pds_store.h"
#include "testing/backend_copy.h"
#include "testing/forwarding_backend.h"
#include "testing/small_repo.h"
#include "testing/status_matchers.h"
#include "testing/temp_dir.h"

namespace vcsnap {
namespace {

using ::vcsnap::testing::CopyAll;

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
  // vm0 .. vm<n-1>: the shared part plus their own, without a PDS.
  void BackUpVms(int n) {
    for (int v = 0; v < n; ++v) {
      std::string vm = "vm" + std::to_string(v);
      ASSERT_OK(Backup(vm, Image(vm + ".img", 100 + v), nullptr));
    }
  }
  bool RestoresTo(const std::string& vm, const std::string& snap,
                  const std::string& path) {
    PdsStore pds(&repo_->backend(), repo_->config().keys.get());
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
    return ::vcsnap::testing::ReadTestFile(path) ==
           ::vcsnap::testing::ReadTestFile(o.output);
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
  ASSERT_NO_FATAL_FAILURE(BackUpVms(3));
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
  ASSERT_NO_FATAL_FAILURE(BackUpVms(3));
  ASSERT_OK(RunPdsUpdate(*repo_, {0.9, 0}));
  // Retirement has its own crash test; here generation 1 must survive.
  const PdsUpdateOptions no_retire{0.5, 0, /*retire=*/false};
  uint64_t before = fault_->op_count();
  ASSERT_OK(RunPdsUpdate(*repo_, no_retire));
  const uint64_t ops = fault_->op_count() - before;
  ASSERT_OK(PublishPds(*mem_, 1));  // back to generation 1 for the loop
  for (uint64_t i = 1; i <= ops; i += std::max<uint64_t>(1, ops / 40)) {
    SCOPED_TRACE("crash at operation " + std::to_string(i));
    fault_->CrashAtNth(i);
    Result<PdsUpdateResult> crashed = RunPdsUpdate(*repo_, no_retire);
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

// A backup that crashed after writing more run parts than its retry writes
// leaves parts that would extend the retry's run: the retry removes them, so
// pds update reads a clean, sorted run.
TEST_F(PdsLifecycle, ABackupRemovesTheRunsOfACrashedAttempt) {
  ASSERT_NO_FATAL_FAILURE(BackUpVms(2));
  // What a crashed attempt at vm0's snapshot 2 could leave: a 3-part run
  // "2-0" whose fingerprints interleave with any retry's.
  SortedRunWriter crashed(mem_.get(), "vm0", "2-0");
  for (uint64_t v = 0; v < 3 * kFpPartRecords; ++v) {
    FpRecord r;
    for (int i = 0; i < 8; ++i)
      r.fp[i] = static_cast<uint8_t>(v >> (56 - 8 * i));
    r.kind = ChunkKind::kVm;
    r.vm_ref = (uint64_t{1} << 48) | (v + 1);
    r.length = 4096;
    ASSERT_OK(crashed.Add(r));
  }
  ASSERT_OK(crashed.Finish());
  ASSERT_OK(Backup("vm0", Image("vm0-2.img", 300), nullptr));
  auto runs = ListRuns(*mem_, "vm0");
  ASSERT_OK(runs);
  for (const RunInfo& r : *runs) {
    if (r.run == "2-0") {
      EXPECT_EQ(r.parts, 1u);
    }
  }
  auto up = RunPdsUpdate(*repo_, {1.0, 0});
  ASSERT_OK(up);
  EXPECT_GT(up->report.k, 0u);
}

std::vector<uint32_t> Published(Backend& backend) {
  PdsStore store(&backend, nullptr);
  return *store.ListGenerations();
}

TEST_F(PdsLifecycle, RetirementKeepsExactlyTheReferencedGenerations) {
  ASSERT_NO_FATAL_FAILURE(BackUpVms(3));
  ASSERT_OK(RunPdsUpdate(*repo_, {0.9, 0}));
  std::string img = Image("new.img", 200);
  auto first = Backup("vm9", img, Current().get());  // references generation 1
  ASSERT_OK(first);
  ASSERT_GT(first->stats.level3, 0u);
  // Generation 2 is published; 1 stays: snapshot vm9/1 references it.
  auto up2 = RunPdsUpdate(*repo_, {0.5, 0});
  ASSERT_OK(up2);
  ASSERT_OK(up2->retire_error);
  EXPECT_EQ(up2->retire.referenced, std::vector<uint32_t>{1});
  EXPECT_TRUE(up2->retire.retired.empty());
  // A backup under generation 2 whose level 2 carries the parent's
  // generation-1 references forward: it records 2 but references 1 too.
  auto second = Backup("vm9", img, Current().get());
  ASSERT_OK(second);
  EXPECT_EQ(second->stats.level3, 0u);
  EXPECT_GT(second->stats.level2, 0u);
  // Generation 3: 2 is referenced by nobody (vm9/2 matched everything at
  // level 2) and goes; 1 stays for vm9/1 and vm9/2.
  auto dry = RetirePdsGenerations(*mem_, {/*dry_run=*/true});
  ASSERT_OK(dry);
  EXPECT_TRUE(dry->retired.empty());  // 2 is current: nothing to do yet
  auto up3 = RunPdsUpdate(*repo_, {0.5, 0});
  ASSERT_OK(up3);
  ASSERT_OK(up3->retire_error);
  EXPECT_EQ(up3->retire.retired, std::vector<uint32_t>{2});
  EXPECT_EQ(up3->retire.referenced, std::vector<uint32_t>{1});
  EXPECT_GT(up3->retire.bytes_freed, 0u);
  EXPECT_EQ(Published(*mem_), (std::vector<uint32_t>{1, 3}));
  EXPECT_THAT(mem_->Get("pds/index/2/meta"), StatusIs(StatusCode::kNotFound));
  EXPECT_TRUE(mem_->List("pds/index/2/")->empty());
  EXPECT_TRUE(mem_->List("pds/g00000002")->empty());
  EXPECT_TRUE(mem_->List("pds/retiring/")->empty());
  EXPECT_TRUE(mem_->List("pds/pins/")->empty());
  EXPECT_TRUE(RestoresTo("vm9", "1", img));
  EXPECT_TRUE(RestoresTo("vm9", "2", img));
  EXPECT_TRUE(RestoresTo("vm0", "1", dir_ + "/vm0.img"));
}

TEST_F(PdsLifecycle, PinsProtectRunningBackupsFromRetirement) {
  ASSERT_NO_FATAL_FAILURE(BackUpVms(3));
  ASSERT_OK(RunPdsUpdate(*repo_, {0.9, 0}));
  std::unique_ptr<PdsTable> g1 = Current();
  // A backup that loaded generation 1 and pinned it, still running.
  ASSERT_OK(PinPdsGeneration(*mem_, "vm9", 1));
  auto up = RunPdsUpdate(*repo_, {0.5, 0});
  ASSERT_OK(up);
  EXPECT_EQ(up->retire.pinned, std::vector<uint32_t>{1});
  EXPECT_TRUE(up->retire.retired.empty());
  ASSERT_OK(UnpinPds(*mem_, "vm9"));
  auto retired = RetirePdsGenerations(*mem_, {});
  ASSERT_OK(retired);
  EXPECT_EQ(retired->retired, std::vector<uint32_t>{1});
  // Snapshots taken before still restore after the oldest generation went.
  EXPECT_TRUE(RestoresTo("vm0", "1", dir_ + "/vm0.img"));
  // A backup that loaded generation 1 before it was retired does not use it.
  Result<bool> usable = PinPdsGeneration(*mem_, "vm9", 1);
  ASSERT_OK(usable);
  EXPECT_FALSE(*usable);
  std::string img = Image("new.img", 200);
  auto late = Backup("vm9", img, g1.get());
  ASSERT_OK(late);
  EXPECT_EQ(late->stats.level3, 0u);
  EXPECT_NE(late->note.find("being retired"), std::string::npos) << late->note;
  EXPECT_TRUE(RestoresTo("vm9", "1", img));
  // A generation marked for retirement is not used either, even while it
  // is still published.
  std::unique_ptr<PdsTable> g2 = Current();
  ASSERT_OK(mem_->Put(PdsRetiringName(2), Bytes{1}));
  usable = PinPdsGeneration(*mem_, "vm8", 2);
  ASSERT_OK(usable);
  EXPECT_FALSE(*usable);
}

TEST_F(PdsLifecycle, ACrashDuringRetirementLosesNothing) {
  ASSERT_NO_FATAL_FAILURE(BackUpVms(3));
  ASSERT_OK(RunPdsUpdate(*repo_, {0.9, 0}));
  std::string img = Image("new.img", 200);
  ASSERT_OK(Backup("vm9", img, Current().get()));  // references 1
  const PdsUpdateOptions no_retire{0.5, 0, /*retire=*/false};
  ASSERT_OK(RunPdsUpdate(*repo_, no_retire));  // 2: unreferenced
  ASSERT_OK(RunPdsUpdate(*repo_, no_retire));  // 3: current
  // Count the operations of a full retirement on a copy of the state.
  MemBackend saved(1 << 20);
  CopyAll(*mem_, saved);
  uint64_t before = fault_->op_count();
  ASSERT_OK(RetirePdsGenerations(*fault_, {}));
  const uint64_t ops = fault_->op_count() - before;
  ASSERT_GT(ops, 5u);
  for (uint64_t i = 1; i <= ops; ++i) {
    SCOPED_TRACE("crash at operation " + std::to_string(i));
    CopyAll(saved, *mem_);
    fault_->CrashAtNth(i);
    Result<PdsRetireResult> crashed = RetirePdsGenerations(*fault_, {});
    fault_->Restart();
    // Whatever happened, generation 1 (referenced) and 3 (current) serve.
    EXPECT_TRUE(RestoresTo("vm9", "1", img));
    std::vector<uint32_t> gens = Published(*mem_);
    EXPECT_TRUE(std::count(gens.begin(), gens.end(), 1u) == 1);
    EXPECT_TRUE(std::count(gens.begin(), gens.end(), 3u) == 1);
    // The next run finishes the job and leaves no marks.
    auto again = RetirePdsGenerations(*mem_, {});
    ASSERT_OK(again);
    EXPECT_EQ(Published(*mem_), (std::vector<uint32_t>{1, 3}));
    EXPECT_TRUE(mem_->List("pds/retiring/")->empty());
    EXPECT_TRUE(mem_->List("pds/g00000002")->empty());
    EXPECT_TRUE(mem_->List("pds/index/2/")->empty());
  }
}

// The in-memory table, but asking for deferred batches of `hint` lookups.
class SmallBatchIndex final : public PdsIndex {
 public:
  SmallBatchIndex(const PdsIndex* inner, size_t hint)
      : inner_(inner), hint_(hint) {}
  size_t batch_hint() const override { return hint_; }
  uint32_t generation() const override { return inner_->generation(); }
  void Lookup(std::span<const Fingerprint> fps,
              std::vector<std::optional<PdsRef>>* out) const override {
    calls_++;
    inner_->Lookup(fps, out);
  }
  mutable int calls_ = 0;

 private:
  const PdsIndex* inner_;
  size_t hint_;
};

TEST_F(PdsLifecycle, TheFileIndexDefersLevel3IntoSortedBatches) {
  ASSERT_NO_FATAL_FAILURE(BackUpVms(3));
  ASSERT_OK(RunPdsUpdate(*repo_, {0.9, 0}));
  // The image repeats its own part, so a batch sees the same new chunks
  // twice, in different segments.
  std::string img = Image("new.img", 200);
  {
    Bytes bytes = ::vcsnap::testing::ReadTestFile(img);
    std::ofstream(img, std::ios::binary | std::ios::app)
        .write(reinterpret_cast<const char*>(bytes.data()) + 8 * 65536,
               4 * 65536);
  }
  auto table = Current();
  auto per_segment = Backup("vmT", img, table.get());
  ASSERT_OK(per_segment);
  EXPECT_EQ(per_segment->level3_batches, 0u);
  auto file = PdsFileIndex::Open(mem_.get(), table->generation());
  ASSERT_OK(file);
  auto batched = Backup("vmF", img, file->get());
  ASSERT_OK(batched);
  EXPECT_EQ(batched->level3_batches, 1u);
  EXPECT_GT(batched->level3_lookups, 0u);
  // Level 3 finds the same PDS chunks; repeats inside the batch are stored
  // once.
  EXPECT_EQ(batched->stats.level3, per_segment->stats.level3);
  EXPECT_LE(batched->stats.new_bytes, per_segment->stats.new_bytes);
  EXPECT_EQ(batched->stats.level2 + batched->stats.level3 +
                batched->stats.new_bytes + batched->stats.zero,
            batched->stats.logical);
  EXPECT_TRUE(RestoresTo("vmF", "1", img));
  EXPECT_TRUE(RestoresTo("vmT", "1", img));
  // Many small batches give the same snapshot as one large one.
  SmallBatchIndex small(table.get(), 3);
  auto many = Backup("vmS", img, &small);
  ASSERT_OK(many);
  EXPECT_GT(many->level3_batches, 3u);
  EXPECT_EQ(small.calls_, static_cast<int>(many->level3_batches));
  EXPECT_EQ(many->stats.level3, batched->stats.level3);
  EXPECT_TRUE(RestoresTo("vmS", "1", img));
  // An incremental backup on top of a batched one.
  auto again = Backup("vmF", img, file->get());
  ASSERT_OK(again);
  EXPECT_EQ(again->stats.new_bytes, 0u);
  EXPECT_TRUE(RestoresTo("vmF", "2", img));
}

TEST_F(PdsLifecycle, AnUnusableSpoolDirectoryIsAClearError) {
  ASSERT_NO_FATAL_FAILURE(BackUpVms(2));
  ASSERT_OK(RunPdsUpdate(*repo_, {0.9, 0}));
  auto file = PdsFileIndex::Open(mem_.get(), *ReadCurrentPds(*mem_));
  ASSERT_OK(file);
  const char* old = std::getenv("TMPDIR");
  const std::string saved = old != nullptr ? old : "";
  ::setenv("TMPDIR", (dir_ + "/no-such-dir").c_str(), 1);
  auto r = Backup("vm9", Image("new.img", 200), file->get());
  if (old != nullptr) {
    ::setenv("TMPDIR", saved.c_str(), 1);
  } else {
    ::unsetenv("TMPDIR");
  }
  EXPECT_THAT(r, StatusIsWith(StatusCode::kIOError, "no-such-dir"));
  // Nothing was committed; the next attempt works.
  auto ok = Backup("vm9", Image("new.img", 200), file->get());
  ASSERT_OK(ok);
  EXPECT_EQ(ok->snapshot, 1u);
}

}  // namespace
}  // namespace vcsnap
