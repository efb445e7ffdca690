#include "recipe/recipe_walk.h"

#include <algorithm>
#include <tuple>

namespace vcsnap {

namespace {

// Sorts by recipe, then by use, so the first of each run is the first use.
void SortUses(std::vector<RecipeUse>* uses) {
  auto key = [](const RecipeUse& u) {
    return std::tie(u.ref.snapshot_id, u.ref.pack, u.ref.offset, u.snapshot,
                    u.segment);
  };
  std::sort(
      uses->begin(), uses->end(),
      [&](const RecipeUse& a, const RecipeUse& b) { return key(a) < key(b); });
}

}  // namespace

void AddRecipeUses(const SnapshotRecipe& snapshot,
                   std::vector<RecipeUse>* out) {
  size_t n = 0;
  for (const SegmentSlot& slot : snapshot.segments) n += !slot.zero;
  // Most segments of a snapshot reuse an older snapshot's recipe: rather
  // than grow, keep only each recipe's first use (what WalkRecipes visits).
  if (out->size() + n > out->capacity()) {
    SortUses(out);
    out->erase(std::unique(out->begin(), out->end(),
                           [](const RecipeUse& a, const RecipeUse& b) {
                             return a.ref.snapshot_id == b.ref.snapshot_id &&
                                    a.ref.pack == b.ref.pack &&
                                    a.ref.offset == b.ref.offset;
                           }),
               out->end());
    if (out->size() + n > out->capacity()) {
      out->reserve(std::max(2 * out->size(), out->size() + n));
    }
  }
  for (uint64_t i = 0; i < snapshot.segments.size(); ++i) {
    const SegmentSlot& slot = snapshot.segments[i];
    if (!slot.zero) out->push_back(RecipeUse{slot.ref, snapshot.id, i});
  }
}

Status WalkRecipes(RecipeReader& reader, std::vector<RecipeUse> uses,
                   const RecipeVisitor& f) {
  SortUses(&uses);
  auto same_pack = [](const SegmentRecipeRef& a, const SegmentRecipeRef& b) {
    return a.snapshot_id == b.snapshot_id && a.pack == b.pack;
  };
  for (size_t i = 0; i < uses.size(); ++i) {
    const SegmentRecipeRef& r = uses[i].ref;
    const bool new_pack = i == 0 || !same_pack(uses[i - 1].ref, r);
    if (!new_pack && uses[i - 1].ref.offset == r.offset) {
      continue;  // the same recipe, used again
    }
    // Several recipes of one pack: fetch it whole, once. (A failure here is
    // left to the per-recipe reads, which report it to `f`.)
    if (new_pack) {
      size_t j = i + 1;
      while (j < uses.size() && same_pack(uses[j].ref, r) &&
             uses[j].ref.offset == r.offset) {
        ++j;
      }
      if (j < uses.size() && same_pack(uses[j].ref, r)) {
        reader.LoadPack(r).IgnoreError();
      }
    }
    VCSNAP_RETURN_IF_ERROR(f(uses[i], reader.Read(r)));
  }
  return Status::Ok();
}

}  // namespace vcsnap
