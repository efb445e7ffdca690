#include "source/nbd_maps.h"

#include <gtest/gtest.h>

namespace vcsnap {
namespace {

constexpr char kAlloc[] = "base:allocation";
constexpr char kCbt[] = "qemu:dirty-bitmap:cbt";
constexpr uint32_t kHoleZero = 3, kData = 0, kDirty = 1, kClean = 0;

std::vector<bool> Bits(const std::vector<uint8_t>& bytes, size_t n) {
  std::vector<bool> out(n);
  for (size_t k = 0; k < n; ++k) out[k] = (bytes[k / 8] >> (k % 8)) & 1;
  return out;
}

TEST(NbdMaps, ZerosAreRoundedInAndAdjacentZeroExtentsMerge) {
  std::vector<uint8_t> zero, dirty;
  // 10 granules of 4 KiB, the last one short (38 KiB export).
  NbdMapBuilder b(38 << 10, 4096, true, "", &zero, &dirty);
  EXPECT_EQ(b.covered(), 0u);
  // [0, 6K) zero in two extents (granule 0 whole, granule 1 half); data to
  // 16K; zero [16K, 38K) in three extents, the last past the end.
  const uint32_t e[] = {2048, kHoleZero, 4096, kHoleZero, 10240, kData,
                        4096, kHoleZero, 4096, 2,         65536, kHoleZero};
  ASSERT_TRUE(b.Add(kAlloc, 0, e, std::size(e))) << b.error();
  EXPECT_EQ(b.covered(), 38u << 10);
  b.Finish();
  EXPECT_EQ(Bits(zero, 10), (std::vector<bool>{1, 0, 0, 0, 1, 1, 1, 1, 1, 1}));
  EXPECT_TRUE(dirty.empty());
}

TEST(NbdMaps, DirtyExtentsAreRoundedOut) {
  std::vector<uint8_t> zero, dirty;
  NbdMapBuilder b(64 << 10, 4096, false, kCbt, &zero, &dirty);
  const uint32_t e[] = {5000, kClean, 100, kDirty, 30000, kClean, 4096, kDirty};
  ASSERT_TRUE(b.Add(kCbt, 0, e, std::size(e))) << b.error();
  // [5000, 5100) -> granule 1; [35100, 39196) -> granules 8 and 9.
  EXPECT_EQ(b.covered(), 39196u);
  ASSERT_TRUE(b.Add(kAlloc, 0, e, std::size(e)));  // not asked for: ignored
  const uint32_t rest[] = {30000, kClean};
  ASSERT_TRUE(b.Add(kCbt, 39196, rest, std::size(rest)));
  EXPECT_EQ(b.covered(), 64u << 10);
  b.Finish();
  std::vector<bool> want(16, false);
  want[1] = want[8] = want[9] = true;
  EXPECT_EQ(Bits(dirty, 16), want);
  EXPECT_EQ(Bits(zero, 16), std::vector<bool>(16, false));
}

TEST(NbdMaps, OverlappingRepliesAreNotCountedTwice) {
  std::vector<uint8_t> zero, dirty;
  NbdMapBuilder b(32 << 10, 4096, true, kCbt, &zero, &dirty);
  const uint32_t alloc[] = {16384, kData, 16384, kHoleZero};
  const uint32_t cbt1[] = {8192, kDirty};
  ASSERT_TRUE(b.Add(kAlloc, 0, alloc, 4));
  ASSERT_TRUE(b.Add(kCbt, 0, cbt1, 2));
  EXPECT_EQ(b.covered(), 8192u);  // the next request starts there
  // The second request's allocation reply repeats what is covered.
  const uint32_t alloc2[] = {8192, kData, 16384, kHoleZero};
  const uint32_t cbt2[] = {24576, kClean};
  ASSERT_TRUE(b.Add(kAlloc, 8192, alloc2, 4));
  ASSERT_TRUE(b.Add(kCbt, 8192, cbt2, 2));
  EXPECT_EQ(b.covered(), 32u << 10);
  b.Finish();
  EXPECT_EQ(Bits(zero, 8), (std::vector<bool>{0, 0, 0, 0, 1, 1, 1, 1}));
  EXPECT_EQ(Bits(dirty, 8), (std::vector<bool>{1, 1, 0, 0, 0, 0, 0, 0}));
}

TEST(NbdMaps, MalformedRepliesAreErrorsNotMaps) {
  std::vector<uint8_t> zero, dirty;
  {
    NbdMapBuilder b(1 << 20, 4096, true, kCbt, &zero, &dirty);
    const uint32_t odd[] = {4096, kData, 4096};
    EXPECT_FALSE(b.Add(kAlloc, 0, odd, 3));
    EXPECT_NE(b.error().find("malformed"), std::string::npos);
  }
  {
    NbdMapBuilder b(1 << 20, 4096, true, kCbt, &zero, &dirty);
    EXPECT_FALSE(b.Add(kCbt, 0, nullptr, 0));
  }
  {
    NbdMapBuilder b(1 << 20, 4096, true, kCbt, &zero, &dirty);
    const uint32_t empty[] = {4096, kHoleZero, 0, kHoleZero};
    EXPECT_FALSE(b.Add(kAlloc, 0, empty, 4));
    EXPECT_NE(b.error().find("empty extent"), std::string::npos);
    EXPECT_NE(b.error().find("4096"), std::string::npos);
  }
  {
    NbdMapBuilder b(1 << 20, 4096, true, kCbt, &zero, &dirty);
    const uint32_t gap[] = {4096, kDirty};
    EXPECT_FALSE(b.Add(kCbt, 8192, gap, 2));  // leaves [0, 8K) unanswered
    EXPECT_EQ(b.covered(), 0u);
  }
}

}  // namespace
}  // namespace vcsnap
