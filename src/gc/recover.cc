#include "gc/recover.h"

#include <algorithm>
#include <charconv>
#include <memory>
#include <optional>
#include <string_view>
#include <utility>

#include "gc/check.h"
#include "recipe/catalog.h"
#include "recipe/lease.h"
#include "recipe/names.h"
#include "recipe/recipe_pack.h"
#include "recipe/snapshot_recipe.h"
#include "store/vm_store.h"

namespace vcsnap {
namespace {

// The snapshot ID an object of the VM carries, if any: snap/<id>,
// recipes/<id>.<n>, summary/<id>, dropped/<id>, fps/<id>-<n>.<p>.
std::optional<uint32_t> IdOf(std::string_view rest) {
  for (std::string_view dir :
       {"snap/", "recipes/", "summary/", "dropped/", "fps/"}) {
    if (!rest.starts_with(dir)) continue;
    rest.remove_prefix(dir.size());
    uint32_t id = 0;
    auto [end, ec] =
        std::from_chars(rest.data(), rest.data() + rest.size(), id);
    if (ec != std::errc() || end == rest.data()) return std::nullopt;
    return id;
  }
  return std::nullopt;
}

// Proof that the VM's data is `keys`': some segment recipe of the VM opens
// under them (at most 8 are tried). InvalidArgument when none opens, or the
// VM has none.
Status RecipesOpenWith(Backend& backend, const std::string& vm,
                       const std::vector<ObjectInfo>& objects,
                       const RepoKeys* keys, const std::string& tenant) {
  int tried = 0;
  for (const ObjectInfo& o : objects) {
    std::optional<uint32_t> id = IdOf(o.name.substr(VmPrefix(vm).size()));
    if (!o.name.starts_with(SnapshotRecipePrefix(vm)) || !id) continue;
    Result<SnapshotRecipe> snap = LoadSnapshotRecipe(backend, vm, *id);
    if (!snap.ok()) continue;
    RecipeReader reader(&backend, vm, snap->segment_size, keys);
    for (const SegmentSlot& slot : snap->segments) {
      if (slot.zero) continue;
      if (reader.Read(slot.ref).ok()) return Status::Ok();
      if (++tried == 8) break;
    }
  }
  if (tried == 0) {
    return Status::InvalidArgument(
        "VM " + vm +
        " has no segment recipe to prove its tenant with; a VM without "
        "snapshots joins a tenant at its next backup (--tenant)");
  }
  return Status::InvalidArgument("VM " + vm + ": none of " +
                                 std::to_string(tried) +
                                 " segment recipes opens under tenant " +
                                 tenant + "'s keys: not its tenant");
}

Status RecoverBinding(Repository& repo, const std::string& vm,
                      const std::vector<ObjectInfo>& objects,
                      const RecoverOptions& options, RecoverResult* result) {
  Result<std::string> now = repo.TenantOf(vm);
  if (now.ok() && *now == options.tenant) return Status::Ok();
  if (now.ok() && !now->empty()) {
    return Status::InvalidArgument("VM " + vm + " is bound to tenant " + *now +
                                   " (an intact binding): not replaced");
  }
  if (!now.ok() && now.status().code() != StatusCode::kCorruption) {
    return now.status();
  }
  result->binding_problem = now.ok() ? "missing" : now.status().message();
  VCSNAP_ASSIGN_OR_RETURN(std::shared_ptr<const RepoKeys> keys,
                          repo.TenantKeys(options.tenant));
  if (keys == nullptr) return Status::NotFound("no tenant " + options.tenant);
  VCSNAP_RETURN_IF_ERROR(
      RecipesOpenWith(repo.backend(), vm, objects, keys.get(), options.tenant));
  if (options.dry_run) return Status::Ok();
  VCSNAP_RETURN_IF_ERROR(repo.RewriteBinding(vm, options.tenant));
  result->binding_restored = true;
  return Status::Ok();
}

// After a catalog rebuild or a store repair (not a dry run): the VM's
// structure, checked without the lease, whose problems go to `result`.
Status CheckAfter(Repository& repo, const std::string& vm,
                  const RecoverOptions& options, Lease* lease,
                  RecoverResult* result) {
  const bool repaired = result->catalog_rebuilt ||
                        (!options.dry_run && !result->store_repairs.empty());
  if (!repaired) return Status::Ok();
  VCSNAP_RETURN_IF_ERROR(lease->Release());
  CheckOptions check;
  check.vm = vm;
  VCSNAP_ASSIGN_OR_RETURN(CheckResult checked, RunCheck(repo, check));
  result->problems = std::move(checked.problems);
  return Status::Ok();
}

}  // namespace

Result<RecoverResult> RunRecover(Repository& repo,
                                 const RecoverOptions& options) {
  VCSNAP_RETURN_IF_ERROR(ValidateVmName(options.vm));
  const std::string& vm = options.vm;
  Backend& backend = repo.backend();
  VCSNAP_ASSIGN_OR_RETURN(std::unique_ptr<Lease> lease,
                          Lease::Acquire(&backend, vm, "recover"));
  RecoverResult result;
  const std::string prefix = VmPrefix(vm);
  VCSNAP_ASSIGN_OR_RETURN(std::vector<ObjectInfo> objects,
                          backend.List(prefix));
  if (objects.empty() ||
      (objects.size() == 1 && objects[0].name == LeaseName(vm))) {
    return Status::NotFound("VM " + vm + " has no objects to recover from");
  }
  // The marker.
  Result<ObjectInfo> marker = backend.Stat(VmMarkerName(vm));
  if (!marker.ok() && !marker.status().IsNotFound()) return marker.status();
  if (!marker.ok()) {
    result.marker_restored = true;
    if (!options.dry_run) {
      Status s = backend.Create(VmMarkerName(vm), ByteView());
      if (!s.ok() && !s.IsAlreadyExists()) return s;
    }
  }
  if (!options.tenant.empty()) {
    VCSNAP_RETURN_IF_ERROR(RecoverBinding(repo, vm, objects, options, &result));
  }
  // The store's metadata.
  Result<std::unique_ptr<VmStore>> store = VmStore::OpenIn(repo, vm);
  if (store.ok()) {
    VCSNAP_ASSIGN_OR_RETURN(std::vector<MetadataRepair> repairs,
                            (*store)->RepairMetadata(options.dry_run));
    for (const MetadataRepair& m : repairs) {
      result.store_repairs.push_back(m.Describe());
    }
  } else {
    result.store_problem = store.status().message();
  }
  // The catalog: intact, missing or damaged.
  const std::string name = CatalogName(vm);
  Result<Bytes> raw = backend.Get(name);
  if (raw.ok()) {
    Result<Catalog> c = DecodeCatalog(*raw, name);
    if (c.ok()) {
      VCSNAP_RETURN_IF_ERROR(
          CheckAfter(repo, vm, options, lease.get(), &result));
      return result;
    }
    result.catalog_problem = c.status().message();
  } else if (raw.status().IsNotFound()) {
    result.catalog_problem = "missing";
  } else {
    return raw.status();
  }
  // Rebuild from the snapshot recipes.
  Catalog catalog;
  uint32_t max_id = 0;
  for (const ObjectInfo& o : objects) {
    std::string_view rest = std::string_view(o.name).substr(prefix.size());
    std::optional<uint32_t> id = IdOf(rest);
    if (!id.has_value()) continue;
    max_id = std::max(max_id, *id);
    if (!rest.starts_with("snap/") || o.name != SnapshotRecipeName(vm, *id)) {
      continue;
    }
    Result<SnapshotRecipe> s = LoadSnapshotRecipe(backend, vm, *id);
    if (!s.ok()) {
      result.skipped.push_back(o.name + ": " + s.status().message());
      continue;
    }
    CatalogEntry e;
    e.id = s->id;
    e.parent = s->parent;
    e.time_unix = s->time_unix;
    e.image_size = s->image_size;
    e.logical_bytes = s->stats.logical;
    e.stored_bytes = s->stats.stored_bytes;
    e.pds_generation = s->pds_generation;
    catalog.entries.push_back(e);
  }
  std::sort(
      catalog.entries.begin(), catalog.entries.end(),
      [](const CatalogEntry& a, const CatalogEntry& b) { return a.id < b.id; });
  for (const CatalogEntry& e : catalog.entries) {
    result.snapshots.push_back(e.id);
  }
  catalog.next_id = max_id + 2;
  result.next_id = catalog.next_id;
  if (options.dry_run) return result;
  if (raw.ok()) VCSNAP_RETURN_IF_ERROR(backend.Put(name + ".damaged", *raw));
  VCSNAP_RETURN_IF_ERROR(lease->Verify());
  VCSNAP_RETURN_IF_ERROR(CommitCatalog(backend, vm, catalog));
  result.catalog_rebuilt = true;
  VCSNAP_RETURN_IF_ERROR(CheckAfter(repo, vm, options, lease.get(), &result));
  return result;
}

}  // namespace vcsnap
