// `vcsnap snapshots`: the committed snapshots of one VM or of all VMs.

#include <CLI/CLI.hpp>
#include <cstdio>
#include <set>

#include "cli/command.h"
#include "cli/print.h"
#include "pds/pds_retire.h"
#include "recipe/catalog.h"
#include "recipe/lease.h"
#include "recipe/names.h"
#include "recipe/pin.h"
#include "repo/repository.h"
#include "store/pds_store.h"
#include "util/units.h"

namespace vcsnap::cli {

namespace {

class SnapshotsCommand final : public Command {
 public:
  CLI::App* Setup(CLI::App& app) override {
    CLI::App* sub = app.add_subcommand("snapshots", "list snapshots");
    sub->add_option("--vm", vm_, "only this VM");
    sub->add_flag("--json", json_, "print a JSON array, oldest first");
    return sub;
  }

  Status Validate() override {
    return vm_.empty() ? Status::Ok() : ValidateVmName(vm_);
  }

  Status Run(const GlobalOptions& global) override {
    VCSNAP_ASSIGN_OR_RETURN(auto repo, OpenRepository(global));
    std::vector<std::string> vms;
    if (vm_.empty()) {
      VCSNAP_ASSIGN_OR_RETURN(vms, ListVmNames(repo->backend()));
    } else {
      vms.push_back(vm_);
    }
    nlohmann::json all = nlohmann::json::array();
    std::vector<std::pair<std::string, CatalogEntry>> rows;
    std::set<std::pair<std::string, uint32_t>> pinned;  // being served
    for (const std::string& vm : vms) {
      VCSNAP_ASSIGN_OR_RETURN(Catalog c, LoadCatalog(repo->backend(), vm));
      if (!vm_.empty() && c.entries.empty()) {
        return Status::NotFound("VM " + vm + " has no snapshots");
      }
      for (const CatalogEntry& e : c.entries) rows.emplace_back(vm, e);
      VCSNAP_ASSIGN_OR_RETURN(std::vector<PinRecord> pins,
                              LivePins(repo->backend(), vm, false));
      for (const PinRecord& p : pins) pinned.insert({vm, p.snapshot});
    }
    std::stable_sort(rows.begin(), rows.end(),
                     [](const auto& a, const auto& b) {
                       return a.second.time_unix < b.second.time_unix;
                     });
    if (json_) {
      for (const auto& [vm, e] : rows) {
        nlohmann::json j = SnapshotJson(vm, e);
        j["pinned"] = pinned.count({vm, e.id}) > 0;
        all.push_back(std::move(j));
      }
      std::printf("%s\n", all.dump().c_str());
      return Status::Ok();
    }
    std::printf("%-20s %8s %8s  %-20s %12s %12s  %s\n", "vm", "snapshot",
                "parent", "time (UTC)", "logical", "stored", "flags");
    for (const auto& [vm, e] : rows) {
      std::string flags;
      if (e.flags & 1) flags = "protected";
      if (pinned.count({vm, e.id}))
        flags += flags.empty() ? "pinned" : ",pinned";
      std::printf("%-20s %8u %8s  %-20s %12s %12s  %s\n", vm.c_str(), e.id,
                  e.parent == 0 ? "-" : std::to_string(e.parent).c_str(),
                  IsoTime(e.time_unix).c_str(),
                  FormatByteSize(e.logical_bytes).c_str(),
                  FormatByteSize(e.stored_bytes).c_str(),
                  flags.empty() ? "-" : flags.c_str());
    }
    return Status::Ok();
  }

 private:
  std::string vm_;
  bool json_ = false;
};

class RestoreCommand final : public Command {
 public:
  CLI::App* Setup(CLI::App& app) override {
    CLI::App* sub =
        app.add_subcommand("restore", "restore a snapshot to a raw image");
    sub->add_option("--vm", o_.vm, "VM name")->required();
    sub->add_option("--snapshot", o_.snapshot, "snapshot ID or 'latest'")
        ->required();
    sub->add_option("--output", o_.output, "raw image to write (sparse)")
        ->required();
    sub->add_flag("--verify", o_.verify,
                  "re-hash every chunk against its fingerprint");
    sub->add_flag("--force", o_.force, "replace an existing output file");
    sub->add_option("--threads", o_.threads, "restore threads (0: all cores)");
    sub->add_flag("--json", json_, "print the result as JSON");
    return sub;
  }
  Status Validate() override { return ValidateVmName(o_.vm); }
  Status Run(const GlobalOptions& global) override {
    VCSNAP_ASSIGN_OR_RETURN(auto repo, OpenRepository(global));
    o_.progress = !json_;
    PdsStore pds(&repo->backend(), repo->config().keys.get());
    o_.pds = [&pds](const PdsRef& ref) { return pds.Get(ref); };
    VCSNAP_ASSIGN_OR_RETURN(RestoreResult r, RunRestore(*repo, o_));
    if (json_) {
      std::printf("%s\n", RestoreJson(r).dump().c_str());
    } else {
      std::printf(
          "restored snapshot %u of %s to %s: %s (%s of data) in %.2f s%s\n",
          r.snapshot, r.vm.c_str(), o_.output.c_str(),
          FormatByteSize(r.image_size).c_str(),
          FormatByteSize(r.bytes_written).c_str(), r.seconds,
          o_.verify ? ", every chunk verified" : "");
    }
    return Status::Ok();
  }

