#include "gc/check.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "chunk/fingerprint.h"
#include "chunk/segment.h"
#include "recipe/catalog.h"
#include "recipe/names.h"
#include "recipe/snapshot_recipe.h"
#include "store/pds_store.h"
#include "store/vm_store.h"

namespace vcsnap {
namespace {

// A distinct chunk to read, and the first place that uses it.
struct Use {
  RecipeEntry entry;
  uint32_t snapshot;
  uint64_t segment;
};

class VmChecker {
 public:
  VmChecker(Repository& repo, const std::string& vm, PdsStore& pds,
            CheckResult* result)
      : repo_(repo),
        backend_(repo.backend()),
        vm_(vm),
        pds_(pds),
        result_(result) {}

  Status Run(const CheckOptions& options);

 private:
  void Problem(const std::string& where, const Status& s) {
    result_->problems.push_back(where + ": " + s.message());
  }
  std::string Where(uint32_t snap, uint64_t segment = UINT64_MAX) const {
    std::string w = "VM " + vm_ + " snapshot " + std::to_string(snap);
    if (segment != UINT64_MAX) w += " segment " + std::to_string(segment);
    return w;
  }
  Status CheckRef(const RecipeEntry& e);
  void ReadData(unsigned threads);

  Repository& repo_;
  Backend& backend_;
  const std::string vm_;
  PdsStore& pds_;
  CheckResult* result_;
  std::unique_ptr<VmStore> store_;
  std::map<uint16_t, std::pair<std::vector<uint64_t>, std::vector<uint64_t>>>
      cids_;  // container -> (present, deleted)
  std::map<uint64_t, Use> vm_uses_;
  std::vector<Use> pds_uses_;
};

Status VmChecker::CheckRef(const RecipeEntry& e) {
  if (e.kind == ChunkKind::kPds) {
    Result<PdsGenerationInfo> g = pds_.GetGenerationInfo(e.pds_generation);
    if (!g.ok()) return g.status();
    if (e.pds_offset + e.pds_size > g->end_offset) {
      return Status::Corruption("PDS reference past the end of generation " +
                                std::to_string(e.pds_generation));
    }
    return Status::Ok();
  }
  VCSNAP_ASSIGN_OR_RETURN(ChunkRef ref, ChunkRef::FromRaw(e.vm_ref));
  auto it = cids_.find(ref.container);
  if (it == cids_.end()) {
    auto present = store_->PresentCids(ref.container);
    auto deleted = store_->DeletedCids(ref.container);
    if (!present.ok()) return present.status();
    if (!deleted.ok()) return deleted.status();
    it = cids_.emplace(ref.container, std::make_pair(*present, *deleted)).first;
  }
  const auto& [present, deleted] = it->second;
  if (!std::binary_search(present.begin(), present.end(), ref.cid)) {
    return Status::NotFound("chunk " + ref.ToString() + " is not in the store");
  }
  if (std::binary_search(deleted.begin(), deleted.end(), ref.cid)) {
    return Status::Corruption("chunk " + ref.ToString() +
                              " is logged for deletion but still referenced");
  }
  return Status::Ok();
}

Status VmChecker::Run(const CheckOptions& options) {
  Result<Catalog> catalog = LoadCatalog(backend_, vm_);
  if (!catalog.ok()) {
    Problem("VM " + vm_, catalog.status());
    return Status::Ok();
  }
  VCSNAP_ASSIGN_OR_RETURN(store_,
                          VmStore::Open(&backend_, vm_, repo_.config()));
  RecipeReader reader(&backend_, vm_, repo_.config().segment_size);
  std::set<std::tuple<uint32_t, uint32_t, uint32_t>> seen;
  for (const CatalogEntry& ce : catalog->entries) {
    result_->snapshots++;
    Result<SnapshotRecipe> s = LoadSnapshotRecipe(backend_, vm_, ce.id);
    if (!s.ok()) {
      Problem(Where(ce.id), s.status());
      continue;
    }
    for (uint64_t i = 0; i < s->segments.size(); ++i) {
      const SegmentSlot& slot = s->segments[i];
      if (slot.zero ||
          !seen.emplace(slot.ref.snapshot_id, slot.ref.pack, slot.ref.offset)
               .second) {
        continue;
      }
      result_->recipes++;
      Result<std::vector<RecipeEntry>> entries = reader.Read(slot.ref);
      if (!entries.ok()) {
        Problem(Where(ce.id, i), entries.status());
        continue;
      }
      uint64_t total = 0;
      for (const RecipeEntry& e : *entries) {
        total += e.length;
        if (e.kind == ChunkKind::kZero) continue;
        Status ok = CheckRef(e);
        if (!ok.ok()) Problem(Where(ce.id, i), ok);
        if (e.kind == ChunkKind::kVm) {
          vm_uses_.emplace(e.vm_ref, Use{e, ce.id, i});
        } else {
          pds_uses_.push_back(Use{e, ce.id, i});
        }
      }
      if (total != SegmentAt(s->image_size, s->segment_size, i).length) {
        Problem(Where(ce.id, i),
                Status::Corruption("recipe covers " + std::to_string(total) +
                                   " bytes of the segment"));
      }
    }
  }
  result_->references += vm_uses_.size() + pds_uses_.size();
  if (options.read_data) ReadData(options.threads);
  return Status::Ok();
}

void VmChecker::ReadData(unsigned threads) {
  std::vector<const Use*> work;  // VM chunks in store order, then PDS
  for (const auto& [raw, use] : vm_uses_) work.push_back(&use);
  for (const Use& use : pds_uses_) work.push_back(&use);
  std::atomic<size_t> next{0};
  std::mutex mu;
  const size_t batch = 256;  // contiguous runs keep each thread sequential
  auto worker = [&] {
    uint64_t bytes = 0;
    std::vector<std::string> found;
    for (size_t b = next.fetch_add(batch); b < work.size();
         b = next.fetch_add(batch)) {
      for (size_t i = b; i < std::min(work.size(), b + batch); ++i) {
        const Use& u = *work[i];
        Result<Bytes> data = Status::NotFound("unset");
        if (u.entry.kind == ChunkKind::kVm) {
          Result<ChunkRef> ref = ChunkRef::FromRaw(u.entry.vm_ref);
          data = ref.ok() ? store_->Get(*ref) : Result<Bytes>(ref.status());
        } else {
          data = pds_.Get(PdsRef{u.entry.pds_generation, u.entry.pds_offset,
                                 u.entry.pds_size});
        }
        std::string where = Where(u.snapshot, u.segment);
        if (!data.ok()) {
          found.push_back(where + ": " + data.status().message());
        } else if (data->size() != u.entry.length ||
                   Sha256(*data) != u.entry.fp) {
          found.push_back(where + ": chunk does not match its fingerprint");
        } else {
          bytes += data->size();
        }
      }
    }
    std::lock_guard lock(mu);
    result_->bytes_read += bytes;
    for (std::string& f : found) result_->problems.push_back(std::move(f));
  };
  if (threads == 0) threads = std::max(1u, std::thread::hardware_concurrency());
  std::vector<std::thread> pool;
  for (unsigned t = 0; t < threads; ++t) pool.emplace_back(worker);
  for (auto& t : pool) t.join();
}

}  // namespace

Result<CheckResult> RunCheck(Repository& repo, const CheckOptions& options) {
  const auto start = std::chrono::steady_clock::now();
  CheckResult result;
  VCSNAP_ASSIGN_OR_RETURN(std::vector<std::string> vms,
                          ListVmNames(repo.backend()));
  PdsStore pds(&repo.backend());
  for (const std::string& vm : vms) {
    result.vms++;
    VmChecker checker(repo, vm, pds, &result);
    VCSNAP_RETURN_IF_ERROR(checker.Run(options));
  }
  result.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();
  return result;
}

}  // namespace vcsnap
