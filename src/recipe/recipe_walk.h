// File: recipe/recipe_walk.h
//
// Reading many segment recipes at once -- gc's mark, check, PDS retirement,
// forget without dropped lists -- in PACK order. Snapshots use recipes from
// the packs of many older snapshots (level 1 reuses them by reference), so
// walking segment by segment makes RecipeReader's small pack cache fetch the
// same multi-MiB pack again for nearly every segment. Sorted by pack, each
// pack is fetched once.
//
// Thread safety: functions; `reader` is thread-safe, `f` is called on the
// caller's thread, one recipe at a time.

#ifndef VCSNAP_RECIPE_RECIPE_WALK_H_
#define VCSNAP_RECIPE_RECIPE_WALK_H_

#include <cstdint>
#include <functional>
#include <vector>

#include "recipe/recipe_pack.h"
#include "recipe/snapshot_recipe.h"

namespace vcsnap {

// WalkRecipes goes through the packs one after another, so a reader used
// only for walks needs a single cached pack (packs are up to 4 MiB; 8 MiB in
// older repositories).
inline constexpr size_t kWalkCachedPacks = 1;

// One use of a segment recipe: by segment `segment` of snapshot `snapshot`.
struct RecipeUse {
  SegmentRecipeRef ref;
  uint32_t snapshot = 0;
  uint64_t segment = 0;
};

// Appends the uses of every non-zero segment of `snapshot`. Rather than grow
// `out`, it may first drop the uses that are not the first of their recipe
// (in (snapshot, segment) order; WalkRecipes visits only those), so `out`
// stays within about twice the distinct recipes plus one snapshot's segments
// however many snapshots share them.
void AddRecipeUses(const SnapshotRecipe& snapshot, std::vector<RecipeUse>* out);

// Calls `f` once per distinct recipe among `uses` (same pack and offset),
// in pack order, with its first use in (snapshot, segment) order and the
// decoded entries or the error reading them. Stops at, and returns, the
// first non-OK status `f` returns.
using RecipeVisitor = std::function<Status(
    const RecipeUse& first, Result<std::vector<RecipeEntry>> entries)>;
Status WalkRecipes(RecipeReader& reader, std::vector<RecipeUse> uses,
                   const RecipeVisitor& f);

}  // namespace vcsnap

#endif  // VCSNAP_RECIPE_RECIPE_WALK_H_
