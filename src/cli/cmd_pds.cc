// `vcsnap pds update`: recompute the popular data set (and retire old
// generations); `vcsnap pds retire`: only the latter.

#include <CLI/CLI.hpp>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "cli/command.h"
#include "pds/pds_memcached.h"
#include "pds/pds_retire.h"
#include "pds/pds_table.h"
#include "pds/pds_update.h"
#include "recipe/lease.h"
#include "repo/repository.h"
#include "util/units.h"

namespace vcsnap::cli {

Result<std::unique_ptr<PdsIndex>> LoadPdsIndex(Repository& repo,
                                               const std::string& mode) {
  if (IsMemcachedLocation(mode)) {
    VCSNAP_ASSIGN_OR_RETURN(std::vector<MemcachedServer> servers,
                            ParseMemcachedLocation(mode));
    Result<uint32_t> current = ReadCurrentPds(repo.backend());
    if (!current.ok()) {
      if (current.status().IsNotFound()) return std::unique_ptr<PdsIndex>();
      return current.status();
    }
    Result<std::unique_ptr<MemcachedPdsIndex>> mc =
        MemcachedPdsIndex::Open(repo.config().repo_id, *current, servers);
    if (mc.ok()) return std::unique_ptr<PdsIndex>(std::move(*mc));
    std::fprintf(stderr,
                 "vcsnap: note: %s; using the file index of the repository "
                 "instead\n",
                 mc.status().message().c_str());
    return LoadCurrentPdsIndex(repo.backend(), /*file_index=*/true);
  }
  return LoadCurrentPdsIndex(repo.backend(), mode == "file");
}

namespace {

// Copies the index of `generation` into the memcached servers at `location`.
Result<MemcachedLoadResult> LoadIntoMemcached(Repository& repo,
                                              uint32_t generation,
                                              const std::string& location) {
  VCSNAP_ASSIGN_OR_RETURN(std::vector<MemcachedServer> servers,
                          ParseMemcachedLocation(location));
  return LoadPdsIndexIntoMemcached(repo.backend(), repo.config().repo_id,
                                   generation, servers);
}

void PrintLoaded(const MemcachedLoadResult& r, const std::string& location) {
  std::printf("  loaded PDS generation %u (%llu entries) into %s in %.2f s\n",
              r.generation, static_cast<unsigned long long>(r.entries),
              location.c_str(), r.seconds);
}

class PdsCommand final : public Command {
 public:
  CLI::App* Setup(CLI::App& app) override {
    CLI::App* sub = app.add_subcommand("pds", "the popular data set");
    sub->require_subcommand(1);
    update_ =
        sub->add_subcommand("update", "recompute the PDS from popularity");
    update_->add_option("--fraction", fraction_,
                        "share of unique fingerprints to keep, in (0, 1]");
    update_->add_option("--memory", memory_,
                        "index memory budget (k = memory / 44 bytes)");
    update_->add_option(
        "--min-tenants", options_.min_tenants,
        "a chunk enters the PDS only when VMs of this many tenants hold it "
        "(default: 2 when the repository has tenant VMs, else 1)");
    update_->add_flag("--no-retire", no_retire_,
                      "keep every older generation (default: retire those "
                      "no live snapshot or running backup references)");
    update_->add_option("--memcached", memcached_,
                        "also load the new index into these memcached servers "
                        "(memcached://HOST:PORT[,HOST:PORT...])");
    update_->add_flag("--json", json_, "print the result as JSON");
    load_ = sub->add_subcommand(
        "load",
        "copy the PDS index in force into memcached servers (after "
        "they restarted, or to add the shared index)");
    load_
        ->add_option("--memcached", memcached_,
                     "memcached://HOST:PORT[,HOST:PORT...]")
        ->required();
    retire_ = sub->add_subcommand(
        "retire",
        "delete older PDS generations that no live snapshot references");
    retire_->add_flag("--dry-run", retire_options_.dry_run,
                      "report what would be retired, change nothing");
    retire_->add_flag("--json", json_, "print the result as JSON");
    return sub;
  }

