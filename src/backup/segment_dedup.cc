#include "backup/segment_dedup.h"

#include <cstring>

namespace vcsnap {

Status RecordPdsMatch(const PdsRef& ref, RecipeEntry* e, BackupStats* stats,
                      FpRunWriter* fps) {
  e->kind = ChunkKind::kPds;
  e->pds_generation = ref.generation;
  e->pds_offset = ref.offset;
  e->pds_size = ref.size;
  stats->level3 += e->length;
  stats->chunks_level3++;
  FpRecord rec;
  rec.fp = e->fp;
  rec.kind = ChunkKind::kPds;
  rec.pds = ref;
  rec.length = e->length;
  return fps->Add(rec);
}

Status RecordStored(ChunkRef ref, RecipeEntry* e, BackupStats* stats,
                    FpRunWriter* fps) {
  e->kind = ChunkKind::kVm;
  e->vm_ref = ref.raw();
  stats->new_bytes += e->length;
  stats->chunks_new++;
  FpRecord rec;
  rec.fp = e->fp;
  rec.kind = ChunkKind::kVm;
  rec.vm_ref = e->vm_ref;
  rec.length = e->length;
  return fps->Add(rec);
}

SegmentDeduper::SegmentDeduper(VmStore* store, const PdsIndex* pds,
                               RecipeReader* parent_recipes,
                               SimilarityIndex* similarity, FpRunWriter* fps,
                               BackupStats* stats)
    : store_(store),
      pds_(pds),
      deferred_(pds != nullptr && pds->batch_hint() > 0),
      parent_recipes_(parent_recipes),
      similarity_(similarity),
      fps_(fps),
      stats_(stats) {}

void SegmentDeduper::AddCandidate(const std::vector<RecipeEntry>& entries) {
  for (const RecipeEntry& e : entries) {
    if (e.kind != ChunkKind::kZero) known_.emplace(e.fp, e);
  }
}

Status SegmentDeduper::LoadCandidates(uint64_t signature,
                                      const SegmentSlot* parent_slot) {
  const SegmentRecipeRef* same = nullptr;
  if (parent_recipes_ != nullptr && parent_slot != nullptr &&
      !parent_slot->zero) {
    same = &parent_slot->ref;
    VCSNAP_ASSIGN_OR_RETURN(std::vector<RecipeEntry> entries,
                            parent_recipes_->Read(*same));
    AddCandidate(entries);
  }
  if (parent_recipes_ != nullptr) {
    for (const SegmentRecipeRef& ref :
         similarity_->ParentCandidates(signature, same)) {
      VCSNAP_ASSIGN_OR_RETURN(std::vector<RecipeEntry> entries,
                              parent_recipes_->Read(ref));
      AddCandidate(entries);
    }
  }
  for (const SimilarityIndex::Entries& entries :
       similarity_->CurrentCandidates(signature)) {
    AddCandidate(*entries);
  }
  return Status::Ok();
}

Status SegmentDeduper::Process(ByteView data,
                               const std::vector<ChunkInfo>& chunks,
                               const SegmentSlot* parent_slot,
                               SegmentOutcome* out) {
  out->entries.assign(chunks.size(), RecipeEntry{});
  out->pending.clear();
  std::vector<const Fingerprint*> fps;
  fps.reserve(chunks.size());
  for (const ChunkInfo& c : chunks) {
    if (!c.zero) fps.push_back(&c.fp);
  }
  out->zero = fps.empty();
  if (out->zero) {
    stats_->zero += data.size();
    return Status::Ok();
  }
  out->signature = SegmentSignature(fps);
  known_.clear();
  VCSNAP_RETURN_IF_ERROR(LoadCandidates(out->signature, parent_slot));

  // Level 2 (and zeros): everything the VM already has.
  pending_.clear();
  pending_fps_.clear();
  for (size_t i = 0; i < chunks.size(); ++i) {
    const ChunkInfo& c = chunks[i];
    RecipeEntry& e = out->entries[i];
    e.length = c.length;
    if (c.zero) {
      e.kind = ChunkKind::kZero;
      stats_->zero += c.length;
      continue;
    }
    auto it = known_.find(c.fp);
    if (it != known_.end() && it->second.length == c.length) {
      e = it->second;
      stats_->level2 += c.length;
      stats_->chunks_level2++;
      continue;
    }
    if (c.reused) {
      // Its bytes may never have been read (chunk/reuse.h): storing them
      // would store garbage. It came from the parent's recipe of this very
      // segment, which LoadCandidates() loaded, so this cannot happen.
      return Status::Corruption(
          "chunk at offset " + std::to_string(c.offset) +
          " copied from the parent's recipe is missing from it");
    }
    pending_.push_back(i);
    pending_fps_.push_back(c.fp);
  }

  if (deferred_) {
    for (size_t i : pending_) {
      out->entries[i].fp = chunks[i].fp;
      out->pending.push_back(static_cast<uint32_t>(i));
    }
    return Status::Ok();
  }

  // Level 3: one batched PDS lookup for the rest.
  pds_hits_.assign(pending_.size(), std::nullopt);
  if (pds_ != nullptr && !pending_.empty()) {
    pds_->Lookup(pending_fps_, &pds_hits_);
  }

  // New chunks go to the store; a chunk repeated within the segment is
  // stored once.
  for (size_t p = 0; p < pending_.size(); ++p) {
    const ChunkInfo& c = chunks[pending_[p]];
    RecipeEntry& e = out->entries[pending_[p]];
    e.fp = c.fp;
    if (pds_hits_[p].has_value()) {
      VCSNAP_RETURN_IF_ERROR(RecordPdsMatch(*pds_hits_[p], &e, stats_, fps_));
      known_.emplace(c.fp, e);
      continue;
    }
    auto again = known_.find(c.fp);
    if (again != known_.end() && again->second.length == c.length) {
      e = again->second;
      stats_->level2 += c.length;
      stats_->chunks_level2++;
      continue;
    }
    VCSNAP_ASSIGN_OR_RETURN(ChunkRef ref,
                            store_->Put(data.subspan(c.offset, c.length)));
    VCSNAP_RETURN_IF_ERROR(RecordStored(ref, &e, stats_, fps_));
    known_.emplace(c.fp, e);
  }
  return Status::Ok();
}

}  // namespace vcsnap
