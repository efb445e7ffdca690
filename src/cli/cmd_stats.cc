// `vcsnap stats`: what a repository holds: its parameters, the objects
// stored per top-level area, and each VM's figures. A VM that cannot be
// read is named with its error and the others are shown (exit 1).

#include <CLI/CLI.hpp>
#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>

#include "cli/command.h"
#include "gc/gc_state.h"
#include "recipe/catalog.h"
#include "repo/repository.h"
#include "store/vm_store.h"
#include "util/units.h"

namespace vcsnap::cli {
namespace {

class StatsCommand final : public Command {
 public:
  CLI::App* Setup(CLI::App& app) override {
    CLI::App* sub = app.add_subcommand("stats", "summarise the repository");
    sub->add_flag("--json", json_, "print one JSON object");
    return sub;
  }

  Status Run(const GlobalOptions& global) override {
    VCSNAP_ASSIGN_OR_RETURN(auto repo, OpenRepository(global));
    VCSNAP_ASSIGN_OR_RETURN(std::vector<ObjectInfo> objects,
                            repo->backend().List(""));
    struct Area {
      uint64_t objects = 0;
      uint64_t bytes = 0;
    };
    std::map<std::string, Area> areas;
    Area total;
    for (const ObjectInfo& o : objects) {
      std::string area = o.name.substr(0, o.name.find('/'));
      areas[area].objects++;
      areas[area].bytes += o.size;
      total.objects++;
      total.bytes += o.size;
    }
    const RepoConfig& c = repo->config();
    VCSNAP_ASSIGN_OR_RETURN(std::vector<std::string> vms,
                            ListVmNames(repo->backend()));
    nlohmann::json vm_json = nlohmann::json::array();
    std::string vm_text;
    size_t unreadable = 0;
    for (const std::string& vm : vms) {
      Status s = AddVm(*repo, vm, &vm_json, &vm_text);
      if (s.ok()) continue;
      // One VM's damage is that VM's line, not a failed stats.
      if (!s.IsUnreadable()) return s;
      ++unreadable;
      vm_json.push_back({{"vm", vm}, {"problem", s.message()}});
      vm_text += "  " + vm + ": cannot be read: " + s.message() +
                 " (`vcsnap check --vm " + vm + "` names the repair)\n";
    }
    if (json_) {
      nlohmann::json j;
      j["repository"] = c.RepoIdHex();
      j["segment_size"] = c.segment_size;
      j["chunk_min"] = c.chunk_min;
      j["chunk_avg"] = c.chunk_avg;
      j["chunk_max"] = c.chunk_max;
      j["compression"] = std::string(CompressionName(c.compression));
      j["encryption"] = c.encrypted() ? "aes-256-gcm" : "none";
      j["container_size"] = c.container_size;
      j["objects"] = total.objects;
      j["stored_bytes"] = total.bytes;
      for (const auto& [name, a] : areas) {
        j["areas"][name] = {{"objects", a.objects}, {"bytes", a.bytes}};
      }
      j["vms"] = vm_json;
      std::printf("%s\n", j.dump().c_str());
      return UnreadableVms(unreadable);
    }
    std::printf("repository %s at %s%s\n", c.RepoIdHex().c_str(),
                repo->location().c_str(),
                c.encrypted() ? " (encrypted, AES-256-GCM)" : "");
    std::printf("  %-10s %10s %12s\n", "area", "objects", "bytes");
    for (const auto& [name, a] : areas) {
      std::printf("  %-10s %10llu %12s\n", name.c_str(),
                  static_cast<unsigned long long>(a.objects),
                  FormatByteSize(a.bytes).c_str());
    }
    std::printf("  %-10s %10llu %12s\n", "total",
                static_cast<unsigned long long>(total.objects),
                FormatByteSize(total.bytes).c_str());
    if (!vm_text.empty()) std::printf("VMs:\n%s", vm_text.c_str());
    return UnreadableVms(unreadable);
  }

