// File: chunk/chunker_test.cc
//
// Chunker conformance: validation, determinism, size bounds, agreement with
// the definition in docs/format/chunking.md (a slow reference
// implementation), resilience to shifted content, zero runs.

#include "chunk/chunker.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "chunk/gear_table.h"
#include "chunk/test_data.h"
#include "testing/status_matchers.h"

namespace vcsnap {
namespace {

using ::vcsnap::testing::StatusIs;

std::unique_ptr<Chunker> Gear(uint32_t min, uint32_t avg, uint32_t max) {
  auto c = MakeGearChunker(min, avg, max);
  EXPECT_OK(c);
  return std::move(*c);
}

std::vector<uint32_t> Ends(const Chunker& c, ByteView data) {
  std::vector<uint32_t> ends;
  c.Split(data, &ends);
  return ends;
}

// The definition, computed the slow way: zero runs found byte by byte, and
// the hash of the window before end e recomputed from scratch for every
// candidate.
void ReferenceGearRegion(ByteView data, uint64_t from, uint64_t to,
                         uint32_t min, uint32_t avg, uint32_t max,
                         std::vector<uint32_t>* ends) {
  int bits = 0;
  while ((1u << bits) < avg) ++bits;
  const uint64_t mask_s = ~uint64_t{0} << (64 - (bits + 2));
  const uint64_t mask_l = ~uint64_t{0} << (64 - (bits - 2));
  uint64_t start = from;
  while (start < to) {
    uint64_t end = std::min(to, start + max);
    for (uint64_t e = start + min; e < std::min(to, start + max); ++e) {
      uint64_t h = 0;
      for (uint64_t i = 1; i <= 64 && i <= e - start; ++i) {
        h += kGearTable[data[e - i]] << (i - 1);
      }
      const uint64_t mask = e - start < avg ? mask_s : mask_l;
      if ((h & mask) == 0) {
        end = e;
        break;
      }
    }
    ends->push_back(static_cast<uint32_t>(end));
    start = end;
  }
}

std::vector<uint32_t> ReferenceGear(ByteView data, uint32_t min, uint32_t avg,
                                    uint32_t max) {
  std::vector<uint32_t> ends;
  uint64_t pos = 0;
  const uint64_t n = data.size();
  while (pos < n) {
    // The first maximal run of >= 128 zero bytes at or after pos.
    uint64_t zs = n, ze = n;
    for (uint64_t i = pos; i < n;) {
      if (data[i] != 0) {
        ++i;
        continue;
      }
      uint64_t j = i;
      while (j < n && data[j] == 0) ++j;
      if (j - i >= 128) {
        zs = i;
        ze = j;
        break;
      }
      i = j;
    }
    ReferenceGearRegion(data, pos, zs, min, avg, max, &ends);
    for (uint64_t s = zs; s < ze;) {
      s = std::min(ze, s + max);
      ends.push_back(static_cast<uint32_t>(s));
    }
    pos = ze;
  }
  return ends;
}

TEST(ChunkerTest, RejectsBadGearParameters) {
  EXPECT_THAT(MakeGearChunker(0, 4096, 16384),
              StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(MakeGearChunker(8192, 4096, 16384),
              StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(MakeGearChunker(1024, 4096, 2048),
              StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(MakeGearChunker(1024, 5000, 16384),
              StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(MakeGearChunker(64, 128, 16384),
              StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(MakeFixedChunker(0), StatusIs(StatusCode::kInvalidArgument));
  GearParams p{1024, 4096, 16384};
  p.zero_run_min = 100;  // below the 64-byte-block search's guarantee
  EXPECT_THAT(MakeGearChunker(p), StatusIs(StatusCode::kInvalidArgument));
  p.zero_run_min = 0;
  EXPECT_OK(MakeGearChunker(p));
}

TEST(ChunkerTest, MakeChunkerFollowsConfig) {
  RepoConfig config;
  config.chunker = ChunkerKind::kFixed;
  config.chunk_avg = 4096;
  auto fixed = MakeChunker(config);
  ASSERT_OK(fixed);
  EXPECT_EQ(Ends(**fixed, Bytes(10000, 7)),
            (std::vector<uint32_t>{4096, 8192, 10000}));
  config.chunker = ChunkerKind::kGear;
  auto gear = MakeChunker(config);
  ASSERT_OK(gear);
  EXPECT_EQ((*gear)->max_chunk(), config.chunk_max);
  config.chunk_min = config.chunk_avg * 2;  // min > avg
  EXPECT_THAT(MakeChunker(config), StatusIs(StatusCode::kInvalidArgument));
}

TEST(ChunkerTest, EmptyDataHasNoChunks) {
  EXPECT_TRUE(Ends(*Gear(1024, 4096, 16384), {}).empty());
  EXPECT_TRUE(Ends(**MakeFixedChunker(4096), {}).empty());
}

TEST(ChunkerTest, FixedChunkerCutsEverySizeBytes) {
  auto c = MakeFixedChunker(1000);
  ASSERT_OK(c);
  EXPECT_EQ(Ends(**c, Bytes(3000, 1)),
            (std::vector<uint32_t>{1000, 2000, 3000}));
  EXPECT_EQ(Ends(**c, Bytes(999, 1)), (std::vector<uint32_t>{999}));
}

TEST(ChunkerTest, GearMatchesReferenceDefinition) {
  Bytes data = testdata::MixedContent(256 << 10, 11);
  // Zero runs just below, at and above the 128-byte threshold, unaligned,
  // one longer than every max, and one at the very end.
  std::fill_n(data.begin() + 10001, 127, 0);
  std::fill_n(data.begin() + 30003, 128, 0);
  std::fill_n(data.begin() + 50005, 129, 0);
  std::fill_n(data.begin() + 70007, 70000, 0);
  std::fill_n(data.end() - 300, 300, 0);
  struct P {
    uint32_t min, avg, max;
  };
  for (P p : {P{2048, 4096, 16384}, P{1024, 4096, 16384}, P{16, 256, 1024},
              P{4096, 4096, 4096}, P{100, 1024, 65536}}) {
    SCOPED_TRACE(std::to_string(p.min) + "/" + std::to_string(p.avg) + "/" +
                 std::to_string(p.max));
    EXPECT_EQ(Ends(*Gear(p.min, p.avg, p.max), data),
              ReferenceGear(data, p.min, p.avg, p.max));
  }
}

TEST(ChunkerTest, GearIsDeterministic) {
  const Bytes data = testdata::MixedContent(1 << 20, 12);
  auto a = Gear(2048, 4096, 32768);
  auto b = Gear(2048, 4096, 32768);
  const std::vector<uint32_t> first = Ends(*a, data);
  EXPECT_EQ(first, Ends(*a, data));
  EXPECT_EQ(first, Ends(*b, data));
  // A segment's chunks depend only on its bytes: the same bytes inside a
  // larger buffer chunk the same way when split on their own.
  Bytes bigger = data;
  bigger.insert(bigger.begin(), 12345, 0x5a);
  EXPECT_EQ(first, Ends(*a, ByteView(bigger).subspan(12345)));
}

bool Zero(ByteView data, uint32_t from, uint32_t to) {
  return std::all_of(data.begin() + from, data.begin() + to,
                     [](uint8_t b) { return b == 0; });
}

TEST(ChunkerTest, GearHonoursMinAndMax) {
  const Bytes data = testdata::MixedContent(2 << 20, 13);
  for (uint32_t max : {8192u, 16384u, 65536u}) {
    auto c = Gear(1024, 4096, max);
    const std::vector<uint32_t> ends = Ends(*c, data);
    ASSERT_FALSE(ends.empty());
    EXPECT_EQ(ends.back(), data.size());
    uint32_t start = 0, data_at_max = 0, zero_chunks = 0;
    for (size_t i = 0; i < ends.size(); ++i) {
      const uint32_t len = ends[i] - start;
      EXPECT_GT(len, 0u);
      EXPECT_LE(len, max);
      const bool zero = Zero(data, start, ends[i]);
      zero_chunks += zero;
      // Shorter than min: only a zero-run chunk, the last chunk, or the data
      // chunk just before a zero run.
      const bool before_zero_run = i + 1 < ends.size() &&
                                   Zero(data, ends[i], ends[i + 1]) &&
                                   ends[i + 1] - ends[i] >= 128;
      if (len < 1024 && !zero && i + 1 < ends.size()) {
        EXPECT_TRUE(before_zero_run) << "chunk " << i << " of " << len;
      }
      data_at_max += len == max && !zero;
      start = ends[i];
    }
    EXPECT_GT(zero_chunks, 0u);  // the generated data has zero runs
    // With max >= 4 x avg, data almost never reaches max (normalized
    // chunking: P(no cut in 3 x avg past the normal point) ~ e^-12).
    if (max >= 16384) {
      EXPECT_LT(data_at_max * 100, ends.size()) << "max " << max;
    }
  }
}

TEST(ChunkerTest, GearSpreadsChunkSizesAroundAverage) {
  const Bytes data = testdata::MixedContent(4 << 20, 14);
  const std::vector<uint32_t> ends = Ends(*Gear(2048, 4096, 32768), data);
  std::vector<uint32_t> sizes;
  uint32_t start = 0;
  for (uint32_t e : ends) {
    if (!Zero(data, start, e)) sizes.push_back(e - start);
    start = e;
  }
  ASSERT_GT(sizes.size(), 100u);
  std::sort(sizes.begin(), sizes.end());
  const uint32_t median = sizes[sizes.size() / 2];
  // Normalized chunking puts most cuts shortly after the average point.
  EXPECT_GT(median, 4096u);
  EXPECT_LT(median, 6144u);
}

// Fraction of the bytes of `after` that lie in chunks that also occur in
// `before` (same bytes, any position): what deduplication would keep.
double PreservedFraction(ByteView before, const std::vector<uint32_t>& eb,
                         ByteView after, const std::vector<uint32_t>& ea) {
  std::set<Bytes> old_chunks;
  uint32_t s = 0;
  for (uint32_t e : eb) {
    old_chunks.insert(Bytes(before.begin() + s, before.begin() + e));
    s = e;
  }
  uint64_t kept = 0;
  s = 0;
  for (uint32_t e : ea) {
    if (old_chunks.count(Bytes(after.begin() + s, after.begin() + e))) {
      kept += e - s;
    }
    s = e;
  }
  return static_cast<double>(kept) / after.size();
}

TEST(ChunkerTest, GearResistsShiftedContent) {
  const Bytes before = testdata::MixedContent(2 << 20, 15);
  auto gear = Gear(2048, 4096, 16384);
  auto fixed = MakeFixedChunker(4096);
  ASSERT_OK(fixed);
  for (size_t inserted : {1u, 7u, 100u, 4096u}) {
    SCOPED_TRACE("inserted " + std::to_string(inserted));
    Bytes after = before;
    after.insert(after.begin() + 5000, inserted, 0xab);
    const double g = PreservedFraction(before, Ends(*gear, before), after,
                                       Ends(*gear, after));
    // Only the chunks around the insertion change: a few chunks of 2 MiB.
    EXPECT_GT(g, 0.98);
    const double f = PreservedFraction(before, Ends(**fixed, before), after,
                                       Ends(**fixed, after));
    // Fixed chunks keep only the zero runs (and all of it for whole blocks).
    if (inserted % 4096 != 0) {
      EXPECT_LT(f, 0.3);
    }
  }
}

// The reason zero runs are cut out: in a disk image, files start after
// free (zero) space of any length, and each file must chunk the same way
// wherever it lies, as it would with block-aligned fixed chunks.
TEST(ChunkerTest, ContentAfterAZeroGapChunksTheSameWhateverTheGap) {
  Bytes a = testdata::MixedContent(50000, 31);
  Bytes b = testdata::MixedContent(60000, 32);
  std::fill_n(a.end() - 200, 200, 0x61);  // no zeros next to the gap
  std::fill_n(b.begin(), 200, 0x62);
  auto c = Gear(2048, 4096, 16384);
  std::vector<uint32_t> b_alone = Ends(*c, b);
  for (size_t gap : {128u, 1000u, 4096u, 23456u}) {
    Bytes image = a;
    image.insert(image.end(), gap, 0);
    image.insert(image.end(), b.begin(), b.end());
    std::vector<uint32_t> ends = Ends(*c, image);
    const uint32_t b_start = static_cast<uint32_t>(a.size() + gap);
    std::vector<uint32_t> tail;
    for (uint32_t e : ends) {
      if (e > b_start) tail.push_back(e - b_start);
    }
    EXPECT_EQ(tail, b_alone) << "gap " << gap;
    // And a's chunks end where a ends.
    EXPECT_NE(std::find(ends.begin(), ends.end(), a.size()), ends.end());
  }
}

// An all-zero segment is chunked without a gear pass (segment.h); that is
// only right if the result is what Split() gives: chunks of
// ZeroRunChunkLength(). That is max for every parameter set with min >= 64
// (zero runs are cut at max, and a window of zeros never passes a mask);
// with a smaller min the chunker checks itself and may report 0.
TEST(ChunkerTest, ZeroRunsCutAtZeroRunChunkLength) {
  for (uint32_t avg = 256; avg <= (1u << 20); avg *= 2) {
    for (uint32_t min : {64u, avg / 4, avg}) {
      if (min < 64 || min > avg) continue;
      for (uint32_t max : {avg, 4 * avg}) {
        auto c = Gear(min, avg, max);
        EXPECT_EQ(c->ZeroRunChunkLength(), max) << min << "/" << avg;
      }
    }
  }
  auto small = Gear(1, 256, 4096);
  ASSERT_GT(small->ZeroRunChunkLength(), 0u);
  const Bytes zeros(3 * 4096 + 5, 0);
  std::vector<uint32_t> want;
  for (uint32_t e = small->ZeroRunChunkLength(); e < zeros.size();
       e += small->ZeroRunChunkLength()) {
    want.push_back(e);
  }
  want.push_back(static_cast<uint32_t>(zeros.size()));
  EXPECT_EQ(Ends(*small, zeros), want);
}

// SplitFrom() is Split() of the tail, and an end it calls restartable really
// is one: chunking afresh from it gives the same ends. Ends strictly inside a
// cut-out run of zeros are not restartable (a fresh start sees a shorter run).
TEST(ChunkerTest, SplitFromRestartsExactlyAtRestartableEnds) {
  auto fixed = MakeFixedChunker(4096);
  ASSERT_OK(fixed);
  std::vector<std::unique_ptr<Chunker>> chunkers;
  chunkers.push_back(Gear(3072, 4096, 65536));
  chunkers.push_back(Gear(256, 512, 4096));
  chunkers.push_back(std::move(*fixed));
  for (const auto& chunker : chunkers) {
    for (uint64_t seed = 1; seed <= 3; ++seed) {
      Bytes data = testdata::MixedContent(300000, seed);
      std::fill(data.begin() + 1000, data.begin() + 1000 + 140000, 0);
      const std::vector<uint32_t> ends = Ends(*chunker, data);
      std::vector<std::pair<uint32_t, bool>> visited;
      chunker->SplitFrom(data, 0, [&](uint32_t end, bool restartable) {
        visited.emplace_back(end, restartable);
        return true;
      });
      ASSERT_EQ(visited.size(), ends.size());
      size_t inside_runs = 0;
      for (size_t i = 0; i < ends.size(); ++i) {
        ASSERT_EQ(visited[i].first, ends[i]);
        if (!visited[i].second) {
          ++inside_runs;
          continue;
        }
        std::vector<uint32_t> tail;
        chunker->SplitFrom(data, ends[i], [&](uint32_t end, bool) {
          tail.push_back(end);
          return true;
        });
        ASSERT_TRUE(std::equal(tail.begin(), tail.end(), ends.begin() + i + 1,
                               ends.end()))
            << "restart at " << ends[i];
        ASSERT_EQ(tail.size(), ends.size() - i - 1);
      }
      // The 140000 zeros make ends inside a run for the gear chunkers.
      EXPECT_EQ(inside_runs > 0, chunker->lookahead() > 0);
      // Stopping early visits nothing more.
      size_t calls = 0;
      chunker->SplitFrom(data, 0, [&](uint32_t, bool) { return ++calls < 3; });
      EXPECT_EQ(calls, 3u);
    }
  }
}

}  // namespace
}  // namespace vcsnap
