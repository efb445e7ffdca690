// `vcsnap isolation`: the fault-isolation analysis (analysis/isolation.h) of
// a repository, with the snapshot availability of paper §4.3 for a cluster
// the operator describes (machines, replicas of VM and PDS blocks, failures).

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "analysis/isolation.h"
#include "cli/command.h"
#include "repo/repository.h"
#include "util/sysinfo.h"
#include "util/units.h"

namespace vcsnap::cli {
namespace {

// "1:170 2-3:4 4-7:0 ..." for a BlockSharing histogram.
std::string HistogramText(const BlockSharing& s) {
  std::string out;
  for (size_t i = 0; i < s.histogram.size(); i++) {
    uint64_t lo = uint64_t{1} << i, hi = (uint64_t{2} << i) - 1;
    out += (out.empty() ? "" : " ") + std::to_string(lo) +
           (hi > lo ? "-" + std::to_string(hi) : "") + ":" +
           std::to_string(s.histogram[i]);
  }
  return out;
}

nlohmann::json SharingJson(const BlockSharing& s) {
  return {{"blocks", s.blocks},
          {"mean_vms", s.mean_vms},
          {"max_vms", s.max_vms},
          {"histogram_log2", s.histogram}};
}

class IsolationCommand final : public Command {
 public:
  CLI::App* Setup(CLI::App& app) override {
    CLI::App* sub = app.add_subcommand(
        "isolation",
        "fault-isolation analysis: storage blocks each VM depends on, VMs "
        "per block, and snapshot availability as machines fail, against a "
        "simulated VM-oblivious (global dedup) layout");
    sub->add_option("--machines", machines_, "storage machines in the cluster")
        ->capture_default_str();
    replicas_option_ = sub->add_option(
        "--replicas", replicas_,
        "replicas of VM-store blocks and metadata (default: the pool's size "
        "on Ceph, else 3)");
    pds_replicas_option_ = sub->add_option(
        "--pds-replicas", pds_replicas_,
        "replicas of PDS blocks (default: the PDS pool's size on Ceph, else "
        "5)");
    failures_option_ = sub->add_option("--failures", failures_,
                                       "numbers of failed machines to evaluate")
                           ->delimiter(',')
                           ->capture_default_str();
    sub->add_option("--vo-block-size", vo_block_size_,
                    "block size of the simulated VM-oblivious log "
                    "(default: the repository's)");
    sub->add_flag("--json", json_, "print one JSON object");
    return sub;
  }

  // Without the flag, the replicas of objects under `prefix` as the store
  // reports them (the pool's size on Ceph), else the default; says which.
  Status CopiesFromStore(Repository& repo, const CLI::Option* flag,
                         const std::string& prefix, uint32_t* replicas,
                         std::string* source) const {
    if (flag->count() > 0) {
      *source = "given";
      return Status::Ok();
    }
    Result<uint32_t> copies = repo.backend().CopiesOf(prefix + "x");
    if (copies.status().code() == StatusCode::kNotSupported) {
      *source = "default";
      return Status::Ok();
    }
    VCSNAP_RETURN_IF_ERROR(copies.status());
    if (*copies > machines_) {
      return Status::InvalidArgument(
          "the store keeps " + std::to_string(*copies) + " copies of " +
          prefix + " objects, more than --machines (" +
          std::to_string(machines_) + ")");
    }
    *replicas = *copies;
    *source = "pool size";
    return Status::Ok();
  }

  Status Validate() override {
    if (replicas_ < 1 || pds_replicas_ < 1 || machines_ < 1) {
      return Status::InvalidArgument(
          "--machines, --replicas and --pds-replicas must be at least 1");
    }
    // Defaults a Ceph pool's size may replace are checked in Run.
    if (std::max(replicas_option_->count() > 0 ? replicas_ : 1,
                 pds_replicas_option_->count() > 0 ? pds_replicas_ : 1) >
        machines_) {
      return Status::InvalidArgument(
          "--replicas and --pds-replicas cannot exceed --machines (" +
          std::to_string(machines_) + ")");
    }
    if (failures_option_->count() == 0) {  // the default list: what fits
      std::erase_if(failures_, [&](uint32_t d) { return d > machines_; });
    }
    for (uint32_t d : failures_) {
      if (d > machines_) {
        return Status::InvalidArgument("--failures: " + std::to_string(d) +
                                       " is more than --machines");
      }
    }
    if (!vo_block_size_.empty()) {
      VCSNAP_ASSIGN_OR_RETURN(options_.vo_block_size,
                              ParseByteSize(vo_block_size_));
      if (options_.vo_block_size < 4096) {
        return Status::InvalidArgument("--vo-block-size below 4KiB");
      }
    }
    return Status::Ok();
  }

