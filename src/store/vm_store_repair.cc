// VmStore: repair of damaged container metadata -- head, index, deletion
// log (see the contracts in vm_store.h).
#include <algorithm>
#include <cstdio>
#include <map>
#include <optional>
#include <utility>

#include "store/vm_store.h"

namespace vcsnap {
namespace {

// A rebuilt index's base CID: Put starts a new container from here on.
constexpr uint64_t kClosedBaseCid = kMaxCid - kMaxGroupCount + 1;

// The offset of the next group magic in `data` at or after `from` (the
// block's size when there is none).
uint64_t NextGroupStart(const Bytes& data, uint64_t from) {
  if (from >= data.size()) return data.size();
  const auto it =
      std::search(data.begin() + static_cast<std::ptrdiff_t>(from), data.end(),
                  kGroupMagic.begin(), kGroupMagic.end());
  return static_cast<uint64_t>(it - data.begin());
}

// The group that starts `bytes` (which may run on past it), verified:
// header, length, checksum bound to `place`. *total: its length.
Result<std::shared_ptr<DecodedGroup>> GroupStarting(ByteView bytes,
                                                    const GroupPlace& place,
                                                    const GroupLimits& limits,
                                                    uint64_t* total) {
  VCSNAP_ASSIGN_OR_RETURN(GroupHeader h, PeekGroupHeader(bytes, place, limits));
  if (h.total_len() > bytes.size()) {
    return Status::Corruption(place.Describe() + ": truncated group");
  }
  *total = h.total_len();
  return DecodeGroup(bytes.first(h.total_len()), place, limits, true);
}

// "N groups, M chunks; the container takes no new chunks" of a salvage.
std::string Salvaged(const SalvageStats& s) {
  return std::to_string(s.groups) + " groups, " + std::to_string(s.chunks) +
         " chunks, " + std::to_string(s.bytes_ignored) +
         " unreadable block bytes left out; the container takes no new "
         "chunks";
}

}  // namespace

std::string MetadataRepair::Describe() const {
  char c[48];
  std::snprintf(c, sizeof(c), "container %04x generation %u", container,
                generation);
  std::string out = std::string(c) + ": ";
  switch (kind) {
    case Kind::kHead:
      out += "head damaged (" + problem + "); " +
             (done ? "pointed again" : "would point again") +
             " at the newest generation with a valid index";
      break;
    case Kind::kIndex:
      out += "index damaged (" + problem + "); ";
      out += done ? "rebuilt from the data blocks: " + Salvaged(salvage)
                  : "would be rebuilt from the data blocks";
      break;
    case Kind::kUnindexedData:
      out +=
          "data blocks hold groups no index entry covers (a crash before "
          "they were indexed, or a lost or truncated index); ";
      out += done ? "indexed from the data blocks: " + Salvaged(salvage)
                  : "would be indexed from the data blocks";
      break;
    case Kind::kDeletionLog:
      out += "deletion log damaged (" + problem + "); " +
             (done ? "rewritten" : "would be rewritten") + " with its " +
             std::to_string(records_kept) + " readable records (" +
             std::to_string(records_dropped) +
             " unreadable: their chunks stay stored until gc logs them "
             "again)";
      break;
  }
  return out;
}

Result<SalvageStats> VmStore::SalvageIndex(uint16_t c) {
  std::lock_guard lock(writer_mu_);
  if (writer_ready_ && !writer_broken_) {
    VCSNAP_RETURN_IF_ERROR(FlushLocked());
  }
  VCSNAP_ASSIGN_OR_RETURN(uint32_t gen, LoadGeneration(c));
  return SalvageIndexLocked(c, gen);
}

Result<SalvageStats> VmStore::SalvageIndexLocked(uint16_t c, uint32_t gen) {
  const std::string gen_prefix = GenPrefix(vm_, c, gen);
  VCSNAP_ASSIGN_OR_RETURN(std::vector<ObjectInfo> objects,
                          backend_->List(gen_prefix));
  std::map<uint32_t, std::string> blocks;
  for (const ObjectInfo& o : objects) {
    auto b = ParseBlock(std::string_view(o.name).substr(gen_prefix.size()));
    if (b.has_value()) blocks[*b] = o.name;
  }
  SalvageStats stats;
  std::vector<IndexEntry> entries;
  for (const auto& [b, name] : blocks) {
    VCSNAP_ASSIGN_OR_RETURN(Bytes data, backend_->Get(name));
    if (data.size() > block_limit_) {
      return Status::Corruption(Where(c) + ": block " + name +
                                " is over the size limit");
    }
    ++stats.blocks;
    uint64_t off = 0;
    while (off < data.size()) {
      const GroupPlace place = Place(c, gen, name, off);
      uint64_t total = 0;
      Result<std::shared_ptr<DecodedGroup>> g =
          GroupStarting(ByteView(data).subspan(off), place, limits(), &total);
      if (!g.ok()) {
        // Damage: go on at the next group that verifies (its checksum is
        // bound to its offset, so a match inside other bytes is no group).
        const uint64_t next = NextGroupStart(data, off + 1);
        stats.bytes_ignored += next - off;
        off = next;
        continue;
      }
      IndexEntry e{(*g)->first_cid,
                   (*g)->count(),
                   0,
                   b,
                   static_cast<uint32_t>(total),
                   off};
      for (uint32_t len : (*g)->lens) e.live += (len & kAbsentBit) ? 0 : 1;
      if (!entries.empty() && e.first_cid < entries.back().end_cid()) {
        return Status::Corruption(place.Describe() + ": duplicate CID " +
                                  std::to_string(e.first_cid) +
                                  " (a group repeats CIDs of an earlier one)");
      }
      entries.push_back(e);
      ++stats.groups;
      stats.chunks += e.live;
      off += total;
    }
  }
  const std::string index_name = IndexName(vm_, c, gen);
  Bytes index = EncodeIndexHeader(index_name, c, gen, kClosedBaseCid);
  for (const IndexEntry& e : entries) {
    AppendIndexEntry(index_name, index.size(), e, &index);
  }
  VCSNAP_RETURN_IF_ERROR(backend_->Put(index_name, index));
  InstallView(c, View{gen, kClosedBaseCid, std::move(entries)});
  cache_.Clear();
  writer_ready_ = false;  // re-derive the writer's position
  return stats;
}

Result<MetadataRepair> VmStore::RewriteDlogLocked(uint16_t c, uint32_t gen,
                                                  ByteView bytes,
                                                  const Status& problem,
                                                  bool write) {
  const std::string name = DlogName(vm_, c, gen);
  const SalvagedDlog salvaged = SalvageDlog(bytes, name);
  MetadataRepair r{.kind = MetadataRepair::Kind::kDeletionLog,
                   .container = c,
                   .generation = gen,
                   .problem = problem.message(),
                   .records_kept = salvaged.cids.size(),
                   .records_dropped = salvaged.bad_records};
  if (!write) return r;
  Bytes out = EncodeDlogHeader(name, c, gen);
  for (uint64_t cid : salvaged.cids) {
    AppendDlogRecord(name, out.size(), cid, &out);
  }
  VCSNAP_RETURN_IF_ERROR(backend_->Put(name, out));
  dlog_bytes_[c] = out.size();
  r.done = true;
  return r;
}

Result<std::optional<MetadataRepair>> VmStore::RepairDlogLocked(uint16_t c,
                                                                uint32_t gen,
                                                                bool dry_run) {
  const std::string name = DlogName(vm_, c, gen);
  Result<Bytes> bytes = backend_->Get(name);
  if (!bytes.ok()) {
    if (bytes.status().IsNotFound()) return std::optional<MetadataRepair>();
    return bytes.status().WithContext(Where(c));
  }
  Result<ParsedDlog> parsed = ParseDlog(*bytes, name, Where(c), c, gen);
  if (parsed.ok()) return std::optional<MetadataRepair>();
  if (!parsed.status().IsCorruption()) return parsed.status();
  VCSNAP_ASSIGN_OR_RETURN(
      MetadataRepair r,
      RewriteDlogLocked(c, gen, *bytes, parsed.status(), !dry_run));
  return std::optional<MetadataRepair>(r);
}

Result<std::optional<MetadataRepair>> VmStore::RepairDeletionLog(uint16_t c,
                                                                 bool dry_run) {
  std::lock_guard lock(writer_mu_);
  VCSNAP_ASSIGN_OR_RETURN(uint32_t gen, LoadGeneration(c));
  return RepairDlogLocked(c, gen, dry_run);
}

Result<bool> VmStore::HasUnindexedGroup(
    uint16_t c, uint32_t gen, const ParsedIndex& index,
    const std::vector<ObjectInfo>& objects) {
  uint32_t last_block = 0;
  uint64_t end = 0;
  if (!index.entries.empty()) {
    last_block = index.entries.back().block;
    end = index.entries.back().offset + index.entries.back().length;
  }
  const std::string prefix = GenPrefix(vm_, c, gen);
  for (const ObjectInfo& o : objects) {
    if (!o.name.starts_with(prefix)) continue;
    auto b = ParseBlock(std::string_view(o.name).substr(prefix.size()));
    if (!b || *b < last_block || o.size > block_limit_) continue;
    const uint64_t from = *b == last_block && !index.entries.empty() ? end : 0;
    if (o.size <= from) continue;
    // The first group there: its header, then only its bytes.
    const GroupPlace place = Place(c, gen, o.name, from);
    VCSNAP_ASSIGN_OR_RETURN(Bytes head,
                            backend_->Read(o.name, from, kGroupHeaderSize));
    Result<GroupHeader> h = PeekGroupHeader(head, place, limits());
    if (!h.ok() || h->total_len() > o.size - from) continue;
    VCSNAP_ASSIGN_OR_RETURN(Bytes group,
                            backend_->Read(o.name, from, h->total_len()));
    uint64_t total = 0;
    if (GroupStarting(group, place, limits(), &total).ok()) return true;
  }
  return false;
}

Result<std::vector<MetadataRepair>> VmStore::RepairMetadata(
    bool dry_run, const std::vector<ObjectInfo>* listing) {
  std::lock_guard lock(writer_mu_);
  if (!dry_run && writer_ready_ && !writer_broken_) {
    VCSNAP_RETURN_IF_ERROR(FlushLocked());
  }
  // One listing of the store (on RADOS a listing scans the whole pool).
  const std::string store = StorePrefix(vm_);
  std::vector<ObjectInfo> all;
  if (listing != nullptr) {
    all = *listing;
  } else {
    VCSNAP_ASSIGN_OR_RETURN(all, backend_->List(store));
  }
  std::map<uint16_t, std::vector<ObjectInfo>> by_container;
  for (ObjectInfo& o : all) {
    auto id = ParseContainerId(std::string_view(o.name).substr(store.size()));
    if (id && *id >= kFirstContainerId && *id <= kLastContainerId) {
      by_container[*id].push_back(std::move(o));
    }
  }
  std::vector<MetadataRepair> out;
  for (const auto& [c, objects] : by_container) {
    Result<uint32_t> gen = LoadGeneration(c);
    if (!gen.ok() && !gen.status().IsCorruption()) return gen.status();
    if (!gen.ok()) {
      // The newest generation whose index header verifies.
      const std::string prefix = ContainerPrefix(vm_, c);
      uint32_t best = 0;
      for (const ObjectInfo& o : objects) {
        const std::string_view rest =
            std::string_view(o.name).substr(prefix.size());
        std::optional<uint32_t> g = ParseGeneration(rest);
        if (!g || *g <= best || o.name != IndexName(vm_, c, *g)) continue;
        Result<Bytes> head = backend_->Read(o.name, 0, kIndexHeaderSize);
        if (!head.ok()) return head.status();
        Result<ParsedIndex> h =
            ParseIndex(*head, o.name, Where(c), c, *g, block_limit_);
        if (h.ok() && h->has_header) best = *g;
      }
      if (best == 0) {
        return Status::Corruption(
            gen.status().message() +
            "; and no generation of it has an index header that verifies");
      }
      MetadataRepair r{.kind = MetadataRepair::Kind::kHead,
                       .container = c,
                       .generation = best,
                       .problem = gen.status().message()};
      if (!dry_run) {
        const std::string head = HeadName(vm_, c);
        VCSNAP_RETURN_IF_ERROR(backend_->Put(head, EncodeHead(head, c, best)));
        r.done = true;
        writer_ready_ = false;
      }
      out.push_back(r);
      gen = best;
    }
    Result<ParsedIndex> index = LoadIndex(c, *gen);
    if (!index.ok() && !index.status().IsCorruption()) return index.status();
    bool lost = false;
    if (index.ok()) {
      VCSNAP_ASSIGN_OR_RETURN(lost,
                              HasUnindexedGroup(c, *gen, *index, objects));
    }
    if (!index.ok() || lost) {
      MetadataRepair r{
          .kind = lost ? MetadataRepair::Kind::kUnindexedData
                       : MetadataRepair::Kind::kIndex,
          .container = c,
          .generation = *gen,
          .problem = lost ? "unindexed" : index.status().message()};
      if (!dry_run) {
        VCSNAP_ASSIGN_OR_RETURN(r.salvage, SalvageIndexLocked(c, *gen));
        r.done = true;
      }
      out.push_back(r);
    }
    VCSNAP_ASSIGN_OR_RETURN(std::optional<MetadataRepair> dlog,
                            RepairDlogLocked(c, *gen, dry_run));
    if (dlog.has_value()) out.push_back(*dlog);
  }
  return out;
}

std::vector<MetadataRepair> VmStore::TakeRepairs() {
  std::lock_guard lock(writer_mu_);
  return std::exchange(repairs_, {});
}

}  // namespace vcsnap
