// Reliability: an I/O error at every backend call of every command.
//
// A full disk, a failing OSD or a lost connection reach vcsnap as an IOError
// from one backend call while the process goes on (unlike a crash, nothing
// is lost from memory and the process must clean up after itself). For each
// command -- a first backup, an incremental backup with the PDS, forget,
// retention, gc, compact and pds update -- the suite fails call 1, 2, ... N
// of the command in turn, each time on the same starting repository, and
// asserts:
//  - the command either succeeds (a retry or an optional step absorbed the
//    error) or returns the error; it never crashes;
//  - every snapshot the catalogs hold restores byte-exact, each one the VM's
//    disk at that backup, and `check` finds no damage;
//  - the next command works without an operator: the failed command let go
//    of its lease, unless the failed call was the lease's own release;
//  - run again, the command succeeds and the above still holds.

#include <algorithm>
#include <cstdio>
#include <functional>
#include <set>
#include <vector>

#include "gc/reliability_test.h"
#include "gc/sweep.h"

namespace vcsnap {
namespace {

struct Command {
  std::string name;
  int vm;                      // whose lease the command takes (-1: the PDS's)
  std::set<uint32_t> victims;  // snapshots it forgets
  std::function<Status()> run;
};

struct ErrorTally {
  uint64_t calls = 0;   // backend calls of a clean run
  uint64_t stride = 1;  // every stride-th call failed in turn
  uint64_t trials = 0;
  uint64_t errors = 0;      // the command returned the error
  uint64_t absorbed = 0;    // it succeeded all the same
  uint64_t lease_left = 0;  // the lease's release was the failed call
};

class ReliabilityErrorsTest : public ReliabilityTest {
 protected:
  std::vector<Command> Commands() {
    auto forget = [this](int v, ForgetOptions o) {
      return [this, v, o] {
        auto r = RunForget(*repo_, o);
        if (!r.ok()) return r.status();
        for (uint32_t id : r->forgotten) model_[v].live.erase(id);
        return Status::Ok();
      };
    };
    return {
        {"first backup", 2, {}, [this] { return Commit(2); }},
        {"incremental backup",
         1,
         {},
         [this] {
           std::mt19937_64 rng(kSeed + 1);
           if (!changed_) ChangeDisk(1, rng);
           changed_ = true;
           return Commit(1);
         }},
        {"forget", 0, {2}, forget(0, {Vm(0), {"2"}, {}, false})},
        {"retention", 1, {1}, forget(1, {Vm(1), {}, {1, 0, 0}, false})},
        {"gc", 0, {}, [this] { return RunGc(*repo_, Vm(0)).status(); }},
        {"compact",
         0,
         {},
         [this] { return RunCompact(*repo_, Vm(0), 0.0).status(); }},
        {"pds update",
         -1,
         {},
         [this] {
           Status s = RunPdsUpdate(*repo_, {0.5, 0}).status();
           if (s.ok()) LoadPds();
           return s;
         }},
    };
  }

  // After a failed or absorbed run: the catalogs decide what committed (a
  // backup) or went (a forget); the model follows.
  void Settle(const Command& c) {
    if (c.vm < 0) return;
    VmModel& m = model_[c.vm];
    const std::set<uint32_t> now = CatalogIds(c.vm);
    for (uint32_t id : now) {
      if (!m.live.count(id)) {
        m.live[id] = m.image;
        m.dirty.assign(kGranules, false);
      }
    }
    for (uint32_t id : c.victims) {
      if (!now.count(id)) m.live.erase(id);
    }
  }

  // Runs `c` with call n failing; see the file comment.
  void Trial(const Command& c, uint64_t n, ErrorTally* tally) {
    LoadBase();
    changed_ = false;
    fault_->FailNth(n);
    const Status status = c.run();
    const std::string failed = fault_->failed_call();
    fault_->ClearFaults();
    SCOPED_TRACE("the failed call: " + failed);
    ++tally->trials;
    ++(status.ok() ? tally->absorbed : tally->errors);
    ASSERT_FALSE(failed.empty()) << "call " << n << " was never made";
    Settle(c);
    ASSERT_TRUE(Intact(n % 8 == 0)) << "after: " << status;

    // The next command: the same one again, as an operator or a retrying
    // scheduler would run it.
    bool victims_left = c.victims.empty();
    for (uint32_t id : c.victims) victims_left |= model_[c.vm].live.count(id);
    if (!victims_left) return;
    Status again = c.run();
    if (again.code() == StatusCode::kBusy) {
      ASSERT_NE(failed.find("lease"), std::string::npos)
          << "a lease was left behind: " << again;
      ++tally->lease_left;
      if (c.vm >= 0) {
        ASSERT_OK(BreakLease(*mem_, Vm(c.vm), true));
      } else {
        ASSERT_OK(BreakLeaseObject(*mem_, "pds/lease", "the PDS", true));
      }
      again = c.run();
    }
    ASSERT_OK(again);
    Settle(c);
    if (n % 4 == 0) {
      ASSERT_TRUE(Intact(false)) << "after the second run";
    }
  }

  bool changed_ = false;
};

TEST_F(ReliabilityErrorsTest, AnErrorAtAnyCallOfAnyCommandLosesNothing) {
  BuildBase();
  if (HasFatalFailure()) return;
  const TrialPlan plan = Plan();
  std::map<std::string, ErrorTally> tallies;
  for (const Command& c : Commands()) {
    SCOPED_TRACE(c.name);
    ErrorTally& t = tallies[c.name];
    LoadBase();
    changed_ = false;
    const uint64_t before = fault_->op_count();
    ASSERT_OK(c.run());
    t.calls = fault_->op_count() - before;
    ASSERT_GT(t.calls, 3u);
    const uint64_t stride =
        std::max(plan.stride, (t.calls - 1) / plan.max_per_command + 1);
    t.stride = stride;
    for (uint64_t n = 1 + (t.calls - 1) % stride; n <= t.calls; n += stride) {
      SCOPED_TRACE("call " + std::to_string(n) + " of " +
                   std::to_string(t.calls) + " fails");
      Trial(c, n, &t);
      if (HasFatalFailure()) return;
    }
  }
  std::printf("%-20s %6s %6s %6s %6s %8s %10s\n", "command", "calls", "stride",
              "trials", "errors", "absorbed", "lease left");
  for (const auto& [name, t] : tallies) {
    std::printf("%-20s %6llu %6llu %6llu %6llu %8llu %10llu\n", name.c_str(),
                static_cast<unsigned long long>(t.calls),
                static_cast<unsigned long long>(t.stride),
                static_cast<unsigned long long>(t.trials),
                static_cast<unsigned long long>(t.errors),
                static_cast<unsigned long long>(t.absorbed),
                static_cast<unsigned long long>(t.lease_left));
    // Most failed calls must surface: a command that shrugs off every
    // error would be hiding them. (Judged on 10 trials or more: a sparse
    // sample may hit only the best-effort lease release at the end.)
    if (t.trials >= 10) {
      EXPECT_GT(t.errors, t.trials / 2) << name;
    }
  }
}

}  // namespace
}  // namespace vcsnap
