// File: fleet/truth.h
//
// Ground truth of a generated fleet: with the repository's own chunker
// (chunk/), how much of the fleet's logical bytes each dedup level of SPEC §1
// could remove, the exact global dedup (the upper bound, the baseline of
// SPEC §3 P9) and the popularity of chunks across VMs with a fitted Zipf
// exponent (paper §4.2). Definitions: docs/benchmarks/fleet.md.
//
// Every snapshot's bytes land in exactly one class, so
//   level1 + level2 + inner_vm + cross_vm + zero + unique == logical.
// Processing is VM by VM, day by day, segment by segment: level1 = segments
// clean per the day's bitmap that the parent has; for a dirty segment each
// chunk is zero, or found in the parent's same segment (level2), or
// elsewhere in the same VM's earlier data (inner_vm, so level2 + inner_vm is
// the upper bound of inner-VM dedup), or in an earlier VM (cross_vm), or
// new (unique). Clean segments are not read (like a backup with CBT).
//
// Memory: one index entry per unique non-zero chunk (fingerprint prefix,
// popularity) plus the parent's chunk list of one VM; images are streamed a
// segment at a time.
//
// Thread safety: ComputeTruth is reentrant.

#ifndef VCSNAP_FLEET_TRUTH_H_
#define VCSNAP_FLEET_TRUTH_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "format/repo_config.h"
#include "util/result.h"

namespace vcsnap::fleet {

struct TruthOptions {
  // Gear chunker sizes; by default those of a new repository
  // (format/repo_config.h), so the truth matches what `vcsnap init` stores.
  uint32_t chunk_min = RepoConfig{}.chunk_min;
  uint32_t chunk_avg = RepoConfig{}.chunk_avg;
  uint32_t chunk_max = RepoConfig{}.chunk_max;
  // Lowest popularity level in the main Zipf fit (1: every unique chunk,
  // as in the paper's model where the f_i sum to all chunks).
  uint32_t fit_min_popularity = 1;
  std::function<void(const std::string&)> progress;
};

struct TruthReport {
  uint64_t vms = 0;
  uint64_t snapshots = 0;
  uint64_t segment_size = 0;
  uint32_t chunk_min = 0, chunk_avg = 0, chunk_max = 0;  // as used
  uint64_t logical_bytes = 0;
  uint64_t level1_bytes = 0;
  uint64_t level2_bytes = 0;
  uint64_t inner_vm_bytes = 0;  // beyond level 2, same VM
  uint64_t cross_vm_bytes = 0;
  uint64_t zero_bytes = 0;
  uint64_t unique_bytes = 0;
  uint64_t dirty_segments = 0;   // over days with a parent
  uint64_t parent_segments = 0;  // segments of days with a parent
  uint64_t chunks_read = 0;      // non-zero chunks of dirty segments
  uint64_t unique_chunks = 0;
  // popularity[p] = unique chunks held by exactly p VMs (p >= 1).
  std::vector<uint64_t> popularity_chunks;
  std::vector<uint64_t> popularity_bytes;
  double zipf_alpha = 0;         // fit over popularity >= fit_min_popularity
  double zipf_alpha_shared = 0;  // fit over popularity >= 2 (shared chunks)
  uint32_t zipf_points = 0;
  uint64_t index_bytes = 0;  // memory of the chunk index at the end
  double seconds = 0;

  double Share(uint64_t bytes) const {
    return logical_bytes == 0 ? 0
                              : static_cast<double>(bytes) /
                                    static_cast<double>(logical_bytes);
  }
  double ExactDedup() const { return 1.0 - Share(unique_bytes); }
};

Result<TruthReport> ComputeTruth(const std::string& fleet_dir,
                                 const TruthOptions& options);

std::string TruthToJson(const TruthReport& r);
std::string TruthToText(const TruthReport& r);

// Least-squares Zipf exponent of a popularity histogram (see the .cc):
// points (log r(p), log p) for every level p >= min_popularity that has
// chunks, r(p) = chunks with popularity >= p; alpha = -slope. Sets *points;
// returns 0 with fewer than two points.
double FitZipf(const std::vector<uint64_t>& popularity_chunks,
               uint32_t min_popularity, uint32_t* points);

}  // namespace vcsnap::fleet

#endif  // VCSNAP_FLEET_TRUTH_H_
