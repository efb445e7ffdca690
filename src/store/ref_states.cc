#include "store/ref_states.h"

#include <algorithm>
#include <iterator>

namespace vcsnap {

Result<RefState> RefStates::Get(ChunkRef ref) {
  auto it = containers_.find(ref.container);
  if (it == containers_.end()) {
    VCSNAP_ASSIGN_OR_RETURN(std::vector<uint64_t> present,
                            store_->PresentCids(ref.container));
    Container c;
    for (uint64_t cid : present) {
      if (!c.present.empty() && c.present.back().second + 1 == cid) {
        c.present.back().second = cid;
      } else {
        c.present.emplace_back(cid, cid);
      }
    }
    VCSNAP_ASSIGN_OR_RETURN(c.deleted, store_->DeletedCids(ref.container));
    it = containers_.emplace(ref.container, std::move(c)).first;
  }
  const Container& c = it->second;
  // The last range starting at or before the CID.
  auto range = std::upper_bound(
      c.present.begin(), c.present.end(), ref.cid,
      [](uint64_t cid, const auto& r) { return cid < r.first; });
  if (range == c.present.begin() || std::prev(range)->second < ref.cid) {
    return RefState::kAbsent;
  }
  if (std::binary_search(c.deleted.begin(), c.deleted.end(), ref.cid)) {
    return RefState::kDeleted;
  }
  return RefState::kLive;
}

}  // namespace vcsnap
