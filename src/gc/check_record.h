// File: gc/check_record.h
//
// The outcome of the last whole-repository `check`, kept for `vcsnap report`
// in "status/check" (envelope "VCHK", JSON body; docs/format/status.md): one
// record for the last check of any kind and one for the last with
// --read-data (which also checks the structure, so it updates both). `check
// --vm V` records nothing: it says nothing about the other VMs.
//
// Bookkeeping only: a lost or damaged record loses the report's "last
// verified" line, never data, and the next check rewrites it. Two checks
// finishing at once may each keep only their own result (read, update, Put).
//
// Thread safety: functions over a backend.

#ifndef VCSNAP_GC_CHECK_RECORD_H_
#define VCSNAP_GC_CHECK_RECORD_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "backend/backend.h"
#include "gc/check.h"
#include "util/result.h"

namespace vcsnap {

inline constexpr size_t kRecordedProblems = 20;     // first problems kept
inline constexpr size_t kRecordedProblemLen = 200;  // bytes of each kept

struct CheckRecord {
  uint64_t finished_unix = 0;
  bool read_data = false;
  double seconds = 0;
  uint64_t vms = 0, snapshots = 0, references = 0, bytes_read = 0;
  uint64_t problems = 0;                    // how many were found
  std::vector<std::string> first_problems;  // the first kRecordedProblems
  std::string host = {};                    // where the check ran
  bool operator==(const CheckRecord&) const = default;
};

struct CheckRecords {
  std::optional<CheckRecord> last;            // any whole-repository check
  std::optional<CheckRecord> last_read_data;  // the last with --read-data
};

std::string CheckRecordName();  // "status/check"

// The record of `result` (a whole-repository check with or without
// read_data), finished now on this host; problems cut to the bounds above.
CheckRecord MakeCheckRecord(const CheckResult& result, bool read_data);

// Both records; empty ones when no check was recorded yet. Corruption /
// NotSupported for a damaged or newer object.
Result<CheckRecords> LoadCheckRecords(Backend& backend);

// Stores `record` as the last check (and as the last read-data check when it
// read data), keeping the other record. A damaged old object is replaced.
Status SaveCheckRecord(Backend& backend, const CheckRecord& record);

}  // namespace vcsnap

#endif  // VCSNAP_GC_CHECK_RECORD_H_
