#include "analysis/isolation.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <set>
#include <tuple>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include "analysis/availability.h"
#include "recipe/catalog.h"
#include "recipe/names.h"
#include "recipe/recipe_pack.h"
#include "recipe/recipe_walk.h"
#include "recipe/snapshot_recipe.h"
#include "store/container_format.h"
#include "store/pds_store.h"
#include "store/ref_states.h"
#include "store/refs.h"
#include "store/vm_store.h"

namespace vcsnap {
namespace {

constexpr int kAttempts = 3;

// A non-zero chunk as the VO simulation sees it: the first 64 bits of its
// fingerprint (a collision among a billion chunks has odds of ~3 %, and
// would merge two chunks of an estimate) and its length.
struct VoChunk {
  uint64_t fp = 0;
  uint32_t length = 0;
};

// The chunks of the distinct recipes first used by one snapshot.
struct SnapshotChunks {
  uint64_t time = 0;
  uint32_t vm = 0;  // index into the report's VMs
  uint32_t snapshot = 0;
  std::vector<VoChunk> chunks;
};

// What reading one VM yields.
struct VmScan {
  VmDependencies deps;
  std::vector<uint64_t> pds_blocks;  // generation << 32 | block; distinct
  std::vector<SnapshotChunks> snapshots;
  uint64_t raw_bytes = 0;     // distinct VM-store chunks referenced
  uint64_t stored_bytes = 0;  // groups holding them
  std::vector<std::string> vo_meta_names;  // with placement groups only
};

// Distinct placement groups of the objects `names` (the backend supports
// them: AnalyzeIsolation probed it).
Result<uint64_t> PlacementGroups(Backend& backend,
                                 const std::vector<std::string>& names) {
  std::unordered_set<uint64_t> pgs;
  for (const std::string& name : names) {
    VCSNAP_ASSIGN_OR_RETURN(uint64_t pg, backend.PlacementGroupOf(name));
    pgs.insert(pg);
  }
  return pgs.size();
}

// Where the simulated VO log's block `block` would be stored.
std::string VoBlockName(uint32_t block) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "vo/b%08x", block);
  return buf;
}

uint64_t FpPrefix(const std::array<uint8_t, 32>& fp) {
  uint64_t v;
  std::memcpy(&v, fp.data(), sizeof(v));
  return v;
}

// Reads one VM: its catalog, recipes and container indexes.
class VmScanner {
 public:
  // `pgs`: also count the placement groups of the objects (the backend
  // supports them).
  VmScanner(Repository& repo, PdsStore& pds, const std::string& vm,
            uint32_t vm_index, bool pgs)
      : repo_(repo), pds_(pds), vm_(vm), vm_index_(vm_index), pgs_(pgs) {}

  Result<VmScan> Scan();

 private:
  std::string Where(uint32_t snapshot, uint64_t segment) const {
    return "VM " + vm_ + " snapshot " + std::to_string(snapshot) + " segment " +
           std::to_string(segment);
  }
  Status LoadIndexes();
  Status AddVmChunk(const RecipeEntry& e, const RecipeUse& use);
  Status AddPdsChunk(const RecipeEntry& e, const RecipeUse& use);
  // Fills scan_.deps's placement-group counts and scan_.vo_meta_names.
  Status CountPlacementGroups(
      const Catalog& catalog,
      const std::set<std::pair<uint32_t, uint32_t>>& packs,
      const std::set<uint16_t>& containers);

  Repository& repo_;
  PdsStore& pds_;
  const std::string vm_;
  const uint32_t vm_index_;
  const bool pgs_;
  VmScan scan_;
  std::unique_ptr<VmStore> store_;
  std::unique_ptr<RefStates> refs_;
  // Container -> its current index entries (CID order); the groups used.
  std::map<uint16_t, std::vector<IndexEntry>> index_;
  std::map<uint16_t, uint32_t> generation_;
  std::set<std::pair<uint16_t, size_t>> groups_used_;
  std::unordered_set<uint64_t> vm_blocks_;  // container << 32 | block
  std::unordered_set<uint64_t> pds_blocks_;
  std::unordered_map<uint32_t, uint64_t> pds_block_size_;  // by generation
};

