// Ground truth: the classes add up, the stored bytes equal a brute-force
// exact dedup of every segment of every image, and the Zipf fit recovers a
// known exponent.

#include "fleet/truth.h"

#include <cmath>
#include <set>

#include "chunk/chunker.h"
#include "chunk/segment.h"
#include "fleet/fleet.h"
#include "fleet/image_file.h"
#include "testing/status_matchers.h"
#include "testing/temp_dir.h"

namespace vcsnap::fleet {
namespace {

using ::vcsnap::testing::NewTempDir;
using ::vcsnap::testing::StatusIs;

TEST(FleetTruthTest, ClassesAddUpAndMatchBruteForceDedup) {
  FleetOptions o = TinyFleetOptions(NewTempDir("truth"));
  auto m = GenerateFleet(o);
  ASSERT_OK(m);
  auto r = ComputeTruth(o.out_dir, TruthOptions{});
  ASSERT_OK(r);
  EXPECT_EQ(r->snapshots, 12u);
  EXPECT_EQ(r->level1_bytes + r->level2_bytes + r->inner_vm_bytes +
                r->cross_vm_bytes + r->zero_bytes + r->unique_bytes,
            r->logical_bytes);
  EXPECT_GT(r->level1_bytes, 0u);
  EXPECT_GT(r->level2_bytes, 0u);
  EXPECT_GT(r->cross_vm_bytes, 0u);  // OS families share files
  EXPECT_GT(r->zero_bytes, 0u);

  // Brute force: chunk every segment of every image, bitmaps ignored.
  TruthOptions t;
  auto chunker = MakeGearChunker(t.chunk_min, t.chunk_avg, t.chunk_max);
  ASSERT_OK(chunker);
  std::set<Fingerprint> seen;
  uint64_t unique = 0, chunks_in_popularity = 0;
  std::vector<ChunkInfo> chunks;
  for (const FleetVm& vm : m->vms) {
    for (const FleetDay& d : vm.days) {
      auto img = ReadWholeFile(o.out_dir + "/" + d.image, 1ull << 30);
      ASSERT_OK(img);
      for (uint64_t off = 0; off < img->size(); off += m->segment_size) {
        const uint64_t len =
            std::min<uint64_t>(m->segment_size, img->size() - off);
        ChunkSegment(**chunker, ByteView(img->data() + off, len), &chunks);
        for (const ChunkInfo& c : chunks) {
          if (!c.zero && seen.insert(c.fp).second) unique += c.length;
        }
      }
    }
  }
  EXPECT_EQ(r->unique_bytes, unique);
  EXPECT_EQ(r->unique_chunks, seen.size());
  for (uint64_t c : r->popularity_chunks) chunks_in_popularity += c;
  EXPECT_EQ(chunks_in_popularity, r->unique_chunks);
  EXPECT_GT(r->ExactDedup(), 0.0);
  EXPECT_LT(r->ExactDedup(), 1.0);

  // Deterministic.
  auto again = ComputeTruth(o.out_dir, TruthOptions{});
  ASSERT_OK(again);
  EXPECT_EQ(again->unique_bytes, r->unique_bytes);
  EXPECT_EQ(again->level2_bytes, r->level2_bytes);
  EXPECT_NE(TruthToJson(*r).find("\"exact_global_dedup\""), std::string::npos);
  EXPECT_NE(TruthToText(*r).find("Zipf alpha"), std::string::npos);
}

TEST(FleetTruthTest, RemovedImageIsNotFound) {
  FleetOptions o = TinyFleetOptions(NewTempDir("truth-keep"));
  o.vms = 1;
  o.keep_days = 1;
  ASSERT_OK(GenerateFleet(o));
  EXPECT_THAT(ComputeTruth(o.out_dir, TruthOptions{}),
              StatusIs(StatusCode::kNotFound));
}

TEST(FleetTruthTest, ZipfFitRecoversExponent) {
  // r(p) = chunks with popularity >= p = (P / p)^(1/alpha) for alpha 0.7.
  const double alpha = 0.7;
  const int kP = 40;
  std::vector<uint64_t> hist(kP + 1, 0);
  uint64_t prev = 0;
  for (int p = kP; p >= 1; --p) {
    const uint64_t r = static_cast<uint64_t>(
        std::llround(std::pow(static_cast<double>(kP) / p, 1.0 / alpha) * 100));
    hist[p] = r - prev;
    prev = r;
  }
  uint32_t points = 0;
  EXPECT_NEAR(FitZipf(hist, 1, &points), alpha, 0.01);
  EXPECT_EQ(points, static_cast<uint32_t>(kP));
  EXPECT_EQ(FitZipf({0, 5}, 1, &points), 0.0);  // one point: no fit
  EXPECT_EQ(points, 1u);
}

}  // namespace
}  // namespace vcsnap::fleet
