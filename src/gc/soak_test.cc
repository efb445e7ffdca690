// The deletion property with everything that can interleave on one host:
// random histories over three VMs that share content, of backups (with and
// without a PDS in force), forgets, retention, gc, compact and `pds update`,
// where about one operation in four crashes the machine at a random backend
// call. After every step: the catalogs hold exactly the snapshots the model
// says committed, every one of them restores byte-exact, and check finds
// nothing (with --read-data every fourth step).
//
// A second test runs operations at once on threads (below).
//
// CI runs a few seeds; VCSNAP_SOAK_SEEDS=N (and VCSNAP_SOAK_STEPS=M) run a
// longer soak by hand (VCSNAP_SOAK_FIRST_SEED=S starts at seed S), e.g.
//   VCSNAP_SOAK_SEEDS=200 build/release/src/gc/gc_test --gtest_filter='Soak*'

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <iterator>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "backup/restore.h"
#include "gc/forget.h"
#include "gc/gc_test.h"
#include "gc/sweep.h"
#include "pds/pds_table.h"
#include "pds/pds_update.h"
#include "recipe/catalog.h"
#include "recipe/lease.h"
#include "store/pds_store.h"
#include "testing/status_matchers.h"
#include "testing/temp_dir.h"

namespace vcsnap {
namespace {

uint64_t EnvOr(const char* name, uint64_t fallback) {
  const char* v = std::getenv(name);
  return v != nullptr ? std::strtoull(v, nullptr, 10) : fallback;
}

constexpr int kVms = 3;
constexpr size_t kSegs = 16;  // 12 shared with the other VMs, 4 its own

class SoakTest : public GcTest {
 protected:
  struct VmModel {
    Bytes image;                     // the disk now
    std::vector<bool> dirty;         // since the last committed backup
    std::map<uint32_t, Bytes> live;  // committed snapshots
  };

  // Segments 0..11 start as one shared "OS" (so that `pds update` finds
  // chunks held by several VMs), the rest are the VM's own.
  Bytes InitialImage(uint64_t seed, int vm) {
    std::mt19937_64 shared(seed), own(seed * 31 + vm);
    Bytes b(kSegs * kSeg);
    for (size_t i = 0; i < b.size(); ++i) {
      b[i] = static_cast<uint8_t>((i < 12 * kSeg ? shared() : own()) & 0x3f);
    }
    return b;
  }

  // Restarts the machine after a crash and does what an operator does
  // then: reopen the repository and break the dead process's leases.
  void Recover() {
    fault_->ClearFaults();
    fault_->Restart();
    for (int v = 0; v < kVms; ++v) (void)BreakLease(*mem_, Vm(v), true);
    (void)BreakLeaseObject(*mem_, "pds/lease", "the PDS", true);
    auto repo = Repository::OpenOn(
        std::make_unique<::vcsnap::testing::ForwardingBackend>(fault_.get()));
    ASSERT_OK(repo);
    repo_ = std::move(*repo);
    LoadPds();
  }

  void LoadPds() {
    auto pds = LoadCurrentPdsIndex(*mem_, /*file_index=*/pds_file_index_);
    ASSERT_OK(pds);
    pds_ = std::move(*pds);
  }

  static std::string Vm(int v) { return "vm" + std::to_string(v); }

  // Writes the VM's image and bitmap (dirty since its last committed backup)
  // and returns the options to back them up.
  BackupOptions Options(int v) {
    VmModel& m = model_[v];
    BackupOptions o;
    o.vm = Vm(v);
    o.image_path = Write(o.vm + ".img", m.image);
    if (!m.live.empty()) {
      Bytes bits((m.dirty.size() + 7) / 8, 0);
      for (size_t i = 0; i < m.dirty.size(); ++i) {
        if (m.dirty[i]) bits[i / 8] |= static_cast<uint8_t>(1 << (i % 8));
      }
      o.bitmap_path = Write(o.vm + ".bitmap", bits);
    }
    o.threads = 2;
    return o;
  }

  Result<BackupResult> BackupVm(int v) {
    BackupOptions o = Options(v);
    o.pds = pds_.get();
    return RunBackup(*repo_, o);
  }

  // The snapshot IDs in the VM's catalog (none when it has no catalog yet).
  std::set<uint32_t> CatalogIds(int v) {
    std::set<uint32_t> ids;
    auto c = LoadCatalog(*mem_, Vm(v));
    if (c.ok()) {
      for (const CatalogEntry& e : c->entries) ids.insert(e.id);
    } else {
      EXPECT_EQ(c.status().code(), StatusCode::kNotFound) << c.status();
    }
    return ids;
  }

  std::set<uint32_t> ModelIds(int v) {
    std::set<uint32_t> ids;
    for (const auto& [id, img] : model_[v].live) ids.insert(id);
    return ids;
  }

  ::testing::AssertionResult Intact(bool read_data) {
    for (int v = 0; v < kVms; ++v) {
      if (CatalogIds(v) != ModelIds(v)) {
        return ::testing::AssertionFailure()
               << Vm(v) << ": the catalog and the model disagree";
      }
      for (const auto& [id, img] : model_[v].live) {
        auto ok = Restores(Vm(v), id, img);
        if (!ok) return ok << " (" << Vm(v) << ")";
      }
    }
    return CheckPasses(read_data);
  }

