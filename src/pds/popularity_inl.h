// File: pds/popularity_inl.h -- template part of pds/popularity.h.

#ifndef VCSNAP_PDS_POPULARITY_INL_H_
#define VCSNAP_PDS_POPULARITY_INL_H_

#include <algorithm>
#include <memory>
#include <queue>

namespace vcsnap {

template <typename Visit>
Status MergePopularity(Backend* backend, const std::vector<VmFpSource>& sources,
                       Visit&& visit) {
  std::vector<std::unique_ptr<VmFpStream>> streams;
  std::vector<FpRecord> heads(sources.size());
  using Item = std::pair<Fingerprint, uint32_t>;  // head fp, vm
  std::priority_queue<Item, std::vector<Item>, std::greater<Item>> heap;
  std::vector<uint32_t> groups;  // distinct groups holding the current fp
  for (uint32_t v = 0; v < sources.size(); ++v) {
    VCSNAP_ASSIGN_OR_RETURN(std::unique_ptr<VmFpStream> s,
                            VmFpStream::Open(backend, sources[v]));
    streams.push_back(std::move(s));
    VCSNAP_ASSIGN_OR_RETURN(bool got, streams[v]->Next(&heads[v]));
    if (got) heap.emplace(heads[v].fp, v);
  }
  while (!heap.empty()) {
    const Fingerprint fp = heap.top().first;
    const uint32_t first_vm = heap.top().second;
    const FpRecord source = heads[first_vm];
    uint32_t count = 0;
    groups.clear();
    while (!heap.empty() && heap.top().first == fp) {
      const uint32_t v = heap.top().second;
      heap.pop();
      ++count;
      if (std::find(groups.begin(), groups.end(), sources[v].group) ==
          groups.end()) {
        groups.push_back(sources[v].group);
      }
      VCSNAP_ASSIGN_OR_RETURN(bool got, streams[v]->Next(&heads[v]));
      if (got) heap.emplace(heads[v].fp, v);
    }
    visit(fp, count, static_cast<uint32_t>(groups.size()), first_vm, source);
  }
  return Status::Ok();
}

}  // namespace vcsnap

#endif  // VCSNAP_PDS_POPULARITY_INL_H_
