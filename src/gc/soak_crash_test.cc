// The deletion property with crashes: random histories over three VMs that
// share content, of backups (with and without a PDS in force), forgets,
// retention, gc, compact and `pds update`, where about one operation in four
// crashes the machine at a random backend call (on some seeds tearing
// appends). After every step SoakTest::Intact holds (check --read-data every
// fourth step); at the end, forgetting everything leaves no chunk.

#include <algorithm>
#include <cstdio>

#include "gc/forget.h"
#include "gc/soak_test.h"
#include "gc/sweep.h"
#include "pds/pds_update.h"

namespace vcsnap {

void SoakTest::RunSeed(uint64_t seed, int steps) {
  std::mt19937_64 rng(seed);
  pds_file_index_ = seed % 2 == 1;
  if (seed % 3 == 0) fault_->SetTornTail(seed);  // crashes tear appends
  for (int v = 0; v < kVms; ++v) {
    model_[v] = VmModel{InitialImage(seed, v), {}, {}};
    model_[v].dirty.assign(kGranules, true);
  }
  LoadPds();
  for (int step = 0; step < steps; ++step) {
    const int v = static_cast<int>(rng() % kVms);
    VmModel& m = model_[v];
    const int op = static_cast<int>(rng() % 20);
    const std::string kind = op < 9 || m.live.empty() ? "backup"
                             : op < 12                ? "forget"
                             : op == 12               ? "retention"
                             : op < 15                ? "gc"
                             : op < 17                ? "compact"
                                                      : "pds update";
    const bool crash = rng() % 4 == 0;
    // A call within the operation: it made calls_[kind] at most so far.
    const uint64_t crash_at = 1 + rng() % std::max<uint64_t>(calls_[kind], 20);
    const bool applied = rng() % 2 == 0;
    SCOPED_TRACE("step " + std::to_string(step) + ": " + kind + " of " + Vm(v) +
                 (crash ? ", crashing at call " + std::to_string(crash_at) +
                              (applied ? " (applied)" : "")
                        : ""));
    // What a crash may have removed from the catalog (forget's victims).
    std::set<uint32_t> may_go;
    if (kind == "forget") {
      may_go = {PickLive(v, rng)->first};
    } else if (kind == "retention") {
      auto catalog = LoadCatalog(*mem_, Vm(v));
      ASSERT_OK(catalog);
      for (uint32_t id : SelectByRetention(*catalog, {2, 0, 0})) {
        may_go.insert(id);
      }
    }
    if (kind == "backup") ChangeDisk(v, rng);
    if (crash) fault_->CrashAtNth(crash_at, applied);
    const uint64_t calls_before = fault_->op_count();
    // Runs the operation; a failure is allowed only from the crash.
    Status status;
    if (kind == "backup") {
      auto r = BackupVm(v);
      status = r.status();
      if (r.ok()) {
        stats_.level3_bytes += r->stats.level3;
        stats_.unhashed_bytes += r->bytes_reused;
        m.live[r->snapshot] = m.image;
        m.dirty.assign(kGranules, false);
      }
    } else if (kind == "forget" || kind == "retention") {
      ForgetOptions o{Vm(v), {}, {}, false};
      if (kind == "forget") {
        o.snapshots = {std::to_string(*may_go.begin())};
      } else {
        o.retention = {2, 0, 0};
      }
      auto r = RunForget(*repo_, o);
      status = r.status();
      if (r.ok()) {
        ASSERT_EQ(std::set<uint32_t>(r->forgotten.begin(), r->forgotten.end()),
                  may_go);
        for (uint32_t id : r->forgotten) m.live.erase(id);
      }
    } else if (kind == "gc") {
      status = RunGc(*repo_, Vm(v)).status();
    } else if (kind == "compact") {
      status = RunCompact(*repo_, Vm(v), 0.0).status();
    } else {
      status = RunPdsUpdate(*repo_, {0.5, 0}).status();
      if (status.ok()) LoadPds();
    }
    const bool crashed = fault_->crashed();
    ASSERT_TRUE(status.ok() || crashed) << status;
    if (!crashed) {
      calls_[kind] = std::max(calls_[kind], fault_->op_count() - calls_before);
    }
    if (crash) {
      // Also when the crash point lay beyond the operation: then the machine
      // stops after it, and what it committed must have been durable.
      Recover();
      if (crashed) ++stats_.crashes[kind];
      if (crashed && kind == "backup") {
        // Committed or not: the catalog tells.
        for (uint32_t id : CatalogIds(v)) {
          if (!m.live.count(id)) {
            m.live[id] = m.image;
            m.dirty.assign(kGranules, false);
          }
        }
      } else if (crashed) {
        const std::set<uint32_t> now = CatalogIds(v);
        for (uint32_t id : may_go) {
          if (!now.count(id)) m.live.erase(id);
        }
      }
    }
    ASSERT_TRUE(Intact(step % 4 == 3));
  }
  // Forgetting everything and repairing leaves no chunk behind.
  for (int v = 0; v < kVms; ++v) {
    for (const auto& [id, img] : model_[v].live) {
      ASSERT_OK(RunForget(*repo_, {Vm(v), {std::to_string(id)}, {}, false}));
    }
    model_[v].live.clear();
    ASSERT_OK(RunGc(*repo_, Vm(v)));
    ASSERT_OK(RunCompact(*repo_, Vm(v), 0.0));
    EXPECT_EQ(LiveStoredChunks(Vm(v)), 0u) << Vm(v);
  }
  ASSERT_TRUE(Intact(true));
}

namespace {

TEST_F(SoakTest, RandomHistoriesWithPdsAndCrashesLoseNothing) {
  // 40 steps per seed; 24 under a sanitizer (5-10x slower).
#if defined(__SANITIZE_ADDRESS__)
  constexpr uint64_t kDefaultSteps = 24;
#else
  constexpr uint64_t kDefaultSteps = 40;
#endif
  const int steps = static_cast<int>(EnvOr("VCSNAP_SOAK_STEPS", kDefaultSteps));
  const uint64_t seeds =
      ForEachSeed(4, [&](uint64_t seed) { RunSeed(seed, steps); });
  if (HasFatalFailure()) return;
  // The history must have exercised what it is about.
  std::string crashes;
  for (const auto& [what, n] : stats_.crashes) {
    crashes += " " + what + ":" + std::to_string(n);
  }
  std::printf(
      "soak: %llu seeds x %d steps, crashes%s, %llu bytes from PDS, %llu "
      "unhashed\n",
      static_cast<unsigned long long>(seeds), steps, crashes.c_str(),
      static_cast<unsigned long long>(stats_.level3_bytes),
      static_cast<unsigned long long>(stats_.unhashed_bytes));
  EXPECT_GE(stats_.crashes.size(), 4u);
  EXPECT_GT(stats_.level3_bytes, 0u);
  EXPECT_GT(stats_.unhashed_bytes, 0u);
}

}  // namespace
}  // namespace vcsnap
