// File: store/group_cache.h
//
// GroupCache: a byte-bounded LRU cache of decoded chunk groups, keyed by
// (container, generation, first CID) so that a compacted container's groups
// never answer for the new generation.
//
// Thread safety: fully thread-safe (one mutex); values are shared_ptrs to
// immutable groups, so a hit stays valid after eviction.

#ifndef VCSNAP_STORE_GROUP_CACHE_H_
#define VCSNAP_STORE_GROUP_CACHE_H_

#include <cstdint>
#include <memory>
#include <mutex>

#include "store/group.h"
#include "util/lru_cache.h"

namespace vcsnap {

struct GroupKey {
  uint16_t container = 0;
  uint32_t generation = 0;
  uint64_t first_cid = 0;
  bool operator==(const GroupKey&) const = default;
};

class GroupCache {
 public:
  explicit GroupCache(size_t capacity_bytes) : lru_(capacity_bytes) {}

  std::shared_ptr<const DecodedGroup> Find(const GroupKey& key);
  void Insert(const GroupKey& key, std::shared_ptr<const DecodedGroup> group);
  void Clear();
  size_t bytes() const;

 private:
  struct KeyHash {
    size_t operator()(const GroupKey& k) const {
      return std::hash<uint64_t>()(
          k.first_cid * 0x9E3779B97F4A7C15ull ^
          (uint64_t{k.container} << 32 | k.generation));
    }
  };
  mutable std::mutex mu_;
  // Cost: DecodedGroup::memory(); guarded by mu_.
  LruCache<GroupKey, std::shared_ptr<const DecodedGroup>, KeyHash> lru_;
};

}  // namespace vcsnap

#endif  // VCSNAP_STORE_GROUP_CACHE_H_
