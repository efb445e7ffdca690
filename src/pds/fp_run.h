// File: pds/fp_run.h
//
// Fingerprint runs: the per-VM sorted fingerprint summaries that feed PDS
// popularity counting (paper §4.1-4.2). Each backup writes the fingerprints
// it added to the VM -- chunks it stored and chunks it matched in the PDS --
// sorted and without duplicates, with where the bytes are, as one or more
// *runs*. A run is a sequence of part objects
//
//   vm/<vm>/fps/<run>.<part>     (<run> = "<snapshot>-<n>" or "m<seq>")
//
// each an envelope (magic "VFPR") of at most kFpPartRecords 49-byte records,
// so a reader holds one part (256 KiB) per run at a time. A VM's summary is
// the union of its runs; MergeVmRuns consolidates many runs into one.
// Byte layout: docs/format/pds.md.
//
// Thread safety: writers and readers are single-threaded objects.

#ifndef VCSNAP_PDS_FP_RUN_H_
#define VCSNAP_PDS_FP_RUN_H_

#include <cstdint>
#include <functional>
#include <future>
#include <memory>
#include <string>
#include <vector>

#include "backend/backend.h"
#include "chunk/fingerprint.h"
#include "recipe/segment_recipe.h"
#include "store/refs.h"

namespace vcsnap {

inline constexpr size_t kFpRecordSize = 49;
inline constexpr size_t kFpPartRecords = 5120;  // ~250 KiB per part

// One fingerprint the VM holds and where its bytes are.
struct FpRecord {
  Fingerprint fp{};
  ChunkKind kind = ChunkKind::kVm;  // kVm or kPds
  uint64_t vm_ref = 0;              // ChunkRef raw value, kVm
  PdsRef pds;                       // kPds
  uint32_t length = 0;              // chunk length (kVm; kPds has pds.size)
};

// Writes sorted runs with bounded memory: records are buffered, and every
// `buffer_records` (and at Finish) the buffer is sorted, deduplicated and
// written as one run. Parts are written whole with Put (atomic, durable).
// A full buffer is sorted and written by a background thread while Add
// fills the other one (at most one run is being written; the caller, a
// backup's dedup loop, does not wait for the Puts' syncs): memory is at most
// two buffers. An error of a background write is returned by the next Add
// that spills, or by Finish, and by every call after it (the run's records
// are gone); the runs exist (and runs() names them) only once Finish
// returned OK.
//
// Thread safety: one thread calls Add and Finish; `backend` must be
// thread-safe (every Backend is).
class FpRunWriter {
 public:
  // Runs are named "<prefix>-<n>" under vm/<vm>/fps/.
  FpRunWriter(Backend* backend, std::string vm, std::string prefix,
              size_t buffer_records = 1u << 15);
  // Destruction waits for a run being written (a std::async future does).
  FpRunWriter(const FpRunWriter&) = delete;
  FpRunWriter& operator=(const FpRunWriter&) = delete;

  Status Add(const FpRecord& record);
  Status Finish();
  const std::vector<std::string>& runs() const { return runs_; }

 private:
  Status Spill();        // hands buffer_ to the background writer
  Status WaitWriting();  // the run being written, if any
  static Status WriteRun(Backend* backend, const std::string& vm,
                         const std::string& run,
                         std::vector<FpRecord>* records);

  Backend* const backend_;
  const std::string vm_;
  const std::string prefix_;
  const size_t buffer_records_;
  std::vector<FpRecord> buffer_;
  std::vector<FpRecord> writing_;  // owned by the writer while in flight
  std::future<Status> in_flight_;
  std::string in_flight_run_;
  Status failed_;  // a background write's error, returned from then on
  std::vector<std::string> runs_;
};

// Writes one run from records already sorted by fingerprint and unique.
class SortedRunWriter {
 public:
  SortedRunWriter(Backend* backend, std::string vm, std::string run);
  Status Add(const FpRecord& record);  // REQUIRES: fp > previous fp
  Status Finish();

