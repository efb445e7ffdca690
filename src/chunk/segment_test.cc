// File: chunk/segment_test.cc

#include "chunk/segment.h"

#include <gtest/gtest.h>

#include "chunk/test_data.h"
#include "testing/status_matchers.h"

namespace vcsnap {
namespace {

std::unique_ptr<Chunker> DefaultGear() {
  auto c = MakeGearChunker(2048, 4096, 16384);
  EXPECT_OK(c);
  return std::move(*c);
}

TEST(SegmentTest, SegmentCountAndExtents) {
  const uint32_t seg = 2u << 20;
  EXPECT_EQ(SegmentCount(0, seg), 0u);
  EXPECT_EQ(SegmentCount(1, seg), 1u);
  EXPECT_EQ(SegmentCount(seg, seg), 1u);
  EXPECT_EQ(SegmentCount(seg + 1, seg), 2u);
  const uint64_t image = 10ull * seg + 777;
  EXPECT_EQ(SegmentCount(image, seg), 11u);
  SegmentExtent e = SegmentAt(image, seg, 3);
  EXPECT_EQ(e.offset, 3ull * seg);
  EXPECT_EQ(e.length, seg);
  e = SegmentAt(image, seg, 10);
  EXPECT_EQ(e.offset, 10ull * seg);
  EXPECT_EQ(e.length, 777u);
}

TEST(SegmentTest, IsAllZeroFindsAnyNonZeroByte) {
  EXPECT_TRUE(IsAllZero({}));
  for (size_t n : {1u, 7u, 255u, 256u, 257u, 1000u, 4096u}) {
    Bytes b(n, 0);
    EXPECT_TRUE(IsAllZero(b)) << n;
    for (size_t i = 0; i < n; ++i) {
      b[i] = static_cast<uint8_t>(1u << (i % 8));
      ASSERT_FALSE(IsAllZero(b)) << n << " at " << i;
      b[i] = 0;
    }
  }
}

// Checks the invariants of ChunkSegment's output against Split() and
// Sha256() on the same bytes.
void ExpectConsistent(const Chunker& c, ByteView seg,
                      const std::vector<ChunkInfo>& chunks) {
  std::vector<uint32_t> ends;
  c.Split(seg, &ends);
  ASSERT_EQ(chunks.size(), ends.size());
  uint32_t start = 0;
  for (size_t i = 0; i < chunks.size(); ++i) {
    const ChunkInfo& ch = chunks[i];
    EXPECT_EQ(ch.offset, start);
    EXPECT_EQ(ch.offset + ch.length, ends[i]);
    ByteView bytes = seg.subspan(ch.offset, ch.length);
    EXPECT_EQ(ch.zero, IsAllZero(bytes)) << "chunk " << i;
    EXPECT_EQ(ch.fp, ch.zero ? Fingerprint{} : Sha256(bytes)) << "chunk " << i;
    start = ends[i];
  }
}

TEST(SegmentTest, MixedZeroAndDataSegment) {
  Bytes seg = testdata::MixedContent(2 << 20, 21);
  // A hole in the middle, unaligned, as a trimmed filesystem leaves.
  std::fill(seg.begin() + 300001, seg.begin() + 700001, 0);
  auto c = DefaultGear();
  std::vector<ChunkInfo> chunks;
  ChunkSegment(*c, seg, &chunks);
  ExpectConsistent(*c, seg, chunks);
  uint64_t zero_bytes = 0, data_chunks = 0;
  for (const ChunkInfo& ch : chunks) {
    if (ch.zero) zero_bytes += ch.length;
    data_chunks += !ch.zero;
  }
  // The 400000-byte hole alone gives >= 380000 bytes of zero chunks.
  EXPECT_GT(zero_bytes, 380000u);
  EXPECT_GT(data_chunks, 100u);
}

TEST(SegmentTest, AllZeroSegmentIsZeroChunksOfSplitSize) {
  auto c = DefaultGear();
  for (size_t n : {size_t{2} << 20, size_t{100000}, size_t{1}}) {
    const Bytes seg(n, 0);
    std::vector<ChunkInfo> chunks;
    ChunkSegment(*c, seg, &chunks);
    ExpectConsistent(*c, seg, chunks);
    for (const ChunkInfo& ch : chunks) EXPECT_TRUE(ch.zero);
    EXPECT_EQ(chunks.front().length, std::min<size_t>(n, 16384));
  }
}

TEST(SegmentTest, FixedChunkerSegments) {
  auto c = MakeFixedChunker(4096);
  ASSERT_OK(c);
  Bytes seg = testdata::MixedContent(1 << 20, 22);
  std::fill(seg.begin(), seg.begin() + 8192, 0);
  std::vector<ChunkInfo> chunks;
  ChunkSegment(**c, seg, &chunks);
  ExpectConsistent(**c, seg, chunks);
  ASSERT_EQ(chunks.size(), 256u);
  EXPECT_TRUE(chunks[0].zero);
  EXPECT_TRUE(chunks[1].zero);
}

TEST(SegmentTest, OutputIsReplacedNotAppended) {
  auto c = DefaultGear();
  const Bytes seg = testdata::MixedContent(100000, 23);
  std::vector<ChunkInfo> once, twice;
  ChunkSegment(*c, seg, &once);
  twice = once;
  ChunkSegment(*c, seg, &twice);
  EXPECT_EQ(twice.size(), once.size());
  ChunkSegment(*c, {}, &twice);
  EXPECT_TRUE(twice.empty());
}

}  // namespace
}  // namespace vcsnap
