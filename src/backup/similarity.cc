#include "backup/similarity.h"

#include <algorithm>
#include <cstring>

#include "util/coding.h"

namespace vcsnap {

uint64_t SegmentSignature(const std::vector<const Fingerprint*>& fps) {
  const Fingerprint* min = nullptr;
  for (const Fingerprint* fp : fps) {
    if (min == nullptr || *fp < *min) min = fp;
  }
  return min == nullptr ? 0 : DecodeFixed64(min->data());
}

SimilarityIndex::SimilarityIndex(size_t max_candidates, size_t recent_segments)
    : max_candidates_(max_candidates), recent_segments_(recent_segments) {}

void SimilarityIndex::AddParent(const SnapshotRecipe& parent) {
  parent_.reserve(parent.segments.size());
  for (const SegmentSlot& slot : parent.segments) {
    if (!slot.zero) parent_.emplace(slot.signature, slot.ref);
  }
}

void SimilarityIndex::AddCurrent(uint64_t signature, Entries entries) {
  if (recent_segments_ == 0) return;
  recent_.emplace_front(signature, std::move(entries));
  if (recent_.size() > recent_segments_) recent_.pop_back();
}

std::vector<SegmentRecipeRef> SimilarityIndex::ParentCandidates(
    uint64_t signature, const SegmentRecipeRef* exclude) const {
  std::vector<SegmentRecipeRef> out;
  auto [begin, end] = parent_.equal_range(signature);
  for (auto it = begin; it != end && out.size() < max_candidates_; ++it) {
    if (exclude != nullptr && it->second == *exclude) continue;
    if (std::find(out.begin(), out.end(), it->second) != out.end()) continue;
    out.push_back(it->second);
  }
  return out;
}

std::vector<SimilarityIndex::Entries> SimilarityIndex::CurrentCandidates(
    uint64_t signature) const {
  std::vector<Entries> out;
  for (const auto& [sig, entries] : recent_) {
    if (out.size() >= max_candidates_) break;
    if (sig == signature) out.push_back(entries);
  }
  return out;
}

}  // namespace vcsnap
