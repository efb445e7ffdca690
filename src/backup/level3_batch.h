// File: backup/level3_batch.h
//
// Level3Batch: the low-memory batch mode of level 3 (paper §2 and §5.2:
// dedup requests wait and are processed in batches). With an on-disk PDS
// index (PdsIndex::batch_hint() > 0) a backup does not look chunks up
// segment by segment. Instead, the chunks that level 2 left (the "pending"
// chunks of a segment) are written to a local spool file and their segments
// held; when the batch is full, or at the end of the backup, Resolve()
//   1. sorts the pending fingerprints and asks the index once for the unique
//      ones -- a single merge-join pass over the sorted on-disk index;
//   2. stores the misses in the VM store in their original (image) order,
//      reading their bytes back from the spool; a fingerprint pending more
//      than once in the batch is stored once and referenced by the others;
//   3. completes the held segments' recipes and hands them back in order.
// Memory: the held segments' recipe entries (bounded by max_segments; about
// 80 bytes per chunk), 8 bytes per pending chunk while held and about 90
// while Resolve() runs (bounded by max_pending); chunk bytes wait on local
// disk, not in memory. The CLI's defaults (2^17 lookups, 256 segments) keep
// this near 20 MiB. The spool is an unnamed temporary file in
// $TMPDIR (default /tmp), gone when the process ends.
//
// Thread safety: one backup thread.

#ifndef VCSNAP_BACKUP_LEVEL3_BATCH_H_
#define VCSNAP_BACKUP_LEVEL3_BATCH_H_

#include <cstdint>
#include <functional>
#include <vector>

#include "backup/segment_dedup.h"

namespace vcsnap {

struct Level3Stats {
  uint64_t lookups = 0;  // distinct fingerprints asked of the index
  uint64_t batches = 0;
  double seconds_lookup = 0;  // inside PdsIndex::Lookup
};

class Level3Batch {
 public:
  // All pointers must outlive the batch. `pds` must not be null.
  Level3Batch(VmStore* store, const PdsIndex* pds, FpRunWriter* fps,
              BackupStats* stats, size_t max_pending, size_t max_segments);
  ~Level3Batch();
  Level3Batch(const Level3Batch&) = delete;
  Level3Batch& operator=(const Level3Batch&) = delete;

  // Holds segment `index` whose outcome has pending chunks (their entries
  // carry fp and length; the rest of the outcome is final). Copies the
  // pending chunks' bytes out of `data` (the segment) into the spool.
  Status Hold(uint64_t index, SegmentOutcome outcome, ByteView data,
              const std::vector<ChunkInfo>& chunks);
  bool full() const {
    return held_.size() >= max_segments_ || offsets_.size() >= max_pending_;
  }
  bool empty() const { return held_.empty(); }

  // Resolves every held segment (see the file comment) and calls
  // done(index, outcome) for each, in the order they were held.
  Status Resolve(const std::function<Status(uint64_t, SegmentOutcome&)>& done);

  const Level3Stats& level3_stats() const { return l3_; }

 private:
  struct Held {
    uint64_t index;
    SegmentOutcome outcome;
  };
  Status OpenSpool();

  VmStore* const store_;
  const PdsIndex* const pds_;
  FpRunWriter* const fps_;
  BackupStats* const stats_;
  const size_t max_pending_, max_segments_;
  int spool_fd_ = -1;
  uint64_t spool_size_ = 0;
  std::vector<Held> held_;
  std::vector<uint64_t> offsets_;  // spool offset of each pending chunk
  Level3Stats l3_;
};

}  // namespace vcsnap

#endif  // VCSNAP_BACKUP_LEVEL3_BATCH_H_
