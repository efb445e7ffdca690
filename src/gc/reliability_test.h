// File: gc/reliability_test.h (tests only)
//
// ReliabilityTest: the fixture of the reliability suite
// (reliability_errors_test.cc, reliability_damage_test.cc). It builds one
// small but complete repository -- three VMs that share content, a PDS
// generation in use, incremental snapshots with sub-segment CBT, a forgotten
// snapshot (so deletion logs, dropped lists and summaries exist), one VM
// never backed up -- saves every stored object, and can put the repository
// back to exactly that state before each trial.
//
// SPEC §4 is what the suite checks, trial by trial: a committed snapshot
// always restores byte-exact, wrong data is never returned, nothing live is
// deleted, and the next command works.
//
// Trials are deterministic; which of them run: Plan() below, e.g. every
// trial of every command under ASan:
//   VCSNAP_RELIABILITY_STRIDE=1 build/asan/src/gc/reliability_test

#ifndef VCSNAP_GC_RELIABILITY_TEST_H_
#define VCSNAP_GC_RELIABILITY_TEST_H_

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <random>
#include <string>

#include "gc/forget.h"
#include "gc/soak_test.h"
#include "pds/pds_update.h"

namespace vcsnap {

#if defined(__SANITIZE_ADDRESS__)
inline constexpr bool kSanitized = true;
#else
inline constexpr bool kSanitized = false;
#endif

// Which trials run: every `stride`-th, and of one command's error trials at
// most `max_per_command` (pds update makes ~640 calls, mostly reads of the
// VMs' fingerprint runs, and would be three quarters of the suite). By
// default every trial (at most 150 per command) in a normal build, every
// sixth (at most 20) under a sanitizer; VCSNAP_RELIABILITY_STRIDE=N runs
// every N-th trial with no cap.
struct TrialPlan {
  uint64_t stride;
  uint64_t max_per_command;
};
inline TrialPlan Plan() {
  if (std::getenv("VCSNAP_RELIABILITY_STRIDE") != nullptr) {
    return {std::max<uint64_t>(1, EnvOr("VCSNAP_RELIABILITY_STRIDE", 1)),
            UINT64_MAX};
  }
  return kSanitized ? TrialPlan{6, 20} : TrialPlan{1, 150};
}

class ReliabilityTest : public SoakTest {
 protected:
  using Objects = std::map<std::string, Bytes>;

  static constexpr uint64_t kSeed = 11;

  // vm0 and vm1 backed up on days 0, 1 and 2 (vm1 not on day 2), a PDS
  // update after day 0 (so days 1 and 2 find chunks in it), then vm0's
  // snapshot 1 forgotten. vm0 keeps {2, 3}, vm1 {1, 2}; vm2 has nothing.
  void BuildBase() {
    std::mt19937_64 rng(kSeed);
    for (int v = 0; v < kVms; ++v) {
      model_[v] = VmModel{InitialImage(kSeed, v), {}, {}};
      model_[v].dirty.assign(kGranules, true);
    }
    LoadPds();
    ASSERT_OK(Commit(0));
    ASSERT_OK(Commit(1));
    ASSERT_OK(RunPdsUpdate(*repo_, {0.5, 0}));
    LoadPds();
    for (int day = 1; day <= 2; ++day) {
      for (int v = 0; v < (day == 1 ? 2 : 1); ++v) {
        ChangeDisk(v, rng);
        ASSERT_OK(Commit(v));
      }
    }
    ASSERT_OK(RunForget(*repo_, {Vm(0), {"1"}, {}, false}));
    model_[0].live.erase(1);
    ASSERT_TRUE(Intact(true));
    base_ = Dump();
    for (int v = 0; v < kVms; ++v) base_model_[v] = model_[v];
  }

  // Backs up VM v's disk as it is now; the model follows a commit.
  Status Commit(int v) {
    Result<BackupResult> r = BackupVm(v);
    if (!r.ok()) return r.status();
    model_[v].live[r->snapshot] = model_[v].image;
    model_[v].dirty.assign(kGranules, false);
    return Status::Ok();
  }

  // Every object as stored now.
  Objects Dump() {
    Objects out;
    for (const ObjectInfo& info : *mem_->List("")) {
      out[info.name] = *mem_->Get(info.name);
    }
    return out;
  }

  // Puts the store back to `objects` exactly (and the model to the base's),
  // then opens the repository afresh, as a new process would.
  void LoadBase() {
    fault_->ClearFaults();
    for (const ObjectInfo& info : *mem_->List("")) {
      if (!base_.count(info.name)) {
        ASSERT_OK(mem_->Delete(info.name));
      }
    }
    for (const auto& [name, bytes] : base_) ASSERT_OK(mem_->Put(name, bytes));
    for (int v = 0; v < kVms; ++v) model_[v] = base_model_[v];
    Reopen();
  }

  void Reopen() {
    ASSERT_TRUE(TryOpen());
    LoadPds();
  }

  // Opens the repository as a new process would; false if it refuses.
  bool TryOpen() {
    auto repo = Repository::OpenOn(
        std::make_unique<::vcsnap::testing::ForwardingBackend>(fault_.get()),
        key());
    if (!repo.ok()) return false;
    repo_ = std::move(*repo);
    return true;
  }

  Objects base_;
  VmModel base_model_[kVms];
};

}  // namespace vcsnap

#endif  // VCSNAP_GC_RELIABILITY_TEST_H_
