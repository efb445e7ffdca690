#include "store/group_cache.h"

namespace vcsnap {

std::shared_ptr<const DecodedGroup> GroupCache::Find(const GroupKey& key) {
  std::lock_guard lock(mu_);
  auto it = map_.find(key);
  if (it == map_.end()) return nullptr;
  lru_.splice(lru_.begin(), lru_, it->second);
  return it->second->second;
}

void GroupCache::Insert(const GroupKey& key,
                        std::shared_ptr<const DecodedGroup> group) {
  if (capacity_ == 0 || group == nullptr) return;
  std::lock_guard lock(mu_);
  auto it = map_.find(key);
  if (it != map_.end()) {
    lru_.splice(lru_.begin(), lru_, it->second);
    return;
  }
  bytes_ += group->memory();
  lru_.emplace_front(key, std::move(group));
  map_.emplace(key, lru_.begin());
  while (bytes_ > capacity_ && lru_.size() > 1) {
    bytes_ -= lru_.back().second->memory();
    map_.erase(lru_.back().first);
    lru_.pop_back();
  }
}

void GroupCache::Clear() {
  std::lock_guard lock(mu_);
  lru_.clear();
  map_.clear();
  bytes_ = 0;
}

size_t GroupCache::bytes() const {
  std::lock_guard lock(mu_);
  return bytes_;
}

}  // namespace vcsnap
