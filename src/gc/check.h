// File: gc/check.h
//
// RunCheck: verifies a repository and names everything damaged by VM,
// snapshot and segment.
//
//  structure    every catalog, snapshot recipe and segment recipe decodes
//               and matches its image; every VM chunk reference points at a
//               present, not-deleted chunk of the VM's store; every PDS
//               reference lies inside a published generation;
//  read_data    additionally every referenced chunk is read (groups
//               decompressed, their location-bound checksums verified) and
//               re-hashed against its fingerprint, on `threads` threads in
//               store order: each VM's store is streamed group by group, and
//               each group is read and decompressed once (gc/check_data.h).
//               One VM's data is read while the next VM's structure is
//               checked; problems still come out VM by VM.
//  metadata     the published PDS (pointer, index; with read_data every
//               chunk of it) and each VM's derived metadata (counting
//               filter, gc state, fingerprint runs): gc/check_meta.h. VMs
//               are found by listing (recipe/catalog.h ListAllVms), so a VM
//               whose vms/<vm> marker was lost is checked and reported.
//
// Problems are collected, not fatal: the check goes on and reports them all.
// Only failures of the check itself (e.g. the repository cannot be listed)
// are returned as a Status.
//
// Beside changes: check takes no lease, so backups, forgets, gc and
// compaction may change a VM while it is checked, and a check that read a
// catalog or a store generation that changed under it could see objects
// vanish. So a VM whose check found problems is checked again, alone, when
// its stamp (catalog bytes and the store generations present) moved during
// the check; problems are reported only from an attempt during which the VM
// held still, or, after 3 attempts that all saw it change, with a last
// problem saying so.
//
// Thread safety: read-only; may run beside any other command.

#ifndef VCSNAP_GC_CHECK_H_
#define VCSNAP_GC_CHECK_H_

#include <cstdint>
#include <string>
#include <vector>

#include "repo/repository.h"

namespace vcsnap {

struct CheckOptions {
  bool read_data = false;
  unsigned threads = 0;  // 0: all cores
  // With read_data: a progress line per VM on stderr when it is a terminal.
  bool progress = false;
  // Only this VM (and not the published PDS nor the markers of others;
  // the repository's roots are inspected in every check); empty: the whole
  // repository.
  std::string vm{};
};

struct CheckResult {
  uint64_t vms = 0;
  uint64_t snapshots = 0;
  uint64_t recipes = 0;
  uint64_t references = 0;  // distinct chunk references checked (per VM)
  uint64_t bytes_read = 0;  // with read_data: chunk bytes re-hashed; a chunk
                            // counts once (a PDS chunk once per check)
  // With read_data: chunks of the published PDS generation re-hashed from
  // its index (gc/check_meta.h), whether snapshots use them or not.
  uint64_t pds_chunks_read = 0;
  uint64_t pds_bytes_read = 0;
  std::vector<std::string> problems;
  // VMs that changed under each of the attempts to check them (a backup,
  // forget, gc or compaction beside the check): their problems may come from
  // those changes, so check them again when they are idle.
  std::vector<std::string> unsettled_vms;
  double seconds = 0;
};

Result<CheckResult> RunCheck(Repository& repo, const CheckOptions& options);

}  // namespace vcsnap

#endif  // VCSNAP_GC_CHECK_H_