  Status Validate() override {
    if (!memcached_.empty()) {
      VCSNAP_RETURN_IF_ERROR(ParseMemcachedLocation(memcached_)
                                 .status()
                                 .WithContext("--memcached"));
    }
    if (retire_->parsed() || load_->parsed()) return Status::Ok();
    if (!memory_.empty()) {
      VCSNAP_ASSIGN_OR_RETURN(options_.memory, ParseByteSize(memory_));
      if (options_.memory == 0) {
        return Status::InvalidArgument("--memory must be more than 0");
      }
    }
    options_.fraction = fraction_;
    if (memory_.empty() && fraction_ == 0) options_.fraction = 0.02;
    options_.retire = !no_retire_;
    return ValidatePdsUpdateOptions(options_);
  }

  Status Run(const GlobalOptions& global) override {
    VCSNAP_ASSIGN_OR_RETURN(auto repo, OpenRepository(global));
    if (retire_->parsed()) return Retire(*repo);
    if (load_->parsed()) {
      Result<uint32_t> current = ReadCurrentPds(repo->backend());
      if (current.status().IsNotFound()) {
        return Status::NotFound(
            "no PDS published yet: run 'vcsnap pds update'");
      }
      VCSNAP_RETURN_IF_ERROR(current.status());
      VCSNAP_ASSIGN_OR_RETURN(MemcachedLoadResult l,
                              LoadIntoMemcached(*repo, *current, memcached_));
      PrintLoaded(l, memcached_);
      return Status::Ok();
    }
    VCSNAP_ASSIGN_OR_RETURN(PdsUpdateResult r, RunPdsUpdate(*repo, options_));
    // The new generation is published (and old ones retired): copy it into
    // memcached; if that fails, backups use the file index and say so.
    Result<MemcachedLoadResult> loaded =
        memcached_.empty() ? Result<MemcachedLoadResult>(MemcachedLoadResult{})
                           : LoadIntoMemcached(*repo, r.generation, memcached_);
    const PopularityReport& p = r.report;
    for (const Status& s : r.vms_left_out) {
      std::fprintf(stderr, "vcsnap: warning: left out of the PDS update: %s\n",
                   s.message().c_str());
    }
    if (json_) {
      nlohmann::json j = {{"generation", r.generation},
                          {"vms", p.vms},
                          {"unique_fingerprints", p.unique},
                          {"chunks_after_inner_vm_dedup", p.total},
                          {"k", p.k},
                          {"coverage", p.coverage},
                          {"model_coverage", p.model_coverage},
                          {"zipf_alpha", p.zipf_alpha},
                          {"chunks_copied", r.chunks_copied},
                          {"bytes_copied", r.bytes_copied},
                          {"skipped", r.skipped},
                          {"fp_records_pruned", r.fp_records_pruned},
                          {"min_tenants", r.min_tenants},
                          {"single_tenant_kept_out", p.single_tenant},
                          {"seconds", r.seconds},
                          {"retire", RetireJson(r.retire)}};
      if (!r.retire_error.ok()) j["retire_error"] = r.retire_error.message();
      if (!memcached_.empty()) j["memcached_loaded"] = loaded.ok();
      std::printf("%s\n", j.dump().c_str());
      VCSNAP_RETURN_IF_ERROR(loaded.status().WithContext(
          "the new generation is published, but loading it into memcached "
          "failed"));
      return r.retire_error;
    }
    std::printf(
        "PDS generation %u: %llu popular chunks (%s) of %llu unique across "
        "%llu "
        "VMs in %.2f s\n"
        "  coverage of chunks after inner-VM dedup: %.1f%% measured, %.1f%% by "
        "the Zipf model (alpha %.3f)\n",
        r.generation, static_cast<unsigned long long>(p.k),
        FormatByteSize(r.bytes_copied).c_str(),
        static_cast<unsigned long long>(p.unique),
        static_cast<unsigned long long>(p.vms), r.seconds, 100 * p.coverage,
        100 * p.model_coverage, p.zipf_alpha);
    if (r.min_tenants > 1) {
      std::printf(
          "  tenant isolation: chunks held by fewer than %u tenants stay in "
          "their tenants' stores (%llu kept out)\n",
          r.min_tenants, static_cast<unsigned long long>(p.single_tenant));
    }
    if (r.fp_records_pruned > 0) {
      std::printf("  popularity left out %llu deleted chunks\n",
                  static_cast<unsigned long long>(r.fp_records_pruned));
    }
    if (options_.retire && r.retire_error.ok()) PrintRetire(r.retire, false);
    if (!memcached_.empty() && loaded.ok()) PrintLoaded(*loaded, memcached_);
    VCSNAP_RETURN_IF_ERROR(loaded.status().WithContext(
        "the new generation is published, but loading it into memcached "
        "failed"));
    return r.retire_error.WithContext(
        "the new generation is published, but retiring old ones failed");
  }

