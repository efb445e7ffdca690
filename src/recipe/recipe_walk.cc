#include "recipe/recipe_walk.h"

#include <algorithm>
#include <tuple>

namespace vcsnap {

void AddRecipeUses(const SnapshotRecipe& snapshot,
                   std::vector<RecipeUse>* out) {
  for (uint64_t i = 0; i < snapshot.segments.size(); ++i) {
    const SegmentSlot& slot = snapshot.segments[i];
    if (!slot.zero) out->push_back(RecipeUse{slot.ref, snapshot.id, i});
  }
}

Status WalkRecipes(RecipeReader& reader, std::vector<RecipeUse> uses,
                   const RecipeVisitor& f) {
  auto key = [](const RecipeUse& u) {
    return std::tie(u.ref.snapshot_id, u.ref.pack, u.ref.offset, u.snapshot,
                    u.segment);
  };
  std::sort(
      uses.begin(), uses.end(),
      [&](const RecipeUse& a, const RecipeUse& b) { return key(a) < key(b); });
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
