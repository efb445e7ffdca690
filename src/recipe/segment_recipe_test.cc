#include "recipe/segment_recipe.h"

#include <algorithm>

#include "backend/mem_backend.h"
#include "recipe/names.h"
#include "recipe/recipe_pack.h"
#include "testing/status_matchers.h"
#include "util/coding.h"

namespace vcsnap {
namespace {

using ::vcsnap::testing::StatusIs;
using ::vcsnap::testing::StatusIsWith;

std::vector<RecipeEntry> SampleEntries() {
  std::vector<RecipeEntry> v(3);
  v[0].kind = ChunkKind::kVm;
  v[0].length = 4000;
  v[0].fp.fill(0xaa);
  v[0].vm_ref = (3ull << 48) | 12345;
  v[1].kind = ChunkKind::kZero;
  v[1].length = 8192;
  v[2].kind = ChunkKind::kPds;
  v[2].length = 5000;
  v[2].fp.fill(0x5c);
  v[2].pds_generation = 4;
  v[2].pds_offset = 1ull << 33;
  v[2].pds_size = 2100;
  return v;
}

TEST(SegmentRecipe, RoundTrip) {
  auto v = SampleEntries();
  Bytes rec = EncodeSegmentRecipe(v, "p@0");
  auto d = DecodeSegmentRecipe(rec, "p@0", 2 << 20);
  ASSERT_OK(d);
  EXPECT_EQ(*d, v);
  auto empty = DecodeSegmentRecipe(EncodeSegmentRecipe({}, "e"), "e", 1);
  ASSERT_OK(empty);
  EXPECT_TRUE(empty->empty());
}

TEST(SegmentRecipe, BadMagic) {
  Bytes rec = EncodeSegmentRecipe(SampleEntries(), "p");
  rec[1] ^= 1;
  EXPECT_THAT(DecodeSegmentRecipe(rec, "p", 2 << 20),
              StatusIsWith(StatusCode::kCorruption, "bad magic"));
}

TEST(SegmentRecipe, TruncatedAtEveryLength) {
  Bytes rec = EncodeSegmentRecipe(SampleEntries(), "p");
  for (size_t n = 0; n < rec.size(); ++n) {
    EXPECT_THAT(DecodeSegmentRecipe(ByteView(rec).first(n), "p", 2 << 20),
                StatusIs(StatusCode::kCorruption));
  }
}

TEST(SegmentRecipe, EveryFlippedByteIsDetected) {
  Bytes rec = EncodeSegmentRecipe(SampleEntries(), "p");
  for (size_t i = 0; i < rec.size(); ++i) {
    Bytes c = rec;
    c[i] ^= 0x40;
    EXPECT_FALSE(DecodeSegmentRecipe(c, "p", 2 << 20).ok()) << i;
  }
}

TEST(SegmentRecipe, MisplacedRecordFailsChecksum) {
  Bytes rec = EncodeSegmentRecipe(SampleEntries(), "pack.0@0");
  EXPECT_THAT(DecodeSegmentRecipe(rec, "pack.0@4096", 2 << 20),
              StatusIsWith(StatusCode::kCorruption, "checksum"));
}

TEST(SegmentRecipe, LengthsBeyondTheSegmentAreCorruption) {
  Bytes rec = EncodeSegmentRecipe(SampleEntries(), "p");
  EXPECT_THAT(DecodeSegmentRecipe(rec, "p", 10000),
              StatusIsWith(StatusCode::kCorruption, "exceed the segment"));
}

// Ten recipes whose first entries are 100..109 bytes long, then Finish();
// fewer refs when anything fails.
std::vector<SegmentRecipeRef> WriteTen(RecipePackWriter& w) {
  std::vector<SegmentRecipeRef> refs;
  for (int i = 0; i < 10; ++i) {
    auto v = SampleEntries();
    v[0].length = 100 + i;
    auto ref = w.Add(v);
    EXPECT_OK(ref);
    if (!ref.ok()) return {};
    refs.push_back(*ref);
  }
  EXPECT_OK(w.Finish());
  return refs;
}

TEST(RecipePack, WriterAndReaderRoundTripAcrossPacks) {
  MemBackend mem;
  RecipePackWriter w(&mem, "vm1", 5, nullptr, /*pack_bytes=*/1000);
  std::vector<SegmentRecipeRef> refs = WriteTen(w);
  ASSERT_EQ(refs.size(), 10u);
  EXPECT_GT(w.packs_written(), 1u);
  RecipeReader r(&mem, "vm1", 2 << 20, nullptr, /*cached_packs=*/1);
  for (int i = 9; i >= 0; --i) {
    auto got = r.Read(refs[i]);
    ASSERT_OK(got);
    EXPECT_EQ((*got)[0].length, 100u + i);
  }
  SegmentRecipeRef bad = refs[0];
  bad.length += 1000000;
  EXPECT_THAT(r.Read(bad),
              StatusIsWith(StatusCode::kCorruption, "past the end"));
  SegmentRecipeRef missing{99, 0, 0, 10};
  EXPECT_THAT(r.Read(missing), StatusIsWith(StatusCode::kNotFound, "vm1"));
}

TEST(RecipePack, SealedRecordsHideTheRecipeAndOpenOnlyWithTheirKey) {
  MemBackend mem;
  Key256 master, other;
  RandomFill(master);
  RandomFill(other);
  const RepoKeys keys = RepoKeys::FromMaster(master, ToBytes("repo"));
  const RepoKeys wrong = RepoKeys::FromMaster(other, ToBytes("repo"));
  RecipePackWriter w(&mem, "vm1", 5, &keys, /*pack_bytes=*/1000);
  std::vector<SegmentRecipeRef> refs = WriteTen(w);
  ASSERT_EQ(refs.size(), 10u);
  RecipeReader r(&mem, "vm1", 2 << 20, &keys, /*cached_packs=*/1);
  for (int i = 9; i >= 0; --i) {  // ranged reads and cached packs alike
    auto got = r.Read(refs[i]);
    ASSERT_OK(got);
    EXPECT_EQ((*got)[0].length, 100u + i);
    ASSERT_OK(r.LoadPack(refs[i]));
    EXPECT_EQ((*r.Read(refs[i]))[0].length, 100u + i);
  }
  // No fingerprint of the recipes is readable in the packs.
  const auto fp = SampleEntries()[0].fp;
  for (const ObjectInfo& o : *mem.List("vm/vm1/recipes/")) {
    Bytes b = *mem.Get(o.name);
    EXPECT_EQ(std::search(b.begin(), b.end(), fp.begin(), fp.end()), b.end());
  }
  EXPECT_THAT(RecipeReader(&mem, "vm1", 2 << 20, &wrong).Read(refs[3]),
              StatusIsWith(StatusCode::kCorruption, "authentication failed"));
  EXPECT_FALSE(RecipeReader(&mem, "vm1", 2 << 20, nullptr).Read(refs[3]).ok());
  // A pack copied under another name does not open there.
  ASSERT_OK(mem.Put(RecipePackName("vm1", 6, 0),
                    *mem.Get(RecipePackName("vm1", 5, 0))));
  SegmentRecipeRef moved = refs[0];
  moved.snapshot_id = 6;
  EXPECT_THAT(RecipeReader(&mem, "vm1", 2 << 20, &keys).Read(moved),
              StatusIsWith(StatusCode::kCorruption, "authentication failed"));
}

}  // namespace
}  // namespace vcsnap
