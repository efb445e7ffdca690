// File: pds/popularity.h
//
// Popularity of chunks across VMs (paper §4.1-4.2): for every fingerprint,
// the number of VMs holding it after inner-VM dedup, counted by a k-way merge
// of the VMs' sorted fingerprint runs (pds/fp_run.h). Memory does not grow
// with the number of chunks: one run part per run, a heap over the VMs, and
// a bounded min-heap of the k most popular fingerprints.
//
// Selection keeps the top k by count (ties by fingerprint), and only
// fingerprints held by at least two VMs: a chunk of one VM gains nothing from
// the PDS. With tenants, also only those held by VMs of at least
// `min_groups` tenant groups (VmFpSource::group): the PDS is sealed under
// the repository keys, so a chunk that only one tenant holds stays in that
// tenant's stores, under its keys, and goes when the tenant is shredded. The
// merge can later be split by fingerprint range across machines (every step is
// range-local).
//
// Thread safety: single-threaded functions.

#ifndef VCSNAP_PDS_POPULARITY_H_
#define VCSNAP_PDS_POPULARITY_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "backend/backend.h"
#include "pds/fp_run.h"

namespace vcsnap {

struct PopularChunk {
  Fingerprint fp{};
  uint32_t count = 0;  // VMs holding it
  uint32_t vm = 0;     // index into the sources of the source record
  FpRecord source;     // where one copy of the bytes is
};

struct PopularityReport {
  uint64_t vms = 0;
  uint64_t unique = 0;   // c_u: distinct fingerprints
  uint64_t total = 0;    // c: sum of counts (chunks after inner-VM dedup)
  uint64_t covered = 0;  // sum of counts of the selected chunks
  uint64_t k = 0;        // selected
  // Held by two or more VMs but by fewer than min_groups tenant groups:
  // kept out of the PDS.
  uint64_t single_tenant = 0;
  std::map<uint32_t, uint64_t> histogram;  // count -> fingerprints
  double zipf_alpha = 0;                   // fitted exponent (see FitZipf)
  double coverage = 0;                     // covered / total (measured)
  double model_coverage = 0;  // (k / c_u)^(1 - alpha), seed Eq. 2's term;
                              // 0 when alpha >= 1 (the model does not apply)
};

// Merges the sources (one per VM; pds update passes each VM's committed runs
// and keeps only records of chunks its store still holds); calls
// `visit(fp, count, groups, vm, record)` once per distinct fingerprint in
// ascending order, `vm` indexing `sources` and `groups` the number of distinct
// VmFpSource::group values among the VMs holding it.
template <typename Visit>
Status MergePopularity(Backend* backend, const std::vector<VmFpSource>& sources,
                       Visit&& visit);

// Counts (pass 1) and selects the top `k` (pass 2; if k == 0, k =
// fraction * unique). Fills *report and returns the selection sorted by
// fingerprint.
Result<std::vector<PopularChunk>> SelectPopular(
    Backend* backend, const std::vector<VmFpSource>& sources, uint64_t k,
    double fraction, PopularityReport* report, uint32_t min_groups = 1);

// Least-squares slope of log(count) against log(rank) over the histogram's
// distinct counts (rank = mid-rank of each count's block of fingerprints),
// negated: f_i ~ f_1 / i^alpha.
double FitZipf(const std::map<uint32_t, uint64_t>& histogram);

}  // namespace vcsnap

#include "pds/popularity_inl.h"

#endif  // VCSNAP_PDS_POPULARITY_H_