Status VmScanner::LoadIndexes() {
  VCSNAP_ASSIGN_OR_RETURN(std::vector<ContainerInfo> containers,
                          store_->ListContainers());
  for (const ContainerInfo& c : containers) {
    VCSNAP_ASSIGN_OR_RETURN(index_[c.id], store_->GroupIndex(c.id));
    generation_[c.id] = c.generation;
  }
  return Status::Ok();
}

Status VmScanner::AddVmChunk(const RecipeEntry& e, const RecipeUse& use) {
  Result<ChunkRef> ref = ChunkRef::FromRaw(e.vm_ref);
  if (!ref.ok()) {
    return ref.status().WithContext(Where(use.snapshot, use.segment));
  }
  auto missing = [&] {
    return Status::Corruption(Where(use.snapshot, use.segment) + ": chunk " +
                              ref->ToString() +
                              " is not in the store (run vcsnap check)");
  };
  auto it = index_.find(ref->container);
  if (it == index_.end()) return missing();
  const std::vector<IndexEntry>& entries = it->second;
  auto g = std::upper_bound(
      entries.begin(), entries.end(), ref->cid,
      [](uint64_t cid, const IndexEntry& x) { return cid < x.first_cid; });
  if (g == entries.begin() || ref->cid >= std::prev(g)->end_cid()) {
    return missing();
  }
  --g;
  bool first = false;
  VCSNAP_ASSIGN_OR_RETURN(RefState state, refs_->Mark(*ref, &first));
  if (state == RefState::kAbsent) return missing();
  if (!first) return Status::Ok();
  scan_.raw_bytes += e.length;
  size_t group = static_cast<size_t>(g - entries.begin());
  if (groups_used_.emplace(ref->container, group).second) {
    scan_.stored_bytes += g->length;
  }
  vm_blocks_.insert(uint64_t{ref->container} << 32 | g->block);
  return Status::Ok();
}

Status VmScanner::AddPdsChunk(const RecipeEntry& e, const RecipeUse& use) {
  auto size = pds_block_size_.find(e.pds_generation);
  if (size == pds_block_size_.end()) {
    Result<PdsGenerationInfo> info = pds_.GetGenerationInfo(e.pds_generation);
    if (!info.ok()) {
      return info.status().WithContext(Where(use.snapshot, use.segment));
    }
    size = pds_block_size_.emplace(e.pds_generation, info->block_size).first;
  }
  uint64_t block = e.pds_offset / size->second;
  if (block > UINT32_MAX) {
    return Status::Corruption(Where(use.snapshot, use.segment) +
                              ": PDS reference past any block");
  }
  pds_blocks_.insert(uint64_t{e.pds_generation} << 32 | block);
  return Status::Ok();
}

