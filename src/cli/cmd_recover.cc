// recover: rebuilds a VM's lost or damaged catalog, its lost marker and its
// store's damaged container metadata; with --roots, rewrites a damaged or
// missing copy of a repository root from the other (repo/roots.h).

#include <CLI/CLI.hpp>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "cli/command.h"
#include "format/tenant.h"
#include "gc/recover.h"
#include "recipe/names.h"

namespace vcsnap::cli {
namespace {

class RecoverCommand final : public Command {
 public:
  CLI::App* Setup(CLI::App& app) override {
    CLI::App* sub = app.add_subcommand(
        "recover",
        "rebuild a VM's lost or damaged catalog (and lost marker) from its "
        "snapshot recipes, and its store's damaged container heads, indexes "
        "and deletion logs; with --roots, the repository's roots (config, key "
        "slots, tenant keys) from their second copies");
    sub->add_option("--vm", o_.vm, "VM name");
    sub->add_flag("--roots", roots_,
                  "rewrite a damaged or missing copy of the config, a key "
                  "slot or a tenant key from its other copy");
    sub->add_option("--tenant", o_.tenant,
                    "the VM's tenant: repair a damaged or lost tenant "
                    "binding (checked: the VM's recipes must open under the "
                    "tenant's keys)");
    sub->add_flag("--dry-run", o_.dry_run, "only show what would be done");
    sub->add_flag("--json", json_, "print the result as JSON");
    return sub;
  }
  Status Validate() override {
    if (o_.vm.empty() && !roots_) {
      return Status::InvalidArgument("give --vm V, --roots, or both");
    }
    if (!o_.tenant.empty()) {
      if (o_.vm.empty()) return Status::InvalidArgument("--tenant needs --vm");
      VCSNAP_RETURN_IF_ERROR(ValidateTenantName(o_.tenant));
    }
    return o_.vm.empty() ? Status::Ok() : ValidateVmName(o_.vm);
  }
  Status Run(const GlobalOptions& global) override {
    VCSNAP_ASSIGN_OR_RETURN(auto repo, OpenRepository(global));
    nlohmann::json roots = nlohmann::json::array();
    size_t lost = 0;  // roots with no good copy left
    if (roots_) {
      VCSNAP_ASSIGN_OR_RETURN(std::vector<RootProblem> found,
                              repo->InspectRoots(/*repair=*/!o_.dry_run));
      for (const RootProblem& p : found) {
        if (!p.repairable) ++lost;
        roots.push_back({{"name", p.name},
                         {"problem", p.problem},
                         {"repairable", p.repairable},
                         {"repaired", p.repaired}});
        if (json_) continue;
        std::FILE* to = p.repairable ? stdout : stderr;
        std::fprintf(to, "%s root %s: %s\n",
                     !p.repairable ? "vcsnap: cannot repair"
                     : p.repaired  ? "repaired"
                                   : "would repair",
                     p.name.c_str(), p.problem.c_str());
      }
      if (found.empty() && !json_) {
        std::printf("the repository's roots are intact (both copies)\n");
      }
    }
    Status roots_status =
        lost == 0 ? Status::Ok()
                  : Status::Corruption(
                        std::to_string(lost) +
                        " roots have no good copy left (listed above)");
    if (o_.vm.empty()) {
      if (json_)
        std::printf("%s\n", nlohmann::json{{"roots", roots}}.dump().c_str());
      return roots_status;
    }
    VCSNAP_ASSIGN_OR_RETURN(RecoverResult r, RunRecover(*repo, o_));
    if (json_) {
      nlohmann::json j = {{"vm", o_.vm},
                          {"dry_run", o_.dry_run},
                          {"marker_restored", r.marker_restored},
                          {"binding_problem", r.binding_problem},
                          {"binding_restored", r.binding_restored},
                          {"catalog_problem", r.catalog_problem},
                          {"catalog_rebuilt", r.catalog_rebuilt},
                          {"snapshots", r.snapshots},
                          {"skipped", r.skipped},
                          {"next_id", r.next_id},
                          {"store_repairs", r.store_repairs},
                          {"store_problem", r.store_problem},
                          {"problems", r.problems}};
      if (roots_) j["roots"] = roots;
      std::printf("%s\n", j.dump().c_str());
    } else {
      Print(r);
    }
    if (!r.problems.empty()) {
      return Status::Corruption(std::to_string(r.problems.size()) +
                                " problems in the recovered snapshots (listed "
                                "above); forget the damaged ones");
    }
    return roots_status;
  }

 private:
  void Print(const RecoverResult& r) const {
    if (!r.binding_problem.empty()) {
      std::printf("%s the binding of VM %s to tenant %s (%s)\n",
                  o_.dry_run ? "would write" : "wrote", o_.vm.c_str(),
                  o_.tenant.c_str(), r.binding_problem.c_str());
    }
    if (r.marker_restored) {
      std::printf("%s the marker of VM %s\n",
                  o_.dry_run ? "would restore" : "restored", o_.vm.c_str());
    }
    if (!r.store_problem.empty()) {
      std::fprintf(stderr, "vcsnap: the store of VM %s was not examined: %s\n",
                   o_.vm.c_str(), r.store_problem.c_str());
    }
    for (const std::string& m : r.store_repairs) {
      std::printf("store of VM %s, %s\n", o_.vm.c_str(), m.c_str());
    }
    if (r.catalog_problem.empty()) {
      std::printf("the catalog of VM %s is intact: nothing to rebuild\n",
                  o_.vm.c_str());
      PrintProblems(r);
      return;
    }
    for (const std::string& s : r.skipped) {
      std::fprintf(stderr, "vcsnap: skipped (damaged): %s\n", s.c_str());
    }
    std::string ids;
    for (uint32_t id : r.snapshots) ids += " " + std::to_string(id);
    if (ids.empty()) ids = " none";
    std::printf(
        "%s the catalog of VM %s (%s): snapshots%s; next snapshot ID %u\n",
        o_.dry_run ? "would rebuild" : "rebuilt", o_.vm.c_str(),
        r.catalog_problem.c_str(), ids.c_str(), r.next_id);
    if (o_.dry_run) return;
    std::printf(
        "  protection flags are not kept in snapshot recipes: protect the "
        "snapshots again where needed; the next backup reads every segment\n");
    PrintProblems(r);
  }
  static void PrintProblems(const RecoverResult& r) {
    for (const std::string& p : r.problems) {
      std::fprintf(stderr, "vcsnap: damaged: %s\n", p.c_str());
    }
  }

  RecoverOptions o_;
  bool roots_ = false;
  bool json_ = false;
};

}  // namespace

std::unique_ptr<Command> MakeRecoverCommand() {
  return std::make_unique<RecoverCommand>();
}

}  // namespace vcsnap::cli