 private:
  static Status UnreadableVms(size_t n) {
    if (n == 0) return Status::Ok();
    return Status::Corruption(std::to_string(n) +
                              " VMs cannot be read (each named in the "
                              "output); the others are shown");
  }
  // Appends one VM's figures to the JSON array and the text; an error when
  // its objects cannot be read.
  Status AddVm(Repository& repo, const std::string& vm, nlohmann::json* vm_json,
               std::string* vm_text) {
    VCSNAP_ASSIGN_OR_RETURN(Catalog cat, LoadCatalog(repo.backend(), vm));
    VCSNAP_ASSIGN_OR_RETURN(VmKeys keys, repo.KeysOf(vm));
    if (keys.shredded) {
      vm_json->push_back(
          {{"vm", vm}, {"tenant", keys.tenant}, {"shredded", true}});
      *vm_text += "  " + vm + ": tenant " + keys.tenant +
                  " was shredded; objects are left (rerun `tenant shred`)\n";
      return Status::Ok();
    }
    VCSNAP_ASSIGN_OR_RETURN(auto store, VmStore::OpenIn(repo, vm));
    VCSNAP_ASSIGN_OR_RETURN(std::vector<ContainerInfo> cs,
                            store->ListContainers());
    uint64_t stored = 0, chunks = 0, deleted = 0;
    // Damaged deletion logs are shown, not fatal (forget, gc and compact
    // rewrite them).
    std::vector<std::string> dlog_notes;
    for (const ContainerInfo& ci : cs) {
      stored += ci.stored_bytes;
      chunks += ci.live_chunks;
      deleted += ci.deleted_chunks;
      if (!ci.dlog_problem.empty()) {
        dlog_notes.push_back("a deletion log is damaged (" + ci.dlog_problem +
                             "): `vcsnap gc --vm " + vm + "` rewrites it");
      }
    }
    uint64_t logical = 0;
    for (const CatalogEntry& e : cat.entries) logical += e.logical_bytes;
    // A damaged gc state is shown, not fatal (forget and gc replace it).
    std::string gc_note;
    Result<GcState> loaded = LoadGcState(repo.backend(), vm);
    if (!loaded.ok() && !loaded.status().IsUnreadable()) {
      return loaded.status();
    }
    if (!loaded.ok()) {
      gc_note = "the gc state is unreadable (" + loaded.status().message() +
                "): no leak estimate; `vcsnap gc --vm " + vm +
                "` measures the leak and rewrites it";
    }
    const GcState g = loaded.ok() ? *loaded : GcState{};
    vm_json->push_back({{"vm", vm},
                        {"tenant", keys.tenant},
                        {"snapshots", cat.entries.size()},
                        {"logical_bytes", logical},
                        {"stored_chunk_bytes", stored},
                        {"containers", cs.size()},
                        {"chunks", chunks},
                        {"chunks_deleted_not_compacted", deleted},
                        {"approx_deletes_since_repair", g.approx_deletes},
                        {"fp_rate", g.last_fp_rate},
                        {"estimated_leak_chunks", g.EstimatedLeakChunks()},
                        {"repair_due", g.RepairDue()}});
    if (!gc_note.empty()) vm_json->back()["gc_state_problem"] = gc_note;
    if (!dlog_notes.empty()) {
      vm_json->back()["deletion_log_problems"] = dlog_notes;
    }
    char line[256];
    std::snprintf(line, sizeof(line),
                  "  %-16s %4zu snapshots %10s logical %10s stored  R=%llu "
                  "eps=%.3f%% leak~%.0f chunks%s\n",
                  vm.c_str(), cat.entries.size(),
                  FormatByteSize(logical).c_str(),
                  FormatByteSize(stored).c_str(),
                  static_cast<unsigned long long>(g.approx_deletes),
                  100 * g.last_fp_rate, g.EstimatedLeakChunks(),
                  g.RepairDue() ? "  (gc due: R > tau/eps)" : "");
    *vm_text += line;
    if (!keys.tenant.empty()) *vm_text += "    tenant " + keys.tenant + "\n";
    if (!gc_note.empty()) *vm_text += "    " + gc_note + "\n";
    for (const std::string& n : dlog_notes) *vm_text += "    " + n + "\n";
    return Status::Ok();
  }

  bool json_ = false;
};

}  // namespace

std::unique_ptr<Command> MakeStatsCommand() {
  return std::make_unique<StatsCommand>();
}

}  // namespace vcsnap::cli
