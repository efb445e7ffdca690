#include "util/lru_cache.h"

#include <gtest/gtest.h>

#include <string>

namespace vcsnap {
namespace {

TEST(LruCache, EvictsTheLeastRecentByCostButKeepsTheNewest) {
  LruCache<int, std::string> c(10);
  c.Insert(1, "a", 4);
  c.Insert(2, "b", 4);
  ASSERT_NE(c.Find(1), nullptr);  // 1 is now the most recent
  c.Insert(3, "c", 4);            // 12 > 10: the least recent (2) goes
  EXPECT_EQ(c.Find(2), nullptr);
  ASSERT_NE(c.Find(1), nullptr);
  EXPECT_EQ(*c.Find(3), "c");
  EXPECT_EQ(c.cost(), 8u);
  c.Insert(4, "huge", 50);  // over capacity alone: kept, all others go
  EXPECT_EQ(c.size(), 1u);
  EXPECT_EQ(*c.Find(4), "huge");
}

TEST(LruCache, InsertOfACachedKeyOnlyTouchesIt) {
  LruCache<std::string, int> c(2);
  c.Insert("x", 1, 1);
  c.Insert("y", 2, 1);
  c.Insert("x", 9, 1);  // not replaced, but made the most recent
  EXPECT_EQ(*c.Find("x"), 1);
  c.Insert("z", 3, 1);  // evicts y, the least recent
  EXPECT_EQ(c.Find("y"), nullptr);
  EXPECT_EQ(c.size(), 2u);
}

TEST(LruCache, EraseIfAndClearKeepTheCostRight) {
  LruCache<int, int> c(100);
  for (int i = 0; i < 10; ++i) c.Insert(i, i * i, 3);
  c.EraseIf([](int key, int) { return key % 2 == 0; });
  EXPECT_EQ(c.size(), 5u);
  EXPECT_EQ(c.cost(), 15u);
  EXPECT_EQ(c.Find(4), nullptr);
  EXPECT_EQ(*c.Find(3), 9);
  c.Clear();
  EXPECT_EQ(c.size(), 0u);
  EXPECT_EQ(c.cost(), 0u);
  EXPECT_EQ(c.Find(3), nullptr);
}

}  // namespace
}  // namespace vcsnap
