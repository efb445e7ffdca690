// Counting filters kept in their own framed buffer: decoding adopts the
// bytes read, saving writes the object around the counters, and both give
// exactly the bytes of the copying paths (the format is unchanged).
#include "recipe/bloom.h"

#include <algorithm>
#include <random>

#include "backend/mem_backend.h"
#include "recipe/summary.h"
#include "testing/status_matchers.h"

namespace vcsnap {
namespace {

using ::vcsnap::testing::StatusIs;
using ::vcsnap::testing::StatusIsWith;

CountingBloom Filled(CountingBloom c, uint64_t seed, size_t keys) {
  std::mt19937_64 rng(seed);
  for (size_t i = 0; i < keys; ++i) c.Add(rng());
  return c;
}

TEST(CountingBloomFrame, DecodedInItsFrameItEncodesInPlace) {
  const CountingBloom c = Filled(CountingBloom(BloomParams{1001, 3}), 1, 200);
  const Bytes encoding = c.Encode();
  Bytes framed(5 + encoding.size() + 3, 0xee);
  std::copy(encoding.begin(), encoding.end(), framed.begin() + 5);
  std::fill(framed.end() - 3, framed.end(), 0xdd);
  auto d = CountingBloom::DecodeInFrame(framed, {5, 3});
  ASSERT_OK(d);
  EXPECT_EQ(d->keys(), 200u);
  EXPECT_EQ(d->params(), c.params());
  EXPECT_EQ(d->Encode(), encoding);

  d->Add(12345);  // the header written in place counts it too
  const Bytes changed = d->Encode();
  ASSERT_NE(changed, encoding);
  std::span<uint8_t> whole = d->EncodeInFrame();
  ASSERT_EQ(whole.size(), framed.size());
  EXPECT_EQ(Bytes(whole.begin() + 5, whole.end() - 3), changed);
  EXPECT_EQ(whole[0], 0xee);  // the frame is the caller's
  EXPECT_EQ(whole.back(), 0xdd);
}

TEST(CountingBloomFrame, AFrameThatDoesNotFitIsCorruption) {
  const Bytes encoding =
      Filled(CountingBloom(BloomParams{64, 2}), 2, 10).Encode();
  EXPECT_THAT(CountingBloom::DecodeInFrame(encoding, {encoding.size() + 1, 0}),
              StatusIs(StatusCode::kCorruption));
  EXPECT_THAT(CountingBloom::DecodeInFrame(encoding, {8, encoding.size()}),
              StatusIs(StatusCode::kCorruption));
  // A frame that cuts into the counters leaves sizes that do not agree.
  EXPECT_THAT(CountingBloom::DecodeInFrame(encoding, {0, 1}),
              StatusIs(StatusCode::kCorruption));
  EXPECT_THAT(CountingBloom::DecodeInFrame(encoding, {1, 0}),
              StatusIs(StatusCode::kCorruption));
}

// Straight from the counters, for sizes around the 256-word batches.
TEST(CountingBloomFrame, BitsWrittenFromTheCountersAreToBits) {
  for (uint64_t cells : {1ull, 64ull, 65ull, 16384ull, 16385ull, 40001ull}) {
    CountingBloom c =
        Filled(CountingBloom(BloomParams{cells, 3}), cells, cells / 4 + 1);
    Bytes direct;
    ByteWriter w(&direct);
    c.EncodeBitsTo(w);
    EXPECT_EQ(direct.size(), c.EncodedBitsSize()) << cells;
    EXPECT_EQ(direct, c.ToBits().Encode()) << cells;
  }
}

Bytes Stored(MemBackend& mem, const std::string& name) {
  Result<Bytes> b = mem.Get(name);
  EXPECT_OK(b);
  return b.ok() ? *b : Bytes();
}

// In place or by copy, the VM filter object is the same; a loaded filter is
// framed for saving in place, and what it saves loads back.
TEST(VmFilterFrame, SavedInPlaceOrCopiedItIsTheSameObject) {
  MemBackend mem;
  const BloomParams params = BloomParams::ForKeys(5000);
  VmFilter copied{7, Filled(CountingBloom(params), 3, 4000)};
  VmFilter framed{7, Filled(NewVmFilterCounts(params), 3, 4000)};
  ASSERT_OK(SaveVmFilter(mem, "v", &copied));
  const Bytes by_copy = Stored(mem, "vm/v/cbf");
  ASSERT_OK(SaveVmFilter(mem, "v", &framed));
  EXPECT_EQ(Stored(mem, "vm/v/cbf"), by_copy);

  auto loaded = LoadVmFilter(mem, "v");
  ASSERT_OK(loaded);
  ASSERT_TRUE(loaded->has_value());
  VmFilter& f = **loaded;
  EXPECT_EQ(f.snapshot, 7u);
  EXPECT_EQ(f.filter.frame().before, kVmFilterFrame.before);
  EXPECT_EQ(f.filter.frame().after, kVmFilterFrame.after);
  EXPECT_EQ(f.filter.Encode(), framed.filter.Encode());

  f.snapshot = 8;
  f.filter.Add(99);
  f.filter.Remove(99);
  f.filter.Add(100);
  ASSERT_OK(SaveVmFilter(mem, "v", &f));
  auto again = LoadVmFilter(mem, "v");
  ASSERT_OK(again);
  ASSERT_TRUE(again->has_value());
  EXPECT_EQ((*again)->snapshot, 8u);
  EXPECT_EQ((*again)->filter.keys(), 4001u);
  EXPECT_TRUE((*again)->filter.MayContain(100));
  EXPECT_EQ((*again)->filter.Encode(), f.filter.Encode());
}

TEST(VmFilterFrame, ADamagedObjectIsCorruptionNamingIt) {
  MemBackend mem;
  VmFilter f{3, Filled(NewVmFilterCounts(BloomParams{999, 4}), 4, 50)};
  ASSERT_OK(SaveVmFilter(mem, "v", &f));
  const Bytes good = Stored(mem, "vm/v/cbf");
  Bytes flipped = good;
  flipped[kVmFilterFrame.before + 20] ^= 1;  // a counter
  ASSERT_OK(mem.Put("vm/v/cbf", flipped));
  EXPECT_THAT(LoadVmFilter(mem, "v"),
              StatusIsWith(StatusCode::kCorruption, "vm/v/cbf"));
  Bytes cut(good.begin(), good.end() - 9);
  ASSERT_OK(mem.Put("vm/v/cbf", cut));
  EXPECT_THAT(LoadVmFilter(mem, "v"), StatusIs(StatusCode::kCorruption));
}

TEST(VmFilterFrame, TheSummaryCutFromTheCountsIsToBits) {
  MemBackend mem;
  const CountingBloom c =
      Filled(NewVmFilterCounts(BloomParams{70001, 5}), 5, 9000);
  ASSERT_OK(SaveSummary(mem, "v", 4, c));
  const Bytes direct = Stored(mem, SummaryName("v", 4));
  ASSERT_OK(SaveSummary(mem, "v", 4, c.ToBits()));
  EXPECT_EQ(Stored(mem, SummaryName("v", 4)), direct);
}

}  // namespace
}  // namespace vcsnap
