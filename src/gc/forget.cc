#include "gc/forget.h"

#include <algorithm>
#include <chrono>
#include <ctime>
#include <map>
#include <set>

#include "gc/gc_state.h"
#include "recipe/dropped.h"
#include "recipe/lease.h"
#include "recipe/names.h"
#include "recipe/pin.h"
#include "recipe/recipe_pack.h"
#include "recipe/recipe_walk.h"
#include "recipe/snapshot_recipe.h"
#include "recipe/summary.h"
#include "store/vm_store.h"

namespace vcsnap {
namespace {

using RecipeKey = std::tuple<uint32_t, uint32_t, uint32_t>;  // snap, pack, off
using PackKey = std::pair<uint32_t, uint32_t>;

RecipeKey KeyOf(const SegmentRecipeRef& r) {
  return {r.snapshot_id, r.pack, r.offset};
}

// Keeps the newest snapshot of each of the `n` most recent periods.
void KeepPerPeriod(const Catalog& c, uint32_t n, int64_t period_seconds,
                   std::set<uint32_t>* keep) {
  std::set<int64_t> periods;
  for (auto it = c.entries.rbegin(); it != c.entries.rend(); ++it) {
    int64_t p = static_cast<int64_t>(it->time_unix) / period_seconds;
    if (periods.count(p)) continue;
    if (periods.size() == n) break;
    periods.insert(p);
    keep->insert(it->id);
  }
}

// Appends to *candidates the dropped list of the snapshot after `id` in the
// catalog, if that list is relative to `id`; false otherwise. (Live
// snapshots form one chain in ID order, and forget relinks lists across
// the snapshots it removes, so the next entry is the one that matters.) A
// list that cannot be read, or that is relative to another snapshot, is
// reported in *notes and not used: the caller then reads the snapshot's
// recipes -- slower, never wrong.
bool AddDroppedList(Backend& backend, const std::string& vm,
                    const Catalog& catalog, uint32_t id,
                    std::vector<uint64_t>* candidates,
                    std::vector<std::string>* notes) {
  auto next = std::find_if(catalog.entries.begin(), catalog.entries.end(),
                           [&](const CatalogEntry& e) { return e.id > id; });
  if (next == catalog.entries.end()) return false;
  Result<DroppedList> list = LoadDropped(backend, vm, next->id);
  if (!list.ok() || list->parent != id) {
    if (list.ok() || !list.status().IsNotFound()) {
      notes->push_back(
          (list.ok() ? DroppedName(vm, next->id) + ": relative to snapshot " +
                           std::to_string(list->parent) + ", not " +
                           std::to_string(id)
                     : list.status().ToString()) +
          "; read the recipes of snapshot " + std::to_string(id) + " instead");
    }
    return false;
  }
  candidates->insert(candidates->end(), list->refs.begin(), list->refs.end());
  return true;
}

// For each live snapshot right after a run of forgotten ones f1..fk (IDs
// ascending), replaces its list (relative to fk) by the union of the lists
// of f1..fk and its own, relative to f1's base: every reference of the base
// that the live snapshot lacks is missing from some step of the chain, so it
// is in that step's list. Without it, forgetting the snapshot before the run
// would read recipes. A broken chain (a list missing, unreadable or relative
// to another snapshot) removes the live snapshot's list instead: relative to
// a forgotten snapshot, it can never be used.
Status RelinkDroppedLists(Backend& backend, const std::string& vm,
                          const Catalog& catalog,
                          const std::set<uint32_t>& doomed,
                          uint64_t* relinked) {
  const std::vector<CatalogEntry>& es = catalog.entries;
  for (size_t i = 1; i < es.size(); ++i) {
    if (doomed.count(es[i].id) || !doomed.count(es[i - 1].id)) continue;
    size_t j = i - 1;  // first of the forgotten run
    while (j > 0 && doomed.count(es[j - 1].id)) --j;
    Result<DroppedList> merged = LoadDropped(backend, vm, es[i].id);
    bool ok = merged.ok() && merged->parent == es[i - 1].id;
    for (size_t k = i; ok && k-- > j;) {
      Result<DroppedList> step = LoadDropped(backend, vm, es[k].id);
      ok = step.ok() && (k == j || step->parent == es[k - 1].id);
      if (!ok) break;
      std::vector<uint64_t> both;
      std::set_union(merged->refs.begin(), merged->refs.end(),
                     step->refs.begin(), step->refs.end(),
                     std::back_inserter(both));
      merged->refs = std::move(both);
      merged->parent = step->parent;
    }
    if (ok) {
      VCSNAP_RETURN_IF_ERROR(SaveDropped(backend, vm, es[i].id, *merged));
      ++*relinked;
      continue;
    }
    Status s = backend.Delete(DroppedName(vm, es[i].id));
    if (!s.ok() && !s.IsNotFound()) return s;
  }
  return Status::Ok();
}

}  // namespace

std::vector<uint32_t> SelectByRetention(const Catalog& c,
                                        const RetentionPolicy& policy) {
  std::set<uint32_t> keep;
  for (size_t i = 0; i < c.entries.size(); ++i) {
    if (c.entries.size() - i <= policy.keep_last) keep.insert(c.entries[i].id);
    if (c.entries[i].flags & 1) keep.insert(c.entries[i].id);
  }
  if (policy.keep_daily) KeepPerPeriod(c, policy.keep_daily, 86400, &keep);
  // Weeks start on Monday: the epoch was a Thursday.
  if (policy.keep_weekly) {
    Catalog shifted = c;
    for (CatalogEntry& e : shifted.entries) e.time_unix += 3 * 86400;
    KeepPerPeriod(shifted, policy.keep_weekly, 7 * 86400, &keep);
  }
  std::vector<uint32_t> out;
  for (const CatalogEntry& e : c.entries) {
    if (!keep.count(e.id)) out.push_back(e.id);
  }
  return out;
}

Result<ForgetResult> RunForget(Repository& repo, const ForgetOptions& o) {
  const auto start = std::chrono::steady_clock::now();
  Backend& backend = repo.backend();
  VCSNAP_RETURN_IF_ERROR(ValidateVmName(o.vm));
  VCSNAP_ASSIGN_OR_RETURN(std::unique_ptr<Lease> lease,
                          Lease::Acquire(&backend, o.vm, "forget"));
  VCSNAP_ASSIGN_OR_RETURN(Catalog catalog, LoadCatalog(backend, o.vm));
  if (catalog.entries.empty()) {
    return Status::NotFound("VM " + o.vm + " has no snapshots");
  }
  ForgetResult result;
  // Pinned snapshots (being served) are kept like protected ones.
  VCSNAP_ASSIGN_OR_RETURN(std::vector<PinRecord> pins,
                          LivePins(backend, o.vm, !o.dry_run));
  std::map<uint32_t, std::string> pinned;
  for (const PinRecord& p : pins) {
    pinned[p.snapshot] = p.readable ? "by " + p.holder.Describe()
                                    : "(damaged pin record " + p.object + ")";
  }
  std::set<uint32_t> doomed;
  for (const std::string& text : o.snapshots) {
    VCSNAP_ASSIGN_OR_RETURN(uint32_t id,
                            ResolveSnapshotId(catalog, o.vm, text));
    if (catalog.Find(id)->flags & 1) {
      return Status::InvalidArgument("VM " + o.vm + " snapshot " +
                                     std::to_string(id) +
                                     " is protected; unprotect it first");
    }
    if (auto it = pinned.find(id); it != pinned.end()) {
      return Status::Busy("VM " + o.vm + " snapshot " + std::to_string(id) +
                          " is pinned " + it->second +
                          "; stop that process first (a pin left by a dead "
                          "process elsewhere: 'vcsnap unlock --vm " +
                          o.vm + " --pins --force')");
    }
    doomed.insert(id);
  }
  if (!o.retention.empty()) {
    for (uint32_t id : SelectByRetention(catalog, o.retention)) {
      if (pinned.count(id)) {
        result.kept_pinned.push_back(id);
        continue;
      }
      doomed.insert(id);
    }
  }
  result.forgotten.assign(doomed.begin(), doomed.end());
  if (o.dry_run || doomed.empty()) return result;

  // 1. What stays alive, and what only the doomed snapshots use.
  Catalog remaining = catalog;
  std::erase_if(remaining.entries,
                [&](const CatalogEntry& e) { return doomed.count(e.id) > 0; });
  std::set<RecipeKey> live_recipes;
  std::set<PackKey> live_packs;
  for (const CatalogEntry& e : remaining.entries) {
    VCSNAP_ASSIGN_OR_RETURN(SnapshotRecipe s,
                            LoadSnapshotRecipe(backend, o.vm, e.id));
    for (const SegmentSlot& slot : s.segments) {
      if (slot.zero) continue;
      live_recipes.insert(KeyOf(slot.ref));
      live_packs.insert({slot.ref.snapshot_id, slot.ref.pack});
    }
  }

  // 2. Candidate chunks. A doomed snapshot whose child recorded what it
  // dropped (recipe/dropped.h) contributes that list: a reference of the
  // snapshot that no live snapshot keeps is not in the child, so it is in
  // the list -- or, when the child is doomed too, among the child's own
  // candidates. Any other doomed snapshot contributes every reference of its
  // recipes that no live snapshot uses.
  std::vector<RecipeUse> unlisted;  // recipes to read, walked in pack order
  std::set<PackKey> doomed_packs;
  std::vector<uint64_t> candidates;
  for (uint32_t id : doomed) {
    VCSNAP_ASSIGN_OR_RETURN(SnapshotRecipe s,
                            LoadSnapshotRecipe(backend, o.vm, id));
    const bool listed =
        AddDroppedList(backend, o.vm, catalog, id, &candidates, &result.notes);
    if (listed) result.dropped_lists++;
    for (const SegmentSlot& slot : s.segments) {
      if (slot.zero || live_recipes.count(KeyOf(slot.ref))) continue;
      PackKey pack{slot.ref.snapshot_id, slot.ref.pack};
      if (!live_packs.count(pack)) doomed_packs.insert(pack);
      if (!listed) unlisted.push_back(RecipeUse{slot.ref, id, 0});
    }
  }
  VCSNAP_ASSIGN_OR_RETURN(RepoConfig vm_config, repo.ConfigFor(o.vm));
  RecipeReader reader(&backend, o.vm, repo.config().segment_size,
                      vm_config.keys.get(), kWalkCachedPacks);
  VCSNAP_RETURN_IF_ERROR(WalkRecipes(
      reader, std::move(unlisted),
      [&](const RecipeUse&, Result<std::vector<RecipeEntry>> entries) {
        if (!entries.ok()) return entries.status();
        result.candidate_recipes++;
        for (const RecipeEntry& en : *entries) {
          if (en.kind == ChunkKind::kVm) candidates.push_back(en.vm_ref);
        }
        return Status::Ok();
      }));
  std::sort(candidates.begin(), candidates.end());
  candidates.erase(std::unique(candidates.begin(), candidates.end()),
                   candidates.end());
  result.candidate_chunks = candidates.size();

  // 3. A candidate is dead only if no live snapshot's summary may hold it.
  // Each summary is tested in place, one at a time (memory: one summary),
  // which is the merged test without building the merged filter.
  std::vector<uint64_t> dead = std::move(candidates);
  FpEstimator fp;
  Bytes scratch;  // one buffer for all summaries
  auto test = [&](const BloomView& summary) {
    std::erase_if(dead, [&](uint64_t r) { return summary.MayContain(r); });
    fp.Add(summary);
  };
  for (const CatalogEntry& e : remaining.entries) {
    Status s = WithSummary(backend, o.vm, e.id, test, &scratch);
    if (s.IsUnreadable()) {
      // A damaged summary may hold anything: keep every candidate (a leak
      // that gc repairs), never guess.
      test(BloomView::ContainsEverything());
      result.notes.push_back("snapshot " + std::to_string(e.id) +
                             ": its summary is unreadable (" + s.message() +
                             "), so no chunk was deleted; `vcsnap gc --vm " +
                             o.vm + "` reclaims them");
      continue;
    }
    VCSNAP_RETURN_IF_ERROR(s);
  }
  result.fp_rate = fp.Rate();
  result.chunks_kept_by_summary = result.candidate_chunks - dead.size();

  // 4. The commit point: the snapshots stop existing.
  VCSNAP_RETURN_IF_ERROR(lease->Verify());
  VCSNAP_RETURN_IF_ERROR(CommitCatalog(backend, o.vm, remaining));

  // 5. Only now: log dead chunks, remove the snapshots' own objects.
  VCSNAP_ASSIGN_OR_RETURN(std::unique_ptr<VmStore> store,
                          VmStore::Open(&backend, o.vm, vm_config));
  for (uint64_t raw : dead) {
    VCSNAP_ASSIGN_OR_RETURN(ChunkRef ref, ChunkRef::FromRaw(raw));
    Status s = store->Delete(ref);
    if (s.IsNotFound()) continue;  // never flushed: nothing to delete
    VCSNAP_RETURN_IF_ERROR(s);
    result.chunks_deleted++;
  }
  VCSNAP_RETURN_IF_ERROR(store->Flush());
  for (const MetadataRepair& m : store->TakeRepairs()) {
    result.notes.push_back(m.Describe() + "; `vcsnap gc --vm " + o.vm +
                           "` logs them again");
  }
  VCSNAP_RETURN_IF_ERROR(RelinkDroppedLists(backend, o.vm, catalog, doomed,
                                            &result.relinked_lists));
  std::vector<std::string> garbage;
  for (uint32_t id : doomed) {
    garbage.push_back(SnapshotRecipeName(o.vm, id));
    garbage.push_back(SummaryName(o.vm, id));
    garbage.push_back(DroppedName(o.vm, id));
  }
  for (const PackKey& p : doomed_packs) {
    garbage.push_back(RecipePackName(o.vm, p.first, p.second));
  }
  for (const std::string& name : garbage) {
    Status s = backend.Delete(name);
    if (s.ok())
      result.objects_removed++;
    else if (!s.IsNotFound())
      return s;
  }
  std::string note;
  VCSNAP_ASSIGN_OR_RETURN(GcState state,
                          LoadGcStateOrFresh(backend, o.vm, &note));
  if (!note.empty()) result.notes.push_back(std::move(note));
  state.approx_deletes += doomed.size();
  state.last_fp_rate = result.fp_rate;
  state.chunks_deleted += result.chunks_deleted;
  VCSNAP_RETURN_IF_ERROR(SaveGcState(backend, o.vm, state));
  result.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();
  return result;
}

Result<uint32_t> SetProtected(Repository& repo, const std::string& vm,
                              const std::string& snapshot, bool on) {
  Backend& backend = repo.backend();
  VCSNAP_RETURN_IF_ERROR(ValidateVmName(vm));
  VCSNAP_ASSIGN_OR_RETURN(std::unique_ptr<Lease> lease,
                          Lease::Acquire(&backend, vm, "protect"));
  VCSNAP_ASSIGN_OR_RETURN(Catalog catalog, LoadCatalog(backend, vm));
  VCSNAP_ASSIGN_OR_RETURN(uint32_t id,
                          ResolveSnapshotId(catalog, vm, snapshot));
  for (CatalogEntry& e : catalog.entries) {
    if (e.id == id) e.flags = on ? (e.flags | 1u) : (e.flags & ~1u);
  }
  VCSNAP_RETURN_IF_ERROR(lease->Verify());
  VCSNAP_RETURN_IF_ERROR(CommitCatalog(backend, vm, catalog));
  return id;
}

}  // namespace vcsnap