 private:
  static nlohmann::json RetireJson(const PdsRetireResult& r) {
    return {{"current", r.current},
            {"retired", r.retired},
            {"kept_referenced", r.referenced},
            {"kept_pinned", r.pinned},
            {"snapshots_scanned", r.snapshots_scanned},
            {"recipes_scanned", r.recipes_scanned},
            {"bytes_freed", r.bytes_freed},
            {"seconds", r.seconds}};
  }

  static std::string List(const std::vector<uint32_t>& gens) {
    std::string out;
    for (uint32_t g : gens)
      out += (out.empty() ? "" : ", ") + std::to_string(g);
    return out.empty() ? "none" : out;
  }

  static void PrintRetire(const PdsRetireResult& r, bool dry_run) {
    std::printf(
        "  %s generations: %s (%s); kept, referenced by live "
        "snapshots: %s; kept, pinned by running backups: %s "
        "(%llu recipes of %llu snapshots scanned in %.2f s)\n",
        dry_run ? "would retire" : "retired", List(r.retired).c_str(),
        FormatByteSize(r.bytes_freed).c_str(), List(r.referenced).c_str(),
        List(r.pinned).c_str(),
        static_cast<unsigned long long>(r.recipes_scanned),
        static_cast<unsigned long long>(r.snapshots_scanned), r.seconds);
  }

  PdsRetireOptions RetireOptions(Repository& repo) const {
    PdsRetireOptions o = retire_options_;
    o.repo = &repo;
    return o;
  }

  Status Retire(Repository& repo) {
    VCSNAP_ASSIGN_OR_RETURN(
        std::unique_ptr<Lease> lease,
        Lease::AcquireObject(&repo.backend(), "pds/lease", "the PDS",
                             "vcsnap unlock --pds", "pds retire"));
    VCSNAP_ASSIGN_OR_RETURN(
        PdsRetireResult r,
        RetirePdsGenerations(repo.backend(), RetireOptions(repo)));
    VCSNAP_RETURN_IF_ERROR(lease->Release());
    if (json_) {
      nlohmann::json j = RetireJson(r);
      j["dry_run"] = retire_options_.dry_run;
      std::printf("%s\n", j.dump().c_str());
      return Status::Ok();
    }
    if (r.current == 0) {
      std::printf("no PDS has been published yet: nothing to retire\n");
      return Status::Ok();
    }
    std::printf("PDS generation in force: %u\n", r.current);
    PrintRetire(r, retire_options_.dry_run);
    return Status::Ok();
  }

  CLI::App* update_ = nullptr;
  CLI::App* retire_ = nullptr;
  CLI::App* load_ = nullptr;
  std::string memcached_;
  bool no_retire_ = false;
  PdsRetireOptions retire_options_;
  double fraction_ = 0;
  std::string memory_;
  bool json_ = false;
  PdsUpdateOptions options_;
};

}  // namespace

std::unique_ptr<Command> MakePdsCommand() {
  return std::make_unique<PdsCommand>();
}

}  // namespace vcsnap::cli
