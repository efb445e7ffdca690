#include "util/buffer_pool.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace vcsnap {
namespace {

TEST(BufferPoolTest, AGivenBufferIsTakenAgainWithItsMemory) {
  BufferPool pool(2);
  Bytes a = pool.Take(1 << 20);
  ASSERT_EQ(a.size(), 1u << 20);
  a[5] = 42;
  const uint8_t* memory = a.data();
  pool.Give(std::move(a));
  EXPECT_EQ(pool.kept(), 1u);
  // Shorter, then longer again: the same memory, contents kept.
  Bytes b = pool.Take(1000);
  EXPECT_EQ(b.size(), 1000u);
  EXPECT_EQ(b.data(), memory);
  EXPECT_EQ(b[5], 42);
  EXPECT_EQ(pool.kept(), 0u);
  pool.Give(std::move(b));
  Bytes c = pool.Take(1 << 20);
  EXPECT_EQ(c.size(), 1u << 20);
  EXPECT_EQ(c.data(), memory);
}

TEST(BufferPoolTest, KeepsAtMostMaxKeptAndNeverWaits) {
  BufferPool pool(2);
  std::vector<Bytes> out;
  for (int i = 0; i < 5; ++i) out.push_back(pool.Take(4096));  // none kept
  for (Bytes& b : out) pool.Give(std::move(b));
  EXPECT_EQ(pool.kept(), 2u);
  pool.Give(Bytes());  // nothing to keep
  EXPECT_EQ(pool.kept(), 2u);
  BufferPool none(0);
  none.Give(none.Take(10));
  EXPECT_EQ(none.kept(), 0u);
}

TEST(BufferPoolTest, ThreadsTakeAndGiveAtOnce) {
  BufferPool pool(4);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&pool, t] {
      for (int i = 0; i < 1000; ++i) {
        Bytes b = pool.Take(64 + t);
        b[0] = static_cast<uint8_t>(t);
        pool.Give(std::move(b));
      }
    });
  }
  for (std::thread& th : threads) th.join();
  EXPECT_GE(pool.kept(), 1u);
  EXPECT_LE(pool.kept(), 4u);
}

}  // namespace
}  // namespace vcsnap
