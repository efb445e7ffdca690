#include "store/group_cache.h"

namespace vcsnap {

std::shared_ptr<const DecodedGroup> GroupCache::Find(const GroupKey& key) {
  std::lock_guard lock(mu_);
  const auto* hit = lru_.Find(key);
  return hit != nullptr ? *hit : nullptr;
}

void GroupCache::Insert(const GroupKey& key,
                        std::shared_ptr<const DecodedGroup> group) {
  if (lru_.capacity() == 0 || group == nullptr) return;
  std::lock_guard lock(mu_);
  const size_t cost = group->memory();
  lru_.Insert(key, std::move(group), cost);
}

void GroupCache::Clear() {
  std::lock_guard lock(mu_);
  lru_.Clear();
}

size_t GroupCache::bytes() const {
  std::lock_guard lock(mu_);
  return lru_.cost();
}

}  // namespace vcsnap
