// File: gc/gc_state.h
//
// Per-VM deletion bookkeeping, "vm/<vm>/gcstate" (envelope "VGCS", JSON):
// approximate deletions since the last exact repair (R of paper §5.3), the
// false-positive rate of the merged summary at the last one (epsilon), and
// what the last repair found. `stats` shows the estimated leak R * epsilon
// and whether a repair is due (R > tau / epsilon).
//
// Thread safety: functions over a backend; written under the VM's lease.

#ifndef VCSNAP_GC_GC_STATE_H_
#define VCSNAP_GC_GC_STATE_H_

#include <cstdint>
#include <string>

#include "backend/backend.h"
#include "util/result.h"

namespace vcsnap {

// tau of the paper's schedule: repair when the estimated leak reaches tau
// times the average amount one deletion frees.
inline constexpr double kRepairTau = 3.0;

struct GcState {
  uint64_t approx_deletes = 0;  // R since the last repair
  double last_fp_rate = 0;      // epsilon of the last approximate delete
  uint64_t chunks_deleted = 0;  // by approximate deletes since repair
  uint64_t last_repair_unix = 0;
  uint64_t last_repair_leaked = 0;  // unreferenced chunks the repair found

  double EstimatedLeakChunks() const {
    return last_fp_rate * static_cast<double>(chunks_deleted);
  }
  bool RepairDue() const {
    return last_fp_rate > 0 &&
           static_cast<double>(approx_deletes) > kRepairTau / last_fp_rate;
  }
};

Result<GcState> LoadGcState(Backend& backend, const std::string& vm);
// For the commands that update it (forget, gc): a damaged state (Corruption,
// or a version this build cannot read) is bookkeeping only, so they start
// from a fresh one instead of failing, and say so in `note` (empty
// otherwise). Storage errors are returned.
Result<GcState> LoadGcStateOrFresh(Backend& backend, const std::string& vm,
                                   std::string* note);
Status SaveGcState(Backend& backend, const std::string& vm,
                   const GcState& state);

}  // namespace vcsnap

#endif  // VCSNAP_GC_GC_STATE_H_
