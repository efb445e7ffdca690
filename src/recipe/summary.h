// File: recipe/summary.h
//
// Snapshot summaries for approximate deletion (paper §5.3):
//
//   vm/<vm>/summary/<id>   envelope "VSUM": the BloomBits of every VM chunk
//                          reference the snapshot uses (PDS chunks excluded)
//   vm/<vm>/cbf            envelope "VCBF": the VM's counting filter, equal to
//                          the multiset of references of snapshot <id> (the
//                          latest committed or about to be committed)
//
// A backup loads the counting filter of its parent, removes the references
// of the parent's recipes of dirty (and dropped) segments, adds those of the
// new recipes, and writes both objects before committing. When the stored
// filter is not the parent's (a backup crashed after writing it) or is
// overloaded, it is rebuilt from the snapshot's recipes -- a full read, rare.
// A missing or unknown summary counts as "contains everything": safe.
//
// Thread safety: functions over a backend; one writer per VM (the lease).

#ifndef VCSNAP_RECIPE_SUMMARY_H_
#define VCSNAP_RECIPE_SUMMARY_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "backend/backend.h"
#include "format/envelope.h"
#include "recipe/bloom.h"
#include "recipe/recipe_pack.h"
#include "recipe/snapshot_recipe.h"

namespace vcsnap {

struct VmFilter {
  uint32_t snapshot = 0;
  CountingBloom filter;
};

// The counters of a VM filter keep room for the object's frame (envelope
// header and snapshot before them, checksum after), so that loading and
// saving the filter copy none of its megabytes.
inline constexpr CountingBloom::Frame kVmFilterFrame{kEnvelopeHeaderSize + 4,
                                                     kEnvelopeTrailerSize};
// Empty counters for a VM filter, framed for SaveVmFilter.
CountingBloom NewVmFilterCounts(BloomParams params);

// The stored filter; nullopt if none. Its counters are the bytes read.
Result<std::optional<VmFilter>> LoadVmFilter(Backend& backend,
                                             const std::string& vm);
// Writes the object in the filter's own buffer when its frame is
// kVmFilterFrame (a copy otherwise); the frame bytes are scratch.
Status SaveVmFilter(Backend& backend, const std::string& vm, VmFilter* filter);

Status SaveSummary(Backend& backend, const std::string& vm, uint32_t snapshot,
                   const BloomBits& bits);
// The summary cut from a VM's counts (counts.ToBits(), without building it).
Status SaveSummary(Backend& backend, const std::string& vm, uint32_t snapshot,
                   const CountingBloom& counts);
// Calls `f` with the stored summary, tested in place (the view is valid
// during the call only); a view that contains everything when the summary is
// missing or of an unknown kind. Errors: the object cannot be read, or is
// corrupt. `scratch`, when given, holds the object's bytes and is reused
// (reading many summaries through one buffer saves allocating one each).
Status WithSummary(Backend& backend, const std::string& vm, uint32_t snapshot,
                   const std::function<void(const BloomView&)>& f,
                   Bytes* scratch = nullptr);
std::string SummaryName(const std::string& vm, uint32_t snapshot);

// Calls `f` with every VM chunk reference of every distinct segment recipe
// of `snapshot` (each recipe read once).
Status ForEachVmRef(RecipeReader& reader, const SnapshotRecipe& snapshot,
                    const std::function<void(uint64_t)>& f);

// A counting filter of exactly the references of `snapshot`, sized for them.
Result<CountingBloom> BuildFilter(RecipeReader& reader,
                                  const SnapshotRecipe& snapshot);

}  // namespace vcsnap

#endif  // VCSNAP_RECIPE_SUMMARY_H_
