// File: recipe/snapshot_recipe.h
//
// A snapshot recipe: the image size and, per segment, either "all zeros" or a
// reference to its segment recipe plus the segment's similarity signature
// (the first 8 bytes of its minimum chunk fingerprint, for level-2 similarity
// search). Also the snapshot's parent, the PDS generation it used and its
// backup statistics. Stored as "vm/<vm>/snap/<id>" in an envelope (magic
// "VSNP"); byte layout in docs/format/recipes.md.
//
// Thread safety: value types and pure functions.

#ifndef VCSNAP_RECIPE_SNAPSHOT_RECIPE_H_
#define VCSNAP_RECIPE_SNAPSHOT_RECIPE_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "recipe/recipe_pack.h"
#include "util/bytes.h"
#include "util/result.h"

namespace vcsnap {

// Byte counts of one backup, as `backup --json` reports them. level1 +
// level2 + level3 + zero + new_bytes == logical.
struct BackupStats {
  uint64_t logical = 0;
  uint64_t level1 = 0;  // clean segments reused from the parent
  uint64_t level2 = 0;  // matched in the VM's own earlier data
  uint64_t level3 = 0;  // matched in the PDS
  uint64_t zero = 0;
  uint64_t new_bytes = 0;     // new chunks, before compression
  uint64_t stored_bytes = 0;  // bytes written after compression
  uint64_t chunks_new = 0;
  uint64_t chunks_level2 = 0;
  uint64_t chunks_level3 = 0;
  bool operator==(const BackupStats&) const = default;
};

struct SegmentSlot {
  bool zero = false;       // the whole segment is zeros: no recipe
  uint64_t signature = 0;  // min-fingerprint prefix; meaningless if zero
  SegmentRecipeRef ref;    // meaningless if zero
  bool operator==(const SegmentSlot&) const = default;
};

struct SnapshotRecipe {
  uint32_t id = 0;
  uint32_t parent = 0;  // 0: none
  uint64_t time_unix = 0;
  uint64_t image_size = 0;
  uint32_t segment_size = 0;
  uint32_t pds_generation = 0;  // 0: no PDS used
  BackupStats stats;
  std::vector<SegmentSlot> segments;  // SegmentCount(image_size, segment_size)
};

Bytes EncodeSnapshotRecipe(const SnapshotRecipe& recipe,
                           std::string_view identity);
// Corruption/NotSupported naming `identity`; checks the segment count against
// image and segment size before allocating.
Result<SnapshotRecipe> DecodeSnapshotRecipe(ByteView bytes,
                                            std::string_view identity);

// Reads and decodes vm/<vm>/snap/<id>, checking it holds snapshot <id>.
// Errors name the VM and snapshot.
class Backend;
Result<SnapshotRecipe> LoadSnapshotRecipe(Backend& backend,
                                          const std::string& vm, uint32_t id);

}  // namespace vcsnap

#endif  // VCSNAP_RECIPE_SNAPSHOT_RECIPE_H_
