#include "gc/shred.h"

#include <chrono>
#include <memory>

#include "format/tenant.h"
#include "pds/pds_retire.h"
#include "recipe/catalog.h"
#include "recipe/lease.h"
#include "recipe/names.h"

namespace vcsnap {
namespace {

Status DeleteIfThere(Backend& backend, const std::string& name) {
  Status s = backend.Delete(name);
  return s.IsNotFound() ? Status::Ok() : s;
}

// Deletes the VM's objects but its lease and binding; counts them.
Status DeleteVmObjects(Backend& backend, const std::string& vm, bool dry_run,
                       uint64_t* objects, uint64_t* bytes) {
  const std::string lease = LeaseName(vm), binding = TenantBindingName(vm);
  VCSNAP_ASSIGN_OR_RETURN(std::vector<ObjectInfo> all,
                          backend.List(VmPrefix(vm)));
  for (const ObjectInfo& o : all) {
    if (o.name == lease || o.name == binding) continue;
    if (!dry_run) VCSNAP_RETURN_IF_ERROR(DeleteIfThere(backend, o.name));
    ++*objects;
    *bytes += o.size;
  }
  return Status::Ok();
}

}  // namespace

Result<std::vector<std::string>> TenantVms(Repository& repo,
                                           const std::string& tenant) {
  VCSNAP_ASSIGN_OR_RETURN(AllVms all, ListAllVms(repo.backend()));
  std::vector<std::string> out;
  for (const std::string& vm : all.vms) {
    Result<std::string> of = repo.TenantOf(vm);
    if (!of.ok()) {
      return of.status().WithContext(
          "VM " + vm + ": cannot tell its tenant; nothing was deleted");
    }
    if (*of == tenant) out.push_back(vm);
  }
  return out;  // ListAllVms is sorted
}

Result<ShredResult> ShredTenant(Repository& repo, const std::string& tenant,
                                const ShredOptions& options) {
  const auto start = std::chrono::steady_clock::now();
  VCSNAP_RETURN_IF_ERROR(ValidateTenantName(tenant));
  Backend& backend = repo.backend();
  ShredResult result;
  result.tenant = tenant;
  VCSNAP_ASSIGN_OR_RETURN(result.vms, TenantVms(repo, tenant));
  VCSNAP_ASSIGN_OR_RETURN(const bool key, repo.HasTenantKey(tenant));
  if (!key && result.vms.empty()) {
    return Status::NotFound("no tenant " + tenant);
  }
  if (options.dry_run) {
    for (const std::string& vm : result.vms) {
      uint64_t objects = 0, bytes = 0;
      VCSNAP_RETURN_IF_ERROR(
          DeleteVmObjects(backend, vm, /*dry_run=*/true, &objects, &bytes));
      result.objects += objects;
      result.bytes += bytes;
      if (options.on_vm) options.on_vm(vm, objects, bytes);
    }
    return result;
  }
  // 1. Every VM's lease, before anything is deleted.
  std::vector<std::unique_ptr<Lease>> leases;
  for (const std::string& vm : result.vms) {
    Result<std::unique_ptr<Lease>> lease =
        Lease::Acquire(&backend, vm, "tenant shred");
    if (!lease.ok()) {
      return lease.status().WithContext("tenant " + tenant +
                                        ": nothing was deleted");
    }
    leases.push_back(std::move(*lease));
  }
  // 2. The point of no return.
  if (key) {
    VCSNAP_RETURN_IF_ERROR(repo.DeleteTenantKey(tenant));
    result.key_deleted = true;
  }
  // 3. The VMs' objects; the binding last, so that a rerun finds the VM.
  for (size_t i = 0; i < result.vms.size(); ++i) {
    const std::string& vm = result.vms[i];
    uint64_t objects = 0, bytes = 0;
    VCSNAP_RETURN_IF_ERROR(
        DeleteVmObjects(backend, vm, /*dry_run=*/false, &objects, &bytes));
    VCSNAP_RETURN_IF_ERROR(DeleteIfThere(backend, VmMarkerName(vm)));
    VCSNAP_RETURN_IF_ERROR(DeleteIfThere(backend, PdsPinName(vm)));
    VCSNAP_RETURN_IF_ERROR(leases[i]->Release());
    VCSNAP_RETURN_IF_ERROR(DeleteIfThere(backend, TenantBindingName(vm)));
    result.objects += objects;
    result.bytes += bytes;
    if (options.on_vm) options.on_vm(vm, objects, bytes);
  }
  result.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();
  return result;
}

}  // namespace vcsnap
