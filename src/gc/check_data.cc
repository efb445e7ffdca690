#include "gc/check_data.h"

#include <algorithm>
#include <atomic>
#include <mutex>
#include <optional>
#include <ranges>
#include <thread>
#include <utility>
#include <vector>

#include "chunk/fingerprint.h"

namespace vcsnap {
namespace {

constexpr uint64_t kRunBytes = 2u << 20;  // stored group bytes per VM task
constexpr size_t kPdsBatch = 256;         // PDS references per task
constexpr char kMismatch[] = "chunk does not match its fingerprint";

uint16_t ContainerOf(const VmChunkUse& u) {
  return static_cast<uint16_t>(u.vm_ref >> 48);
}
uint64_t CidOf(const VmChunkUse& u) { return u.vm_ref & kMaxCid; }

template <typename Use>  // VmChunkUse or RecipeEntry
bool Matches(const Use& e, ByteView data, const RepoKeys* keys) {
  return data.size() == e.length && ChunkFingerprint(keys, data) == e.fp;
}

// One container's referenced chunks and the index they are scanned with.
struct ContainerWork {
  uint16_t id = 0;
  size_t begin = 0, end = 0;  // its uses: vm_uses[begin, end)
  bool indexed = false;       // `index` loaded
  ContainerIndex index;
};

// VM: groups [begin, end) of containers[container]; PDS: todo[begin, end).
struct Task {
  bool pds = false;
  size_t container = 0;
  size_t begin = 0, end = 0;
};

// A group the scan could not use.
struct BadGroup {
  size_t container = 0;
  uint64_t first_cid = 0, end_cid = 0;
  std::string error;
};

// One worker's findings; problems are keyed by reference order.
struct Found {
  uint64_t bytes = 0;
  std::vector<std::pair<size_t, std::string>> problems;
  std::vector<BadGroup> bad;
  std::vector<std::pair<size_t, std::string>> verdicts;  // (PDS use, verdict)
};

class DataChecker {
 public:
  DataChecker(std::string_view vm, VmStore& store, PdsStore& pds,
              const VmChunkUses& vm_uses, std::span<const ChunkUse> pds_uses,
              PdsVerdicts* verdicts, Progress* progress)
      : vm_(vm),
        store_(store),
        pds_(pds),
        vm_uses_(vm_uses),
        pds_uses_(pds_uses),
        verdicts_(verdicts),
        progress_(progress),
        done_(vm_uses.size(), 0) {}

  void Run(unsigned threads, CheckResult* result);

 private:
  template <typename Use>  // VmChunkUse or ChunkUse
  std::string Where(const Use& u) const {
    return UseWhere(vm_, u.snapshot, u.segment) + ": ";
  }
  void Advance(uint64_t bytes) {
    if (progress_ != nullptr) progress_->Add(bytes);
  }
  void PlanVm();
  void PlanPds(Found* found);
  void Scan(const Task& t, Found* f);
  void ReadPds(const Task& t, Found* f);
  // Uses the scan did not deliver: the group's error, or a Get.
  void Retry(std::vector<BadGroup> bad, Found* f);

