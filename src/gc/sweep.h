// File: gc/sweep.h
//
// Exact per-VM maintenance (paper §5.3's leak repair):
//
//  RunGc: under the VM's lease, marks every VM chunk reference of every live
//  snapshot (reading each distinct segment recipe once; one bit per present
//  chunk, store/ref_states.h; a store read that fails fails the gc, which
//  never takes a chunk it could not mark for a leak), then logs for deletion
//  every chunk present in the VM's store that is neither marked nor
//  already deleted -- false-positive leaks of approximate deletes and orphans
//  of crashed backups alike -- and removes snapshot recipes, summaries and
//  recipe packs that no catalog entry reaches. Reports what it found.
//
//  A damaged deletion log of the VM is first rewritten with its readable
//  records (VmStore::RepairDeletionLog): the sweep then logs again the
//  chunks of the records that were lost, so the repair is exact.
//
//  RunCompact: rewrites the containers whose deleted fraction passes the
//  threshold (store/compaction.h), under each VM's lease.
//
// Thread safety: one call per VM at a time (the lease).

#ifndef VCSNAP_GC_SWEEP_H_
#define VCSNAP_GC_SWEEP_H_

#include <cstdint>
#include <string>
#include <vector>

#include "repo/repository.h"

namespace vcsnap {

struct GcResult {
  std::string vm;
  uint64_t live_chunks = 0;
  uint64_t leaked_chunks = 0;   // unreferenced chunks now logged for deletion
  uint64_t orphan_objects = 0;  // unreachable recipes/summaries removed
  uint64_t approx_deletes_before = 0;
  double seconds = 0;
  // Damaged deletion logs rewritten before the mark (their lost records'
  // chunks are among leaked_chunks), one line each.
  std::vector<std::string> notes;
};

Result<GcResult> RunGc(Repository& repo, const std::string& vm);

struct CompactResult {
  std::string vm;
  uint64_t containers = 0;
  uint64_t bytes_before = 0;
  uint64_t bytes_after = 0;
  double seconds = 0;
  std::vector<std::string> notes;  // damaged deletion logs rewritten
};

Result<CompactResult> RunCompact(Repository& repo, const std::string& vm,
                                 double threshold);

}  // namespace vcsnap

#endif  // VCSNAP_GC_SWEEP_H_