  Status Run(const GlobalOptions& global) override {
    VCSNAP_ASSIGN_OR_RETURN(auto repo, OpenRepository(global));
    VCSNAP_RETURN_IF_ERROR(CopiesFromStore(*repo, replicas_option_, "vm/",
                                           &replicas_, &replicas_source_));
    VCSNAP_RETURN_IF_ERROR(CopiesFromStore(*repo, pds_replicas_option_, "pds/",
                                           &pds_replicas_,
                                           &pds_replicas_source_));
    if (std::max(replicas_, pds_replicas_) > machines_) {
      return Status::InvalidArgument(
          "the default replicas (" + std::to_string(replicas_) + ", PDS " +
          std::to_string(pds_replicas_) + ") exceed --machines (" +
          std::to_string(machines_) + "): give --replicas/--pds-replicas");
    }
    bool progress = false;  // a progress line is open on stderr
    if (StderrIsTerminal()) {
      options_.on_vm = [&progress](size_t i, size_t n, const std::string& vm) {
        std::fprintf(stderr, "\rreading VM %zu of %zu: %-40s", i + 1, n,
                     vm.c_str());
        progress = true;
      };
    }
    Result<IsolationReport> analysed = AnalyzeIsolation(*repo, options_);
    if (progress) std::fprintf(stderr, "\n");
    VCSNAP_ASSIGN_OR_RETURN(IsolationReport r, std::move(analysed));
    std::vector<AvailabilityRow> rows;
    for (uint32_t d : failures_) {
      rows.push_back(
          ComputeAvailability(r, machines_, replicas_, pds_replicas_, d));
    }
    if (json_) {
      PrintJson(r, rows);
    } else {
      PrintText(global.repo, r, rows);
    }
    return Status::Ok();
  }

 private:
  void PrintJson(const IsolationReport& r,
                 const std::vector<AvailabilityRow>& rows) const {
    nlohmann::json j;
    j["block_size"] = r.block_size;
    j["vo_block_size"] = r.vo_block_size;
    j["vo_compression"] = r.vo_compression;
    j["vo_log_bytes"] = r.vo_log_bytes;
    j["distinct_chunks"] = r.distinct_chunks;
    j["machines"] = machines_;
    j["replicas"] = replicas_;
    j["pds_replicas"] = pds_replicas_;
    j["replicas_from"] = replicas_source_;
    j["pds_replicas_from"] = pds_replicas_source_;
    j["placement_groups"] = r.placement_groups;
    j["vms"] = nlohmann::json::array();
    for (const VmDependencies& d : r.vms) {
      j["vms"].push_back({{"vm", d.vm},
                          {"snapshots", d.snapshots},
                          {"vm_blocks", d.vm_blocks},
                          {"pds_blocks", d.pds_blocks},
                          {"meta_objects", d.meta_objects},
                          {"vo_blocks", d.vo_blocks},
                          {"vo_meta_objects", d.vo_meta_objects}});
      if (r.placement_groups) {
        j["vms"].back()["vm_pgs"] = d.vm_pgs;
        j["vms"].back()["pds_pgs"] = d.pds_pgs;
        j["vms"].back()["vo_pgs"] = d.vo_pgs;
      }
    }
    j["sharing"] = {{"vm_store", SharingJson(r.vm_store)},
                    {"pds", SharingJson(r.pds)},
                    {"vo", SharingJson(r.vo)}};
    j["availability"] = nlohmann::json::array();
    for (const AvailabilityRow& a : rows) {
      j["availability"].push_back({{"failed", a.failed},
                                   {"block", a.block},
                                   {"pds_block", a.pds_block},
                                   {"vc_mean", a.vc_mean},
                                   {"vo_mean", a.vo_mean},
                                   {"vc_worst", a.vc_worst},
                                   {"vo_worst", a.vo_worst},
                                   {"vc_vms_lost", a.vc_vms_lost},
                                   {"vo_vms_lost", a.vo_vms_lost}});
      if (r.placement_groups) {
        nlohmann::json& row = j["availability"].back();
        row["vc_pg_mean"] = a.vc_pg_mean;
        row["vo_pg_mean"] = a.vo_pg_mean;
        row["vc_pg_vms_lost"] = a.vc_pg_vms_lost;
        row["vo_pg_vms_lost"] = a.vo_pg_vms_lost;
      }
    }
    std::printf("%s\n", j.dump().c_str());
  }

