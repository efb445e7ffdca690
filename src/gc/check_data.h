// File: gc/check_data.h
//
// The read-data pass of check (gc/check.h), internal to it: re-hashes the
// distinct chunks one VM references against their fingerprints.
//
//  VM chunks   streamed with VmStore::ScanGroups, not fetched one by one:
//              the groups of each container that hold referenced chunks are
//              cut into runs of a few MiB, which `threads` threads take in
//              turn; a group is read in a large sequential read, verified and
//              decompressed once, and only its referenced chunks are hashed.
//              A referenced chunk the scan did not deliver -- its group
//              failed, or it is not there -- is reported with the group's
//              error; when the container's generation moved meanwhile (a
//              concurrent compaction), or the chunk is in no failed group, it
//              is read again through VmStore::Get, whose error names it.
//  PDS chunks  each distinct reference is read once (PdsStore::Get) on the
//              same threads; a verdict is kept for the other VMs of the check.
//
// Every problem names the first place (VM, snapshot, segment) using the
// chunk, as the structure pass found it. Problems come out in reference
// order, whatever the threads did.
//
// Thread safety: CheckData starts its threads and joins them before it
// returns; the store and PDS store are used through their thread-safe calls.

#ifndef VCSNAP_GC_CHECK_DATA_H_
#define VCSNAP_GC_CHECK_DATA_H_

#include <array>
#include <cstdint>
#include <deque>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <tuple>

#include "backup/progress.h"
#include "gc/check.h"
#include "recipe/segment_recipe.h"
#include "store/pds_store.h"
#include "store/vm_store.h"

namespace vcsnap {

// A distinct PDS chunk reference and the first place that uses it.
struct ChunkUse {
  RecipeEntry entry;
  uint32_t snapshot = 0;
  uint64_t segment = 0;
};

// A distinct VM chunk reference and the first place that uses it: what the
// read-data pass needs, in 56 bytes (a VM can have hundreds of millions).
struct VmChunkUse {
  uint64_t vm_ref = 0;  // ChunkRef raw value
  uint32_t length = 0;
  uint32_t snapshot = 0;
  uint64_t segment = 0;
  std::array<uint8_t, 32> fp{};
};

// The VM references of one check, held in blocks rather than one array, so
// that growing it never needs twice its size.
using VmChunkUses = std::deque<VmChunkUse>;

// "VM <vm> snapshot <s>[ segment <i>]".
std::string UseWhere(std::string_view vm, uint32_t snapshot,
                     uint64_t segment = UINT64_MAX);

// A PDS reference as a recipe holds it: (generation, offset, size,
// fingerprint). Two recipes that disagree on the fingerprint are two keys.
using PdsKey =
    std::tuple<uint32_t, uint64_t, uint32_t, std::array<uint8_t, 32>>;
inline PdsKey PdsKeyOf(const RecipeEntry& e) {
  return {e.pds_generation, e.pds_offset, e.pds_size, e.fp};
}

// PDS references verified so far by one check -> "" when the chunk matched,
// else the problem (without a place).
using PdsVerdicts = std::map<PdsKey, std::string>;

// Verifies the chunks of `vm_uses` (distinct, sorted by vm_ref) and
// `pds_uses` (kPds entries, distinct). Adds the bytes it
// hashed to result->bytes_read and appends its problems to result->problems.
// Adds the length of every chunk it is done with to `progress` (if not null).
void CheckData(std::string_view vm, VmStore& store, PdsStore& pds,
               const VmChunkUses& vm_uses, std::span<const ChunkUse> pds_uses,
               unsigned threads, PdsVerdicts* verdicts, CheckResult* result,
               Progress* progress = nullptr);

}  // namespace vcsnap

#endif  // VCSNAP_GC_CHECK_DATA_H_