Result<VmScan> VmScanner::Scan() {
  Backend& backend = repo_.backend();
  scan_.deps.vm = vm_;
  Result<Catalog> catalog = LoadCatalog(backend, vm_);
  if (!catalog.ok() && catalog.status().IsNotFound()) return scan_;
  if (!catalog.ok()) return catalog.status();
  VCSNAP_ASSIGN_OR_RETURN(store_, VmStore::OpenIn(repo_, vm_));
  refs_ = std::make_unique<RefStates>(store_.get());
  VCSNAP_RETURN_IF_ERROR(LoadIndexes());
  std::vector<RecipeUse> uses;
  std::unordered_map<uint32_t, size_t> slot;  // snapshot ID -> scan_.snapshots
  for (const CatalogEntry& ce : catalog->entries) {
    VCSNAP_ASSIGN_OR_RETURN(SnapshotRecipe s,
                            LoadSnapshotRecipe(backend, vm_, ce.id));
    AddRecipeUses(s, &uses);
    slot[ce.id] = scan_.snapshots.size();
    scan_.snapshots.push_back(
        SnapshotChunks{ce.time_unix, vm_index_, ce.id, {}});
  }
  scan_.deps.snapshots = static_cast<uint32_t>(catalog->entries.size());
  std::set<std::pair<uint32_t, uint32_t>> packs;
  RecipeReader reader(&backend, vm_, repo_.config().segment_size,
                      store_->keys(), kWalkCachedPacks);
  Status walked = WalkRecipes(
      reader, std::move(uses),
      [&](const RecipeUse& use,
          Result<std::vector<RecipeEntry>> entries) -> Status {
        if (!entries.ok()) {
          return entries.status().WithContext(Where(use.snapshot, use.segment));
        }
        packs.emplace(use.ref.snapshot_id, use.ref.pack);
        std::vector<VoChunk>& vo =
            scan_.snapshots[slot.at(use.snapshot)].chunks;
        for (const RecipeEntry& e : *entries) {
          if (e.kind == ChunkKind::kZero) continue;
          vo.push_back(VoChunk{FpPrefix(e.fp), e.length});
          VCSNAP_RETURN_IF_ERROR(e.kind == ChunkKind::kVm
                                     ? AddVmChunk(e, use)
                                     : AddPdsChunk(e, use));
        }
        return Status::Ok();
      });
  if (!walked.ok()) return walked;
  std::set<uint16_t> containers;
  for (uint64_t key : vm_blocks_) containers.insert(uint16_t(key >> 32));
  uint64_t heads = 0;  // a compacted container's head names its generation
  for (uint16_t c : containers) heads += generation_[c] > 1 ? 1 : 0;
  scan_.deps.vm_blocks = vm_blocks_.size();
  scan_.deps.pds_blocks = pds_blocks_.size();
  scan_.deps.vo_meta_objects = 1 + catalog->entries.size() + packs.size();
  scan_.deps.meta_objects =
      scan_.deps.vo_meta_objects + containers.size() + heads;
  scan_.pds_blocks.assign(pds_blocks_.begin(), pds_blocks_.end());
  if (pgs_) {
    VCSNAP_RETURN_IF_ERROR(CountPlacementGroups(*catalog, packs, containers));
  }
  return std::move(scan_);
}

Status VmScanner::CountPlacementGroups(
    const Catalog& catalog,
    const std::set<std::pair<uint32_t, uint32_t>>& packs,
    const std::set<uint16_t>& containers) {
  std::vector<std::string>& meta = scan_.vo_meta_names;
  meta.push_back(CatalogName(vm_));
  for (const CatalogEntry& ce : catalog.entries) {
    meta.push_back(SnapshotRecipeName(vm_, ce.id));
  }
  for (const auto& [snapshot, pack] : packs) {
    meta.push_back(RecipePackName(vm_, snapshot, pack));
  }
  std::vector<std::string> vc = meta;
  for (uint16_t c : containers) {
    vc.push_back(IndexName(vm_, c, generation_[c]));
    if (generation_[c] > 1) vc.push_back(HeadName(vm_, c));
  }
  for (uint64_t key : vm_blocks_) {
    uint16_t c = static_cast<uint16_t>(key >> 32);
    vc.push_back(BlockName(vm_, c, generation_[c], static_cast<uint32_t>(key)));
  }
  std::vector<std::string> pds;
  for (uint64_t key : pds_blocks_) {
    pds.push_back(PdsBlockName(static_cast<uint32_t>(key >> 32),
                               static_cast<uint32_t>(key)));
  }
  Backend& backend = repo_.backend();
  VCSNAP_ASSIGN_OR_RETURN(scan_.deps.vm_pgs, PlacementGroups(backend, vc));
  VCSNAP_ASSIGN_OR_RETURN(scan_.deps.pds_pgs, PlacementGroups(backend, pds));
  return Status::Ok();
}

