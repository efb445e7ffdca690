// File: pds/pds_update.h
//
// RunPdsUpdate: recomputes the popular data set (paper §4.1-4.2, §5.2).
//
//  1. takes the PDS lease (one update at a time);
//  2. consolidates each VM's fingerprint runs of committed snapshots (no VM
//     lease: backups run on meanwhile), leaving out the records of chunks
//     the VM's store no longer holds (forgotten or collected) and of PDS
//     chunks whose generation was retired (InPublishedPds);
//  3. counts popularity with a k-way merge of the committed runs (a running
//     or crashed backup's runs do not count; nor do records of retired
//     generations, even before consolidation drops them) and keeps the top k
//     (k = fraction * unique fingerprints, or k = memory / entry size);
//  4. copies the chosen chunks' bytes from the VM stores (read in store order,
//     each checked against its fingerprint) into a new PDS generation and
//     seals it;
//  5. writes that generation's index, then publishes it with an atomic Put of
//     pds/current. A crash before that Put leaves the previous generation in
//     force; the unpublished debris is removed when the generation number is
//     reused.
//
//  6. unless options.retire is false, retires the older generations that no
//     live snapshot and no running backup references (pds/pds_retire.h),
//     still under the PDS lease. A failure there is reported in
//     PdsUpdateResult::retire_error; the new generation stays published.
//
// Thread safety: one update per repository (the lease); backups may run
// concurrently and keep using the generation they loaded.

#ifndef VCSNAP_PDS_PDS_UPDATE_H_
#define VCSNAP_PDS_PDS_UPDATE_H_

#include <cstdint>
#include <vector>

#include "pds/fp_run.h"
#include "pds/pds_retire.h"
#include "pds/popularity.h"
#include "repo/repository.h"

namespace vcsnap {

// Bytes per entry of the in-process index (40-byte entry + 4-byte bucket),
// the E of k = m / E.
inline constexpr uint64_t kPdsEntryBytes = 44;

struct PdsUpdateOptions {
  double fraction = 0;  // share of unique fingerprints, in (0, 1]
  uint64_t memory = 0;  // or: index memory budget in bytes
  bool retire = true;   // step 6
  // A chunk enters the PDS only when VMs of at least this many tenants hold
  // it (VMs of no tenant count as one more tenant). 0: 2 when any VM
  // belongs to a tenant, else 1 (pds/popularity.h).
  uint32_t min_tenants = 0;
};

struct PdsUpdateResult {
  uint32_t generation = 0;
  PopularityReport report;
  uint64_t chunks_copied = 0;
  uint64_t bytes_copied = 0;
  uint64_t skipped = 0;  // chosen chunks no longer readable (deleted)
  // Fingerprint records dropped by consolidation: their chunk was deleted,
  // or their PDS generation retired.
  uint64_t fp_records_pruned = 0;
  double seconds = 0;        // steps 1-5
  uint32_t min_tenants = 1;  // the rule applied (options.min_tenants or auto)
  // VMs not counted because their keys are unreadable (Corruption).
  std::vector<Status> vms_left_out;
  PdsRetireResult retire;
  Status retire_error;  // step 6 failed (the update itself succeeded)
};

// Keeps every fingerprint record but those of PDS chunks in a generation
// not in `published` (ascending): a generation is retired once no live
// snapshot references it, so such a record describes a chunk the VM no
// longer holds through the PDS, and its bytes are gone. (A record of a
// generation still published is kept even when the VM's snapshots that used
// it were all forgotten: only its retirement tells.)
FpKeep InPublishedPds(std::vector<uint32_t> published);

// InvalidArgument for a fraction outside (0, 1] or zero memory.
Status ValidatePdsUpdateOptions(const PdsUpdateOptions& options);

Result<PdsUpdateResult> RunPdsUpdate(Repository& repo,
                                     const PdsUpdateOptions& options);

}  // namespace vcsnap

#endif  // VCSNAP_PDS_PDS_UPDATE_H_
