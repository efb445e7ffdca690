#include "store/compaction.h"

#include <algorithm>
#include <mutex>

namespace vcsnap {

void CompactionStats::Add(const CompactionStats& o) {
  containers_examined += o.containers_examined;
  containers_compacted += o.containers_compacted;
  bytes_before += o.bytes_before;
  bytes_after += o.bytes_after;
  groups_copied += o.groups_copied;
  groups_rewritten += o.groups_rewritten;
  groups_dropped += o.groups_dropped;
  chunks_dropped += o.chunks_dropped;
}

class Compactor {
 public:
  Compactor(VmStore* s, uint16_t c) : s_(s), c_(c) {}

  Result<CompactionStats> Run(double threshold) {
    std::lock_guard lock(s_->writer_mu_);
    // Always: the writer's own recovery indexes a crash's groups in the
    // newest container, so that only damage leaves groups unindexed below.
    VCSNAP_RETURN_IF_ERROR(s_->EnsureWriter());
    VCSNAP_RETURN_IF_ERROR(s_->FlushLocked());
    CompactionStats stats;
    VCSNAP_ASSIGN_OR_RETURN(gen_, s_->LoadGeneration(c_));
    VCSNAP_ASSIGN_OR_RETURN(ParsedIndex index, s_->LoadIndex(c_, gen_));
    if (!index.has_header) {
      return Status::NotFound(s_->Where(c_) + ": no such container");
    }
    // Compaction copies only indexed groups: never drop ones a lost or
    // truncated index no longer covers.
    VCSNAP_ASSIGN_OR_RETURN(std::vector<ObjectInfo> objects,
                            s_->backend_->List(ContainerPrefix(s_->vm_, c_)));
    VCSNAP_ASSIGN_OR_RETURN(bool unindexed,
                            s_->HasUnindexedGroup(c_, gen_, index, objects));
    if (unindexed) {
      return Status::Corruption(
          s_->Where(c_) +
          ": its blocks hold groups no index entry covers (a lost or "
          "truncated index?); not compacted: `vcsnap recover --vm " +
          s_->vm_ + "` indexes them");
    }
    Result<ParsedDlog> loaded = s_->LoadDlog(c_, gen_);
    if (!loaded.ok() && loaded.status().IsCorruption()) {
      // Damage must not stop compaction: keep the readable records.
      VCSNAP_ASSIGN_OR_RETURN(std::optional<MetadataRepair> r,
                              s_->RepairDlogLocked(c_, gen_, false));
      if (r.has_value()) s_->repairs_.push_back(std::move(*r));
      loaded = s_->LoadDlog(c_, gen_);
    }
    VCSNAP_ASSIGN_OR_RETURN(ParsedDlog dlog, std::move(loaded));
    std::vector<uint64_t> deleted = std::move(dlog.cids);
    std::sort(deleted.begin(), deleted.end());
    deleted.erase(std::unique(deleted.begin(), deleted.end()), deleted.end());
    uint64_t live = 0;
    for (const IndexEntry& e : index.entries) live += e.live;
    stats.containers_examined = 1;
    // Debris of an earlier compaction that crashed (either generation).
    VCSNAP_RETURN_IF_ERROR(RemoveOtherGenerations(objects));
    if (deleted.empty() || static_cast<double>(deleted.size()) <
                               threshold * static_cast<double>(live)) {
      return stats;
    }
    new_gen_ = gen_ + 1;
    for (const IndexEntry& e : index.entries) {
      stats.bytes_before += e.length;
      VCSNAP_RETURN_IF_ERROR(CopyGroup(e, deleted, &stats));
    }
    VCSNAP_RETURN_IF_ERROR(SyncBlock());
    // Index (one atomic Put), then publish, then drop the old generation.
    const std::string index_name = IndexName(s_->vm_, c_, new_gen_);
    Bytes out = EncodeIndexHeader(index_name, c_, new_gen_, index.next_cid());
    for (const IndexEntry& e : entries_) {
      AppendIndexEntry(index_name, out.size(), e, &out);
      stats.bytes_after += e.length;
    }
    VCSNAP_RETURN_IF_ERROR(s_->backend_->Put(index_name, out));
    const std::string head = HeadName(s_->vm_, c_);
    VCSNAP_RETURN_IF_ERROR(
        s_->backend_->Put(head, EncodeHead(head, c_, new_gen_)));
    s_->InstallView(c_, VmStore::View{new_gen_, index.next_cid(), entries_});
    s_->dlog_bytes_.erase(c_);
    if (s_->cur_c_ == c_) s_->writer_ready_ = false;  // re-derive position
    stats.containers_compacted = 1;
    VCSNAP_ASSIGN_OR_RETURN(objects,
                            s_->backend_->List(ContainerPrefix(s_->vm_, c_)));
    VCSNAP_RETURN_IF_ERROR(RemoveOtherGenerations(objects));
    return stats;
  }

