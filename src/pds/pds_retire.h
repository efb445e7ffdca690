// File: pds/pds_retire.h
//
// Retiring old PDS generations (paper §5.2), and the pins that keep running
// backups safe from it. Formats: docs/format/pds.md ("pins", "retiring").
//
// A generation g other than the one in force is retired when
//   (a) no backup has pinned it, and
//   (b) no live snapshot of any VM references it -- found by an exact scan
//       of every segment recipe of every live snapshot (level-1 reuse and
//       level-2 matches carry references to older generations forward, so
//       the generation a snapshot recorded at backup time is not enough).
//
// Race with running backups (no VM lease is taken). A backup pins the
// generation it will match against (Put pds/pins/<vm>) and only then checks
// that g is not retiring and still published; retirement marks g retiring
// (Create pds/retiring/<g>) and only then lists the pins, then scans. Either
// the backup sees the mark (and does not use g) or retirement sees the pin
// (and keeps g). A backup's other references come from its parent, which its
// VM lease keeps live through the scan, so every snapshot committed after the
// scan references only generations the scan kept or the backup pinned.
//
// Deletion order: index meta and parts, then the store generation (manifest
// first, then blocks), then the mark. A crash at any step leaves live
// snapshots intact; the mark stays and the next run finishes the deletion.
// A pin left by a crashed backup keeps its generation until the next backup
// of that VM replaces it or `vcsnap unlock --vm` removes it.
//
// Thread safety: RetirePdsGenerations requires the PDS lease (pds/lease),
// held by the caller; pins are per VM and written under the VM's lease.

#ifndef VCSNAP_PDS_PDS_RETIRE_H_
#define VCSNAP_PDS_PDS_RETIRE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "backend/backend.h"
#include "repo/repository.h"
#include "util/result.h"

namespace vcsnap {

std::string PdsPinName(const std::string& vm);     // pds/pins/<vm>
std::string PdsRetiringName(uint32_t generation);  // pds/retiring/<g>

// Pins `generation` for the backup of `vm` that holds the VM's lease, then
// reports whether the backup may use it: false when the generation is being
// retired or no longer published (the backup must then run without it).
Result<bool> PinPdsGeneration(Backend& backend, const std::string& vm,
                              uint32_t generation);
// Removes the VM's pin (absent is fine).
Status UnpinPds(Backend& backend, const std::string& vm);

struct PdsPin {
  std::string vm;
  uint32_t generation = 0;
  uint64_t time_unix = 0;
};
// Every pin; an undecodable pin is Corruption (naming it).
Result<std::vector<PdsPin>> ListPdsPins(Backend& backend);

struct PdsRetireOptions {
  bool dry_run = false;  // decide and report, delete nothing, mark nothing
  // The repository, for the keys of each VM's recipes when it is encrypted
  // (Repository::KeysOf); without it an encrypted repository's recipes do
  // not open and nothing is retired. A VM whose tenant was shredded holds
  // no references: its recipes can never be read again.
  Repository* repo = nullptr;
};

struct PdsRetireResult {
  uint32_t current = 0;              // 0: no PDS published
  std::vector<uint32_t> retired;     // deleted (or, dry run, would be)
  std::vector<uint32_t> referenced;  // kept: a live snapshot references it
  std::vector<uint32_t> pinned;      // kept: a running backup pinned it
  uint64_t snapshots_scanned = 0;
  uint64_t recipes_scanned = 0;
  uint64_t bytes_freed = 0;  // PDS chunk bytes of the retired generations
  double seconds = 0;
};

// Retires every generation below the current one that (a) and (b) allow,
// and finishes retirements a crash interrupted. REQUIRES: the caller holds
// the PDS lease. Corruption when a live recipe cannot be read: nothing is
// retired then (an unreadable recipe might reference any generation).
Result<PdsRetireResult> RetirePdsGenerations(Backend& backend,
                                             const PdsRetireOptions& options);

}  // namespace vcsnap

#endif  // VCSNAP_PDS_PDS_RETIRE_H_
