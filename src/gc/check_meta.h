// File: gc/check_meta.h
//
// The parts of `check` beside the snapshots' references (gc/check.h):
//
//  CheckPublishedPds  pds/current decodes, and so does the index of the
//                     generation it names (meta and every part); with
//                     read_data, every chunk that index lists is read and
//                     re-hashed against the fingerprint the index gives it:
//                     popular chunks no snapshot uses yet are what the next
//                     backups will reference without reading them. A
//                     generation replaced (and retired) by a `pds update`
//                     while it was checked is checked again on the new one
//                     (3 attempts, the last one's problems said to be
//                     possibly from the change), as check does for VMs.
//                     Also reports a lost pds/current beside sealed
//                     generations.
//  CheckVmMetadata    a VM's derived metadata decodes: its counting filter,
//                     gc state and fingerprint runs. Damage there loses no
//                     snapshot (a backup rebuilds the filter, forget starts
//                     the gc state afresh, runs only weigh popularity) but is
//                     reported so that it is repaired.
//
// Problems are appended to the result; a Status is returned only when the
// check itself cannot go on (e.g. the repository cannot be listed).
//
// Thread safety: read-only; may run beside any other command.

#ifndef VCSNAP_GC_CHECK_META_H_
#define VCSNAP_GC_CHECK_META_H_

#include <string>

#include "backend/backend.h"
#include "gc/check.h"
#include "store/pds_store.h"

namespace vcsnap {

Status CheckPublishedPds(Backend& backend, PdsStore& pds, bool read_data,
                         CheckResult* result);

void CheckVmMetadata(Backend& backend, const std::string& vm,
                     CheckResult* result);

}  // namespace vcsnap

#endif  // VCSNAP_GC_CHECK_META_H_
