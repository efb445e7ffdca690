// VmStore: open and the read path of Get. Enumeration and streaming reads
// (ScanGroups) are in vm_store_scan.cc, the write path in vm_store_writer.cc.
#include "store/vm_store.h"

#include <algorithm>
#include <cstdio>
#include <cstring>

namespace vcsnap {

Result<std::unique_ptr<VmStore>> VmStore::Open(Backend* backend, std::string vm,
                                               const RepoConfig& config,
                                               StoreOptions options) {
  VCSNAP_RETURN_IF_ERROR(config.Validate());
  if (vm.empty() || vm[0] == '.') {
    return Status::InvalidArgument("bad VM name \"" + vm + "\"");
  }
  VCSNAP_RETURN_IF_ERROR(ValidateObjectName(StorePrefix(vm) + "x"));
  if (config.encrypted() && config.keys == nullptr) {
    return Status::InvalidArgument("vm " + vm +
                                   ": the repository is encrypted and its "
                                   "key was not given");
  }
  const uint64_t block_limit =
      std::min<uint64_t>(config.max_object_size, backend->max_object_size());
  const uint64_t overhead = GroupOverhead(config.group_chunks) +
                            (config.encrypted() ? kSealOverhead : 0);
  if (block_limit <= overhead + 4096) {
    return Status::InvalidArgument(
        "vm " + vm + ": object size limit " + std::to_string(block_limit) +
        " cannot hold a group of " + std::to_string(config.group_chunks) +
        " chunks");
  }
  uint64_t raw_limit = std::max<uint64_t>(
      2ull * config.group_chunks * config.chunk_avg, config.chunk_max);
  raw_limit = std::min<uint64_t>(raw_limit, block_limit - overhead);
  raw_limit = std::min<uint64_t>(raw_limit, kMaxGroupRawCeiling);
  return std::unique_ptr<VmStore>(new VmStore(backend, std::move(vm), config,
                                              options, block_limit, raw_limit));
}

Result<std::unique_ptr<VmStore>> VmStore::OpenIn(Repository& repo,
                                                 const std::string& vm,
                                                 StoreOptions options) {
  VCSNAP_ASSIGN_OR_RETURN(RepoConfig config, repo.ConfigFor(vm));
  return Open(&repo.backend(), vm, config, options);
}

VmStore::VmStore(Backend* backend, std::string vm, const RepoConfig& config,
                 StoreOptions options, uint64_t block_limit, uint64_t raw_limit)
    : backend_(backend),
      vm_(std::move(vm)),
      config_(config),
      options_(options),
      block_limit_(block_limit),
      group_raw_limit_(raw_limit),
      cache_(options.cache_bytes) {}

VmStore::~VmStore() = default;

std::string VmStore::Where(uint16_t c) const {
  char buf[32];
  std::snprintf(buf, sizeof(buf), " container %04x", c);
  return "vm " + vm_ + buf;
}

GroupPlace VmStore::Place(uint16_t c, uint32_t gen,
                          const std::string& block_name,
                          uint64_t offset) const {
  return GroupPlace{vm_, c, gen, block_name, offset, config_.keys.get()};
}

GroupLimits VmStore::limits() const {
  return GroupLimits{kMaxGroupCount, static_cast<uint32_t>(group_raw_limit_)};
}

Status VmStore::CheckHeld(const GroupPlace& place, uint64_t held,
                          const IndexEntry& e) {
  if (held >= e.length) return Status::Ok();
  return Status::Corruption(
      place.Describe() + ": truncated group: the block holds " +
      std::to_string(held) + " of the " + std::to_string(e.length) +
      " bytes the index names");
}

Status VmStore::CheckMatches(const GroupPlace& place, uint64_t first_cid,
                             uint32_t count, uint64_t live,
                             const IndexEntry& e) {
  if (first_cid == e.first_cid && count == e.count && live == e.live) {
    return Status::Ok();
  }
  return Status::Corruption(
      place.Describe() + ": misplaced group: it holds CIDs " +
      std::to_string(first_cid) + "+" + std::to_string(count) +
      ", the index expects " + std::to_string(e.first_cid) + "+" +
      std::to_string(e.count));
}

WriterStats VmStore::writer_stats() const {
  std::lock_guard lock(writer_mu_);
  return stats_;
}

Result<uint32_t> VmStore::LoadGeneration(uint16_t c) {
  const std::string name = HeadName(vm_, c);
  Result<Bytes> head = backend_->Get(name);
  if (!head.ok()) {
    if (head.status().IsNotFound()) return 1u;  // never compacted
    return head.status().WithContext(Where(c));
  }
  Result<uint32_t> gen = DecodeHead(*head, name, c);
  if (!gen.ok()) return gen.status().WithContext(Where(c));
  return gen;
}

Result<ParsedIndex> VmStore::LoadIndex(uint16_t c, uint32_t gen) {
  const std::string name = IndexName(vm_, c, gen);
  Result<Bytes> bytes = backend_->Get(name);
  if (!bytes.ok()) {
    if (bytes.status().IsNotFound()) return ParsedIndex{};
    return bytes.status().WithContext(Where(c));
  }
  return ParseIndex(*bytes, name, Where(c), c, gen, block_limit_);
}

Result<ParsedDlog> VmStore::LoadDlog(uint16_t c, uint32_t gen) {
  const std::string name = DlogName(vm_, c, gen);
  Result<Bytes> bytes = backend_->Get(name);
  if (!bytes.ok()) {
    if (bytes.status().IsNotFound()) return ParsedDlog{};
    return bytes.status().WithContext(Where(c));
  }
  return ParseDlog(*bytes, name, Where(c), c, gen);
}

void VmStore::InstallView(uint16_t c, View view) {
  std::lock_guard lock(mu_);
  views_[c] = std::move(view);
}

Status VmStore::ReloadView(uint16_t c) {
  VCSNAP_ASSIGN_OR_RETURN(uint32_t gen, LoadGeneration(c));
  VCSNAP_ASSIGN_OR_RETURN(ParsedIndex index, LoadIndex(c, gen));
  if (!index.has_header) {
    return Status::NotFound(Where(c) + ": no such container");
  }
  std::lock_guard lock(mu_);
  auto it = views_.find(c);
  // Never replace a newer view (the in-process writer's) with an older one.
  if (it != views_.end() &&
      (it->second.generation > gen ||
       (it->second.generation == gen &&
        it->second.entries.size() >= index.entries.size()))) {
    return Status::Ok();
  }
  views_[c] = View{gen, index.base_cid, std::move(index.entries)};
  return Status::Ok();
}

Result<VmStore::Located> VmStore::Locate(ChunkRef ref) {
  for (int attempt = 0; attempt < 2; ++attempt) {
    {
      std::lock_guard lock(mu_);
      auto it = views_.find(ref.container);
      if (it != views_.end()) {
        const View& v = it->second;
        auto e = std::upper_bound(v.entries.begin(), v.entries.end(), ref.cid,
                                  [](uint64_t cid, const IndexEntry& x) {
                                    return cid < x.first_cid;
                                  });
        if (e != v.entries.begin()) {
          --e;
          if (ref.cid < e->end_cid()) {
            return Located{v.generation,
                           static_cast<size_t>(e - v.entries.begin()), *e};
          }
        }
        if (attempt == 0 && ref.cid < v.next_cid()) break;  // a hole: final
      }
    }
    if (attempt == 0) VCSNAP_RETURN_IF_ERROR(ReloadView(ref.container));
  }
  return Status::NotFound(Where(ref.container) + ": chunk " + ref.ToString() +
                          " is not in the container index (never flushed, or "
                          "dropped by compaction)");
}

Result<std::shared_ptr<const DecodedGroup>> VmStore::FetchGroup(
    uint16_t c, const Located& loc) {
  const GroupKey key{c, loc.generation, loc.entry.first_cid};
  if (auto hit = cache_.Find(key)) return hit;
  // Sequential access: read this group and the ones after it in one call.
  std::vector<IndexEntry> run{loc.entry};
  {
    std::lock_guard lock(mu_);
    const bool sequential = last_miss_.container == c &&
                            last_miss_.generation == loc.generation &&
                            last_miss_.index + 1 == loc.index;
    last_miss_ = LastMiss{c, loc.generation, loc.index};
    auto it = views_.find(c);
    if (sequential && it != views_.end() &&
        it->second.generation == loc.generation) {
      const auto& es = it->second.entries;
      uint64_t total = loc.entry.length;
      for (size_t i = loc.index + 1; i < es.size(); ++i) {
        const IndexEntry& prev = run.back();
        if (es[i].block != prev.block ||
            es[i].offset != prev.offset + prev.length ||
            total + es[i].length > options_.readahead_bytes) {
          break;
        }
        total += es[i].length;
        run.push_back(es[i]);
        last_miss_.index = i;
      }
    }
  }
  const std::string block = BlockName(vm_, c, loc.generation, loc.entry.block);
  const uint64_t span =
      run.back().offset + run.back().length - loc.entry.offset;
  // One read-ahead buffer per thread, reused: a fresh one per read cost
  // zero-filling and page-faulting up to readahead_bytes each time. The
  // decoded groups own their bytes, so the buffer is free once they are.
  thread_local Bytes buffer;
  Bytes* const bytes = &buffer;
  Status read = backend_->ReadInto(block, loc.entry.offset, span, bytes);
  if (!read.ok()) {
    return read.WithContext(
        Place(c, loc.generation, block, loc.entry.offset).Describe());
  }
  std::shared_ptr<const DecodedGroup> first;
  for (const IndexEntry& e : run) {
    const GroupPlace place = Place(c, loc.generation, block, e.offset);
    const uint64_t rel = e.offset - loc.entry.offset;
    if (bytes->size() < rel + e.length) {
      if (first != nullptr) break;  // read-ahead past a short block
      return CheckHeld(place, bytes->size() > rel ? bytes->size() - rel : 0, e);
    }
    Result<std::shared_ptr<DecodedGroup>> g =
        DecodeGroup(ByteView(*bytes).subspan(rel, e.length), place, limits());
    if (!g.ok()) {
      if (first != nullptr) break;  // the read-ahead group fails on its own
      return g.status();
    }
    const DecodedGroup& dg = **g;
    uint64_t live = 0;
    for (uint32_t len : dg.lens) live += (len & kAbsentBit) ? 0 : 1;
    Status match = CheckMatches(place, dg.first_cid, dg.count(), live, e);
    if (!match.ok()) {
      if (first != nullptr) break;
      return match;
    }
    std::shared_ptr<const DecodedGroup> shared = std::move(*g);
    cache_.Insert(GroupKey{c, loc.generation, e.first_cid}, shared);
    if (first == nullptr) first = shared;
  }
  return first;
}

Result<VmStore::Found> VmStore::FindOnce(ChunkRef ref, uint32_t* generation) {
  *generation = 0;
  VCSNAP_ASSIGN_OR_RETURN(Located loc, Locate(ref));
  *generation = loc.generation;
  VCSNAP_ASSIGN_OR_RETURN(std::shared_ptr<const DecodedGroup> g,
                          FetchGroup(ref.container, loc));
  if (!g->Present(ref.cid)) {
    return Status::NotFound(Where(ref.container) + ": chunk " + ref.ToString() +
                            " was dropped by compaction");
  }
  ByteView chunk = g->Chunk(ref.cid);
  return Found{std::move(g), chunk};
}

Result<VmStore::Found> VmStore::Find(ChunkRef ref) {
  if (!ref.valid()) {
    return Status::InvalidArgument("vm " + vm_ + ": invalid chunk reference " +
                                   ref.ToString());
  }
  uint32_t used = 0;
  Result<Found> r = FindOnce(ref, &used);
  if (r.ok() || r.status().code() == StatusCode::kInvalidArgument) return r;
  // A concurrent compaction may have replaced the generation this attempt
  // read: if the head names another one, reload and retry once. Compare with
  // the generation read, not with the view now: another thread may have
  // reloaded the view meanwhile.
  Result<uint32_t> gen = LoadGeneration(ref.container);
  if (!gen.ok() || *gen == used) return r;
  VCSNAP_RETURN_IF_ERROR(ReloadView(ref.container));
  return FindOnce(ref, &used);
}

Result<Bytes> VmStore::Get(ChunkRef ref) {
  VCSNAP_ASSIGN_OR_RETURN(Found f, Find(ref));
  return Bytes(f.chunk.begin(), f.chunk.end());
}

Result<uint32_t> VmStore::GetInto(ChunkRef ref, std::span<uint8_t> out) {
  VCSNAP_ASSIGN_OR_RETURN(Found f, Find(ref));
  if (f.chunk.size() == out.size() && !out.empty()) {
    std::memcpy(out.data(), f.chunk.data(), out.size());
  }
  return static_cast<uint32_t>(f.chunk.size());
}

}  // namespace vcsnap
