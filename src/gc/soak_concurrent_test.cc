// The deletion property with operations at once on threads (lease
// contention, PDS pins against retirement, restores and checks beside the
// writers). See SoakTest (soak_test.h) for the model and the invariant.

#include <algorithm>
#include <cstdio>
#include <optional>
#include <thread>

#include "backup/restore.h"
#include "gc/check.h"
#include "gc/forget.h"
#include "gc/soak_test.h"
#include "gc/sweep.h"
#include "pds/pds_update.h"
#include "store/pds_store.h"
#include "testing/temp_dir.h"

namespace vcsnap {

// Rounds of operations running at once, as on a host where backups of
// several VMs, a `pds update`, deletions, restores and checks overlap: each
// round starts one operation per VM (backup, forget, gc, compact or restore;
// sometimes a second one on the same VM, which then contends for its lease
// or reads beside it), sometimes a `pds update` and sometimes a check of the
// whole repository, on threads, then checks everything. The only failure
// allowed is Busy from a lease; restores must be byte-exact and the checks
// clean.
void SoakTest::RunConcurrentSeed(uint64_t seed, int rounds) {
  std::mt19937_64 rng(seed);
  for (int v = 0; v < kVms; ++v) {
    model_[v] = VmModel{InitialImage(seed, v), {}, {}};
    model_[v].dirty.assign(kGranules, true);
  }
  for (int round = 0; round < rounds; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    struct Op {
      int vm = 0;
      std::string kind;
      uint32_t victim = 0;          // forget; restore: the snapshot
      const Bytes* want = nullptr;  // restore: its image
      bool inconclusive = false;    // check: a VM kept changing
      Status status;
      std::optional<BackupResult> backup;
      std::vector<uint32_t> forgotten;
    };
    std::vector<Op> ops;
    for (int v = 0; v < kVms; ++v) {
      const int n = rng() % 3 == 0 ? 2 : 1;
      for (int i = 0; i < n; ++i) {
        const int pick = static_cast<int>(rng() % 10);
        const bool can_forget = !model_[v].live.empty();
        Op op;
        op.vm = v;
        op.kind = pick < 4 || !can_forget ? "backup"
                  : pick < 6              ? "forget"
                  : pick < 7              ? "gc"
                  : pick < 8              ? "compact"
                                          : "restore";
        if (op.kind == "backup" && i == 1) op.kind = "gc";  // one image
        if (op.kind == "forget") {
          op.victim = PickLive(v, rng)->first;
          // Two forgets of one snapshot: the second would be NotFound.
          if (i == 1 && ops.back().victim == op.victim) op.kind = "gc";
        }
        if (op.kind == "restore") {
          auto it = PickLive(v, rng);
          op.victim = it->first;
          op.want = &it->second;
        }
        ops.push_back(op);
      }
    }
    // A restore runs beside anything but the forget of its own snapshot.
    for (Op& op : ops) {
      for (const Op& other : ops) {
        if (op.kind == "restore" && other.kind == "forget" &&
            other.vm == op.vm && other.victim == op.victim) {
          op.kind = "gc";
        }
      }
    }
    const bool update = rng() % 3 == 0;
    if (update) {
      ops.emplace_back();
      ops.back().kind = "pds update";
    }
    if (rng() % 3 == 0) {  // check of the whole repository, beside the rest
      ops.emplace_back();
      ops.back().kind = rng() % 2 ? "check --read-data" : "check";
    }
    for (const Op& op : ops) {
      if (op.kind == "backup") ChangeDisk(op.vm, rng);
    }
    // Bitmaps and images are written before the threads start.
    std::vector<BackupOptions> backup_options(ops.size());
    for (size_t i = 0; i < ops.size(); ++i) {
      if (ops[i].kind == "backup") backup_options[i] = Options(ops[i].vm);
    }
    std::vector<std::thread> threads;
    for (size_t i = 0; i < ops.size(); ++i) {
      threads.emplace_back([&, i, file_index = rng() % 2 == 0] {
        Op& op = ops[i];
        const std::string vm = Vm(op.vm);
        if (op.kind == "backup") {
          // As the CLI does: the generation in force when the backup starts.
          auto pds = LoadCurrentPdsIndex(repo_->backend(), file_index);
          if (!pds.ok()) {
            op.status = pds.status();
            return;
          }
          BackupOptions o = backup_options[i];
          o.pds = pds->get();
          auto r = RunBackup(*repo_, o);
          op.status = r.status();
          if (r.ok()) op.backup = *r;
        } else if (op.kind == "forget") {
          auto r =
              RunForget(*repo_, {vm, {std::to_string(op.victim)}, {}, false});
          op.status = r.status();
          if (r.ok()) op.forgotten = r->forgotten;
        } else if (op.kind == "restore") {
          // No lease: a restore must work beside backups, deletions and
          // compaction of the same VM.
          PdsStore pds(&repo_->backend(), repo_->config().keys.get());
          RestoreOptions o;
          o.vm = vm;
          o.snapshot = std::to_string(op.victim);
          o.output = dir_ + "/restore-" + std::to_string(i) + ".img";
          o.force = true;
          o.verify = true;
          o.pds = [&pds](const PdsRef& ref) { return pds.Get(ref); };
          op.status = RunRestore(*repo_, o).status();
          if (op.status.ok() &&
              ::vcsnap::testing::ReadTestFile(o.output) != *op.want) {
            op.status = Status::Corruption("restored image differs");
          }
        } else if (op.kind.starts_with("check")) {
          auto r = RunCheck(*repo_, {op.kind != "check", 2});
          op.status = r.status();
          // A VM that changed under every attempt may be reported so
          // (rare: each VM has at most two writers in a round); that is the
          // promised answer, not damage.
          const bool inconclusive = r.ok() && !r->unsettled_vms.empty();
          if (inconclusive) op.inconclusive = true;
          if (r.ok() && !r->problems.empty() && !inconclusive) {
            op.status = Status::Corruption(
                "check found " + std::to_string(r->problems.size()) +
                " problems, the first: " + r->problems[0]);
          }
        } else if (op.kind == "gc") {
          op.status = RunGc(*repo_, vm).status();
        } else if (op.kind == "compact") {
          op.status = RunCompact(*repo_, vm, 0.0).status();
        } else {
          op.status = RunPdsUpdate(*repo_, {0.5, 0}).status();
        }
      });
    }
    for (std::thread& t : threads) t.join();
    std::string round_ops;  // for the trace
    for (const Op& op : ops) {
      round_ops += " " + op.kind + "(" + Vm(op.vm) + ")" +
                   (op.status.ok() ? "" : ":" + op.status.ToString());
    }
    SCOPED_TRACE("operations:" + round_ops);
    for (const Op& op : ops) {
      SCOPED_TRACE(op.kind + " of " + Vm(op.vm));
      ASSERT_TRUE(op.status.ok() ||
                  (op.status.code() == StatusCode::kBusy &&
                   op.kind != "restore" && !op.kind.starts_with("check")))
          << op.status;
      if (op.kind == "restore") ++stats_.restores;
      if (op.kind.starts_with("check")) ++stats_.checks;
      if (op.inconclusive) ++stats_.inconclusive_checks;
      if (!op.status.ok()) {
        ++stats_.busy;
        continue;
      }
      VmModel& m = model_[op.vm];
      if (op.backup.has_value()) {
        stats_.level3_bytes += op.backup->stats.level3;
        stats_.unhashed_bytes += op.backup->bytes_reused;
        m.live[op.backup->snapshot] = m.image;
        m.dirty.assign(kGranules, false);
      }
      for (uint32_t id : op.forgotten) m.live.erase(id);
    }
    ASSERT_TRUE(Intact(round % 4 == 3));
  }
}

namespace {

TEST_F(SoakTest, ConcurrentOperationsLoseNothing) {
  const int rounds = static_cast<int>(EnvOr("VCSNAP_SOAK_STEPS", 16));
  const uint64_t seeds =
      ForEachSeed(5, [&](uint64_t seed) { RunConcurrentSeed(seed, rounds); });
  if (HasFatalFailure()) return;
  std::printf(
      "concurrent soak: %llu seeds x %d rounds, %llu busy, %llu "
      "restores, %llu checks (%llu inconclusive), %llu bytes from PDS\n",
      static_cast<unsigned long long>(seeds), rounds,
      static_cast<unsigned long long>(stats_.busy),
      static_cast<unsigned long long>(stats_.restores),
      static_cast<unsigned long long>(stats_.checks),
      static_cast<unsigned long long>(stats_.inconclusive_checks),
      static_cast<unsigned long long>(stats_.level3_bytes));
  EXPECT_GT(stats_.level3_bytes, 0u);
  EXPECT_GT(stats_.unhashed_bytes, 0u);
  EXPECT_GT(stats_.restores, 0u);
  EXPECT_GT(stats_.checks, 0u);
}

}  // namespace
}  // namespace vcsnap
