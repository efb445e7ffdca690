// File: analysis/isolation.h
//
// Fault-isolation analysis (paper §4.3, Tables 2-3): from a repository's
// actual stores, how many storage blocks each VM's live snapshots depend on,
// how many VMs share each block, and -- with analysis/availability.h -- the
// chance that a VM keeps all its snapshots when d of p machines fail. The
// same numbers for a VM-oblivious (VO) layout of the same data are computed
// by simulation, for comparison.
//
// VM-centric (VC), measured: a block is a data block object of a VM store
// (vm/<vm>/store/c*/g*/b*) or of a PDS generation (pds/g*/b*). For each VM:
//   vm_blocks  (N1)  distinct VM-store blocks holding a chunk that one of the
//                    VM's live snapshots references;
//   pds_blocks (N2)  distinct PDS blocks holding one;
//   meta_objects     the catalog, the snapshot recipes, the segment-recipe
//                    packs used and the index of each container used. They
//                    are lost like data blocks (replicas as VM blocks).
//
// VM-oblivious, simulated: exact global dedup of the same chunks into one
// shared append-only log cut into blocks of `vo_block_size`. The snapshots
// of all VMs are replayed oldest first (by commit time, as the nightly
// backups ran); a chunk takes space in the log where its fingerprint first
// occurs, at its length times `vo_compression` (the VM stores' measured ratio
// of stored to raw bytes), and a record never straddles two blocks. For each
// VM, vo_blocks (No) = distinct log blocks holding a chunk it references; its
// metadata objects are the same except the container indexes (the global
// store's index would be shared by all VMs, so leaving it out favours VO).
// Zero chunks take no space in either layout.
//
// Placement groups: a backend that places objects in groups sharing fate
// (Ceph: objects of one placement group live on the same OSDs) reports each
// object's group (Backend::PlacementGroupOf); the counts above are then
// also given in distinct groups, and availability by group -- on Ceph the
// truer model, since a VM cannot depend on more groups than its pools have.
//
// Cost: reads every catalog, snapshot recipe and distinct segment recipe of
// every VM once (like gc's mark) and every container index; memory ~16 B per
// distinct recipe entry plus ~40 B per distinct fingerprint (VO table).
//
// Concurrency: takes no lease. A VM whose objects vanish while it is read (a
// forget and gc beside it) is read again, up to 3 times.
//
// Thread safety: a function; the repository may be shared.

#ifndef VCSNAP_ANALYSIS_ISOLATION_H_
#define VCSNAP_ANALYSIS_ISOLATION_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "repo/repository.h"
#include "util/result.h"

namespace vcsnap {

struct IsolationOptions {
  // Block size of the simulated VO log; 0: the repository's block size
  // (config.max_object_size), so both layouts have blocks of one size.
  uint64_t vo_block_size = 0;
  // Called before each VM is read (progress), on the caller's thread.
  std::function<void(size_t index, size_t count, const std::string& vm)> on_vm;
};

struct VmDependencies {
  std::string vm;
  uint32_t snapshots = 0;
  uint64_t vm_blocks = 0;        // N1
  uint64_t pds_blocks = 0;       // N2
  uint64_t meta_objects = 0;     // catalog, snapshot recipes, packs, indexes
  uint64_t vo_blocks = 0;        // No (simulated)
  uint64_t vo_meta_objects = 0;  // meta_objects without container indexes
  // With placement groups (IsolationReport::placement_groups): the distinct
  // groups holding the VM's VM-store blocks and metadata, its PDS blocks,
  // and (VO) its simulated blocks -- named vo/b<8 hex> -- and metadata.
  uint64_t vm_pgs = 0, pds_pgs = 0, vo_pgs = 0;
};

// How many VMs share the blocks of one kind: histogram[i] counts the blocks
// shared by [2^i, 2^(i+1)) VMs (1, 2-3, 4-7, ...).
struct BlockSharing {
  uint64_t blocks = 0;  // blocks some live snapshot depends on
  uint64_t max_vms = 0;
  double mean_vms = 0;  // VMs per block, averaged over blocks
  std::vector<uint64_t> histogram;
};

struct IsolationReport {
  uint64_t block_size = 0;          // the repository's (VM store blocks)
  uint64_t vo_block_size = 0;       // of the simulated log
  double vo_compression = 1;        // stored / raw bytes used for VO records
  std::vector<VmDependencies> vms;  // by VM name
  BlockSharing vm_store;         // VC blocks of VM stores (1 VM each by design)
  BlockSharing pds;              // VC blocks of the PDS
  BlockSharing vo;               // simulated VO log blocks
  uint64_t vo_log_bytes = 0;     // size of the simulated log
  uint64_t distinct_chunks = 0;  // distinct non-zero fingerprints (VO log)
  // The backend places objects by placement group (Ceph), and the VMs'
  // *_pgs counts are filled in.
  bool placement_groups = false;
};

Result<IsolationReport> AnalyzeIsolation(Repository& repo,
                                         const IsolationOptions& options);

// Mean, over `report`'s VMs with snapshots, of the chance to keep every
// snapshot when `failed` of `machines` machines fail, with VM blocks and
// metadata on `replicas` machines and PDS blocks on `pds_replicas`; and the
// expected number of VMs that lose some snapshot data.
struct AvailabilityRow {
  uint32_t failed = 0;
  double block = 1;      // one block of `replicas` copies survives
  double pds_block = 1;  // one block of `pds_replicas` copies survives
  double vc_mean = 1, vo_mean = 1;
  double vc_worst = 1, vo_worst = 1;  // the least available VM's
  double vc_vms_lost = 0, vo_vms_lost = 0;
  // With placement groups: the same with a group as the unit of loss.
  double vc_pg_mean = 1, vo_pg_mean = 1;
  double vc_pg_vms_lost = 0, vo_pg_vms_lost = 0;
};
AvailabilityRow ComputeAvailability(const IsolationReport& report,
                                    uint32_t machines, uint32_t replicas,
                                    uint32_t pds_replicas, uint32_t failed);

}  // namespace vcsnap

#endif  // VCSNAP_ANALYSIS_ISOLATION_H_