  void PrintText(const std::string& location, const IsolationReport& r,
                 const std::vector<AvailabilityRow>& rows) const {
    size_t live = 0;
    double n1 = 0, n2 = 0, meta = 0, no = 0;
    for (const VmDependencies& d : r.vms) {
      if (d.snapshots == 0) continue;
      live++;
      n1 += d.vm_blocks;
      n2 += d.pds_blocks;
      meta += d.meta_objects;
      no += d.vo_blocks;
    }
    std::printf(
        "fault isolation of %s: %zu VMs with snapshots, blocks of %s\n"
        "VM-oblivious layout simulated: exact global dedup of the same %llu "
        "chunks, oldest snapshot first, %s blocks, %s log (stored/raw "
        "%.2f)\n\n",
        location.c_str(), live, FormatByteSize(r.block_size).c_str(),
        static_cast<unsigned long long>(r.distinct_chunks),
        FormatByteSize(r.vo_block_size).c_str(),
        FormatByteSize(r.vo_log_bytes).c_str(), r.vo_compression);
    std::printf("blocks each VM's live snapshots depend on\n");
    std::printf("  %-20s %6s %10s %10s %8s %10s\n", "vm", "snaps", "N1 own",
                "N2 PDS", "meta", "No (VO)");
    for (const VmDependencies& d : r.vms) {
      std::printf("  %-20s %6u %10llu %10llu %8llu %10llu\n", d.vm.c_str(),
                  d.snapshots, static_cast<unsigned long long>(d.vm_blocks),
                  static_cast<unsigned long long>(d.pds_blocks),
                  static_cast<unsigned long long>(d.meta_objects),
                  static_cast<unsigned long long>(d.vo_blocks));
    }
    if (live > 0) {
      std::printf("  %-20s %6s %10.1f %10.1f %8.1f %10.1f\n", "mean", "",
                  n1 / live, n2 / live, meta / live, no / live);
    }
    std::printf("\nVMs sharing each block\n");
    std::printf("  %-18s %8s %7s %5s  %s\n", "", "blocks", "mean", "max",
                "histogram (VMs:blocks)");
    auto line = [](const char* name, const BlockSharing& s) {
      std::printf("  %-18s %8llu %7.2f %5llu  %s\n", name,
                  static_cast<unsigned long long>(s.blocks), s.mean_vms,
                  static_cast<unsigned long long>(s.max_vms),
                  HistogramText(s).c_str());
    };
    line("VC VM stores", r.vm_store);
    line("VC PDS", r.pds);
    line("VO (simulated)", r.vo);
    std::printf(
        "\nsnapshot availability, %u machines, %u replicas per block (%s), "
        "PDS %u (%s), d failed\n",
        machines_, replicas_, replicas_source_.c_str(), pds_replicas_,
        pds_replicas_source_.c_str());
    std::printf("  %4s %12s %12s %12s %12s %12s %12s\n", "d", "block",
                "PDS block", "VC mean", "VO mean", "VC VMs lost",
                "VO VMs lost");
    for (const AvailabilityRow& a : rows) {
      std::printf("  %4u %11.5f%% %11.5f%% %11.5f%% %11.5f%% %12.4f %12.4f\n",
                  a.failed, 100 * a.block, 100 * a.pds_block, 100 * a.vc_mean,
                  100 * a.vo_mean, a.vc_vms_lost, a.vo_vms_lost);
    }
    if (r.placement_groups) PrintPlacementGroups(r, rows);
  }

  // Ceph: the same with a placement group as the unit of loss.
  void PrintPlacementGroups(const IsolationReport& r,
                            const std::vector<AvailabilityRow>& rows) const {
    std::printf(
        "\nplacement groups each VM's objects are in (objects of a group are "
        "lost together)\n");
    std::printf("  %-20s %10s %10s %10s\n", "vm", "VC VM pool", "VC PDS", "VO");
    for (const VmDependencies& d : r.vms) {
      std::printf("  %-20s %10llu %10llu %10llu\n", d.vm.c_str(),
                  static_cast<unsigned long long>(d.vm_pgs),
                  static_cast<unsigned long long>(d.pds_pgs),
                  static_cast<unsigned long long>(d.vo_pgs));
    }
    std::printf("\nsnapshot availability by placement group, d failed\n");
    std::printf("  %4s %12s %12s %12s %12s\n", "d", "VC mean", "VO mean",
                "VC VMs lost", "VO VMs lost");
    for (const AvailabilityRow& a : rows) {
      std::printf("  %4u %11.5f%% %11.5f%% %12.4f %12.4f\n", a.failed,
                  100 * a.vc_pg_mean, 100 * a.vo_pg_mean, a.vc_pg_vms_lost,
                  a.vo_pg_vms_lost);
    }
  }

  uint32_t machines_ = 100;
  uint32_t replicas_ = 3;
  uint32_t pds_replicas_ = 5;
  std::vector<uint32_t> failures_ = {1, 2, 3, 5, 10, 20};
  CLI::Option* failures_option_ = nullptr;
  CLI::Option* replicas_option_ = nullptr;
  CLI::Option* pds_replicas_option_ = nullptr;
  std::string replicas_source_, pds_replicas_source_;
  std::string vo_block_size_;
  bool json_ = false;
  IsolationOptions options_;
};

}  // namespace

std::unique_ptr<Command> MakeIsolationCommand() {
  return std::make_unique<IsolationCommand>();
}

}  // namespace vcsnap::cli