// Histogram of `vms_per_block` (entries of 0 are blocks nobody uses).
BlockSharing SharingOf(const std::vector<uint32_t>& vms_per_block) {
  BlockSharing s;
  uint64_t sum = 0;
  for (uint32_t n : vms_per_block) {
    if (n == 0) continue;
    s.blocks++;
    sum += n;
    s.max_vms = std::max<uint64_t>(s.max_vms, n);
    size_t bucket = 0;
    while ((uint64_t{2} << bucket) <= n) bucket++;
    if (s.histogram.size() <= bucket) s.histogram.resize(bucket + 1);
    s.histogram[bucket]++;
  }
  s.mean_vms = s.blocks == 0 ? 0 : static_cast<double>(sum) / s.blocks;
  return s;
}

// The VO simulation: packs every VM's chunks into one global log, oldest
// snapshot first, and fills in each VM's vo_blocks and the sharing.
Status SimulateVmOblivious(std::vector<VmScan>& scans, uint64_t block_size,
                           double compression, Backend& backend,
                           IsolationReport* report) {
  std::vector<const SnapshotChunks*> order;
  size_t chunks = 0;
  for (const VmScan& s : scans) {
    for (const SnapshotChunks& sc : s.snapshots) {
      order.push_back(&sc);
      chunks += sc.chunks.size();
    }
  }
  std::sort(order.begin(), order.end(),
            [](const SnapshotChunks* a, const SnapshotChunks* b) {
              return std::tie(a->time, a->vm, a->snapshot) <
                     std::tie(b->time, b->vm, b->snapshot);
            });
  std::unordered_map<uint64_t, uint32_t> block_of;
  block_of.reserve(chunks / 2);
  uint32_t block = 0;
  uint64_t fill = 0;
  for (const SnapshotChunks* sc : order) {
    for (const VoChunk& c : sc->chunks) {
      auto [slot, fresh] = block_of.try_emplace(c.fp, 0);
      if (!fresh) continue;
      uint64_t size = std::max<uint64_t>(
          1, static_cast<uint64_t>(std::llround(c.length * compression)));
      if (fill > 0 && fill + size > block_size) {
        block++;
        fill = 0;
      }
      slot->second = block;
      fill += size;
      report->vo_log_bytes += size;
    }
  }
  report->distinct_chunks = block_of.size();
  std::vector<uint32_t> vms_per_block(block_of.empty() ? 0 : block + 1);
  for (size_t i = 0; i < scans.size(); i++) {
    std::vector<uint32_t> mine;
    for (const SnapshotChunks& sc : scans[i].snapshots) {
      for (const VoChunk& c : sc.chunks) mine.push_back(block_of.at(c.fp));
    }
    std::sort(mine.begin(), mine.end());
    mine.erase(std::unique(mine.begin(), mine.end()), mine.end());
    report->vms[i].vo_blocks = mine.size();
    for (uint32_t b : mine) vms_per_block[b]++;
    if (report->placement_groups) {
      std::vector<std::string> names = std::move(scans[i].vo_meta_names);
      for (uint32_t b : mine) names.push_back(VoBlockName(b));
      VCSNAP_ASSIGN_OR_RETURN(report->vms[i].vo_pgs,
                              PlacementGroups(backend, names));
    }
  }
  report->vo = SharingOf(vms_per_block);
  return Status::Ok();
}

}  // namespace

