// File: util/lru_cache.h
//
// LruCache: a least-recently-used cache bounded by a total cost (bytes, or 1
// per entry for a count bound). The one LRU mechanism behind the recipe-pack,
// PDS-index-part, PDS-chunk and chunk-group caches.
//
// Thread safety: none; callers hold their own mutex around every call.

#ifndef VCSNAP_UTIL_LRU_CACHE_H_
#define VCSNAP_UTIL_LRU_CACHE_H_

#include <cstddef>
#include <functional>
#include <list>
#include <unordered_map>
#include <utility>

namespace vcsnap {

template <typename Key, typename Value, typename Hash = std::hash<Key>>
class LruCache {
 public:
  explicit LruCache(size_t capacity) : capacity_(capacity) {}

  // The cached value of `key`, made the most recent; null when absent. The
  // pointer is valid until the next non-const call.
  const Value* Find(const Key& key) {
    auto it = map_.find(key);
    if (it == map_.end()) return nullptr;
    lru_.splice(lru_.begin(), lru_, it->second);
    return &it->second->value;
  }

  // Caches `value` as the most recent entry, unless `key` is cached already
  // (then that entry is only made the most recent). Then evicts the least
  // recent entries while the total cost exceeds the capacity, but never the
  // newest one.
  void Insert(const Key& key, Value value, size_t cost) {
    if (Find(key) != nullptr) return;
    lru_.push_front(Entry{key, std::move(value), cost});
    map_.emplace(key, lru_.begin());
    cost_ += cost;
    while (cost_ > capacity_ && lru_.size() > 1) {
      cost_ -= lru_.back().cost;
      map_.erase(lru_.back().key);
      lru_.pop_back();
    }
  }

  // Drops every entry for which pred(key, value) is true.
  template <typename Pred>
  void EraseIf(Pred pred) {
    for (auto it = lru_.begin(); it != lru_.end();) {
      if (pred(it->key, it->value)) {
        cost_ -= it->cost;
        map_.erase(it->key);
        it = lru_.erase(it);
      } else {
        ++it;
      }
    }
  }

  void Clear() {
    lru_.clear();
    map_.clear();
    cost_ = 0;
  }
  size_t cost() const { return cost_; }
  size_t size() const { return lru_.size(); }
  size_t capacity() const { return capacity_; }

 private:
  struct Entry {
    Key key;
    Value value;
    size_t cost;
  };
  const size_t capacity_;
  std::list<Entry> lru_;  // front = most recent
  std::unordered_map<Key, typename std::list<Entry>::iterator, Hash> map_;
  size_t cost_ = 0;
};

}  // namespace vcsnap

#endif  // VCSNAP_UTIL_LRU_CACHE_H_