 private:
  RestoreOptions o_;
  bool json_ = false;
};

class UnlockCommand final : public Command {
 public:
  CLI::App* Setup(CLI::App& app) override {
    CLI::App* sub = app.add_subcommand(
        "unlock", "break a VM's stale writer lease (dead process or > 24 h)");
    sub->add_option("--vm", vm_, "VM name");
    sub->add_flag("--pds", pds_, "the PDS update lease instead of a VM's");
    sub->add_flag("--pins", pins_,
                  "the VM's snapshot pins (of 'serve') instead of its lease");
    sub->add_flag("--force", force_,
                  "break it even if the holder may be alive");
    return sub;
  }
  Status Validate() override {
    if (pds_ == !vm_.empty()) {
      return Status::InvalidArgument("unlock needs --vm NAME or --pds");
    }
    if (pins_ && pds_) {
      return Status::InvalidArgument("--pins goes with --vm, not --pds");
    }
    return pds_ ? Status::Ok() : ValidateVmName(vm_);
  }
  Status Run(const GlobalOptions& global) override {
    VCSNAP_ASSIGN_OR_RETURN(auto repo, OpenRepository(global));
    if (pins_) return RemovePins(repo->backend());
    const std::string object = pds_ ? "pds/lease" : LeaseName(vm_);
    const std::string what = pds_ ? "the PDS" : "VM " + vm_;
    Result<LeaseHolder> h =
        BreakLeaseObject(repo->backend(), object, what, force_);
    if (!h.ok() && !h.status().IsNotFound()) return h.status();
    // A backup that died leaves its PDS pin too; it only delays a PDS
    // retirement, and goes with the lease.
    const bool pinned = !pds_ && repo->backend().Stat(PdsPinName(vm_)).ok();
    if (!h.ok() && !pinned) return h.status();  // nothing to unlock
    if (pinned) VCSNAP_RETURN_IF_ERROR(UnpinPds(repo->backend(), vm_));
    if (h.ok()) {
      std::printf("removed the lease of %s held by %s\n", what.c_str(),
                  h->Describe().c_str());
    }
    if (pinned) std::printf("removed the PDS pin of %s\n", what.c_str());
    return Status::Ok();
  }

 private:
  Status RemovePins(Backend& backend) {
    VCSNAP_ASSIGN_OR_RETURN(std::vector<PinRecord> gone,
                            Unpin(backend, vm_, force_));
    for (const PinRecord& p : gone) {
      std::printf(
          "removed the pin of VM %s snapshot %u held by %s\n", vm_.c_str(),
          p.snapshot,
          p.readable ? p.holder.Describe().c_str() : "a damaged record");
    }
    VCSNAP_ASSIGN_OR_RETURN(std::vector<PinRecord> left,
                            ListPins(backend, vm_));
    if (!left.empty()) {
      return Status::Busy(
          "VM " + vm_ + " has " + std::to_string(left.size()) +
          " pin(s) whose process may be alive (first: " +
          (left[0].readable ? left[0].holder.Describe() : left[0].object) +
          "); add --force to remove them anyway");
    }
    if (gone.empty()) std::printf("VM %s has no snapshot pins\n", vm_.c_str());
    return Status::Ok();
  }

  std::string vm_;
  bool pds_ = false;
  bool pins_ = false;
  bool force_ = false;
};

}  // namespace

std::unique_ptr<Command> MakeSnapshotsCommand() {
  return std::make_unique<SnapshotsCommand>();
}
std::unique_ptr<Command> MakeRestoreCommand() {
  return std::make_unique<RestoreCommand>();
}
std::unique_ptr<Command> MakeUnlockCommand() {
  return std::make_unique<UnlockCommand>();
}

}  // namespace vcsnap::cli
