// File: chunk/reuse_test.cc
//
// ChunkSegmentReusing() must give exactly ChunkSegment()'s chunks for any
// parent, any written granules and any writes: the property test below
// writes random bytes, zeros and single bytes at granule edges, where the
// zero-run look-ahead and restarts inside runs of zeros matter.

#include "chunk/reuse.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "chunk/test_data.h"
#include "testing/status_matchers.h"

namespace vcsnap {
namespace {

struct Rng {  // splitmix64: the same sequence everywhere
  uint64_t s;
  uint64_t Next() {
    uint64_t z = (s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  uint32_t Below(uint64_t n) { return static_cast<uint32_t>(Next() % n); }
};

std::unique_ptr<Chunker> ReuseGear(uint32_t min, uint32_t avg, uint32_t max) {
  auto c = MakeGearChunker(min, avg, max);
  EXPECT_OK(c);
  return std::move(*c);
}

// Zero runs of lengths around the 128-byte threshold, many of them ending
// or starting next to a granule edge.
void SprinkleZeros(Bytes* b, uint32_t granule, Rng* rng) {
  const uint32_t n = static_cast<uint32_t>(b->size());
  for (int i = 0, runs = 4 + rng->Below(12); i < runs; ++i) {
    uint32_t len =
        rng->Below(4) == 0 ? 200 + rng->Below(70000) : 60 + rng->Below(140);
    uint32_t at = rng->Below(n);
    if (rng->Below(2) == 0) {  // touching a granule edge
      const uint32_t edge = (at / granule) * granule;
      at = rng->Below(2) == 0 ? edge : (edge >= len ? edge - len : 0);
    }
    len = std::min(len, n - at);
    std::fill(b->begin() + at, b->begin() + at + len, 0);
  }
}

// Writes inside granule g of `b`: random bytes, zeros, or one byte, at the
// granule's start, its end or anywhere; sometimes nothing (CBT may report
// a granule rewritten with the same bytes).
void WriteGranule(Bytes* b, uint32_t g, uint32_t granule, Rng* rng) {
  const uint32_t begin = g * granule;
  const uint32_t end =
      std::min<uint32_t>(begin + granule, static_cast<uint32_t>(b->size()));
  const uint32_t room = end - begin;
  uint32_t len =
      1 + rng->Below(rng->Below(2) == 0 ? std::min(room, 300u) : room);
  uint32_t at;
  switch (rng->Below(3)) {
    case 0:
      at = begin;
      break;
    case 1:
      at = end - len;
      break;
    default:
      at = begin + rng->Below(room - len + 1);
      break;
  }
  switch (rng->Below(4)) {
    case 0:
      std::fill(b->begin() + at, b->begin() + at + len, 0);
      break;
    case 1:
      (*b)[at] ^= static_cast<uint8_t>(1 + rng->Below(255));
      break;
    case 2:
      break;  // written with the same bytes
    default:
      for (uint32_t i = 0; i < len; ++i) {
        (*b)[at + i] = static_cast<uint8_t>(rng->Next());
      }
  }
}

std::vector<DirtyRange> Ranges(const std::vector<bool>& dirty, uint32_t granule,
                               uint32_t size) {
  std::vector<DirtyRange> out;
  for (uint32_t g = 0; g < dirty.size(); ++g) {
    if (!dirty[g]) continue;
    const uint32_t b = g * granule, e = std::min(b + granule, size);
    if (!out.empty() && out.back().end == b) {
      out.back().end = e;
    } else {
      out.push_back({b, e});
    }
  }
  return out;
}

std::string Describe(const ChunkInfo& c) {
  return std::to_string(c.offset) + "+" + std::to_string(c.length) +
         (c.zero ? " zero" : "") + (c.reused ? " reused" : "");
}

// Compares `got` with a full pass's `want`; returns how many were reused.
size_t ExpectSame(const std::vector<ChunkInfo>& want,
                  const std::vector<ChunkInfo>& got, const std::string& what) {
  size_t reused = 0;
  const size_t n = std::max(want.size(), got.size());
  for (size_t i = 0; i < n; ++i) {
    if (i >= want.size() || i >= got.size() ||
        want[i].offset != got[i].offset || want[i].length != got[i].length ||
        want[i].zero != got[i].zero ||
        (!want[i].zero && want[i].fp != got[i].fp)) {
      ADD_FAILURE() << what << ": chunk " << i << " is "
                    << (i < got.size() ? Describe(got[i]) : "missing")
                    << ", a full pass gives "
                    << (i < want.size() ? Describe(want[i]) : "none");
      return reused;
    }
    reused += got[i].reused ? 1 : 0;
  }
  return reused;
}

// The chunks must be ChunkSegment()'s exactly, with the whole segment in
// memory and with ChunkSegmentLoading() on a buffer of poison (zeros, which
// could fake runs of zeros, or random bytes) that it loads as it needs.
// Returns how many were reused; adds the bytes loaded to *loaded.
size_t ExpectSameAsFullPass(const Chunker& chunker, const Bytes& parent_bytes,
                            const Bytes& bytes,
                            const std::vector<DirtyRange>& dirty,
                            const std::string& what, uint64_t poison_seed = 0,
                            uint64_t* loaded = nullptr) {
  std::vector<ChunkInfo> parent, want, got;
  ChunkSegment(chunker, parent_bytes, &parent);
  ChunkSegment(chunker, bytes, &want);
  ChunkSegmentReusing(chunker, bytes, parent, dirty, &got);
  const size_t reused = ExpectSame(want, got, what);

  Bytes buffer = poison_seed % 2 == 0
                     ? Bytes(bytes.size(), 0)
                     : testdata::MixedContent(bytes.size(), poison_seed);
  std::vector<bool> seen(bytes.size(), false);
  uint64_t bytes_loaded = 0;
  SegmentLoader load = [&](uint32_t begin, uint32_t end) {
    EXPECT_TRUE(begin % 4096 == 0 && begin < end && end <= bytes.size() &&
                (end % 4096 == 0 || end == bytes.size()))
        << begin << ".." << end;
    for (uint32_t i = begin; i < end; ++i) {
      EXPECT_FALSE(seen[i]) << "byte " << i << " loaded twice";
      seen[i] = true;
      buffer[i] = bytes[i];
    }
    return Status::Ok();
  };
  // Half the time the caller reads LoadPlan()'s ranges ahead, as the
  // backup does.
  std::vector<DirtyRange> plan;
  if ((poison_seed >> 1) % 2 == 1) {
    plan =
        LoadPlan(chunker, static_cast<uint32_t>(bytes.size()), parent, dirty);
    for (const DirtyRange& r : plan) {
      EXPECT_TRUE(load(r.begin, r.end).ok());
      bytes_loaded += r.end - r.begin;
    }
  }
  got.clear();
  EXPECT_OK(ChunkSegmentLoading(chunker, buffer, parent, dirty, plan, load,
                                &got, &bytes_loaded));
  ExpectSame(want, got, what + " (loading)");
  if (loaded != nullptr) *loaded += bytes_loaded;
  return reused;
}

void RandomHistories(const Chunker& chunker, uint32_t size, int rounds,
                     uint64_t seed) {
  Rng rng{seed};
  size_t reused = 0, total = 0;
  uint64_t loaded = 0;
  for (int round = 0; round < rounds && !::testing::Test::HasFailure();
       ++round) {
    const uint32_t granule = 512u << rng.Below(8);  // 512 B .. 64 KiB
    Bytes parent = testdata::MixedContent(size, rng.Next());
    SprinkleZeros(&parent, granule, &rng);
    Bytes now = parent;
    const uint32_t granules = (size + granule - 1) / granule;
    std::vector<bool> dirty(granules, false);
    for (int w = 0, writes = 1 + rng.Below(6); w < writes; ++w) {
      uint32_t g = rng.Below(granules);
      if (w > 0 && rng.Below(3) == 0) g = std::min(g + 1, granules - 1);
      dirty[g] = true;
      WriteGranule(&now, g, granule, &rng);
    }
    reused +=
        ExpectSameAsFullPass(chunker, parent, now, Ranges(dirty, granule, size),
                             "round " + std::to_string(round) + " granule " +
                                 std::to_string(granule),
                             rng.Next(), &loaded);
    std::vector<ChunkInfo> chunks;
    ChunkSegment(chunker, now, &chunks);
    total += chunks.size();
  }
  // Most chunks lie in clean granules: most must be reused, or the test
  // would not exercise the reuse at all; and most bytes must stay unread.
  EXPECT_GT(reused, total / 2) << reused << " of " << total;
  EXPECT_LT(loaded, uint64_t{size} * rounds / 2)
      << loaded << " of " << uint64_t{size} * rounds << " bytes loaded";
}

// Rounds of random histories: fewer under a sanitizer (5-10x slower; the
// normal build runs them all).
#if defined(__SANITIZE_ADDRESS__)
constexpr int kRounds = 100;
#else
constexpr int kRounds = 300;
#endif

TEST(ChunkReuse, GearEqualsAFullPassOverRandomWrites) {
  RandomHistories(*ReuseGear(3072, 4096, 65536), 512 << 10, kRounds, 1);
}

TEST(ChunkReuse, SmallGearChunksEqualAFullPassOverRandomWrites) {
  // More chunks per granule, and max chunks shorter than a 64 KiB granule.
  RandomHistories(*ReuseGear(256, 512, 4096), 256 << 10, kRounds, 2);
}

TEST(ChunkReuse, FixedEqualsAFullPassOverRandomWrites) {
  auto fixed = MakeFixedChunker(4096);
  ASSERT_OK(fixed);
  RandomHistories(**fixed, (256 << 10) + 1000, 100, 3);
}

TEST(ChunkReuse, AZeroRunGrownAcrossAGranuleEdgeMovesAnEarlierCut) {
  // A constant byte never passes the mask, so the parent is cut every max
  // (4 KiB) after a leading run of 400 zeros: at 400 + 4096 k. 120 zeros end
  // at the written granule [8704, 9216) -- too few to be cut out -- and hold
  // the parent's end 8592. The write zeroes the granule's first 100 bytes:
  // the run grows to 220 bytes, is cut out, and our chunk ends at 8584 where
  // it starts, in clean bytes 120 before the granule. Reusing the parent's
  // ends up to 64 bytes before the granule would keep 8592 wrongly.
  auto gear = ReuseGear(1024, 2048, 4096);
  const uint32_t size = 64 << 10, edge = 8704, run = 120;
  bool found = false;
  for (int x = 1; x < 256 && !found; ++x) {
    Bytes parent(size, static_cast<uint8_t>(x));
    std::fill(parent.begin(), parent.begin() + 400, 0);
    std::fill(parent.begin() + edge - run, parent.begin() + edge, 0);
    Bytes now = parent;
    std::fill(now.begin() + edge, now.begin() + edge + 100, 0);
    std::vector<ChunkInfo> before, after;
    ChunkSegment(*gear, parent, &before);
    ChunkSegment(*gear, now, &after);
    auto ends_at = [](const std::vector<ChunkInfo>& chunks, uint32_t at) {
      return std::any_of(chunks.begin(), chunks.end(), [at](const auto& c) {
        return c.offset + c.length == at;
      });
    };
    if (!ends_at(before, 400 + 2 * 4096) || !ends_at(after, edge - run)) {
      continue;  // this byte value passes the mask somewhere
    }
    found = true;
    EXPECT_FALSE(ends_at(after, 400 + 2 * 4096));
    EXPECT_GT(ExpectSameAsFullPass(*gear, parent, now, {{edge, edge + 512}},
                                   "byte " + std::to_string(x)),
              0u);
  }
  EXPECT_TRUE(found);
}

// Two segments of one constant byte: `run_at` holds a run of 4196 zeros at
// 8192, cut into chunks of max (4 KiB) so that its end 12288 lies inside the
// run; `short_at` has the constant byte there and only the run's last 100
// zeros -- too few to be cut out -- and is cut every 4 KiB, at 12288 too.
// 12288 is an end of both, but restartable for `short_at` only, and the
// chunks that follow it differ. Returns false when byte x happens to pass
// the mask somewhere, so that these ends do not hold.
bool RunAndShortRun(const Chunker& gear, int x, Bytes* run_at,
                    Bytes* short_at) {
  const uint32_t size = 64 << 10, run = 8192, c = run + 4096;
  *run_at = Bytes(size, static_cast<uint8_t>(x));
  std::fill(run_at->begin() + run, run_at->begin() + c + 100, 0);
  *short_at = *run_at;
  std::fill(short_at->begin() + run, short_at->begin() + c,
            static_cast<uint8_t>(x));
  std::vector<ChunkInfo> a, b;
  ChunkSegment(gear, *run_at, &a);
  ChunkSegment(gear, *short_at, &b);
  auto ends_at = [](const std::vector<ChunkInfo>& chunks, uint32_t at) {
    return std::any_of(chunks.begin(), chunks.end(), [at](const auto& ch) {
      return ch.offset + ch.length == at;
    });
  };
  return ends_at(a, c) && ends_at(a, c + 100) && ends_at(b, c) &&
         !ends_at(b, c + 100);
}

TEST(ChunkReuse, ResynchronisesOnlyWhereBothChunkingsCouldRestart) {
  auto gear = ReuseGear(1024, 2048, 4096);
  const DirtyRange written{8192, 8192 + 4096};
  bool found = false;
  for (int x = 1; x < 256 && !found; ++x) {
    Bytes run_at, short_at;
    if (!RunAndShortRun(*gear, x, &run_at, &short_at)) continue;
    found = true;
    // The parent could not restart at 12288 (inside its run)...
    ExpectSameAsFullPass(*gear, run_at, short_at, {written},
                         "parent's run, byte " + std::to_string(x));
    // ... or we could not (inside ours).
    ExpectSameAsFullPass(*gear, short_at, run_at, {written},
                         "our run, byte " + std::to_string(x));
  }
  EXPECT_TRUE(found);
}

TEST(ChunkReuse, FallsBackWhenTheParentDoesNotTileTheSegment) {
  auto gear = ReuseGear(3072, 4096, 65536);
  const Bytes bytes = testdata::MixedContent(300000, 7);
  std::vector<ChunkInfo> parent, want, got;
  ChunkSegment(*gear, bytes, &parent);
  ChunkSegment(*gear, bytes, &want);
  for (int damage = 0; damage < 3; ++damage) {
    std::vector<ChunkInfo> bad = parent;
    if (damage == 0) bad.back().length += 1;  // too long
    if (damage == 1) bad.pop_back();          // too short
    if (damage == 2) bad[1].offset += 1;      // a gap
    ChunkSegmentReusing(*gear, bytes, bad, {{0, 512}}, &got);
    ASSERT_EQ(got.size(), want.size()) << damage;
    for (size_t i = 0; i < got.size(); ++i) {
      EXPECT_EQ(got[i].offset, want[i].offset);
      EXPECT_EQ(got[i].fp, want[i].fp);
      EXPECT_FALSE(got[i].reused);
    }
  }
}

TEST(ChunkReuse, NothingWrittenReusesEveryChunkAndAllWrittenNone) {
  auto gear = ReuseGear(3072, 4096, 65536);
  const Bytes bytes = testdata::MixedContent(1 << 20, 8);
  std::vector<ChunkInfo> parent;
  ChunkSegment(*gear, bytes, &parent);
  EXPECT_EQ(ExpectSameAsFullPass(*gear, bytes, bytes, {}, "clean"),
            parent.size());
  EXPECT_EQ(ExpectSameAsFullPass(*gear, bytes, bytes, {{0, 1 << 20}}, "all"),
            0u);
}

}  // namespace
}  // namespace vcsnap
