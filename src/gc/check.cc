#include "gc/check.h"

#include <algorithm>
#include <chrono>
#include <future>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <tuple>
#include <unordered_map>

#include "chunk/segment.h"
#include "format/tenant.h"
#include "gc/check_data.h"
#include "gc/check_meta.h"
#include "recipe/catalog.h"
#include "recipe/dropped.h"
#include "recipe/names.h"
#include "recipe/recipe_walk.h"
#include "recipe/snapshot_recipe.h"
#include "recipe/summary.h"
#include "store/container_format.h"
#include "store/pds_store.h"
#include "store/ref_states.h"
#include "store/vm_store.h"
#include "util/sysinfo.h"

namespace vcsnap {
namespace {

// Checks one VM: CheckStructure, then (possibly on another thread, while the
// next VM's structure is checked) ReadData. Counts into its own result.
class VmChecker {
 public:
  // `keep_uses`: record each distinct reference's first use, for ReadData.
  VmChecker(Repository& repo, const std::string& vm, PdsStore& pds,
            PdsVerdicts* verdicts, bool keep_uses)
      : repo_(repo),
        backend_(repo.backend()),
        vm_(vm),
        pds_(pds),
        verdicts_(verdicts),
        keep_uses_(keep_uses) {
    result_.vms = 1;
  }

  // Checks catalog, recipes and references; collects the distinct ones.
  // `store_listing`: the objects under StorePrefix(vm), listed just before.
  Status CheckStructure(std::vector<ObjectInfo> store_listing);
  // Re-hashes the distinct references. REQUIRES: CheckStructure() was OK.
  void ReadData(unsigned threads, bool show_progress) {
    if (store_ == nullptr) return;  // no catalog: nothing to read
    uint64_t total = 0;
    for (const VmChunkUse& u : vm_uses_) total += u.length;
    for (const ChunkUse& u : pds_uses_) total += u.entry.length;
    Progress progress("check " + vm_, total,
                      show_progress && StderrIsTerminal());
    CheckData(vm_, *store_, pds_, vm_uses_, pds_uses_, threads, verdicts_,
              &result_, &progress);
  }
  CheckResult& result() { return result_; }
  const std::string& vm() const { return vm_; }

 private:
  void Problem(const std::string& where, const Status& s) {
    result_.problems.push_back(where + ": " + s.message());
  }
  std::string Where(uint32_t snap, uint64_t segment = UINT64_MAX) const {
    return UseWhere(vm_, snap, segment);
  }
  Status CheckPdsRef(const RecipeEntry& e);
  void CheckDeletionMetadata(uint32_t snapshot);
  // Checks one non-zero entry of the recipe (snapshot, segment): each
  // distinct reference is checked, and its first use recorded, once; a bad
  // reference is reported at every use.
  void AddEntry(const RecipeEntry& e, uint32_t snapshot, uint64_t segment);
  void AddVmEntry(const RecipeEntry& e, uint32_t snapshot, uint64_t segment);
  void AddPdsEntry(const RecipeEntry& e, uint32_t snapshot, uint64_t segment);

