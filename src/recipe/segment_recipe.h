// File: recipe/segment_recipe.h
//
// A segment recipe: how to rebuild one segment of an image, as the list of
// its chunks in order -- each a length, a SHA-256 fingerprint and where the
// bytes are: a hole (all zeros), a chunk of the VM's own store (8-byte
// reference: container << 48 | CID), or a chunk of the PDS (generation,
// offset, size). Byte layout: docs/format/recipes.md.
//
// Records are self-checking: magic, version, lengths and a checksum seeded
// with the identity of the place they are stored (pack name and offset), so
// a record read from the wrong place fails like random damage.
//
// Thread safety: pure functions and value types.

#ifndef VCSNAP_RECIPE_SEGMENT_RECIPE_H_
#define VCSNAP_RECIPE_SEGMENT_RECIPE_H_

#include <array>
#include <cstdint>
#include <string_view>
#include <vector>

#include "util/bytes.h"
#include "util/result.h"

namespace vcsnap {

// DO NOT CHANGE: stored.
enum class ChunkKind : uint8_t { kZero = 0, kVm = 1, kPds = 2 };

struct RecipeEntry {
  ChunkKind kind = ChunkKind::kZero;
  uint32_t length = 0;
  std::array<uint8_t, 32> fp{};  // meaningless for kZero
  uint64_t vm_ref = 0;           // kVm: ChunkRef raw value
  uint32_t pds_generation = 0;   // kPds
  uint64_t pds_offset = 0;       // kPds
  uint32_t pds_size = 0;         // kPds

  bool operator==(const RecipeEntry&) const = default;
};

// Hard limits a reader enforces before allocating.
inline constexpr uint32_t kMaxRecipeEntries = 1u << 20;

// The record for `entries`, bound to `identity`.
Bytes EncodeSegmentRecipe(const std::vector<RecipeEntry>& entries,
                          std::string_view identity);

// Checks and decodes a record read from `identity`. `max_segment` bounds the
// sum of entry lengths (the segment size). Corruption naming `identity`.
Result<std::vector<RecipeEntry>> DecodeSegmentRecipe(ByteView record,
                                                     std::string_view identity,
                                                     uint64_t max_segment);

}  // namespace vcsnap

#endif  // VCSNAP_RECIPE_SEGMENT_RECIPE_H_
