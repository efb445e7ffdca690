// VmStore: the write path -- Put, Flush, Delete, crash repair.
#include <algorithm>
#include <future>
#include <map>
#include <thread>

#include "store/vm_store.h"

namespace vcsnap {

Status VmStore::EnsureWriter() {
  if (writer_ready_ && !writer_broken_) return Status::Ok();
  VCSNAP_RETURN_IF_ERROR(Recover());
  writer_ready_ = true;
  writer_broken_ = false;
  return Status::Ok();
}

Status VmStore::CutTail(const std::string& name, uint64_t size, uint64_t keep) {
  if (keep == 0) {
    Status s = backend_->Delete(name);
    return s.IsNotFound() ? Status::Ok() : s;
  }
  VCSNAP_ASSIGN_OR_RETURN(Bytes prefix, backend_->Read(name, 0, keep));
  if (prefix.size() != keep) {
    return Status::Corruption("vm " + vm_ + ": " + name + " is " +
                              std::to_string(size) + " bytes, cannot keep " +
                              std::to_string(keep));
  }
  return backend_->Put(name, prefix);
}

Status VmStore::StartContainer(uint16_t c) {
  if (c < kFirstContainerId || c > kLastContainerId) {
    return Status::InvalidArgument("vm " + vm_ + ": out of container IDs");
  }
  cur_c_ = c;
  cur_gen_ = 1;
  cur_block_ = 0;
  cur_block_size_ = 0;
  cur_container_bytes_ = 0;
  next_cid_ = 0;
  index_bytes_ = 0;
  return Status::Ok();
}

Status VmStore::RecoverContainer(uint16_t c,
                                 const std::vector<ObjectInfo>& objects,
                                 bool own_tail, bool* usable) {
  *usable = false;
  VCSNAP_ASSIGN_OR_RETURN(uint32_t gen, LoadGeneration(c));
  VCSNAP_ASSIGN_OR_RETURN(ParsedIndex index, LoadIndex(c, gen));
  const std::string head = HeadName(vm_, c);
  const bool has_head =
      std::any_of(objects.begin(), objects.end(),
                  [&](const ObjectInfo& o) { return o.name == head; });
  if (!index.has_header && has_head) {
    return Status::Corruption(Where(c) + ": generation " + std::to_string(gen) +
                              " has no index");
  }
  // Verifiable groups past the index: index them (see the file comment of
  // vm_store.h), never cut them -- unless they are this process's own
  // groups of a failed Flush, whose refs it voided itself.
  bool unindexed = false;
  if (!own_tail) {
    VCSNAP_ASSIGN_OR_RETURN(unindexed,
                            HasUnindexedGroup(c, gen, index, objects));
  }
  if (!index.has_header && !unindexed) {
    // Debris of a crash while the container was being created.
    for (const ObjectInfo& o : objects) {
      Status s = backend_->Delete(o.name);
      if (!s.ok() && !s.IsNotFound()) return s;
    }
    return Status::Ok();
  }
  if (unindexed) {
    VCSNAP_ASSIGN_OR_RETURN(SalvageStats salvaged, SalvageIndexLocked(c, gen));
    repairs_.push_back({.kind = MetadataRepair::Kind::kUnindexedData,
                        .container = c,
                        .generation = gen,
                        .problem = "unindexed",
                        .done = true,
                        .salvage = salvaged});
    VCSNAP_ASSIGN_OR_RETURN(index, LoadIndex(c, gen));
  }
  const std::string gen_prefix = GenPrefix(vm_, c, gen);
  const std::string index_name = IndexName(vm_, c, gen);
  uint32_t last_block = 0;
  uint64_t end = 0;
  if (!index.entries.empty()) {
    last_block = index.entries.back().block;
    end = index.entries.back().offset + index.entries.back().length;
  }
  for (const ObjectInfo& o : objects) {
    if (o.name == index_name && o.size > index.valid_bytes) {
      VCSNAP_RETURN_IF_ERROR(CutTail(o.name, o.size, index.valid_bytes));
    }
    if (!o.name.starts_with(gen_prefix)) continue;
    auto b = ParseBlock(std::string_view(o.name).substr(gen_prefix.size()));
    if (!b.has_value()) continue;
    if (*b > last_block || (*b == last_block && o.size > end)) {
      VCSNAP_RETURN_IF_ERROR(
          CutTail(o.name, o.size, *b == last_block ? end : 0));
    }
  }
  cur_c_ = c;
  cur_gen_ = gen;
  cur_block_ = last_block;
  cur_block_size_ = end;
  cur_container_bytes_ = 0;
  for (const IndexEntry& e : index.entries) cur_container_bytes_ += e.length;
  next_cid_ = index.next_cid();
  index_bytes_ = index.valid_bytes;
  InstallView(c, View{gen, index.base_cid, std::move(index.entries)});
  *usable = true;
  return Status::Ok();
}

Status VmStore::Recover() {
  const bool had_state = writer_ready_;
  const uint16_t old_c = cur_c_;
  const uint64_t old_next = next_cid_;
  for (PendingGroup& p : pending_) p.bytes.wait();  // refs void, as on failure
  pending_.clear();
  open_lens_.clear();
  open_raw_.clear();
  unindexed_.clear();
  unsynced_blocks_.clear();
  dlog_bytes_.clear();
  const std::string prefix = StorePrefix(vm_);
  VCSNAP_ASSIGN_OR_RETURN(std::vector<ObjectInfo> all, backend_->List(prefix));
  std::map<uint16_t, std::vector<ObjectInfo>> by_container;
  for (ObjectInfo& o : all) {
    auto id = ParseContainerId(std::string_view(o.name).substr(prefix.size()));
    if (id.has_value()) by_container[*id].push_back(std::move(o));
  }
  bool found = false;
  for (auto it = by_container.rbegin(); it != by_container.rend(); ++it) {
    if (it->first < kFirstContainerId || it->first > kLastContainerId) continue;
    const bool own_tail = had_state && it->first == old_c;
    VCSNAP_RETURN_IF_ERROR(
        RecoverContainer(it->first, it->second, own_tail, &found));
    if (found) break;
  }
  if (!found) {
    VCSNAP_RETURN_IF_ERROR(StartContainer(kFirstContainerId));
  } else if (cur_container_bytes_ >= config_.container_size) {
    VCSNAP_RETURN_IF_ERROR(StartContainer(cur_c_ + 1));
  }
  // Never hand out again a CID this process already returned (a void ref).
  if (had_state && old_c == cur_c_) next_cid_ = std::max(next_cid_, old_next);
  return Status::Ok();
}

Result<ChunkRef> VmStore::Put(ByteView chunk) {
  std::lock_guard lock(writer_mu_);
  VCSNAP_RETURN_IF_ERROR(EnsureWriter());
  if (chunk.size() > group_raw_limit_) {
    return Status::InvalidArgument("vm " + vm_ + ": chunk of " +
                                   std::to_string(chunk.size()) +
                                   " bytes is over the store's limit of " +
                                   std::to_string(group_raw_limit_));
  }
  if (!open_lens_.empty() &&
      (open_lens_.size() >= config_.group_chunks ||
       open_raw_.size() + chunk.size() > group_raw_limit_)) {
    VCSNAP_RETURN_IF_ERROR(WriteOpenGroup());
  }
  if (open_lens_.empty() && (cur_container_bytes_ >= config_.container_size ||
                             next_cid_ > kMaxCid - kMaxGroupCount)) {
    VCSNAP_RETURN_IF_ERROR(FlushLocked());
    VCSNAP_RETURN_IF_ERROR(StartContainer(cur_c_ + 1));
  }
  if (open_lens_.empty()) open_first_cid_ = next_cid_;
  open_lens_.push_back(static_cast<uint32_t>(chunk.size()));
  open_raw_.insert(open_raw_.end(), chunk.begin(), chunk.end());
  ++stats_.chunks_put;
  stats_.raw_bytes_put += chunk.size();
  return ChunkRef{cur_c_, next_cid_++};
}

// Hands the open group to a background thread for compression (at most
// kGroupsInFlight at once; the oldest is appended first when that many are
// in flight): the writer fills the next groups while earlier ones compress
// on other cores, so compression no longer serialises a backup. Groups
// are still appended in CID order by the writer thread, each re-bound to its
// real place (only the checksum changes), so the on-disk result and the
// crash protocol are exactly those of a synchronous write.
Status VmStore::WriteOpenGroup() {
  if (open_lens_.empty()) return Status::Ok();
  while (pending_.size() >= kGroupsInFlight) {
    VCSNAP_RETURN_IF_ERROR(FinishPendingGroup());
  }
  PendingGroup p;
  p.container = cur_c_;
  p.generation = cur_gen_;
  p.first_cid = open_first_cid_;
  p.count = static_cast<uint32_t>(open_lens_.size());
  // Bound to a placeholder; FinishPendingGroup re-binds it to its place.
  const GroupPlace provisional{vm_,       cur_c_, cur_gen_,
                               "pending", 0,      config_.keys.get()};
  if (compressors_ == nullptr) {
    compressors_ = std::make_unique<TaskPool>(static_cast<unsigned>(
        std::min<size_t>(kGroupsInFlight,
                         std::max(1u, std::thread::hardware_concurrency()))));
  }
  p.bytes = compressors_->Submit(
      [this, codec = config_.compression, level = config_.compression_level,
       c = cur_c_, first = open_first_cid_, lens = std::move(open_lens_),
       raw = std::move(open_raw_), provisional]() mutable {
        thread_local Bytes scratch;  // sealed groups only
        Bytes out = EncodeGroup(codec, level, c, first, lens, raw, provisional,
                                &scratch);
        // The raw buffer goes back for a later group: regrowing a fresh one
        // chunk by chunk cost copies and page faults in the writer.
        raw.clear();
        std::lock_guard lock(spare_mu_);
        if (spare_raw_.size() <= kGroupsInFlight) {
          spare_raw_.push_back(std::move(raw));
        }
        return out;
      });
  open_lens_.clear();
  open_raw_.clear();
  {
    std::lock_guard lock(spare_mu_);
    if (!spare_raw_.empty()) {
      open_raw_ = std::move(spare_raw_.back());
      spare_raw_.pop_back();
    }
  }
  pending_.push_back(std::move(p));
  return Status::Ok();
}

// Appends the oldest group being compressed, if any.
Status VmStore::FinishPendingGroup() {
  if (pending_.empty()) return Status::Ok();
  PendingGroup p = std::move(pending_.front());
  pending_.pop_front();
  Bytes bytes = p.bytes.get();
  if (p.container != cur_c_ || p.generation != cur_gen_) {
    writer_broken_ = true;
    failed_since_flush_ = true;
    return Status::IOError("vm " + vm_ +
                           ": internal error: a group outlived its container");
  }
  std::string block = BlockName(vm_, cur_c_, cur_gen_, cur_block_);
  if (cur_block_size_ > 0 && cur_block_size_ + bytes.size() > block_limit_) {
    ++cur_block_;
    cur_block_size_ = 0;
    block = BlockName(vm_, cur_c_, cur_gen_, cur_block_);
  }
  RebindGroupInPlace(bytes, Place(cur_c_, cur_gen_, block, cur_block_size_));
  Status s = backend_->Append(block, bytes);
  if (!s.ok()) {
    writer_broken_ = true;
    failed_since_flush_ = true;
    return s.WithContext("vm " + vm_);
  }
  if (unsynced_blocks_.empty() || unsynced_blocks_.back() != cur_block_) {
    unsynced_blocks_.push_back(cur_block_);
  }
  unindexed_.push_back(IndexEntry{p.first_cid, p.count, p.count, cur_block_,
                                  static_cast<uint32_t>(bytes.size()),
                                  cur_block_size_});
  cur_block_size_ += bytes.size();
  cur_container_bytes_ += bytes.size();
  ++stats_.groups_written;
  stats_.stored_bytes_written += bytes.size();
  return Status::Ok();
}

Status VmStore::FlushLocked() {
  VCSNAP_RETURN_IF_ERROR(WriteOpenGroup());
  while (!pending_.empty()) VCSNAP_RETURN_IF_ERROR(FinishPendingGroup());
  for (uint32_t b : unsynced_blocks_) {
    Status s = backend_->Sync(BlockName(vm_, cur_c_, cur_gen_, b));
    if (!s.ok()) {
      writer_broken_ = true;
      failed_since_flush_ = true;
      return s.WithContext("vm " + vm_);
    }
  }
  unsynced_blocks_.clear();
  if (!unindexed_.empty()) {
    const std::string name = IndexName(vm_, cur_c_, cur_gen_);
    Bytes rec;
    uint64_t at = index_bytes_;
    if (at == 0) {
      rec = EncodeIndexHeader(name, cur_c_, cur_gen_, 0);
      at = rec.size();
    }
    for (const IndexEntry& e : unindexed_) {
      AppendIndexEntry(name, at, e, &rec);
      at += kIndexEntrySize;
    }
    Status s = backend_->Append(name, rec);
    if (s.ok()) s = backend_->Sync(name);
    if (!s.ok()) {
      writer_broken_ = true;
      failed_since_flush_ = true;
      return s.WithContext("vm " + vm_);
    }
    index_bytes_ = at;
    {
      std::lock_guard lock(mu_);
      View& v = views_[cur_c_];
      if (v.generation != cur_gen_) v = View{cur_gen_, 0, {}};
      v.entries.insert(v.entries.end(), unindexed_.begin(), unindexed_.end());
    }
    unindexed_.clear();
  }
  return WriteDeletions();
}

Status VmStore::WriteDeletions() {
  for (auto it = pending_deletes_.begin(); it != pending_deletes_.end();) {
    const uint16_t c = it->first;
    uint32_t gen = 0;
    {
      std::lock_guard lock(mu_);
      auto v = views_.find(c);
      if (v == views_.end()) {
        return Status::NotFound(Where(c) + ": no such container");
      }
      gen = v->second.generation;
    }
    const std::string name = DlogName(vm_, c, gen);
    Status s;
    if (dlog_bytes_.find(c) == dlog_bytes_.end()) {
      Result<Bytes> old = backend_->Get(name);
      if (!old.ok() && !old.status().IsNotFound()) return old.status();
      uint64_t valid = 0;
      if (old.ok()) {
        Result<ParsedDlog> d = ParseDlog(*old, name, Where(c), c, gen);
        if (d.ok()) {
          valid = d->valid_bytes;
          if (old->size() > valid) {
            VCSNAP_RETURN_IF_ERROR(CutTail(name, old->size(), valid));
          }
        } else if (d.status().IsCorruption()) {
          // Damage must not stop deletion: keep the readable records.
          VCSNAP_ASSIGN_OR_RETURN(
              MetadataRepair r,
              RewriteDlogLocked(c, gen, *old, d.status(), /*write=*/true));
          repairs_.push_back(std::move(r));
          valid = dlog_bytes_[c];
        } else {
          return d.status();
        }
      }
      if (valid == 0) {
        Bytes header = EncodeDlogHeader(name, c, gen);
        VCSNAP_RETURN_IF_ERROR(backend_->Put(name, header));
        valid = header.size();
      }
      dlog_bytes_[c] = valid;
    }
    Bytes rec;
    uint64_t at = dlog_bytes_[c];
    for (uint64_t cid : it->second) {
      AppendDlogRecord(name, at, cid, &rec);
      at += kDlogRecordSize;
    }
    s = backend_->Append(name, rec);
    if (s.ok()) s = backend_->Sync(name);
    if (!s.ok()) {
      failed_since_flush_ = true;
      dlog_bytes_.erase(c);  // reload (and cut any partial record) next time
      return s.WithContext("vm " + vm_);
    }
    dlog_bytes_[c] = at;
    it = pending_deletes_.erase(it);
  }
  return Status::Ok();
}

Status VmStore::Flush() {
  std::lock_guard lock(writer_mu_);
  if (!writer_ready_ && pending_deletes_.empty()) return Status::Ok();
  VCSNAP_RETURN_IF_ERROR(EnsureWriter());
  if (failed_since_flush_) {
    failed_since_flush_ = false;
    return Status::IOError("vm " + vm_ +
                           ": an earlier write failed; the refs returned since "
                           "the last Flush are void");
  }
  Status s = FlushLocked();
  if (!s.ok()) failed_since_flush_ = false;  // this error reports it
  return s;
}

Status VmStore::SealContainer() {
  std::lock_guard lock(writer_mu_);
  VCSNAP_RETURN_IF_ERROR(EnsureWriter());
  VCSNAP_RETURN_IF_ERROR(FlushLocked());
  if (cur_container_bytes_ == 0) return Status::Ok();  // nothing to seal
  return StartContainer(cur_c_ + 1);
}

Status VmStore::Delete(ChunkRef ref) {
  if (!ref.valid()) {
    return Status::InvalidArgument("vm " + vm_ + ": invalid chunk reference " +
                                   ref.ToString());
  }
  std::lock_guard lock(writer_mu_);
  VCSNAP_RETURN_IF_ERROR(Locate(ref).status());
  pending_deletes_[ref.container].push_back(ref.cid);
  return Status::Ok();
}

}  // namespace vcsnap
