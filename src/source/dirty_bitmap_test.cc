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

TEST(DirtyBitmap, AllDirty) {
  EXPECT_EQ(DirtyBitmap::AllDirty(5).dirty_count(), 5u);
}

}  // namespace
}  // namespace vcsnap
