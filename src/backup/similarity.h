// File: backup/similarity.h
//
// The level-2 candidate finder of one backup. For a dirty segment it yields
// the segment recipes worth comparing against: the parent's recipe of the
// same segment (the paper's level 2) and up to K recipes of *similar*
// segments of the same VM (MSST'15): segments whose signature -- the first 8
// bytes of their minimum chunk fingerprint -- equals this one's. Candidates
// come from the parent snapshot's slots (a small map: 24 bytes per segment)
// and from the segments this backup already processed (their entries kept in
// a bounded LRU of recent segments, since their recipe packs may not be
// written yet).
//
// Memory: O(parent segments) for the signature map plus at most
// `recent_segments` recipes; both bounded and small next to the 64 MiB
// budget per stream (a 1 TiB image has 512 Ki segments: 12 MiB).
//
// Thread safety: one backup thread.

#ifndef VCSNAP_BACKUP_SIMILARITY_H_
#define VCSNAP_BACKUP_SIMILARITY_H_

#include <cstdint>
#include <list>
#include <memory>
#include <unordered_map>
#include <vector>

#include "chunk/fingerprint.h"
#include "recipe/recipe_pack.h"
#include "recipe/snapshot_recipe.h"

namespace vcsnap {

// First 8 bytes (little-endian) of the smallest fingerprint among `fps`.
uint64_t SegmentSignature(const std::vector<const Fingerprint*>& fps);

class SimilarityIndex {
 public:
  using Entries = std::shared_ptr<const std::vector<RecipeEntry>>;

  SimilarityIndex(size_t max_candidates, size_t recent_segments);

  // Registers every non-zero slot of the parent snapshot.
  void AddParent(const SnapshotRecipe& parent);
  // Remembers a segment of this backup (its entries, for later matches).
  void AddCurrent(uint64_t signature, Entries entries);

  // Up to max_candidates parent recipe refs with this signature, excluding
  // `exclude` (the same-index parent segment, compared anyway).
  std::vector<SegmentRecipeRef> ParentCandidates(
      uint64_t signature, const SegmentRecipeRef* exclude) const;
  // Recipes of this backup's recent segments with this signature.
  std::vector<Entries> CurrentCandidates(uint64_t signature) const;

 private:
  const size_t max_candidates_;
  const size_t recent_segments_;
  std::unordered_multimap<uint64_t, SegmentRecipeRef> parent_;
  std::list<std::pair<uint64_t, Entries>> recent_;  // newest first
};

}  // namespace vcsnap

#endif  // VCSNAP_BACKUP_SIMILARITY_H_
