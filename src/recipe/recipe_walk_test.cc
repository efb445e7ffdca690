#include "recipe/recipe_walk.h"

#include <algorithm>
#include <map>
#include <random>
#include <tuple>

#include "backend/mem_backend.h"
#include "recipe/names.h"
#include "testing/forwarding_backend.h"
#include "testing/status_matchers.h"

namespace vcsnap {
namespace {

using ::vcsnap::testing::StatusIs;

// Counts whole-object and ranged reads.
class CountingBackend : public ::vcsnap::testing::ForwardingBackend {
 public:
  using ForwardingBackend::ForwardingBackend;
  Result<Bytes> Get(std::string_view n) override {
    ++gets;
    return ForwardingBackend::Get(n);
  }
  Result<Bytes> Read(std::string_view n, uint64_t o, uint64_t l) override {
    ++reads;
    return ForwardingBackend::Read(n, o, l);
  }
  int gets = 0, reads = 0;
};

std::vector<RecipeEntry> Recipe(uint64_t tag) {
  std::vector<RecipeEntry> e(200);
  for (size_t i = 0; i < e.size(); ++i) {
    e[i].kind = ChunkKind::kVm;
    e[i].length = 100;
    e[i].fp[0] = static_cast<uint8_t>(i);
    e[i].vm_ref = (tag << 16) | i;
  }
  return e;
}

class RecipeWalkTest : public ::testing::Test {
 protected:
  // Snapshot 1 writes 12 recipes into packs of ~3 recipes each; snapshot 2
  // uses them in an order that alternates between packs, twice over.
  void SetUp() override {
    RecipePackWriter w(&mem_, "vm", 1, nullptr, 3 * 200 * 45);
    for (uint64_t t = 0; t < 12; ++t) refs_.push_back(*w.Add(Recipe(t)));
    ASSERT_OK(w.Finish());
    ASSERT_GE(w.packs_written(), 4u);
    packs_ = w.packs_written();
    for (uint64_t seg = 0; seg < 24; ++seg) {
      const uint64_t t = (seg * 5) % 12;  // jumps between packs
      uses_.push_back(RecipeUse{refs_[t], 2, seg});
      tag_of_[seg] = t;
    }
  }
  MemBackend mem_;
  std::vector<SegmentRecipeRef> refs_;
  std::vector<RecipeUse> uses_;
  std::map<uint64_t, uint64_t> tag_of_;
  uint32_t packs_ = 0;
};

TEST_F(RecipeWalkTest, EachRecipeOnceAtItsFirstUseEachPackFetchedOnce) {
  CountingBackend counting(&mem_);
  RecipeReader reader(&counting, "vm", 1 << 20, nullptr, /*cached_packs=*/1);
  std::map<uint64_t, uint64_t> first_segment;  // tag -> segment
  ASSERT_OK(WalkRecipes(
      reader, uses_,
      [&](const RecipeUse& use, Result<std::vector<RecipeEntry>> entries) {
        EXPECT_OK(entries);
        const uint64_t tag = (*entries)[0].vm_ref >> 16;
        EXPECT_EQ(*entries, Recipe(tag));
        EXPECT_EQ(tag_of_[use.segment], tag);
        EXPECT_TRUE(first_segment.emplace(tag, use.segment).second) << tag;
        return Status::Ok();
      }));
  EXPECT_EQ(first_segment.size(), 12u);
  for (const auto& [tag, seg] : first_segment) EXPECT_LT(seg, 12u) << tag;
  EXPECT_EQ(counting.gets, static_cast<int>(packs_));
  EXPECT_EQ(counting.reads, 0);
}

TEST_F(RecipeWalkTest, RandomReadsFetchOnlyTheRecordNeverAWholePack) {
  CountingBackend counting(&mem_);
  RecipeReader reader(&counting, "vm", 1 << 20, nullptr, /*cached_packs=*/1);
  for (const RecipeUse& use : uses_) {  // segment order: jumps between packs
    auto got = reader.Read(use.ref);
    ASSERT_OK(got);
    EXPECT_EQ(*got, Recipe(tag_of_[use.segment]));
  }
  EXPECT_EQ(counting.gets, 0);
  EXPECT_EQ(counting.reads, static_cast<int>(uses_.size()));
  // A record the pack does not hold whole is corrupt, cached or not.
  SegmentRecipeRef bad = refs_.back();
  bad.length += 10;
  EXPECT_THAT(reader.Read(bad),
              testing::StatusIsWith(StatusCode::kCorruption, "past the end"));
  ASSERT_OK(reader.LoadPack(bad));
  EXPECT_THAT(reader.Read(bad),
              testing::StatusIsWith(StatusCode::kCorruption, "past the end"));
}

TEST_F(RecipeWalkTest, ReadErrorsReachTheVisitorAndItsStatusStopsTheWalk) {
  ASSERT_OK(mem_.Delete(RecipePackName("vm", 1, 0)));
  RecipeReader reader(&mem_, "vm", 1 << 20, nullptr);
  int errors = 0, calls = 0;
  ASSERT_OK(WalkRecipes(
      reader, uses_,
      [&](const RecipeUse&, Result<std::vector<RecipeEntry>> entries) {
        ++calls;
        errors += !entries.ok();
        return Status::Ok();
      }));
  EXPECT_EQ(calls, 12);
  EXPECT_GT(errors, 0);
  EXPECT_LT(errors, 12);
  calls = 0;
  EXPECT_THAT(WalkRecipes(reader, uses_,
                          [&](const RecipeUse&,
                              Result<std::vector<RecipeEntry>>) -> Status {
                            ++calls;
                            return Status::Corruption("stop");
                          }),
              StatusIs(StatusCode::kCorruption));
  EXPECT_EQ(calls, 1);
}

TEST(RecipeUses, ZeroSegmentsHaveNoRecipe) {
  SnapshotRecipe s;
  s.id = 4;
  s.segments.resize(3);
  s.segments[1].zero = true;
  std::vector<RecipeUse> uses;
  AddRecipeUses(s, &uses);
  ASSERT_EQ(uses.size(), 2u);
  EXPECT_EQ(uses[0].segment, 0u);
  EXPECT_EQ(uses[1].segment, 2u);
  EXPECT_EQ(uses[1].snapshot, 4u);
}

// Many snapshots sharing most recipes: the list stays near the distinct
// recipes, and each keeps its first use.
TEST(RecipeUses, ManySnapshotsKeepTheFirstUseOfEachRecipeInBoundedSpace) {
  std::mt19937_64 rng(7);
  std::vector<RecipeUse> uses;
  std::map<std::tuple<uint32_t, uint32_t, uint32_t>,
           std::pair<uint32_t, uint64_t>>
      want;  // recipe -> its first use
  std::vector<SegmentSlot> image(1000);
  for (uint32_t id = 1; id <= 60; ++id) {
    SnapshotRecipe s;
    s.id = id;
    for (uint64_t i = 0; i < image.size(); ++i) {
      if (id == 1 || rng() % 50 == 0) {  // a new recipe for this segment
        image[i].ref = SegmentRecipeRef{id, static_cast<uint32_t>(i % 3),
                                        static_cast<uint32_t>(i * 100), 100};
      }
    }
    s.segments = image;
    s.segments[id % 1000].zero = true;
    for (uint64_t i = 0; i < s.segments.size(); ++i) {
      const SegmentRecipeRef& r = s.segments[i].ref;
      if (!s.segments[i].zero) {
        want.try_emplace({r.snapshot_id, r.pack, r.offset}, id, i);
      }
    }
    AddRecipeUses(s, &uses);
    EXPECT_LE(uses.capacity(), 2 * (want.size() + image.size())) << id;
  }
  EXPECT_LT(uses.size(), 60u * 1000 / 4);
  std::map<std::tuple<uint32_t, uint32_t, uint32_t>,
           std::pair<uint32_t, uint64_t>>
      got;
  for (const RecipeUse& u : uses) {
    auto [it, added] = got.try_emplace(
        {u.ref.snapshot_id, u.ref.pack, u.ref.offset}, u.snapshot, u.segment);
    if (!added) it->second = std::min(it->second, {u.snapshot, u.segment});
  }
  EXPECT_EQ(got, want);
}

}  // namespace
}  // namespace vcsnap