  Repository& repo_;
  Backend& backend_;
  const std::string vm_;
  PdsStore& pds_;
  PdsVerdicts* verdicts_;
  const bool keep_uses_;
  CheckResult result_;
  std::unique_ptr<VmStore> store_;
  std::unique_ptr<RefStates> refs_;        // of store_
  std::vector<ObjectInfo> store_listing_;  // see CheckStructure
  // Memory is what limits the size of VM a check can take, so a good VM
  // reference costs one bit while the structure is walked (a mark in refs_)
  // plus its first use (56 bytes) only when the data is read. A VM of 1 TiB
  // has ~2.7e8 of them.
  std::unordered_map<uint64_t, size_t> vm_bad_;  // vm_ref -> index in bad_
  VmChunkUses vm_uses_;  // distinct, with keep_uses_; sorted by reference
  uint64_t vm_distinct_ = 0;
  std::vector<ChunkUse> pds_uses_;  // distinct
  // Distinct PDS references seen -> index of their error in bad_, or -1.
  std::map<PdsKey, int32_t> pds_seen_;
  std::vector<Status> bad_;  // what was wrong with the bad references
};

void VmChecker::AddEntry(const RecipeEntry& e, uint32_t snapshot,
                         uint64_t segment) {
  if (e.kind == ChunkKind::kVm) {
    AddVmEntry(e, snapshot, segment);
  } else {
    AddPdsEntry(e, snapshot, segment);
  }
}

void VmChecker::AddVmEntry(const RecipeEntry& e, uint32_t snapshot,
                           uint64_t segment) {
  auto bad = vm_bad_.find(e.vm_ref);
  if (bad == vm_bad_.end()) {
    Result<ChunkRef> ref = ChunkRef::FromRaw(e.vm_ref);
    bool first = false;
    Result<RefState> state =
        ref.ok() ? refs_->Mark(*ref, &first) : ref.status();
    if (state.ok() && *state == RefState::kLive) {
      if (!first) return;
    } else {
      Status error = state.status();
      if (state.ok() && *state == RefState::kDeleted) {
        error =
            Status::Corruption("chunk " + ref->ToString() +
                               " is logged for deletion but still referenced");
      } else if (state.ok()) {
        error = Status::NotFound("chunk " + ref->ToString() +
                                 " is not in the store");
      }
      bad = vm_bad_.emplace(e.vm_ref, bad_.size()).first;
      bad_.push_back(std::move(error));
    }
    vm_distinct_++;
    if (keep_uses_) {
      vm_uses_.push_back(
          VmChunkUse{e.vm_ref, e.length, snapshot, segment, e.fp});
    }
    if (bad == vm_bad_.end()) return;
  }
  Problem(Where(snapshot, segment), bad_[bad->second]);
}

void VmChecker::AddPdsEntry(const RecipeEntry& e, uint32_t snapshot,
                            uint64_t segment) {
  auto [it, fresh] = pds_seen_.try_emplace(PdsKeyOf(e), -1);
  if (fresh) {
    pds_uses_.push_back(ChunkUse{e, snapshot, segment});
    Status ok = CheckPdsRef(e);
    if (ok.ok()) return;
    it->second = static_cast<int32_t>(bad_.size());
    bad_.push_back(std::move(ok));
  }
  if (it->second >= 0) Problem(Where(snapshot, segment), bad_[it->second]);
}

Status VmChecker::CheckPdsRef(const RecipeEntry& e) {
  Result<PdsGenerationInfo> g = pds_.GetGenerationInfo(e.pds_generation);
  if (!g.ok()) return g.status();
  if (e.pds_offset + e.pds_size > g->end_offset) {
    return Status::Corruption("PDS reference past the end of generation " +
                              std::to_string(e.pds_generation));
  }
  return Status::Ok();
}

// The summary (forget needs it) and the dropped list (forget falls back to
// the recipes without it) of a snapshot decode.
void VmChecker::CheckDeletionMetadata(uint32_t id) {
  Status s = WithSummary(backend_, vm_, id, [](const BloomView&) {});
  if (!s.ok()) Problem(Where(id), s);
  Result<DroppedList> list = LoadDropped(backend_, vm_, id);
  if (!list.ok() && !list.status().IsNotFound()) {
    Problem(Where(id), list.status());
  }
}

Status VmChecker::CheckStructure(std::vector<ObjectInfo> store_listing) {
  store_listing_ = std::move(store_listing);
  Result<Catalog> catalog = LoadCatalog(backend_, vm_);
  if (!catalog.ok()) {
    // LoadCatalog's messages name the VM already.
    const std::string where = "VM " + vm_;
    const std::string& m = catalog.status().message();
    result_.problems.push_back(m.starts_with(where + ": ") ? m
                                                           : where + ": " + m);
    return Status::Ok();
  }
  VCSNAP_ASSIGN_OR_RETURN(store_, VmStore::OpenIn(repo_, vm_));
  // Damaged container metadata, once per object with its repair (the
  // references into such a container are named below as well).
  Result<std::vector<MetadataRepair>> damage =
      store_->RepairMetadata(true, &store_listing_);
  if (!damage.ok()) {
    Problem("VM " + vm_, damage.status());
  } else {
    for (const MetadataRepair& m : *damage) {
      // A running backup's new container has blocks and no index until its
      // first flush: only recover, under the lease, can tell a lost index.
      if (m.kind == MetadataRepair::Kind::kUnindexedData) continue;
      result_.problems.push_back("VM " + vm_ + " store " + m.Describe() +
                                 ": `vcsnap recover --vm " + vm_ + "` does it");
    }
  }
  refs_ = std::make_unique<RefStates>(store_.get());
  RecipeReader reader(&backend_, vm_, repo_.config().segment_size,
                      store_->keys(), kWalkCachedPacks);
  std::vector<RecipeUse> uses;
  // Image and segment size of each snapshot, by ID.
  std::map<uint32_t, std::pair<uint64_t, uint32_t>> geometry;
  for (const CatalogEntry& ce : catalog->entries) {
    result_.snapshots++;
    Result<SnapshotRecipe> s = LoadSnapshotRecipe(backend_, vm_, ce.id);
    if (!s.ok()) {
      Problem(Where(ce.id), s.status());
      continue;
    }
    geometry[ce.id] = {s->image_size, s->segment_size};
    AddRecipeUses(*s, &uses);
    CheckDeletionMetadata(ce.id);
  }
  // Each distinct recipe once, pack by pack; damage is named by its first
  // use.
  VCSNAP_RETURN_IF_ERROR(WalkRecipes(
      reader, std::move(uses),
      [&](const RecipeUse& use, Result<std::vector<RecipeEntry>> entries) {
        const uint32_t id = use.snapshot;
        const uint64_t i = use.segment;
        result_.recipes++;
        if (!entries.ok()) {
          Problem(Where(id, i), entries.status());
          return Status::Ok();
        }
        uint64_t total = 0;
        for (const RecipeEntry& e : *entries) {
          total += e.length;
          if (e.kind != ChunkKind::kZero) AddEntry(e, id, i);
        }
        const auto [image_size, segment_size] = geometry[id];
        if (total != SegmentAt(image_size, segment_size, i).length) {
          Problem(Where(id, i),
                  Status::Corruption("recipe covers " + std::to_string(total) +
                                     " bytes of the segment"));
        }
        return Status::Ok();
      }));
  CheckVmMetadata(backend_, vm_, &result_);
  // CheckData streams the store in reference order.
  std::sort(vm_uses_.begin(), vm_uses_.end(),
            [](const VmChunkUse& a, const VmChunkUse& b) {
              return a.vm_ref < b.vm_ref;
            });
  vm_bad_ = {};
  pds_seen_ = {};
  refs_.reset();
  result_.references += vm_distinct_ + pds_uses_.size();
  return Status::Ok();
}

// What a change to the VM while it is checked would move: its catalog (a
// forget commits it before it deletes anything, and IDs are never reused),
// and the set of store generations present (compaction adds one before it
// deletes the old). Equal stamps before and after a check mean that no
// problem it found can come from a concurrent change. `listing`, when
// given, receives the store's listing (the check reuses it).
Result<std::string> VmStamp(Backend& backend, const std::string& vm,
                            std::vector<ObjectInfo>* listing = nullptr) {
  std::string stamp;
  Result<Bytes> catalog = backend.Get(CatalogName(vm));
  if (catalog.ok()) {
    stamp.assign(catalog->begin(), catalog->end());
  } else if (!catalog.status().IsNotFound()) {
    return catalog.status();
  }
  const std::string prefix = StorePrefix(vm);
  std::vector<ObjectInfo> own;
  std::vector<ObjectInfo>& objects = listing != nullptr ? *listing : own;
  VCSNAP_ASSIGN_OR_RETURN(objects, backend.List(prefix));
  std::set<std::string_view> generations;  // "c0001/g00000002"
  for (const ObjectInfo& o : objects) {
    std::string_view rest = std::string_view(o.name).substr(prefix.size());
    const size_t dir = rest.find('/');
    if (dir == std::string_view::npos) continue;
    const size_t end = rest.find('/', dir + 1);
    if (end != std::string_view::npos) generations.insert(rest.substr(0, end));
  }
  for (std::string_view g : generations) {
    stamp += '\n';
    stamp += g;
  }
  return stamp;
}

void Merge(CheckResult from, CheckResult* into) {
  into->vms += from.vms;
  into->snapshots += from.snapshots;
  into->recipes += from.recipes;
  into->references += from.references;
  into->bytes_read += from.bytes_read;
  for (std::string& p : from.problems) into->problems.push_back(std::move(p));
  for (std::string& v : from.unsettled_vms) {
    into->unsettled_vms.push_back(std::move(v));
  }
}

}  // namespace

Result<CheckResult> RunCheck(Repository& repo, const CheckOptions& options) {
  const auto start = std::chrono::steady_clock::now();
  CheckResult result;
  AllVms all;
  if (!options.vm.empty()) {
    VCSNAP_RETURN_IF_ERROR(ValidateVmName(options.vm));
    Result<ObjectInfo> marker = repo.backend().Stat(VmMarkerName(options.vm));
    if (!marker.ok() && !marker.status().IsNotFound()) return marker.status();
    if (!marker.ok()) {
      VCSNAP_ASSIGN_OR_RETURN(std::vector<ObjectInfo> objects,
                              repo.backend().List(VmPrefix(options.vm)));
      if (objects.empty()) {
        return Status::NotFound("no VM named '" + options.vm + "'");
      }
      all.unmarked = {options.vm};
    }
    all.vms = {options.vm};
  } else {
    VCSNAP_ASSIGN_OR_RETURN(all, ListAllVms(repo.backend()));
  }
  for (const std::string& vm : all.unmarked) {
    // A first backup creates the VM's marker before any other object, so a
    // marker there now was made during the listing (which is not one
    // atomic read): a VM starting, not a lost marker.
    Result<ObjectInfo> now = repo.backend().Stat(VmMarkerName(vm));
    if (now.ok()) continue;
    if (!now.status().IsNotFound()) return now.status();
    result.problems.push_back(
        "VM " + vm + ": its marker " + VmMarkerName(vm) +
        " is missing, so `snapshots`, `gc`, `compact` and `pds update` "
        "skip the VM; `vcsnap recover --vm " +
        vm + "` restores it");
  }
  const std::vector<std::string>& vms = all.vms;
  PdsStore pds(&repo.backend(), repo.config().keys.get());
  if (options.vm.empty()) {
    VCSNAP_RETURN_IF_ERROR(
        CheckPublishedPds(repo.backend(), pds, options.read_data, &result));
  }
  // The roots, in every check (a few small objects; a VM checked alone,
  // night after night, is no more readable than they are): both copies of
  // the config, the key slots and the tenant keys (a tenant key that opens
  // nowhere makes its VMs unreadable).
  VCSNAP_ASSIGN_OR_RETURN(std::vector<RootProblem> roots,
                          repo.InspectRoots(/*repair=*/false));
  for (const RootProblem& p : roots) {
    result.problems.push_back(
        "repository root " + p.name + ": " + p.Describe() +
        (p.repairable ? "; `vcsnap recover --roots` repairs it"
         : p.name.starts_with(kTenantKeyPrefix)
             ? "; the tenant's VMs cannot be read"
             : ""));
  }
  PdsVerdicts verdicts;  // a PDS chunk is read once per check
  // VM k's data is read (on options.threads threads) while VM k+1's
  // structure is checked; results are merged in VM order.
  std::unique_ptr<VmChecker> reading;
  std::string reading_stamp;  // the VM's stamp before its check
  std::future<void> pending;
  // A VM whose check found problems is checked again, alone, while the VM
  // changed under its check (a backup, forget, gc or compaction beside it):
  // only problems found on a VM that held still are reported.
  constexpr int kAttempts = 3;
  auto recheck = [&](const std::string& vm) -> Status {
    for (int attempt = 2; attempt <= kAttempts; ++attempt) {
      std::vector<ObjectInfo> listing;
      VCSNAP_ASSIGN_OR_RETURN(std::string before,
                              VmStamp(repo.backend(), vm, &listing));
      PdsVerdicts fresh;  // a PDS verdict may come from the change too
      reading =
          std::make_unique<VmChecker>(repo, vm, pds, &fresh, options.read_data);
      VCSNAP_RETURN_IF_ERROR(reading->CheckStructure(std::move(listing)));
      if (options.read_data) {
        reading->ReadData(options.threads, options.progress);
      }
      std::vector<std::string>& problems = reading->result().problems;
      if (problems.empty()) return Status::Ok();
      VCSNAP_ASSIGN_OR_RETURN(std::string after, VmStamp(repo.backend(), vm));
      if (after == before) return Status::Ok();
      if (attempt == kAttempts) {
        reading->result().unsettled_vms.push_back(vm);
        problems.push_back("VM " + vm + ": changed during each of " +
                           std::to_string(kAttempts) +
                           " checks, so the problems above may come from "
                           "those changes; check it again when it is idle");
      }
    }
    return Status::Ok();
  };
  auto finish_reading = [&]() -> Status {
    if (reading == nullptr) return Status::Ok();
    if (pending.valid()) pending.get();
    if (!reading->result().problems.empty()) {
      const std::string vm = reading->vm();
      VCSNAP_ASSIGN_OR_RETURN(std::string after, VmStamp(repo.backend(), vm));
      if (after != reading_stamp) VCSNAP_RETURN_IF_ERROR(recheck(vm));
    }
    Merge(std::move(reading->result()), &result);
    reading.reset();
    return Status::Ok();
  };
  for (const std::string& vm : vms) {
    // A VM whose keys cannot be had is reported, not checked.
    Result<VmKeys> keys = repo.KeysOf(vm);
    if (!keys.ok() && keys.status().code() != StatusCode::kCorruption) {
      return keys.status();
    }
    if (!keys.ok() || keys->shredded) {
      VCSNAP_RETURN_IF_ERROR(finish_reading());
      result.problems.push_back(
          !keys.ok() ? "VM " + vm + ": " + keys.status().message()
                     : "VM " + vm + ": its tenant " + keys->tenant +
                           " was shredded but objects of the VM are left; "
                           "`vcsnap tenant shred --tenant " +
                           keys->tenant + " --yes` removes them");
      continue;
    }
    std::vector<ObjectInfo> listing;
    VCSNAP_ASSIGN_OR_RETURN(std::string stamp,
                            VmStamp(repo.backend(), vm, &listing));
    auto checker = std::make_unique<VmChecker>(repo, vm, pds, &verdicts,
                                               options.read_data);
    Status s = checker->CheckStructure(std::move(listing));
    VCSNAP_RETURN_IF_ERROR(finish_reading());
    VCSNAP_RETURN_IF_ERROR(s);
    if (options.read_data) {
      pending = std::async(std::launch::async,
                           [c = checker.get(), t = options.threads,
                            p = options.progress] { c->ReadData(t, p); });
    }
    reading = std::move(checker);
    reading_stamp = std::move(stamp);
  }
  VCSNAP_RETURN_IF_ERROR(finish_reading());
  result.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();
  return result;
}

}  // namespace vcsnap
