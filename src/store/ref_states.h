// File: store/ref_states.h
//
// RefStates answers "does this VM store still hold chunk `ref`?" for many
// references: each container's present CIDs and deletion log are loaded on
// the first reference into it and kept -- the present CIDs as ranges (CIDs
// are handed out in order, so only compaction's holes split them), the
// deleted ones as a sorted vector. check uses it to validate every
// reference, and `pds update` to leave out fingerprints whose chunk a forget
// or gc has deleted.
//
// Thread safety: not thread-safe (one caller at a time); the store is used
// through its thread-safe read calls.

#ifndef VCSNAP_STORE_REF_STATES_H_
#define VCSNAP_STORE_REF_STATES_H_

#include <cstdint>
#include <map>
#include <utility>
#include <vector>

#include "store/refs.h"
#include "store/vm_store.h"
#include "util/result.h"

namespace vcsnap {

enum class RefState {
  kLive,     // present and not logged for deletion
  kDeleted,  // present, but logged for deletion (compaction will drop it)
  kAbsent,   // not in the store: never flushed, or compacted away
};

class RefStates {
 public:
  explicit RefStates(VmStore* store) : store_(store) {}

  // The state of `ref`; an error when the container's CIDs cannot be read
  // (tried again on the next call).
  Result<RefState> Get(ChunkRef ref);

 private:
  VmStore* const store_;
  struct Container {
    std::vector<std::pair<uint64_t, uint64_t>> present;  // [first, last]
    std::vector<uint64_t> deleted;                       // sorted
  };
  std::map<uint16_t, Container> containers_;
};

}  // namespace vcsnap

#endif  // VCSNAP_STORE_REF_STATES_H_