 private:
  // Deletes every object of the container (`objects`: its listing) outside
  // generation `keep`.
  Status RemoveOtherGenerations(const std::vector<ObjectInfo>& objects) {
    const uint32_t keep = new_gen_ != 0 ? new_gen_ : gen_;
    const std::string prefix = ContainerPrefix(s_->vm_, c_);
    for (const ObjectInfo& o : objects) {
      auto g = ParseGeneration(std::string_view(o.name).substr(prefix.size()));
      if (!g.has_value() || *g == keep) continue;
      Status st = s_->backend_->Delete(o.name);
      if (!st.ok() && !st.IsNotFound()) return st;
    }
    return Status::Ok();
  }

  Status SyncBlock() {
    if (block_size_ == 0) return Status::Ok();
    return s_->backend_->Sync(BlockName(s_->vm_, c_, new_gen_, block_));
  }

  Status CopyGroup(const IndexEntry& e, const std::vector<uint64_t>& deleted,
                   CompactionStats* stats) {
    const std::string old_block = BlockName(s_->vm_, c_, gen_, e.block);
    const GroupPlace from = s_->Place(c_, gen_, old_block, e.offset);
    VCSNAP_ASSIGN_OR_RETURN(Bytes bytes,
                            s_->backend_->Read(old_block, e.offset, e.length));
    if (bytes.size() != e.length) {
      return Status::Corruption(from.Describe() + ": truncated group");
    }
    VCSNAP_ASSIGN_OR_RETURN(std::shared_ptr<DecodedGroup> g,
                            DecodeGroup(bytes, from, s_->limits(), true));
    if (g->first_cid != e.first_cid || g->count() != e.count) {
      return Status::Corruption(from.Describe() + ": misplaced group");
    }
    std::vector<uint32_t> lens = g->lens;
    uint32_t dropped = 0;
    for (auto it =
             std::lower_bound(deleted.begin(), deleted.end(), e.first_cid);
         it != deleted.end() && *it < e.end_cid(); ++it) {
      if (g->Present(*it)) {
        lens[*it - e.first_cid] = kAbsentBit;
        ++dropped;
      }
    }
    const uint32_t live = e.live - std::min(e.live, dropped);
    stats->chunks_dropped += dropped;
    if (live == 0) {
      ++stats->groups_dropped;
      return Status::Ok();
    }
    std::string block = BlockName(s_->vm_, c_, new_gen_, block_);
    Bytes out;
    if (dropped == 0) {
      out = RebindGroup(bytes, s_->Place(c_, new_gen_, block, block_size_));
      ++stats->groups_copied;
    } else {
      VCSNAP_ASSIGN_OR_RETURN(g, DecodeGroup(bytes, from, s_->limits()));
      Bytes raw;
      for (uint64_t cid = e.first_cid; cid < e.end_cid(); ++cid) {
        if ((lens[cid - e.first_cid] & kAbsentBit) == 0) {
          ByteView chunk = g->Chunk(cid);
          raw.insert(raw.end(), chunk.begin(), chunk.end());
        }
      }
      out = EncodeGroup(s_->config_.compression, s_->config_.compression_level,
                        c_, e.first_cid, lens, raw,
                        s_->Place(c_, new_gen_, block, block_size_), &scratch_);
      ++stats->groups_rewritten;
    }
    if (block_size_ > 0 && block_size_ + out.size() > s_->block_limit_) {
      VCSNAP_RETURN_IF_ERROR(SyncBlock());
      ++block_;
      block_size_ = 0;
      block = BlockName(s_->vm_, c_, new_gen_, block_);
      RebindGroupInPlace(out, s_->Place(c_, new_gen_, block, 0));
    }
    VCSNAP_RETURN_IF_ERROR(s_->backend_->Append(block, out));
    entries_.push_back(IndexEntry{e.first_cid, e.count, live, block_,
                                  static_cast<uint32_t>(out.size()),
                                  block_size_});
    block_size_ += out.size();
    return Status::Ok();
  }

  VmStore* const s_;
  const uint16_t c_;
  uint32_t gen_ = 0;
  uint32_t new_gen_ = 0;
  uint32_t block_ = 0;
  uint64_t block_size_ = 0;
  std::vector<IndexEntry> entries_;
  Bytes scratch_;
};

Result<CompactionStats> CompactContainer(VmStore* store, uint16_t container,
                                         double threshold) {
  return Compactor(store, container).Run(threshold);
}

Result<CompactionStats> Compact(VmStore* store, double threshold) {
  VCSNAP_RETURN_IF_ERROR(store->Flush());
  // IDs only: a damaged deletion log is repaired by the compaction itself.
  VCSNAP_ASSIGN_OR_RETURN(std::vector<uint16_t> ids, store->ListContainerIds());
  CompactionStats total;
  for (uint16_t c : ids) {
    Result<CompactionStats> one = CompactContainer(store, c, threshold);
    if (!one.ok() && one.status().IsNotFound()) continue;  // crash debris
    if (!one.ok()) return one.status();
    total.Add(*one);
  }
  return total;
}

}  // namespace vcsnap
