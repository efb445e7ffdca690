#include "source/dirty_bitmap.h"

#include <fstream>

#include "testing/status_matchers.h"
#include "testing/temp_dir.h"

namespace vcsnap {
namespace {

using ::vcsnap::testing::StatusIs;
using ::vcsnap::testing::StatusIsWith;

constexpr uint64_t kSeg = 2 << 20;

std::vector<bool> Bits(const DirtyBitmap& b) {
  std::vector<bool> out;
  for (uint64_t i = 0; i < b.segments(); ++i) out.push_back(b.dirty(i));
  return out;
}

TEST(DirtyBitmap, LsbFirstAtSegmentGranularity) {
  // 10 segments; bits 0, 3, 9 set: byte0 = 0b00001001, byte1 = 0b00000010.
  Bytes bits = {0x09, 0x02};
  auto b = DirtyBitmap::Parse(bits, kSeg, 10 * kSeg, kSeg);
  ASSERT_OK(b);
  EXPECT_EQ(Bits(*b), (std::vector<bool>{1, 0, 0, 1, 0, 0, 0, 0, 0, 1}));
  EXPECT_EQ(b->dirty_count(), 3u);
}

TEST(DirtyBitmap, ShortBitmapMeansTheRestIsDirty) {
  Bytes bits = {0x00};  // covers segments 0..7 clean
  auto b = DirtyBitmap::Parse(bits, kSeg, 12 * kSeg, kSeg);
  ASSERT_OK(b);
  EXPECT_EQ(b->dirty_count(), 4u);
  EXPECT_FALSE(b->dirty(7));
  EXPECT_TRUE(b->dirty(8));
  auto empty = DirtyBitmap::Parse(ByteView(), kSeg, 3 * kSeg, kSeg);
  EXPECT_EQ(empty->dirty_count(), 3u);
}

TEST(DirtyBitmap, FinerGranulesMarkTheirSegment) {
  // 64 KiB granules: 32 per 2 MiB segment. Granule 33 -> segment 1 only.
  const uint64_t g = 64 << 10;
  Bytes bits(16, 0);  // 128 granules = 4 segments
  bits[33 / 8] |= 1 << (33 % 8);
  auto b = DirtyBitmap::Parse(bits, g, 4 * kSeg, kSeg);
  ASSERT_OK(b);
  EXPECT_EQ(Bits(*b), (std::vector<bool>{0, 1, 0, 0}));
}

TEST(DirtyBitmap, CoarserGranulesMarkEverySegmentTheyCover) {
  const uint64_t g = 8 << 20;  // 4 segments per granule
  Bytes bits = {0x02};         // granule 1 -> segments 4..7
  auto b = DirtyBitmap::Parse(bits, g, 10 * kSeg, kSeg);
  ASSERT_OK(b);
  EXPECT_EQ(Bits(*b), (std::vector<bool>{0, 0, 0, 0, 1, 1, 1, 1, 0, 0}));
}

TEST(DirtyBitmap, PartialLastSegment) {
  Bytes bits = {0x02};
  auto b = DirtyBitmap::Parse(bits, kSeg, kSeg + 100, kSeg);
  ASSERT_OK(b);
  EXPECT_EQ(Bits(*b), (std::vector<bool>{0, 1}));
}

TEST(DirtyBitmap, RejectsBadGranularityAndOversizedBitmaps) {
  Bytes bits = {0x00};
  for (uint64_t bad : {0ull, 256ull, 1000ull, 3ull << 20}) {
    EXPECT_THAT(DirtyBitmap::Parse(bits, bad, 8 * kSeg, kSeg),
                StatusIsWith(StatusCode::kInvalidArgument, "granularity"))
        << bad;
  }
  Bytes too_long(3, 0);  // 10 segments need 2 bytes
  EXPECT_THAT(DirtyBitmap::Parse(too_long, kSeg, 10 * kSeg, kSeg),
              StatusIsWith(StatusCode::kInvalidArgument, "needs at most 2"));
}

TEST(DirtyBitmap, LoadChecksTheFile) {
  std::string dir = ::vcsnap::testing::NewTempDir("bitmap");
  std::ofstream(dir + "/ok", std::ios::binary) << '\x01';
  auto b = DirtyBitmap::Load(dir + "/ok", kSeg, 4 * kSeg, kSeg);
  ASSERT_OK(b);
  EXPECT_EQ(b->dirty_count(), 1u);
  EXPECT_THAT(DirtyBitmap::Load(dir + "/missing", kSeg, 4 * kSeg, kSeg),
              StatusIsWith(StatusCode::kInvalidArgument, "missing"));
  EXPECT_THAT(DirtyBitmap::Load(dir, kSeg, 4 * kSeg, kSeg),
              StatusIsWith(StatusCode::kInvalidArgument, "regular file"));
  std::ofstream(dir + "/huge", std::ios::binary) << std::string(1 << 20, 'x');
  EXPECT_THAT(DirtyBitmap::Load(dir + "/huge", kSeg, 4 * kSeg, kSeg),
              StatusIsWith(StatusCode::kInvalidArgument, "another disk"));
  EXPECT_THAT(DirtyBitmap::Load(dir + "/ok", 1000, 4 * kSeg, kSeg),
              StatusIs(StatusCode::kInvalidArgument));
}

TEST(DirtyBitmap, DirtyRangesMergeAdjacentGranulesWithinTheirSegment) {
  // 4 KiB granules, 16 KiB segments, a 40 KiB image (3 segments, the last
  // one 8 KiB long). Granules 1, 2 (segment 0), 3 (segment 0's last, so
  // merged with 1-2), 4 (segment 1's first) and 8 (segment 2).
  const uint64_t gran = 4096, seg = 16384, image = 40960;
  Bytes bits = {0x1e, 0x01};  // granules 1,2,3,4 and 8
  auto b = DirtyBitmap::Parse(bits, gran, image, seg);
  ASSERT_OK(b);
  EXPECT_TRUE(b->fine());
  using R = std::vector<DirtyRange>;
  EXPECT_EQ(b->DirtyRanges(0, seg), (R{{4096, 16384}}));
  EXPECT_EQ(b->DirtyRanges(1, seg), (R{{0, 4096}}));
  EXPECT_EQ(b->DirtyRanges(2, 8192), (R{{0, 4096}}));
  // Granules past a short bitmap are dirty: one byte gives granules 0-7
  // (segments 0 and 1), so segment 2 is dirty whole.
  auto short_bits = DirtyBitmap::Parse(Bytes{0x05}, gran, image, seg);
  ASSERT_OK(short_bits);
  EXPECT_EQ(short_bits->DirtyRanges(0, seg), (R{{0, 4096}, {8192, 12288}}));
  EXPECT_TRUE(short_bits->DirtyRanges(1, seg).empty());
  EXPECT_EQ(short_bits->DirtyRanges(2, 8192), (R{{0, 8192}}));
  // A clean segment has none; a bitmap at segment granularity is not fine
  // and a dirty segment is dirty whole.
  auto clean = DirtyBitmap::Parse(Bytes{0x00, 0x00}, gran, image, seg);
  ASSERT_OK(clean);
  EXPECT_TRUE(clean->DirtyRanges(0, seg).empty());
  auto coarse = DirtyBitmap::Parse(Bytes{0x04}, seg, image, seg);
  ASSERT_OK(coarse);
  EXPECT_FALSE(coarse->fine());
  EXPECT_EQ(coarse->DirtyRanges(2, 8192), (R{{0, 8192}}));
  EXPECT_TRUE(coarse->DirtyRanges(1, seg).empty());
}

TEST(DirtyBitmap, AllDirty) {
  EXPECT_EQ(DirtyBitmap::AllDirty(5).dirty_count(), 5u);
}

}  // namespace
}  // namespace vcsnap
