// Deletion commands: forget, gc, compact, check.

#include <CLI/CLI.hpp>
#include <cstdio>
#include <functional>
#include <nlohmann/json.hpp>

#include "cli/command.h"
#include "gc/check.h"
#include "gc/check_record.h"
#include "gc/forget.h"
#include "gc/sweep.h"
#include "recipe/catalog.h"
#include "recipe/names.h"
#include "util/units.h"

namespace vcsnap::cli {
namespace {

// The VMs a command acts on: --vm, or every VM of the repository.
Result<std::vector<std::string>> TargetVms(Repository& repo,
                                           const std::string& vm) {
  if (!vm.empty()) return std::vector<std::string>{vm};
  return ListVmNames(repo.backend());
}

// Runs `one` for `vm`, or for every VM when it is empty. A VM that fails
// is named on stderr and the others go on: one VM's damage or held lease
// must not stop the maintenance of the rest. The command then fails (with
// the first failure's code) once all have run.
Status ForEachVm(Repository& repo, const std::string& vm, const char* what,
                 const std::function<Status(const std::string&)>& one) {
  if (!vm.empty()) return one(vm);
  VCSNAP_ASSIGN_OR_RETURN(std::vector<std::string> vms, TargetVms(repo, vm));
  Status first;
  size_t failed = 0;
  for (const std::string& v : vms) {
    Status s = one(v);
    if (s.ok()) continue;
    std::fprintf(stderr, "vcsnap: %s %s: %s\n", what, v.c_str(),
                 s.message().c_str());
    if (failed++ == 0) first = s.WithContext("VM " + v);
  }
  if (failed == 0) return Status::Ok();
  return first.WithContext(std::string(what) + " failed for " +
                           std::to_string(failed) + " of " +
                           std::to_string(vms.size()) +
                           " VMs (each named above; the others are done)");
}

class ForgetCommand final : public Command {
 public:
  CLI::App* Setup(CLI::App& app) override {
    CLI::App* sub = app.add_subcommand(
        "forget", "delete snapshots (approximate delete, paper 5.3)");
    sub->add_option("--vm", o_.vm, "VM name")->required();
    sub->add_option("--snapshot", o_.snapshots, "snapshot ID(s) to delete");
    sub->add_option("--keep-last", o_.retention.keep_last, "keep the newest N");
    sub->add_option("--keep-daily", o_.retention.keep_daily,
                    "keep the newest snapshot of each of the last N days");
    sub->add_option("--keep-weekly", o_.retention.keep_weekly,
                    "keep the newest snapshot of each of the last N weeks");
    sub->add_flag("--dry-run", o_.dry_run, "only show what would be deleted");
    sub->add_flag("--json", json_, "print the result as JSON");
    return sub;
  }
  Status Validate() override {
    VCSNAP_RETURN_IF_ERROR(ValidateVmName(o_.vm));
    if (o_.snapshots.empty() == o_.retention.empty()) {
      return Status::InvalidArgument(
          "forget needs --snapshot ID or a --keep-* policy (not both)");
    }
    return Status::Ok();
  }
  Status Run(const GlobalOptions& global) override {
    VCSNAP_ASSIGN_OR_RETURN(auto repo, OpenRepository(global));
    VCSNAP_ASSIGN_OR_RETURN(ForgetResult r, RunForget(*repo, o_));
    if (json_) {
      nlohmann::json j = {{"vm", o_.vm},
                          {"forgotten", r.forgotten},
                          {"kept_pinned", r.kept_pinned},
                          {"dry_run", o_.dry_run},
                          {"candidate_chunks", r.candidate_chunks},
                          {"candidate_recipes", r.candidate_recipes},
                          {"dropped_lists", r.dropped_lists},
                          {"relinked_lists", r.relinked_lists},
                          {"chunks_deleted", r.chunks_deleted},
                          {"chunks_kept_by_summary", r.chunks_kept_by_summary},
                          {"fp_rate", r.fp_rate},
                          {"seconds", r.seconds},
                          {"notes", r.notes}};
      std::printf("%s\n", j.dump().c_str());
      return Status::Ok();
    }
    for (const std::string& note : r.notes) {
      std::fprintf(stderr, "note: %s\n", note.c_str());
    }
    for (uint32_t id : r.kept_pinned) {
      std::fprintf(stderr, "note: kept snapshot %u: it is pinned (served)\n",
                   id);
    }
    std::string ids;
    for (uint32_t id : r.forgotten) ids += " " + std::to_string(id);
    if (r.forgotten.empty()) ids = " none";
    std::printf("%s snapshots of %s:%s\n",
                o_.dry_run ? "would forget" : "forgot", o_.vm.c_str(),
                ids.c_str());
    if (!o_.dry_run && !r.forgotten.empty()) {
      std::printf(
          "  %llu chunks logged for deletion, %llu kept (still used, or "
          "summary false positives; false-positive rate %.2f%%) in %.2f s\n",
          static_cast<unsigned long long>(r.chunks_deleted),
          static_cast<unsigned long long>(r.chunks_kept_by_summary),
          100 * r.fp_rate, r.seconds);
    }
    return Status::Ok();
  }