Result<IsolationReport> AnalyzeIsolation(Repository& repo,
                                         const IsolationOptions& options) {
  IsolationReport report;
  report.block_size = repo.config().max_object_size;
  report.vo_block_size =
      options.vo_block_size != 0 ? options.vo_block_size : report.block_size;
  VCSNAP_ASSIGN_OR_RETURN(std::vector<std::string> vms,
                          ListVmNames(repo.backend()));
  std::sort(vms.begin(), vms.end());
  PdsStore pds(&repo.backend(), repo.config().keys.get());
  report.placement_groups =
      repo.backend().PlacementGroupOf(VoBlockName(0)).ok();
  std::vector<VmScan> scans;
  for (size_t i = 0; i < vms.size(); i++) {
    if (options.on_vm) options.on_vm(i, vms.size(), vms[i]);
    Result<VmScan> scan = VmScanner(repo, pds, vms[i], static_cast<uint32_t>(i),
                                    report.placement_groups)
                              .Scan();
    for (int attempt = 2;
         attempt <= kAttempts && !scan.ok() && scan.status().IsNotFound();
         attempt++) {
      scan = VmScanner(repo, pds, vms[i], static_cast<uint32_t>(i),
                       report.placement_groups)
                 .Scan();
    }
    if (!scan.ok()) return scan.status();
    scans.push_back(std::move(*scan));
  }
  uint64_t raw = 0, stored = 0;
  std::map<uint64_t, uint32_t> pds_vms;  // PDS block -> VMs using it
  uint64_t vm_store_blocks = 0;
  for (const VmScan& s : scans) {
    report.vms.push_back(s.deps);
    raw += s.raw_bytes;
    stored += s.stored_bytes;
    vm_store_blocks += s.deps.vm_blocks;
    for (uint64_t b : s.pds_blocks) pds_vms[b]++;
  }
  report.vo_compression =
      raw == 0 ? 1.0 : std::min(1.0, static_cast<double>(stored) / raw);
  // A VM-store block belongs to one VM's store: shared by exactly one.
  report.vm_store = SharingOf(std::vector<uint32_t>(vm_store_blocks, 1));
  std::vector<uint32_t> counts;
  for (const auto& [block, n] : pds_vms) counts.push_back(n);
  report.pds = SharingOf(counts);
  VCSNAP_RETURN_IF_ERROR(SimulateVmOblivious(scans, report.vo_block_size,
                                             report.vo_compression,
                                             repo.backend(), &report));
  return report;
}

AvailabilityRow ComputeAvailability(const IsolationReport& report,
                                    uint32_t machines, uint32_t replicas,
                                    uint32_t pds_replicas, uint32_t failed) {
  AvailabilityRow row;
  row.failed = failed;
  const double loss = BlockLossProbability(machines, replicas, failed);
  const double pds_loss = BlockLossProbability(machines, pds_replicas, failed);
  row.block = 1 - loss;
  row.pds_block = 1 - pds_loss;
  double vc_sum = 0, vo_sum = 0, vc_pg_sum = 0, vo_pg_sum = 0;
  size_t n = 0;
  for (const VmDependencies& d : report.vms) {
    if (d.snapshots == 0) continue;
    double vc = SurvivalOf(d.vm_blocks + d.meta_objects, loss) *
                SurvivalOf(d.pds_blocks, pds_loss);
    double vo = SurvivalOf(d.vo_blocks + d.vo_meta_objects, loss);
    vc_sum += vc;
    vo_sum += vo;
    vc_pg_sum += SurvivalOf(d.vm_pgs, loss) * SurvivalOf(d.pds_pgs, pds_loss);
    vo_pg_sum += SurvivalOf(d.vo_pgs, loss);
    row.vc_worst = std::min(row.vc_worst, vc);
    row.vo_worst = std::min(row.vo_worst, vo);
    n++;
  }
  if (n > 0) {
    row.vc_mean = vc_sum / n;
    row.vo_mean = vo_sum / n;
    row.vc_vms_lost = n - vc_sum;
    row.vo_vms_lost = n - vo_sum;
    if (report.placement_groups) {
      row.vc_pg_mean = vc_pg_sum / n;
      row.vo_pg_mean = vo_pg_sum / n;
      row.vc_pg_vms_lost = n - vc_pg_sum;
      row.vo_pg_vms_lost = n - vo_pg_sum;
    }
  }
  return row;
}

}  // namespace vcsnap
