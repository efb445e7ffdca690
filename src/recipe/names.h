// File: recipe/names.h
//
// VM names and the object names of everything a VM owns. A VM name is what
// the operator passes to --vm: 1..64 bytes of [A-Za-z0-9._-], not starting
// with '.' or '-' (so it is always one safe object-name component: no '/',
// no '..'). Per-VM objects:
//
//   vms/<vm>                       marker: the VM exists (listing VMs is cheap)
//   vm/<vm>/lease                  the writer lease (recipe/lease.h)
//   vm/<vm>/catalog                the snapshot catalog: the commit point
//   vm/<vm>/snap/<id>              a snapshot recipe
//   vm/<vm>/recipes/<id>.<n>       segment-recipe packs written by snapshot id
//   vm/<vm>/store/...              the VM's chunk store (store/)
//
// Thread safety: pure functions.

#ifndef VCSNAP_RECIPE_NAMES_H_
#define VCSNAP_RECIPE_NAMES_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "util/status.h"

namespace vcsnap {

// InvalidArgument "VM name '...': ..." when `vm` is not a valid VM name.
Status ValidateVmName(std::string_view vm);

std::string VmMarkerName(std::string_view vm);
std::string VmPrefix(std::string_view vm);  // "vm/<vm>/"
std::string LeaseName(std::string_view vm);
std::string CatalogName(std::string_view vm);
std::string SnapshotRecipeName(std::string_view vm, uint32_t snapshot_id);
std::string SnapshotRecipePrefix(std::string_view vm);  // "vm/<vm>/snap/"
std::string RecipePackName(std::string_view vm, uint32_t snapshot_id,
                           uint32_t pack);

}  // namespace vcsnap

#endif  // VCSNAP_RECIPE_NAMES_H_
