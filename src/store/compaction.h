// File: store/compaction.h
//
// Compaction of VM store containers (paper §5.2): a container whose deletion
// log names at least `threshold` of its live chunks is rewritten as a new
// generation holding only the chunks not logged for deletion, with the same
// container ID and every CID kept (recipes' references stay valid; deleted
// CIDs become absent entries of their group). Groups with no deleted chunk
// are copied without decompressing (only their position-bound checksum is
// re-computed); groups with only deleted chunks are dropped; the others are
// decoded and re-encoded.
//
// Crash protocol: the new generation's blocks are appended and synced, its
// index is written with one Put, and only then is it published by a Put of
// the container head; the old generation is deleted last. A crash at any step
// leaves either the old or the new generation complete and current; debris of
// the other is deleted by the next compaction of that container.
//
// Thread safety: takes the store's writer mutex (Put/Flush/Delete wait);
// concurrent Gets keep working (they retry once on the new generation).

#ifndef VCSNAP_STORE_COMPACTION_H_
#define VCSNAP_STORE_COMPACTION_H_

#include <cstdint>

#include "store/vm_store.h"
#include "util/result.h"

namespace vcsnap {

struct CompactionStats {
  uint64_t containers_examined = 0;
  uint64_t containers_compacted = 0;
  uint64_t bytes_before = 0;  // stored bytes of the compacted containers
  uint64_t bytes_after = 0;
  uint64_t groups_copied = 0;     // kept whole, not decompressed
  uint64_t groups_rewritten = 0;  // decoded and re-encoded without deletions
  uint64_t groups_dropped = 0;    // every chunk deleted
  uint64_t chunks_dropped = 0;
  void Add(const CompactionStats& o);
};

// Compacts every container of `store` at or over `threshold` (deleted
// fraction = distinct logged CIDs / live chunks, 0 < threshold <= 1; 0 means
// every container with any deletion). Flushes the store first.
Result<CompactionStats> Compact(VmStore* store, double threshold);

// The same for one container. NotFound if it does not exist.
Result<CompactionStats> CompactContainer(VmStore* store, uint16_t container,
                                         double threshold);

}  // namespace vcsnap

#endif  // VCSNAP_STORE_COMPACTION_H_
