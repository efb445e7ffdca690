#include "store/ref_states.h"

#include <algorithm>
#include <iterator>

namespace vcsnap {

Result<RefStates::Container*> RefStates::Load(uint16_t container) {
  auto it = containers_.find(container);
  if (it != containers_.end()) return &it->second;
  VCSNAP_ASSIGN_OR_RETURN(std::vector<uint64_t> present,
                          store_->PresentCids(container));
  Container c;
  for (uint64_t cid : present) {
    if (!c.present.empty() && c.present.back().second + 1 == cid) {
      c.present.back().second = cid;
    } else {
      c.present.emplace_back(cid, cid);
    }
  }
  for (const auto& [first, last] : c.present) {
    c.before.push_back(c.count);
    c.count += last - first + 1;
  }
  VCSNAP_ASSIGN_OR_RETURN(c.deleted, store_->DeletedCids(container));
  return &containers_.emplace(container, std::move(c)).first->second;
}

RefState RefStates::Locate(const Container& c, uint64_t cid, uint64_t* rank) {
  // The last range starting at or before the CID.
  auto range =
      std::upper_bound(c.present.begin(), c.present.end(), cid,
                       [](uint64_t x, const auto& r) { return x < r.first; });
  if (range == c.present.begin() || std::prev(range)->second < cid) {
    return RefState::kAbsent;
  }
  const auto r = std::prev(range);
  *rank =
      c.before[static_cast<size_t>(r - c.present.begin())] + (cid - r->first);
  if (std::binary_search(c.deleted.begin(), c.deleted.end(), cid)) {
    return RefState::kDeleted;
  }
  return RefState::kLive;
}

Result<RefState> RefStates::Get(ChunkRef ref, uint64_t* rank) {
  VCSNAP_ASSIGN_OR_RETURN(const Container* c, Load(ref.container));
  uint64_t r = 0;
  const RefState state = Locate(*c, ref.cid, &r);
  if (rank != nullptr && state != RefState::kAbsent) *rank = r;
  return state;
}

Result<RefState> RefStates::Mark(ChunkRef ref, bool* first) {
  VCSNAP_ASSIGN_OR_RETURN(Container * c, Load(ref.container));
  uint64_t rank = 0;
  const RefState state = Locate(*c, ref.cid, &rank);
  if (state == RefState::kAbsent) return state;
  if (c->marked.empty()) c->marked.resize(c->count);
  *first = !c->marked[rank];
  c->marked[rank] = true;
  return state;
}

Status RefStates::ForEachUnmarkedLive(
    uint16_t container, const std::function<Status(uint64_t)>& f) {
  VCSNAP_ASSIGN_OR_RETURN(const Container* c, Load(container));
  auto deleted = c->deleted.begin();
  uint64_t rank = 0;
  for (const auto& [first, last] : c->present) {
    for (uint64_t cid = first; cid <= last; ++cid, ++rank) {
      if (!c->marked.empty() && c->marked[rank]) continue;
      while (deleted != c->deleted.end() && *deleted < cid) ++deleted;
      if (deleted != c->deleted.end() && *deleted == cid) continue;
      VCSNAP_RETURN_IF_ERROR(f(cid));
    }
  }
  return Status::Ok();
}

uint64_t RefStates::Present(uint16_t container) const {
  auto it = containers_.find(container);
  return it == containers_.end() ? 0 : it->second.count;
}

}  // namespace vcsnap