 private:
  ForgetOptions o_;
  bool json_ = false;
};

class ProtectCommand final : public Command {
 public:
  CLI::App* Setup(CLI::App& app) override {
    CLI::App* sub = app.add_subcommand(
        "protect", "protect a snapshot from forget and retention");
    sub->add_option("--vm", vm_, "VM name")->required();
    sub->add_option("--snapshot", snapshot_, "snapshot ID or 'latest'")
        ->required();
    sub->add_flag("--off", off_, "remove the protection");
    return sub;
  }
  Status Validate() override { return ValidateVmName(vm_); }
  Status Run(const GlobalOptions& global) override {
    VCSNAP_ASSIGN_OR_RETURN(auto repo, OpenRepository(global));
    VCSNAP_ASSIGN_OR_RETURN(uint32_t id,
                            SetProtected(*repo, vm_, snapshot_, !off_));
    std::printf("snapshot %u of %s is %s\n", id, vm_.c_str(),
                off_ ? "no longer protected" : "protected");
    return Status::Ok();
  }

 private:
  std::string vm_, snapshot_;
  bool off_ = false;
};

class GcCommand final : public Command {
 public:
  CLI::App* Setup(CLI::App& app) override {
    CLI::App* sub = app.add_subcommand(
        "gc",
        "exact per-VM mark-and-sweep: repairs the approximate-delete leak");
    sub->add_option("--vm", vm_, "only this VM (default: every VM)");
    sub->add_flag("--json", json_, "print the result as JSON");
    return sub;
  }
  Status Validate() override {
    return vm_.empty() ? Status::Ok() : ValidateVmName(vm_);
  }
  Status Run(const GlobalOptions& global) override {
    VCSNAP_ASSIGN_OR_RETURN(auto repo, OpenRepository(global));
    nlohmann::json all = nlohmann::json::array();
    Status s = ForEachVm(*repo, vm_, "gc", [&](const std::string& vm) {
      VCSNAP_ASSIGN_OR_RETURN(GcResult r, RunGc(*repo, vm));
      if (json_) {
        all.push_back({{"vm", vm},
                       {"live_chunks", r.live_chunks},
                       {"leaked_chunks", r.leaked_chunks},
                       {"orphan_objects", r.orphan_objects},
                       {"approx_deletes_before", r.approx_deletes_before},
                       {"seconds", r.seconds},
                       {"notes", r.notes}});
        return Status::Ok();
      }
      for (const std::string& note : r.notes) {
        std::fprintf(stderr, "note: %s: %s\n", vm.c_str(), note.c_str());
      }
      {
        std::printf(
            "gc %s: %llu live chunks, %llu leaked chunks logged for "
            "deletion, %llu unreachable objects removed (after %llu "
            "approximate deletes) in %.2f s\n",
            vm.c_str(), static_cast<unsigned long long>(r.live_chunks),
            static_cast<unsigned long long>(r.leaked_chunks),
            static_cast<unsigned long long>(r.orphan_objects),
            static_cast<unsigned long long>(r.approx_deletes_before),
            r.seconds);
      }
      return Status::Ok();
    });
    if (json_) std::printf("%s\n", all.dump().c_str());
    return s;
  }

