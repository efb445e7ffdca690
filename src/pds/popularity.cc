#include "pds/popularity.h"

#include <algorithm>
#include <cmath>

namespace vcsnap {
namespace {

// Heap order: the least popular on top (lower count, then larger fp).
struct Weaker {
  bool operator()(const PopularChunk& a, const PopularChunk& b) const {
    if (a.count != b.count) return a.count > b.count;
    return a.fp < b.fp;
  }
};

}  // namespace

double FitZipf(const std::map<uint32_t, uint64_t>& histogram) {
  // Walk counts from the most popular down, assigning ranks.
  double rank = 1, n = 0, sx = 0, sy = 0, sxx = 0, sxy = 0;
  for (auto it = histogram.rbegin(); it != histogram.rend(); ++it) {
    const double block = static_cast<double>(it->second);
    const double mid = rank + (block - 1) / 2;
    const double x = std::log(mid),
                 y = std::log(static_cast<double>(it->first));
    n += 1;
    sx += x;
    sy += y;
    sxx += x * x;
    sxy += x * y;
    rank += block;
  }
  const double den = n * sxx - sx * sx;
  if (n < 2 || den == 0) return 0;
  return -(n * sxy - sx * sy) / den;
}

Result<std::vector<PopularChunk>> SelectPopular(
    Backend* backend, const std::vector<VmFpSource>& sources, uint64_t k,
    double fraction, PopularityReport* report, uint32_t min_groups) {
  *report = PopularityReport{};
  report->vms = sources.size();
  VCSNAP_RETURN_IF_ERROR(
      MergePopularity(backend, sources,
                      [&](const Fingerprint&, uint32_t count, uint32_t groups,
                          uint32_t, const FpRecord&) {
                        report->unique++;
                        report->total += count;
                        report->histogram[count]++;
                        if (count >= 2 && groups < min_groups)
                          report->single_tenant++;
                      }));
  if (k == 0) {
    k = static_cast<uint64_t>(fraction * static_cast<double>(report->unique));
  }
  std::vector<PopularChunk> heap;
  if (k > 0) {
    VCSNAP_RETURN_IF_ERROR(MergePopularity(
        backend, sources,
        [&](const Fingerprint& fp, uint32_t count, uint32_t groups, uint32_t vm,
            const FpRecord& source) {
          if (count < 2 || groups < min_groups) return;
          PopularChunk c{fp, count, vm, source};
          if (heap.size() < k) {
            heap.push_back(c);
            std::push_heap(heap.begin(), heap.end(), Weaker());
          } else if (Weaker()(c, heap.front())) {  // c is stronger
            std::pop_heap(heap.begin(), heap.end(), Weaker());
            heap.back() = c;
            std::push_heap(heap.begin(), heap.end(), Weaker());
          }
        }));
  }
  std::sort(
      heap.begin(), heap.end(),
      [](const PopularChunk& a, const PopularChunk& b) { return a.fp < b.fp; });
  report->k = heap.size();
  for (const PopularChunk& c : heap) report->covered += c.count;
  report->zipf_alpha = FitZipf(report->histogram);
  report->coverage = report->total == 0
                         ? 0
                         : static_cast<double>(report->covered) /
                               static_cast<double>(report->total);
  // The model integrates i^-alpha, valid for alpha < 1 only; outside it
  // reports 0 ("not applicable").
  if (report->unique > 0 && report->k > 0 && report->zipf_alpha < 1) {
    report->model_coverage = std::pow(
        static_cast<double>(report->k) / static_cast<double>(report->unique),
        1 - report->zipf_alpha);
  }
  return heap;
}

}  // namespace vcsnap
