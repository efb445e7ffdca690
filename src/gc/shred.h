// File: gc/shred.h
//
// Shredding a tenant (design.md §11): its key object is deleted first -- from
// that moment every group and segment recipe sealed for the tenant's VMs is
// unreadable for good, in this repository and in any copy of its data
// objects -- and then every object of its VMs. The PDS holds only chunks
// popular across tenants (pds/popularity.h), so nothing that only this
// tenant held survives there.
//
// Order and crashes. The leases of all the tenant's VMs are taken first (a
// VM busy with a backup, forget or gc stops the shred before anything is
// deleted); then the tenant key; then per VM every object but its lease and
// binding, its marker and PDS pin, its lease, and last its binding
// (vm/<vm>/tenant). A crash anywhere leaves the binding, by which a rerun
// finds the VM again and finishes; `check` reports such a VM meanwhile, and
// every other command refuses it (its keys are gone).
//
// Thread safety: one call at a time per tenant (the VM leases enforce it).

#ifndef VCSNAP_GC_SHRED_H_
#define VCSNAP_GC_SHRED_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "repo/repository.h"
#include "util/result.h"

namespace vcsnap {

struct ShredOptions {
  bool dry_run = false;  // find the VMs and count their objects only
  // Called after each VM is done (or counted): name, objects, bytes.
  std::function<void(const std::string&, uint64_t, uint64_t)> on_vm;
};

struct ShredResult {
  std::string tenant;
  std::vector<std::string> vms;  // the tenant's VMs, sorted
  bool key_deleted = false;      // false: already gone (a rerun) or dry run
  uint64_t objects = 0;          // deleted (dry run: would be)
  uint64_t bytes = 0;
  double seconds = 0;
};

// Shreds `tenant`. NotFound when there is neither a tenant key nor a VM
// bound to it; Busy when one of its VMs is leased (nothing deleted then).
Result<ShredResult> ShredTenant(Repository& repo, const std::string& tenant,
                                const ShredOptions& options = {});

// The VMs bound to `tenant` (any VM with objects, marked or not).
Result<std::vector<std::string>> TenantVms(Repository& repo,
                                           const std::string& tenant);

}  // namespace vcsnap

#endif  // VCSNAP_GC_SHRED_H_
