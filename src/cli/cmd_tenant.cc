// `vcsnap tenant add|list|shred`: tenants of an encrypted repository
// (format/tenant.h, gc/shred.h, design.md §11).

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <map>

#include "cli/command.h"
#include "gc/shred.h"
#include "recipe/catalog.h"
#include "util/units.h"

namespace vcsnap::cli {
namespace {

class TenantCommand final : public Command {
 public:
  CLI::App* Setup(CLI::App& app) override {
    CLI::App* sub = app.add_subcommand(
        "tenant",
        "tenants: VMs sealed under their own keys (encrypted repositories)");
    sub->require_subcommand(1);
    add_ = sub->add_subcommand(
        "add",
        "create a tenant (a new random key); VMs join it with `backup "
        "--tenant`");
    add_->add_option("--tenant", tenant_, "the tenant's name")->required();
    list_ = sub->add_subcommand("list", "list the tenants and their VMs");
    shred_ = sub->add_subcommand(
        "shred",
        "delete a tenant's key, making its data unreadable for good, then "
        "every object of its VMs");
    shred_->add_option("--tenant", tenant_, "the tenant")->required();
    shred_->add_flag("--dry-run", options_.dry_run,
                     "show the VMs and objects that would go");
    shred_->add_flag("--yes", yes_, "really shred (it cannot be undone)");
    return sub;
  }

  Status Validate() override {
    if (shred_->parsed() && !options_.dry_run && !yes_) {
      return Status::InvalidArgument(
          "shredding cannot be undone: give --yes (or --dry-run to see what "
          "would go)");
    }
    return Status::Ok();
  }

  Status Run(const GlobalOptions& global) override {
    VCSNAP_ASSIGN_OR_RETURN(auto repo, OpenRepository(global));
    if (add_->parsed()) {
      VCSNAP_RETURN_IF_ERROR(repo->AddTenant(tenant_));
      std::printf("added tenant %s\n", tenant_.c_str());
      return Status::Ok();
    }
    if (shred_->parsed()) return Shred(*repo);
    return List(*repo);
  }

 private:
  Status Shred(Repository& repo) {
    const char* verb = options_.dry_run ? "would delete" : "deleted";
    options_.on_vm = [verb](const std::string& vm, uint64_t objects,
                            uint64_t bytes) {
      std::printf("  vm %s: %s %llu objects (%s)\n", vm.c_str(), verb,
                  static_cast<unsigned long long>(objects),
                  FormatByteSize(bytes).c_str());
      std::fflush(stdout);
    };
    VCSNAP_ASSIGN_OR_RETURN(ShredResult r,
                            ShredTenant(repo, tenant_, options_));
    if (options_.dry_run) {
      std::printf(
          "tenant %s: %zu VMs; shredding would delete its key and "
          "%llu objects (%s)\n",
          tenant_.c_str(), r.vms.size(),
          static_cast<unsigned long long>(r.objects),
          FormatByteSize(r.bytes).c_str());
      return Status::Ok();
    }
    std::printf(
        "tenant %s shredded: %s; %zu VMs, %llu objects (%s) deleted "
        "in %.2f s\n",
        tenant_.c_str(),
        r.key_deleted ? "its key is deleted" : "its key was deleted before",
        r.vms.size(), static_cast<unsigned long long>(r.objects),
        FormatByteSize(r.bytes).c_str(), r.seconds);
    return Status::Ok();
  }

  Status List(Repository& repo) {
    VCSNAP_ASSIGN_OR_RETURN(std::vector<std::string> tenants,
                            repo.ListTenants());
    VCSNAP_ASSIGN_OR_RETURN(AllVms all, ListAllVms(repo.backend()));
    std::map<std::string, std::vector<std::string>> vms;
    for (const std::string& t : tenants) vms[t];
    for (const std::string& vm : all.vms) {
      Result<std::string> t = repo.TenantOf(vm);
      if (!t.ok() && t.status().code() != StatusCode::kCorruption) {
        return t.status();
      }
      if (!t.ok()) {  // one damaged binding does not hide the others
        std::fprintf(stderr, "vcsnap: warning: VM %s: %s\n", vm.c_str(),
                     t.status().message().c_str());
      } else if (!t->empty()) {
        vms[*t].push_back(vm);
      }
    }
    for (const auto& [t, list] : vms) {
      std::string names;
      for (const std::string& vm : list) names += " " + vm;
      const bool shredded =
          !std::binary_search(tenants.begin(), tenants.end(), t);
      std::printf("%s%s: %zu VMs%s\n", t.c_str(),
                  shredded ? " (shredded, objects left: rerun shred)" : "",
                  list.size(), names.c_str());
    }
    return Status::Ok();
  }

  CLI::App* add_ = nullptr;
  CLI::App* list_ = nullptr;
  CLI::App* shred_ = nullptr;
  std::string tenant_;
  bool yes_ = false;
  ShredOptions options_;
};

}  // namespace

std::unique_ptr<Command> MakeTenantCommand() {
  return std::make_unique<TenantCommand>();
}

}  // namespace vcsnap::cli
