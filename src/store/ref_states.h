// File: store/ref_states.h
//
// RefStates answers "does this VM store still hold chunk `ref`?" for many
// references: each container's present CIDs and deletion log are loaded on
// the first reference into it and kept -- the present CIDs as ranges (CIDs
// are handed out in order, so only compaction's holes split them), the
// deleted ones as a sorted vector. It also keeps *marks*: one bit per
// present chunk, indexed by the chunk's rank among its container's present
// CIDs, so that a walk over every reference of a VM (gc's mark, check) needs
// about a bit per stored chunk rather than a set of references. check uses
// it to validate every reference once, gc to find the unreferenced chunks,
// and `pds update` to leave out fingerprints whose chunk a forget or gc has
// deleted.
//
// A container is read once: a caller that needs the answers to stay true
// (gc) holds the VM's lease so the store cannot change meanwhile.
//
// Thread safety: not thread-safe (one caller at a time); the store is used
// through its thread-safe read calls.

#ifndef VCSNAP_STORE_REF_STATES_H_
#define VCSNAP_STORE_REF_STATES_H_

#include <cstdint>
#include <functional>
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
  // (tried again on the next call). When the chunk is present (kLive or
  // kDeleted) and `rank` is not null, *rank is its position among the
  // container's present CIDs, from 0 to Present(ref.container) - 1: distinct
  // CIDs have distinct ranks.
  Result<RefState> Get(ChunkRef ref, uint64_t* rank = nullptr);

  // Get(), and when the chunk is present, marks it: *first is true when it
  // was not marked before. Absent chunks are never marked.
  Result<RefState> Mark(ChunkRef ref, bool* first);

  // Calls f(cid) in CID order for every present CID of `container` that is
  // neither marked nor logged for deletion; stops at the first error.
  Status ForEachUnmarkedLive(uint16_t container,
                             const std::function<Status(uint64_t cid)>& f);

  // The number of present CIDs of `container` once it is loaded; 0 before.
  uint64_t Present(uint16_t container) const;

 private:
  struct Container {
    std::vector<std::pair<uint64_t, uint64_t>> present;  // [first, last]
    std::vector<uint64_t> before;   // present CIDs in the ranges before each
    uint64_t count = 0;             // present CIDs
    std::vector<uint64_t> deleted;  // sorted
    std::vector<bool> marked;       // by rank; empty until the first Mark
  };
  Result<Container*> Load(uint16_t container);
  // The state of `ref` in loaded container `c`; *rank as Get() says.
  static RefState Locate(const Container& c, uint64_t cid, uint64_t* rank);

  VmStore* const store_;
  std::map<uint16_t, Container> containers_;
};

}  // namespace vcsnap

#endif  // VCSNAP_STORE_REF_STATES_H_
