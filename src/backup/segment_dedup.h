// File: backup/segment_dedup.h
//
// SegmentDeduper: levels 2 and 3 of the paper for one dirty segment, and the
// storing of what is left. Given the segment's bytes and chunks (from the
// chunk pipeline) it builds the segment's recipe:
//
//   zero chunk                         -> hole                 (stats.zero)
//   fingerprint in a candidate recipe  -> reuse its reference  (stats.level2)
//     (parent's same segment, K similar parent segments, recent segments of
//      this backup, and earlier chunks of this same segment)
//   fingerprint in the PDS index       -> PDS reference        (stats.level3)
//   otherwise                          -> VmStore::Put         (stats.new)
//
// Only the candidate recipes of one segment are in memory at a time (about
// 500 fingerprints each, as in the paper), never an index of the whole VM.
//
// Thread safety: one backup thread; the store and index it uses have their
// own contracts.

#ifndef VCSNAP_BACKUP_SEGMENT_DEDUP_H_
#define VCSNAP_BACKUP_SEGMENT_DEDUP_H_

#include <cstdint>
#include <cstring>
#include <unordered_map>
#include <vector>

#include "backup/similarity.h"
#include "chunk/segment.h"
#include "pds/fp_run.h"
#include "pds/pds_index.h"
#include "recipe/recipe_pack.h"
#include "recipe/snapshot_recipe.h"
#include "store/vm_store.h"

namespace vcsnap {

struct FingerprintHash {
  size_t operator()(const Fingerprint& fp) const {
    size_t h;
    static_assert(sizeof(h) <= sizeof(Fingerprint));
    std::memcpy(&h, fp.data(), sizeof(h));
    return h;
  }
};

struct SegmentOutcome {
  bool zero = false;  // every chunk is zero: no recipe
  uint64_t signature = 0;
  std::vector<RecipeEntry> entries;
  // Deferred level 3 (backup/level3_batch.h): indices of the entries still
  // to be looked up in the PDS or stored; they hold only fp and length.
  std::vector<uint32_t> pending;
};

// Complete `e` (fp and length already set) as a level-3 match of `ref`, or
// as the newly stored chunk `ref`: count it in `stats` and add it to the
// VM's fingerprint summary `fps`. Shared by the per-segment and the deferred
// (backup/level3_batch.h) level 3.
Status RecordPdsMatch(const PdsRef& ref, RecipeEntry* e, BackupStats* stats,
                      FpRunWriter* fps);
Status RecordStored(ChunkRef ref, RecipeEntry* e, BackupStats* stats,
                    FpRunWriter* fps);

class SegmentDeduper {
 public:
  // All pointers must outlive the deduper; `pds` and `parent_recipes` may be
  // null (no PDS; no parent). Every chunk stored and every PDS match is also
  // added to `fps`, the VM's fingerprint summary for popularity counting.
  SegmentDeduper(VmStore* store, const PdsIndex* pds,
                 RecipeReader* parent_recipes, SimilarityIndex* similarity,
                 FpRunWriter* fps, BackupStats* stats);

  // Builds the recipe of one segment. `parent_slot` is the parent's slot of
  // the same index, if any. With a PDS index that prefers big batches
  // (batch_hint() > 0), level 3 and storing are deferred: the chunks level 2
  // leaves are listed in out->pending for a Level3Batch.
  Status Process(ByteView data, const std::vector<ChunkInfo>& chunks,
                 const SegmentSlot* parent_slot, SegmentOutcome* out);

 private:
  Status LoadCandidates(uint64_t signature, const SegmentSlot* parent_slot);
  void AddCandidate(const std::vector<RecipeEntry>& entries);

  VmStore* const store_;
  const PdsIndex* const pds_;
  const bool deferred_;  // pds_->batch_hint() > 0
  RecipeReader* const parent_recipes_;
  SimilarityIndex* const similarity_;
  FpRunWriter* const fps_;
  BackupStats* const stats_;
  // Per-segment scratch, reused to avoid allocation.
  std::unordered_map<Fingerprint, RecipeEntry, FingerprintHash> known_;
  std::vector<size_t> pending_;
  std::vector<Fingerprint> pending_fps_;
  std::vector<std::optional<PdsRef>> pds_hits_;
};

}  // namespace vcsnap

#endif  // VCSNAP_BACKUP_SEGMENT_DEDUP_H_