  // Runs `run` on a fresh repository for each of VCSNAP_SOAK_SEEDS seeds
  // (default `seeds`) from VCSNAP_SOAK_FIRST_SEED (default 1), stopping at
  // the first fatal failure. Returns the number of seeds.
  uint64_t ForEachSeed(uint64_t seeds,
                       const std::function<void(uint64_t)>& run) {
    seeds = EnvOr("VCSNAP_SOAK_SEEDS", seeds);
    const uint64_t first = EnvOr("VCSNAP_SOAK_FIRST_SEED", 1);
    for (uint64_t seed = first; seed < first + seeds; ++seed) {
      SCOPED_TRACE("seed " + std::to_string(seed));
      SetUp();
      run(seed);
      if (HasFatalFailure()) break;
    }
    return seeds;
  }

  void RunSeed(uint64_t seed, int steps);
  void RunConcurrentSeed(uint64_t seed, int rounds);

  struct {
    uint64_t level3_bytes = 0;  // found in the PDS
    uint64_t busy = 0;          // operations refused for a held lease
    uint64_t restores = 0;      // concurrent with the other operations
    uint64_t checks = 0;        // likewise
    uint64_t inconclusive_checks = 0;
    std::map<std::string, uint64_t> crashes;  // by operation
  } stats_;
  std::map<std::string, uint64_t> calls_;  // most backend calls, by kind
  VmModel model_[kVms];
  std::unique_ptr<PdsIndex> pds_;
  bool pds_file_index_ = false;
};

void SoakTest::RunSeed(uint64_t seed, int steps) {
  std::mt19937_64 rng(seed);
  pds_file_index_ = seed % 2 == 1;
  if (seed % 3 == 0) fault_->SetTornTail(seed);  // crashes tear appends
  for (int v = 0; v < kVms; ++v) {
    model_[v] = VmModel{InitialImage(seed, v), {}, {}};
    model_[v].dirty.assign(kSegs, true);
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
      auto it = m.live.begin();
      std::advance(it, rng() % m.live.size());
      may_go = {it->first};
    } else if (kind == "retention") {
      auto catalog = LoadCatalog(*mem_, Vm(v));
      ASSERT_OK(catalog);
      for (uint32_t id : SelectByRetention(*catalog, {2, 0, 0})) {
        may_go.insert(id);
      }
    }
    std::vector<bool> dirty;
    if (kind == "backup") {
      Mutate(&m.image, rng, &dirty);
      for (size_t s = 0; s < kSegs; ++s) m.dirty[s] = m.dirty[s] || dirty[s];
    }
    if (crash) fault_->CrashAtNth(crash_at, applied);
    const uint64_t calls_before = fault_->op_count();
    // Runs the operation; a failure is allowed only from the crash.
    Status status;
    if (kind == "backup") {
      auto r = BackupVm(v);
      status = r.status();
      if (r.ok()) {
        stats_.level3_bytes += r->stats.level3;
        m.live[r->snapshot] = m.image;
        m.dirty.assign(kSegs, false);
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
            m.dirty.assign(kSegs, false);
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
    model_[v].dirty.assign(kSegs, true);
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
          auto it = model_[v].live.begin();
          std::advance(it, rng() % model_[v].live.size());
          op.victim = it->first;
          // Two forgets of one snapshot: the second would be NotFound.
          if (i == 1 && ops.back().victim == op.victim) op.kind = "gc";
        }
        if (op.kind == "restore") {
          auto it = model_[v].live.begin();
          std::advance(it, rng() % model_[v].live.size());
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
      if (op.kind != "backup") continue;
      std::vector<bool> dirty;
      Mutate(&model_[op.vm].image, rng, &dirty);
      for (size_t s = 0; s < kSegs; ++s) {
        model_[op.vm].dirty[s] = model_[op.vm].dirty[s] || dirty[s];
      }
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
          PdsStore pds(&repo_->backend());
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
          const bool inconclusive =
              r.ok() && !r->problems.empty() &&
              r->problems.back().find("changed during each of") !=
                  std::string::npos;
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
        m.live[op.backup->snapshot] = m.image;
        m.dirty.assign(kSegs, false);
      }
      for (uint32_t id : op.forgotten) m.live.erase(id);
    }
    ASSERT_TRUE(Intact(round % 4 == 3));
  }
}

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
  EXPECT_GT(stats_.restores, 0u);
  EXPECT_GT(stats_.checks, 0u);
}

TEST_F(SoakTest, RandomHistoriesWithPdsAndCrashesLoseNothing) {
  const int steps = static_cast<int>(EnvOr("VCSNAP_SOAK_STEPS", 40));
  const uint64_t seeds =
      ForEachSeed(4, [&](uint64_t seed) { RunSeed(seed, steps); });
  if (HasFatalFailure()) return;
  // The history must have exercised what it is about.
  std::string crashes;
  for (const auto& [what, n] : stats_.crashes) {
    crashes += " " + what + ":" + std::to_string(n);
  }
  std::printf("soak: %llu seeds x %d steps, crashes%s, %llu bytes from PDS\n",
              static_cast<unsigned long long>(seeds), steps, crashes.c_str(),
              static_cast<unsigned long long>(stats_.level3_bytes));
  EXPECT_GE(stats_.crashes.size(), 4u);
  EXPECT_GT(stats_.level3_bytes, 0u);
}

}  // namespace
}  // namespace vcsnap
