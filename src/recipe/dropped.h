// File: recipe/dropped.h
//
// Dropped lists: what a snapshot stopped referencing (docs/format/deletion.md).
//
//   vm/<vm>/dropped/<id>   envelope "VDRP": the VM chunk references of the
//                          parent's recipes of the segments snapshot <id>
//                          rewrote (dirty, turned to holes, or cut off by a
//                          shrunk image) that the new recipe of the same
//                          segment does not contain.
//
// Contract (what forget relies on): every VM chunk reference of the parent
// that snapshot <id> does not reference at all is in the list. Clean segments
// reuse the parent's recipe, so such a reference can only have been in a
// rewritten segment, and it is not in that segment's new recipe. The list may
// hold more (a chunk that moved to another segment); forget still tests every
// entry against the live summaries, so extra entries cost a Bloom test, never
// data. Written by the backup with the summary, before the snapshot recipe
// commits; only for snapshots that have a parent.
//
// Thread safety: pure functions and functions over a backend; one writer per
// VM (the lease).

#ifndef VCSNAP_RECIPE_DROPPED_H_
#define VCSNAP_RECIPE_DROPPED_H_

#include <cstdint>
#include <string>
#include <vector>

#include "backend/backend.h"
#include "util/bytes.h"
#include "util/result.h"

namespace vcsnap {

struct DroppedList {
  uint32_t parent = 0;         // the snapshot the list is relative to
  std::vector<uint64_t> refs;  // strictly ascending raw ChunkRefs
};

std::string DroppedName(const std::string& vm, uint32_t snapshot);

// REQUIRES: list.refs strictly ascending.
Bytes EncodeDropped(const DroppedList& list, const std::string& name);
// Corruption when the envelope, the count or the order is wrong; NotSupported
// for a version this reader does not know.
Result<DroppedList> DecodeDropped(ByteView bytes, const std::string& name);

Status SaveDropped(Backend& backend, const std::string& vm, uint32_t snapshot,
                   const DroppedList& list);
// NotFound when the snapshot has no list (a first snapshot, or one written
// before lists existed).
Result<DroppedList> LoadDropped(Backend& backend, const std::string& vm,
                                uint32_t snapshot);

}  // namespace vcsnap

#endif  // VCSNAP_RECIPE_DROPPED_H_