 private:
  Status FlushPart();
  Backend* const backend_;
  const std::string vm_;
  const std::string run_;
  uint32_t part_ = 0;
  std::vector<FpRecord> part_records_;
};

// Streams one run in fingerprint order, one part in memory at a time.
class FpRunReader {
 public:
  FpRunReader(Backend* backend, std::string vm, std::string run,
              uint32_t parts);
  // Next record; false at the end. Corruption on damage or disorder.
  Result<bool> Next(FpRecord* out);

 private:
  Status LoadPart();
  Backend* const backend_;
  const std::string vm_;
  const std::string run_;
  const uint32_t parts_;
  uint32_t part_ = 0;
  std::vector<FpRecord> records_;
  size_t pos_ = 0;
  bool have_prev_ = false;
  Fingerprint prev_{};
};

struct RunInfo {
  std::string run;
  uint32_t parts = 0;
};

// The runs of `vm` (from listing vm/<vm>/fps/), sorted by name, each with its
// parts 0..n-1 (a part past a gap is not counted).
Result<std::vector<RunInfo>> ListRuns(Backend& backend, const std::string& vm);

// The runs that count for `vm`: those of committed snapshots (id <
// `committed_below`, the catalog's next ID) and earlier merges. A running or
// crashed backup's runs (id >= next ID) do not count.
Result<std::vector<RunInfo>> CommittedRuns(Backend& backend,
                                           const std::string& vm,
                                           uint32_t committed_below);

// Deletes every part of the runs "<snapshot>-<n>": what a crashed backup of
// that snapshot ID left. A backup calls it under the VM's lease before it
// writes its own runs, so that no stale part of an earlier attempt extends
// them. Returns the number of parts deleted.
Result<uint64_t> DeleteSnapshotRuns(Backend& backend, const std::string& vm,
                                    uint32_t snapshot);

// Deletes the runs of every snapshot ID >= `committed_below` (the catalog's
// next ID): under the VM's lease no backup is running, so they are a crashed
// backup's. gc calls it. Returns the number of parts deleted.
Result<uint64_t> DeleteUncommittedRuns(Backend& backend, const std::string& vm,
                                       uint32_t committed_below);

// Which records count; an empty function keeps them all. `pds update` drops
// the records of chunks the VM store no longer holds (forgotten, collected).
using FpKeep = std::function<bool(const FpRecord&)>;

// One VM's input to popularity counting: its runs, and the records to keep.
struct VmFpSource {
  std::string vm;
  std::vector<RunInfo> runs;
  FpKeep keep;
  // The VM's tenant group for popularity (pds/popularity.h): VMs of one
  // tenant share a group; 0 for VMs of no tenant.
  uint32_t group = 0;
};

// Streams the union of a VM's runs in fingerprint order, each fingerprint
// once: the first record seen that `keep` accepts (a fingerprint none of
// whose records is kept is left out). Memory: one part per run.
class VmFpStream {
 public:
  // Every run of the VM, every record (tests and tools).
  static Result<std::unique_ptr<VmFpStream>> Open(Backend* backend,
                                                  const std::string& vm);
  static Result<std::unique_ptr<VmFpStream>> Open(Backend* backend,
                                                  const VmFpSource& source);
  Result<bool> Next(FpRecord* out);
  size_t runs() const { return readers_.size(); }

 private:
  std::vector<std::unique_ptr<FpRunReader>> readers_;
  std::vector<FpRecord> heads_;
  std::vector<bool> live_;
  FpKeep keep_;
  bool started_ = false;
};

// Replaces the VM's runs by one merged run when it has more than
// `max_runs`. Only CommittedRuns take part, so a backup writing its run
// meanwhile is never disturbed and no lease is needed. Records `keep`
// rejects are left out of the merged run. Crash-safe: the merged run is
// complete before old runs go, and the kept union is unchanged at every step.
Status ConsolidateRuns(Backend* backend, const std::string& vm, size_t max_runs,
                       uint32_t committed_below, const FpKeep& keep = {});

std::string FpPartName(const std::string& vm, const std::string& run,
                       uint32_t part);

}  // namespace vcsnap

#endif  // VCSNAP_PDS_FP_RUN_H_
