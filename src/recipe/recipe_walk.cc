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
  for (size_t i = 0; i < uses.size(); ++i) {
    const SegmentRecipeRef& r = uses[i].ref;
    if (i > 0 && uses[i - 1].ref.snapshot_id == r.snapshot_id &&
        uses[i - 1].ref.pack == r.pack && uses[i - 1].ref.offset == r.offset) {
      continue;  // the same recipe, used again
    }
    VCSNAP_RETURN_IF_ERROR(f(uses[i], reader.Read(r)));
  }
  return Status::Ok();
}

}  // namespace vcsnap
