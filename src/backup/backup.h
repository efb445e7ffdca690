// File: backup/backup.h
//
// RunBackup: one snapshot of one VM's disk image, with the three levels of
// VM-centric dedup (paper §4.1, §5.1):
//
//   level 1  a segment the dirty bitmap marks clean, with the parent holding
//            a segment of the same extent, reuses the parent's segment recipe
//            by reference: no read, no chunking. The bitmap is trusted only
//            when the parent is the VM's last committed backup (the bitmap's
//            base); after that snapshot was forgotten, all segments are dirty.
//            With a bitmap finer than a segment, a dirty segment is chunked
//            and hashed only around its written granules; elsewhere the
//            parent's chunks are copied (chunk/reuse.h: the same chunks as a
//            full pass, so the recipe does not depend on the granule);
//   level 2  a dirty segment's chunks are matched against the parent's recipe
//            of the same segment and of similar segments (backup/similarity.h);
//   level 3  what is left is looked up in batches in the PDS index: per
//            segment with an in-memory index, or -- with an on-disk index --
//            deferred into large sorted batches (backup/level3_batch.h);
//   the rest is stored in the VM's store; zero chunks become holes.
//
// Commit protocol (crash-safe by construction): chunk data + container
// indexes (VmStore::Flush) and the VM's fingerprint run (pds/fp_run.h), then
// segment-recipe packs, then the snapshot
// recipe, then -- after re-checking the lease -- the catalog, whose atomic
// replacement is the moment the snapshot exists. A backup that fails at any
// point leaves every earlier snapshot intact and no visible snapshot; what it
// wrote is unreferenced and reclaimed by gc.
//
// Thread safety: one call per VM at a time (the lease enforces it across
// processes); backups of different VMs may run concurrently on one
// Repository.

#ifndef VCSNAP_BACKUP_BACKUP_H_
#define VCSNAP_BACKUP_BACKUP_H_

#include <cstdint>
#include <optional>
#include <semaphore>
#include <string>

#include "pds/pds_index.h"
#include "recipe/snapshot_recipe.h"
#include "repo/repository.h"
#include "source/image_source.h"
#include "util/buffer_pool.h"

namespace vcsnap {

struct BackupOptions {
  std::string vm;
  std::string image_path;  // a file, a block device, qcow2 or an NBD URI
  std::optional<std::string> bitmap_path;
  // A QEMU persistent dirty bitmap of a qcow2 image or NBD export, taken as
  // the CBT instead of a bitmap file (source/image_source.h). One that cannot
  // be used is not an error: every segment is read, and the note says why.
  std::string dirty_bitmap;
  ImageFormat format = ImageFormat::kUnspecified;  // of a file: --format
  uint64_t bitmap_granularity = 0;                 // 0: the segment size
  unsigned threads = 0;           // chunk/hash workers; 0: all cores
  size_t similar_segments = 2;    // K of level-2 similarity search
  bool progress = false;          // draw a progress bar on a terminal
  const PdsIndex* pds = nullptr;  // null: empty PDS
  // The VM's tenant (Repository::BindVm). A VM that holds no data yet joins
  // it; a VM of another tenant, or one that already holds data under the
  // repository keys, is InvalidArgument. "": the VM's binding, if any.
  std::string tenant;
  // Shared by the backups of one process: a slot is held from the start of
  // a backup to the end of its dedup phase (reading, chunking, hashing,
  // storing), not during its commit (mostly fsync waits). More backups in
  // that phase than cores add no CPU, only memory touched for the first
  // time -- a page fault per 4 KiB -- and cache misses (SPEC P5). Null: no
  // limit.
  std::counting_semaphore<>* dedup_slots = nullptr;
  // Segment buffers kept for reuse by the backups of one process (so a VM
  // reuses those of the VMs before it); null: the backup keeps its own.
  BufferPool* segment_buffers = nullptr;
};

struct BackupResult {
  std::string vm;
  uint32_t snapshot = 0;
  uint32_t parent = 0;  // 0: none
  uint64_t image_size = 0;
  std::string source;  // ImageSource::kind(): "raw", "qcow2 (qemu-nbd)", "nbd"
  BackupStats stats;
  uint64_t segments = 0;
  uint64_t segments_dirty = 0;
  // Sub-segment CBT (a bitmap finer than a segment): chunks of dirty
  // segments copied from the parent's recipe without reading them into the
  // chunker or hashing them, and their bytes.
  uint64_t chunks_reused = 0;
  uint64_t bytes_reused = 0;
  // Bytes of dirty segments read from the image (holes and, with
  // sub-segment CBT, the parts of segments that were not needed excluded).
  uint64_t bytes_read = 0;
  bool bitmap_used = true;      // false: given but not trustworthy (see note)
  std::string note;             // a warning for the operator, or empty
  uint64_t metadata_bytes = 0;  // recipe packs + snapshot recipe + catalog
  double seconds = 0;
  double seconds_dedup = 0;   // reading, chunking, matching, storing
  double seconds_commit = 0;  // flushing and committing
  double seconds_queued = 0;  // waiting for a dedup slot, before `seconds`
  uint64_t peak_rss_bytes = 0;
  // Deferred level 3 (an index with batch_hint() > 0): distinct fingerprints
  // looked up, in how many batches, and the time inside the lookups.
  uint64_t level3_lookups = 0;
  uint64_t level3_batches = 0;
  double seconds_level3 = 0;
};

Result<BackupResult> RunBackup(Repository& repo, const BackupOptions& options);

}  // namespace vcsnap

#endif  // VCSNAP_BACKUP_BACKUP_H_