 private:
  std::string vm_;
  bool json_ = false;
};

class CompactCommand final : public Command {
 public:
  CLI::App* Setup(CLI::App& app) override {
    CLI::App* sub = app.add_subcommand(
        "compact", "rewrite containers with many deleted chunks");
    sub->add_option("--threshold", threshold_,
                    "deleted fraction that makes a container worth rewriting")
        ->capture_default_str();
    sub->add_option("--vm", vm_, "only this VM (default: every VM)");
    return sub;
  }
  Status Validate() override {
    if (!(threshold_ >= 0 && threshold_ <= 1)) {
      return Status::InvalidArgument("--threshold must be from 0 to 1");
    }
    return vm_.empty() ? Status::Ok() : ValidateVmName(vm_);
  }
  Status Run(const GlobalOptions& global) override {
    VCSNAP_ASSIGN_OR_RETURN(auto repo, OpenRepository(global));
    uint64_t before = 0, after = 0;
    double seconds = 0;
    Status s = ForEachVm(*repo, vm_, "compact", [&](const std::string& vm) {
      VCSNAP_ASSIGN_OR_RETURN(CompactResult r,
                              RunCompact(*repo, vm, threshold_));
      for (const std::string& note : r.notes) {
        std::fprintf(stderr, "note: %s: %s\n", vm.c_str(), note.c_str());
      }
      before += r.bytes_before;
      after += r.bytes_after;
      seconds += r.seconds;
      if (r.containers > 0) {
        std::printf("compact %s: %llu containers, %s -> %s\n", vm.c_str(),
                    static_cast<unsigned long long>(r.containers),
                    FormatByteSize(r.bytes_before).c_str(),
                    FormatByteSize(r.bytes_after).c_str());
      }
      return Status::Ok();
    });
    std::printf(
        "reclaimed %s in %.2f s (%.1f MB/s of containers rewritten)\n",
        FormatByteSize(before - after).c_str(), seconds,
        seconds > 0 ? static_cast<double>(before) / seconds / 1e6 : 0.0);
    return s;
  }

 private:
  double threshold_ = 0.2;
  std::string vm_;
};

class CheckCommand final : public Command {
 public:
  CLI::App* Setup(CLI::App& app) override {
    CLI::App* sub = app.add_subcommand("check", "verify the repository");
    sub->add_flag("--read-data", o_.read_data,
                  "also read and re-hash every referenced chunk");
    sub->add_option("--threads", o_.threads, "threads (0: all cores)");
    sub->add_option("--vm", o_.vm,
                    "only this VM (default: the whole repository)");
    sub->add_flag("--json", json_, "print the result as JSON");
    return sub;
  }
  Status Validate() override {
    return o_.vm.empty() ? Status::Ok() : ValidateVmName(o_.vm);
  }
  Status Run(const GlobalOptions& global) override {
    VCSNAP_ASSIGN_OR_RETURN(auto repo, OpenRepository(global));
    o_.progress = !json_;
    VCSNAP_ASSIGN_OR_RETURN(CheckResult r, RunCheck(*repo, o_));
    if (o_.vm.empty()) {  // what `vcsnap report` shows as the last check
      Status saved =
          SaveCheckRecord(repo->backend(), MakeCheckRecord(r, o_.read_data));
      if (!saved.ok()) {
        std::fprintf(stderr,
                     "vcsnap: warning: this check's result was not recorded "
                     "for `vcsnap report`: %s\n",
                     saved.message().c_str());
      }
    }
    const double rate =
        r.seconds > 0 ? static_cast<double>(r.bytes_read) / r.seconds : 0;
    if (json_) {
      nlohmann::json j = {{"vms", r.vms},
                          {"snapshots", r.snapshots},
                          {"recipes", r.recipes},
                          {"references", r.references},
                          {"bytes_read", r.bytes_read},
                          {"seconds", r.seconds},
                          {"problems", r.problems},
                          {"unsettled_vms", r.unsettled_vms}};
      std::printf("%s\n", j.dump().c_str());
    } else {
      for (const std::string& p : r.problems) {
        std::fprintf(stderr, "vcsnap: damaged: %s\n", p.c_str());
      }
      std::printf(
          "checked %llu VMs, %llu snapshots, %llu segment recipes, %llu "
          "chunk references%s in %.2f s%s: %zu problems\n",
          static_cast<unsigned long long>(r.vms),
          static_cast<unsigned long long>(r.snapshots),
          static_cast<unsigned long long>(r.recipes),
          static_cast<unsigned long long>(r.references),
          o_.read_data ? (", read " + FormatByteSize(r.bytes_read)).c_str()
                       : "",
          r.seconds,
          o_.read_data
              ? (" (" + FormatByteSize(static_cast<uint64_t>(rate)) + "/s)")
                    .c_str()
              : "",
          r.problems.size());
    }
    if (!r.problems.empty()) {
      return Status::Corruption(std::to_string(r.problems.size()) +
                                " problems found (listed above)");
    }
    return Status::Ok();
  }

 private:
  CheckOptions o_;
  bool json_ = false;
};

}  // namespace

std::unique_ptr<Command> MakeForgetCommand() {
  return std::make_unique<ForgetCommand>();
}
std::unique_ptr<Command> MakeGcCommand() {
  return std::make_unique<GcCommand>();
}
std::unique_ptr<Command> MakeCompactCommand() {
  return std::make_unique<CompactCommand>();
}
std::unique_ptr<Command> MakeCheckCommand() {
  return std::make_unique<CheckCommand>();
}

std::unique_ptr<Command> MakeProtectCommand() {
  return std::make_unique<ProtectCommand>();
}

}  // namespace vcsnap::cli
