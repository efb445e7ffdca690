#include "recipe/names.h"

#include <string>

namespace vcsnap {

Status ValidateVmName(std::string_view vm) {
  const std::string q = "VM name '" + std::string(vm) + "'";
  if (vm.empty() || vm.size() > 64) {
    return Status::InvalidArgument(q + " must be 1 to 64 characters");
  }
  if (vm.front() == '.' || vm.front() == '-') {
    return Status::InvalidArgument(q + " must not start with '.' or '-'");
  }
  for (char c : vm) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
    if (!ok) {
      return Status::InvalidArgument(
          q + " may contain only letters, digits, '.', '_' and '-'");
    }
  }
  return Status::Ok();
}

std::string VmMarkerName(std::string_view vm) {
  return "vms/" + std::string(vm);
}
std::string VmPrefix(std::string_view vm) {
  return "vm/" + std::string(vm) + "/";
}
std::string LeaseName(std::string_view vm) { return VmPrefix(vm) + "lease"; }
std::string CatalogName(std::string_view vm) {
  return VmPrefix(vm) + "catalog";
}
std::string SnapshotRecipeName(std::string_view vm, uint32_t snapshot_id) {
  return VmPrefix(vm) + "snap/" + std::to_string(snapshot_id);
}

std::string SnapshotRecipePrefix(std::string_view vm) {
  return VmPrefix(vm) + "snap/";
}
std::string RecipePackName(std::string_view vm, uint32_t snapshot_id,
                           uint32_t pack) {
  return VmPrefix(vm) + "recipes/" + std::to_string(snapshot_id) + "." +
         std::to_string(pack);
}

}  // namespace vcsnap
