// `vcsnap pds update`: recompute the popular data set.

#include <CLI/CLI.hpp>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "cli/command.h"
#include "pds/pds_table.h"
#include "pds/pds_update.h"
#include "repo/repository.h"
#include "util/units.h"

namespace vcsnap::cli {

Result<std::unique_ptr<PdsIndex>> LoadPdsIndex(Repository& repo,
                                               const std::string& mode) {
  Result<uint32_t> current = ReadCurrentPds(repo.backend());
  if (!current.ok()) {
    if (current.status().IsNotFound()) return std::unique_ptr<PdsIndex>();
    return current.status();
  }
  if (mode == "file") {
    VCSNAP_ASSIGN_OR_RETURN(auto f,
                            PdsFileIndex::Open(&repo.backend(), *current));
    return std::unique_ptr<PdsIndex>(std::move(f));
  }
  VCSNAP_ASSIGN_OR_RETURN(auto t, PdsTable::Load(repo.backend(), *current));
  return std::unique_ptr<PdsIndex>(std::move(t));
}

namespace {

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
    update_->add_flag("--json", json_, "print the result as JSON");
    return sub;
  }

  Status Validate() override {
    if (!memory_.empty()) {
      VCSNAP_ASSIGN_OR_RETURN(options_.memory, ParseByteSize(memory_));
      if (options_.memory == 0) {
        return Status::InvalidArgument("--memory must be more than 0");
      }
    }
    options_.fraction = fraction_;
    if (memory_.empty() && fraction_ == 0) options_.fraction = 0.02;
    return ValidatePdsUpdateOptions(options_);
  }

  Status Run(const GlobalOptions& global) override {
    VCSNAP_ASSIGN_OR_RETURN(auto repo, Repository::Open(global.repo));
    VCSNAP_ASSIGN_OR_RETURN(PdsUpdateResult r, RunPdsUpdate(*repo, options_));
    const PopularityReport& p = r.report;
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
                          {"seconds", r.seconds}};
      std::printf("%s\n", j.dump().c_str());
      return Status::Ok();
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
    return Status::Ok();
  }

 private:
  CLI::App* update_ = nullptr;
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
