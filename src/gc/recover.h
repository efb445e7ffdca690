// File: gc/recover.h
//
// RunRecover (`vcsnap recover --vm V`): rebuilds a VM's lost or damaged
// catalog from its snapshot recipes, and restores a lost vms/<vm> marker --
// the way back from recipe/catalog.h's "the catalog was lost" and from
// check's "its marker is missing".
//
//  - Runs under the VM's lease. With a catalog that decodes, only a missing
//    marker is restored and the catalog is left alone.
//  - Every snapshot recipe vm/<vm>/snap/<id> that decodes (and names its own
//    ID) becomes a catalog entry: parent, time, sizes and PDS generation come
//    from the recipe. Undecodable ones are listed in `skipped`. Protection
//    flags and backup durations are not stored in snapshot recipes:
//    recovered snapshots are unprotected, their durations unknown (0).
//  - next_id = 2 + the largest snapshot ID any object of the VM carries
//    (snapshot recipes, recipe packs, summaries, dropped lists, fingerprint
//    runs): IDs are never reused, and the skipped ID makes the next backup
//    distrust a CBT bitmap, which may be relative to a newer snapshot that
//    was forgotten.
//  - A damaged catalog's bytes are kept as vm/<vm>/catalog.damaged.
//  - With `tenant` (encrypted repositories): a damaged or lost tenant
//    binding (vm/<vm>/tenant) is written again, once a segment recipe of
//    the VM opens under that tenant's keys (proof that the data is the
//    tenant's; a VM without one is refused). An intact binding to another
//    tenant is never replaced.
//  - The VM store's metadata (VmStore::RepairMetadata): a damaged container
//    head, index (rebuilt from the data blocks; the container then takes no
//    new chunks) or deletion log (rewritten with its readable records) is
//    repaired, whether or not the catalog needed a rebuild.
//  - A snapshot recipe that a backup wrote but never committed is recovered
//    too (its data was complete when the recipe was written); one that a
//    forget failed to remove may reference deleted chunks. So the VM's
//    structure is checked after a rebuild or store repair and check's
//    problems returned: they name such snapshots (and those that used groups
//    lost with a damaged block) for the operator to forget.
//
// Thread safety: takes the VM's lease; safe beside commands on other VMs.

#ifndef VCSNAP_GC_RECOVER_H_
#define VCSNAP_GC_RECOVER_H_

#include <cstdint>
#include <string>
#include <vector>

#include "repo/repository.h"

namespace vcsnap {

struct RecoverOptions {
  std::string vm;
  bool dry_run = false;     // say what would be done, change nothing
  std::string tenant = {};  // the VM's tenant, to repair its binding
};

struct RecoverResult {
  bool marker_restored = false;
  // Why the binding needed a repair ("missing", or its decode error);
  // empty when intact or not asked for.
  std::string binding_problem;
  bool binding_restored = false;  // false when intact or dry run
  // Why the catalog needed a rebuild ("missing", or its decode error);
  // empty when it was intact.
  std::string catalog_problem;
  bool catalog_rebuilt = false;      // false when intact or dry run
  std::vector<uint32_t> snapshots;   // recovered IDs, ascending
  std::vector<std::string> skipped;  // undecodable recipes, with why
  uint32_t next_id = 0;
  // What the store's metadata repair found (and did, unless a dry run), one
  // line each; store_problem: why the store could not be examined.
  std::vector<std::string> store_repairs;
  std::string store_problem;
  std::vector<std::string> problems;  // check of the VM after a repair
};

Result<RecoverResult> RunRecover(Repository& repo,
                                 const RecoverOptions& options);

}  // namespace vcsnap

#endif  // VCSNAP_GC_RECOVER_H_