  const std::string_view vm_;
  VmStore& store_;
  PdsStore& pds_;
  const VmChunkUses& vm_uses_;
  const std::span<const ChunkUse> pds_uses_;
  PdsVerdicts* const verdicts_;
  Progress* const progress_;  // may be null
  std::vector<ContainerWork> containers_;
  std::vector<Task> tasks_;
  std::vector<size_t> pds_todo_;  // PDS uses to read, in store order
  std::vector<uint8_t> done_;     // per VM use: delivered by a scan
};

void DataChecker::PlanVm() {
  for (size_t i = 0; i < vm_uses_.size();) {
    ContainerWork cw;
    cw.id = ContainerOf(vm_uses_[i]);
    cw.begin = i;
    while (i < vm_uses_.size() && ContainerOf(vm_uses_[i]) == cw.id) ++i;
    cw.end = i;
    // A reserved container ID is no store container: Retry reports it.
    if (ChunkRef::FromRaw(vm_uses_[cw.begin].vm_ref).ok()) {
      Result<ContainerIndex> index = store_.LoadContainerIndex(cw.id);
      if (index.ok()) {
        cw.index = std::move(*index);
        cw.indexed = true;
      }
    }
    // Cut the groups into runs holding ~kRunBytes of referenced groups.
    const std::vector<IndexEntry>& es = cw.index.entries;
    size_t u = cw.begin, start = 0;
    uint64_t bytes = 0;
    for (size_t k = 0; k < es.size(); ++k) {
      while (u < cw.end && CidOf(vm_uses_[u]) < es[k].first_cid) ++u;
      if (u < cw.end && CidOf(vm_uses_[u]) < es[k].end_cid()) {
        bytes += es[k].length;
      }
      if (bytes >= kRunBytes || (k + 1 == es.size() && bytes > 0)) {
        tasks_.push_back(Task{false, containers_.size(), start, k + 1});
        start = k + 1;
        bytes = 0;
      }
    }
    containers_.push_back(std::move(cw));
  }
}

void DataChecker::PlanPds(Found* found) {
  for (size_t j = 0; j < pds_uses_.size(); ++j) {
    const RecipeEntry& e = pds_uses_[j].entry;
    auto it = verdicts_->find(PdsKeyOf(e));
    if (it == verdicts_->end()) {
      pds_todo_.push_back(j);
    } else if (!it->second.empty()) {  // damaged, as seen for another VM
      found->problems.emplace_back(vm_uses_.size() + j,
                                   Where(pds_uses_[j]) + it->second);
    }
  }
  std::sort(pds_todo_.begin(), pds_todo_.end(), [&](size_t a, size_t b) {
    const RecipeEntry& x = pds_uses_[a].entry;
    const RecipeEntry& y = pds_uses_[b].entry;
    return std::tie(x.pds_generation, x.pds_offset) <
           std::tie(y.pds_generation, y.pds_offset);
  });
  for (size_t b = 0; b < pds_todo_.size(); b += kPdsBatch) {
    tasks_.push_back(
        Task{true, 0, b, std::min(pds_todo_.size(), b + kPdsBatch)});
  }
}

void DataChecker::Scan(const Task& t, Found* f) {
  const ContainerWork& cw = containers_[t.container];
  const auto base = vm_uses_.begin();
  const std::ranges::subrange uses(base + static_cast<ptrdiff_t>(cw.begin),
                                   base + static_cast<ptrdiff_t>(cw.end));
  auto first_use = [&](uint64_t cid) {
    return static_cast<size_t>(std::partition_point(uses.begin(), uses.end(),
                                                    [&](const VmChunkUse& u) {
                                                      return CidOf(u) < cid;
                                                    }) -
                               uses.begin());
  };
  size_t u = first_use(cw.index.entries[t.begin].first_cid);
  GroupScan scan;
  scan.want = [&](const IndexEntry& e) {
    const size_t k = first_use(e.first_cid);
    return k < uses.size() && CidOf(uses[k]) < e.end_cid();
  };
  scan.chunk = [&](uint64_t cid, ByteView data) {
    while (u < uses.size() && CidOf(uses[u]) < cid) ++u;
    if (u == uses.size() || CidOf(uses[u]) != cid) return;  // unreferenced
    done_[cw.begin + u] = 1;
    Advance(data.size());
    if (Matches(uses[u], data, store_.keys())) {
      f->bytes += data.size();
    } else {
      f->problems.emplace_back(cw.begin + u, Where(uses[u]) + kMismatch);
    }
  };
  scan.bad_group = [&](const IndexEntry& e, const Status& error) {
    f->bad.push_back(
        BadGroup{t.container, e.first_cid, e.end_cid(), error.message()});
  };
  // Not OK only for a range outside the index: its uses go to Retry.
  (void)store_.ScanGroups(cw.index, t.begin, t.end, scan);
}

void DataChecker::ReadPds(const Task& t, Found* f) {
  for (size_t k = t.begin; k < t.end; ++k) {
    const size_t j = pds_todo_[k];
    const RecipeEntry& e = pds_uses_[j].entry;
    Result<Bytes> data =
        pds_.Get(PdsRef{e.pds_generation, e.pds_offset, e.pds_size});
    Advance(e.length);
    std::string verdict;
    if (!data.ok()) {
      verdict = data.status().message();
    } else if (!Matches(e, *data, pds_.keys())) {
      verdict = kMismatch;
    } else {
      f->bytes += data->size();
    }
    if (!verdict.empty()) {
      f->problems.emplace_back(vm_uses_.size() + j,
                               Where(pds_uses_[j]) + verdict);
    }
    f->verdicts.emplace_back(j, std::move(verdict));
  }
}

void DataChecker::Retry(std::vector<BadGroup> bad, Found* f) {
  std::sort(bad.begin(), bad.end(), [](const BadGroup& a, const BadGroup& b) {
    return std::tie(a.container, a.first_cid) <
           std::tie(b.container, b.first_cid);
  });
  for (size_t ci = 0; ci < containers_.size(); ++ci) {
    const ContainerWork& cw = containers_[ci];
    std::optional<bool> moved;  // the generation changed since the scan
    for (size_t i = cw.begin; i < cw.end; ++i) {
      if (done_[i]) continue;
      const VmChunkUse& use = vm_uses_[i];
      Advance(use.length);
      if (!moved.has_value()) {
        Result<ContainerIndex> now = store_.LoadContainerIndex(cw.id);
        moved =
            !cw.indexed || !now.ok() || now->generation != cw.index.generation;
      }
      if (!*moved) {
        // The last bad group starting at or before the chunk's CID.
        auto g = std::partition_point(
            bad.begin(), bad.end(), [&](const BadGroup& b) {
              return std::tie(b.container, b.first_cid) <=
                     std::make_tuple(ci, CidOf(use));
            });
        if (g != bad.begin() && (--g)->container == ci &&
            CidOf(use) < g->end_cid) {
          f->problems.emplace_back(i, Where(use) + g->error);
          continue;
        }
      }
      Result<ChunkRef> ref = ChunkRef::FromRaw(use.vm_ref);
      Result<Bytes> data = ref.ok() ? store_.Get(*ref) : ref.status();
      if (!data.ok()) {
        f->problems.emplace_back(i, Where(use) + data.status().message());
      } else if (!Matches(use, *data, store_.keys())) {
        f->problems.emplace_back(i, Where(use) + kMismatch);
      } else {
        f->bytes += data->size();
      }
    }
  }
}

void DataChecker::Run(unsigned threads, CheckResult* result) {
  Found all;
  PlanVm();
  PlanPds(&all);
  if (threads == 0) threads = std::max(1u, std::thread::hardware_concurrency());
  threads = static_cast<unsigned>(std::min<size_t>(threads, tasks_.size()));
  std::atomic<size_t> next{0};
  std::mutex mu;
  auto worker = [&] {
    Found f;
    for (size_t t = next++; t < tasks_.size(); t = next++) {
      if (tasks_[t].pds) {
        ReadPds(tasks_[t], &f);
      } else {
        Scan(tasks_[t], &f);
      }
    }
    std::lock_guard lock(mu);
    all.bytes += f.bytes;
    for (auto& p : f.problems) all.problems.push_back(std::move(p));
    for (auto& b : f.bad) all.bad.push_back(std::move(b));
    for (auto& v : f.verdicts) all.verdicts.push_back(std::move(v));
  };
  std::vector<std::thread> pool;
  for (unsigned t = 0; t < threads; ++t) pool.emplace_back(worker);
  for (std::thread& t : pool) t.join();
  Retry(std::move(all.bad), &all);
  for (auto& [j, verdict] : all.verdicts) {
    verdicts_->emplace(PdsKeyOf(pds_uses_[j].entry), std::move(verdict));
  }
  std::stable_sort(
      all.problems.begin(), all.problems.end(),
      [](const auto& a, const auto& b) { return a.first < b.first; });
  result->bytes_read += all.bytes;
  for (auto& p : all.problems) result->problems.push_back(std::move(p.second));
}

}  // namespace

std::string UseWhere(std::string_view vm, uint32_t snapshot, uint64_t segment) {
  std::string w =
      "VM " + std::string(vm) + " snapshot " + std::to_string(snapshot);
  if (segment != UINT64_MAX) w += " segment " + std::to_string(segment);
  return w;
}

void CheckData(std::string_view vm, VmStore& store, PdsStore& pds,
               const VmChunkUses& vm_uses, std::span<const ChunkUse> pds_uses,
               unsigned threads, PdsVerdicts* verdicts, CheckResult* result,
               Progress* progress) {
  DataChecker(vm, store, pds, vm_uses, pds_uses, verdicts, progress)
      .Run(threads, result);
}

}  // namespace vcsnap
