#include "gc/sweep.h"

#include <algorithm>
#include <chrono>
#include <ctime>
#include <set>

#include "gc/gc_state.h"
#include "pds/fp_run.h"
#include "recipe/catalog.h"
#include "recipe/lease.h"
#include "recipe/names.h"
#include "recipe/recipe_walk.h"
#include "recipe/snapshot_recipe.h"
#include "recipe/summary.h"
#include "store/compaction.h"
#include "store/ref_states.h"
#include "store/vm_store.h"

namespace vcsnap {
namespace {

double Since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t)
      .count();
}

// Removes vm/<vm>/<dir>/<name> objects whose name is not in `keep`.
Result<uint64_t> RemoveUnreachable(Backend& backend, const std::string& vm,
                                   const std::string& dir,
                                   const std::set<std::string>& keep) {
  const std::string prefix = VmPrefix(vm) + dir + "/";
  VCSNAP_ASSIGN_OR_RETURN(std::vector<ObjectInfo> objects,
                          backend.List(prefix));
  uint64_t removed = 0;
  for (const ObjectInfo& o : objects) {
    if (keep.count(o.name.substr(prefix.size()))) continue;
    Status s = backend.Delete(o.name);
    if (!s.ok() && !s.IsNotFound()) return s;
    removed += s.ok();
  }
  return removed;
}

}  // namespace

Result<GcResult> RunGc(Repository& repo, const std::string& vm) {
  const auto start = std::chrono::steady_clock::now();
  Backend& backend = repo.backend();
  VCSNAP_RETURN_IF_ERROR(ValidateVmName(vm));
  VCSNAP_ASSIGN_OR_RETURN(std::unique_ptr<Lease> lease,
                          Lease::Acquire(&backend, vm, "gc"));
  VCSNAP_ASSIGN_OR_RETURN(Catalog catalog, LoadCatalog(backend, vm));
  GcResult result;
  result.vm = vm;

  // Mark: a bit per present chunk of the store (store/ref_states.h). A
  // container whose CIDs cannot be read fails the gc: its chunks could not
  // be marked, and the sweep must not take them for leaks.
  VCSNAP_ASSIGN_OR_RETURN(std::unique_ptr<VmStore> store,
                          VmStore::OpenIn(repo, vm));
  VCSNAP_ASSIGN_OR_RETURN(std::vector<uint16_t> ids, store->ListContainerIds());
  for (uint16_t c : ids) {
    VCSNAP_ASSIGN_OR_RETURN(std::optional<MetadataRepair> r,
                            store->RepairDeletionLog(c, false));
    if (r.has_value()) result.notes.push_back(r->Describe());
  }
  RefStates marks(store.get());
  RecipeReader reader(&backend, vm, repo.config().segment_size, store->keys(),
                      kWalkCachedPacks);
  std::set<std::string> snaps, packs;
  std::vector<RecipeUse> uses;
  for (const CatalogEntry& e : catalog.entries) {
    VCSNAP_ASSIGN_OR_RETURN(SnapshotRecipe s,
                            LoadSnapshotRecipe(backend, vm, e.id));
    snaps.insert(std::to_string(e.id));
    for (const SegmentSlot& slot : s.segments) {
      if (!slot.zero) {
        packs.insert(std::to_string(slot.ref.snapshot_id) + "." +
                     std::to_string(slot.ref.pack));
      }
    }
    AddRecipeUses(s, &uses);
  }
  // Every distinct recipe once, pack by pack.
  VCSNAP_RETURN_IF_ERROR(WalkRecipes(
      reader, std::move(uses),
      [&](const RecipeUse&, Result<std::vector<RecipeEntry>> entries) {
        if (!entries.ok()) return entries.status();
        for (const RecipeEntry& en : *entries) {
          if (en.kind != ChunkKind::kVm) continue;
          // A reference into no container, or to an absent chunk, marks
          // nothing and leaves `first` false (check reports it).
          Result<ChunkRef> ref = ChunkRef::FromRaw(en.vm_ref);
          if (!ref.ok()) continue;
          bool first = false;
          Status marked = marks.Mark(*ref, &first).status();
          if (!marked.ok()) return marked;
          result.live_chunks += first;
        }
        return Status::Ok();
      }));

  // Sweep the store.
  VCSNAP_ASSIGN_OR_RETURN(std::vector<ContainerInfo> containers,
                          store->ListContainers());
  for (const ContainerInfo& c : containers) {
    VCSNAP_RETURN_IF_ERROR(marks.ForEachUnmarkedLive(c.id, [&](uint64_t cid) {
      result.leaked_chunks++;
      return store->Delete(ChunkRef{c.id, cid});
    }));
  }
  VCSNAP_RETURN_IF_ERROR(store->Flush());

  // Unreachable metadata: left by forgets that crashed, or by backups that
  // died before their catalog commit.
  for (const auto& [dir, keep] :
       {std::pair<std::string, const std::set<std::string>*>{"snap", &snaps},
        {"summary", &snaps},
        {"dropped", &snaps},
        {"recipes", &packs}}) {
    VCSNAP_ASSIGN_OR_RETURN(uint64_t n,
                            RemoveUnreachable(backend, vm, dir, *keep));
    result.orphan_objects += n;
  }
  // Fingerprint runs of backups that crashed (pds/fp_run.h).
  VCSNAP_ASSIGN_OR_RETURN(uint64_t runs,
                          DeleteUncommittedRuns(backend, vm, catalog.next_id));
  result.orphan_objects += runs;
  // A damaged state is replaced below: that is part of the repair.
  std::string note;
  VCSNAP_ASSIGN_OR_RETURN(GcState state,
                          LoadGcStateOrFresh(backend, vm, &note));
  result.approx_deletes_before = state.approx_deletes;
  state = GcState{};
  state.last_repair_unix = static_cast<uint64_t>(std::time(nullptr));
  state.last_repair_leaked = result.leaked_chunks;
  VCSNAP_RETURN_IF_ERROR(SaveGcState(backend, vm, state));
  result.seconds = Since(start);
  return result;
}

Result<CompactResult> RunCompact(Repository& repo, const std::string& vm,
                                 double threshold) {
  const auto start = std::chrono::steady_clock::now();
  VCSNAP_RETURN_IF_ERROR(ValidateVmName(vm));
  VCSNAP_ASSIGN_OR_RETURN(std::unique_ptr<Lease> lease,
                          Lease::Acquire(&repo.backend(), vm, "compact"));
  VCSNAP_ASSIGN_OR_RETURN(std::unique_ptr<VmStore> store,
                          VmStore::OpenIn(repo, vm));
  VCSNAP_ASSIGN_OR_RETURN(CompactionStats stats,
                          Compact(store.get(), threshold));
  CompactResult r;
  for (const MetadataRepair& m : store->TakeRepairs()) {
    r.notes.push_back(m.Describe());
  }
  r.vm = vm;
  r.containers = stats.containers_compacted;
  r.bytes_before = stats.bytes_before;
  r.bytes_after = stats.bytes_after;
  r.seconds = Since(start);
  return r;
}

}  // namespace vcsnap
