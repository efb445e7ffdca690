// File: pds/pds_index.h
//
// PdsIndex: what a backup asks of the popular data set at level 3 -- "which
// of these fingerprints are PDS chunks, and where?". Queried in batches (one
// dirty segment's unmatched chunks at a time). Implementations: the in-process
// table and the sorted on-disk merge index (pds_table.h), and memcached
// shared across the cluster (pds_memcached.h).
// A backup with no PDS index (nullptr) simply finds nothing at level 3.
//
// Thread safety: Lookup may be called concurrently from several backups.

#ifndef VCSNAP_PDS_PDS_INDEX_H_
#define VCSNAP_PDS_PDS_INDEX_H_

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "chunk/fingerprint.h"
#include "store/refs.h"

namespace vcsnap {

class PdsIndex {
 public:
  virtual ~PdsIndex() = default;

  // 0: per-segment batches are cheap (an in-memory index). Otherwise the
  // number of lookups a batch should gather before it is worth a pass over
  // the index: callers then defer level 3 (backup/level3_batch.h).
  virtual size_t batch_hint() const { return 0; }

  // The PDS generation whose chunks this index names.
  virtual uint32_t generation() const = 0;

  // out->size() becomes fps.size(); (*out)[i] is the PDS reference of
  // fps[i], or nullopt when it is not in the PDS.
  virtual void Lookup(std::span<const Fingerprint> fps,
                      std::vector<std::optional<PdsRef>>* out) const = 0;
};

}  // namespace vcsnap

#endif  // VCSNAP_PDS_PDS_INDEX_H_
