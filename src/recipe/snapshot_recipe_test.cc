#include "recipe/snapshot_recipe.h"

#include "testing/status_matchers.h"
#include "util/coding.h"

namespace vcsnap {
namespace {

using ::vcsnap::testing::StatusIs;
using ::vcsnap::testing::StatusIsWith;

SnapshotRecipe SampleSnapshot() {
  SnapshotRecipe s;
  s.id = 7;
  s.parent = 6;
  s.time_unix = 1763700000;
  s.image_size = 5ull * (2 << 20) + 17;
  s.segment_size = 2 << 20;
  s.pds_generation = 3;
  s.stats.logical = s.image_size;
  s.stats.level1 = 100;
  s.stats.new_bytes = 5;
  s.segments.resize(6);
  s.segments[1].zero = true;
  for (int i = 0; i < 6; ++i) {
    if (i == 1) continue;
    s.segments[i].signature = 0x1234 + i;
    s.segments[i].ref = SegmentRecipeRef{6, 0, 100u * i, 50};
  }
  return s;
}

TEST(SnapshotRecipe, RoundTrip) {
  SnapshotRecipe s = SampleSnapshot();
  auto d = DecodeSnapshotRecipe(EncodeSnapshotRecipe(s, "vm/a/snap/7"),
                                "vm/a/snap/7");
  ASSERT_OK(d);
  EXPECT_EQ(d->id, 7u);
  EXPECT_EQ(d->parent, 6u);
  EXPECT_EQ(d->image_size, s.image_size);
  EXPECT_EQ(d->stats, s.stats);
  EXPECT_EQ(d->segments, s.segments);
}

TEST(SnapshotRecipe, SegmentCountMustMatchTheImage) {
  SnapshotRecipe s = SampleSnapshot();
  s.segments.pop_back();
  EXPECT_THAT(DecodeSnapshotRecipe(EncodeSnapshotRecipe(s, "x"), "x"),
              StatusIsWith(StatusCode::kCorruption, "segments do not match"));
  s = SampleSnapshot();
  s.segment_size = 3000;
  EXPECT_THAT(DecodeSnapshotRecipe(EncodeSnapshotRecipe(s, "x"), "x"),
              StatusIsWith(StatusCode::kCorruption, "power of two"));
}

TEST(SnapshotRecipe, CorruptionAndMisplacement) {
  Bytes e = EncodeSnapshotRecipe(SampleSnapshot(), "vm/a/snap/7");
  EXPECT_THAT(DecodeSnapshotRecipe(e, "vm/a/snap/8"),
              StatusIsWith(StatusCode::kCorruption, "checksum"));
  for (size_t i = 0; i < e.size(); i += 7) {
    Bytes c = e;
    c[i] ^= 0x01;
    EXPECT_FALSE(DecodeSnapshotRecipe(c, "vm/a/snap/7").ok()) << i;
  }
  EXPECT_THAT(DecodeSnapshotRecipe(ByteView(e).first(40), "vm/a/snap/7"),
              StatusIs(StatusCode::kCorruption));
}

}  // namespace
}  // namespace vcsnap
