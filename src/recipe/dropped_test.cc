#include "recipe/dropped.h"

#include "backend/mem_backend.h"
#include "format/envelope.h"
#include "testing/status_matchers.h"
#include "util/coding.h"

namespace vcsnap {
namespace {

using ::vcsnap::testing::StatusIs;
using ::vcsnap::testing::StatusIsWith;

const std::string kName = "vm/a/dropped/7";

// A list body framed exactly as the writer does, for hand-made bodies.
Bytes Frame(const Bytes& body, uint16_t version = 1) {
  const EnvelopeSpec spec{{'V', 'D', 'R', 'P'}, "dropped list", 1, 1, 1 << 20};
  return EncodeEnvelope(spec, version, kName, body);
}

TEST(DroppedList, RoundTripEmptyAndFull) {
  for (size_t n : {size_t{0}, size_t{1}, size_t{1000}}) {
    DroppedList list;
    list.parent = 6;
    for (size_t i = 0; i < n; ++i) list.refs.push_back(3 * i + (1ull << 48));
    auto d = DecodeDropped(EncodeDropped(list, kName), kName);
    ASSERT_OK(d);
    EXPECT_EQ(d->parent, 6u);
    EXPECT_EQ(d->refs, list.refs);
  }
}

TEST(DroppedList, SaveLoadAndMissing) {
  MemBackend mem;
  EXPECT_THAT(LoadDropped(mem, "a", 7), StatusIs(StatusCode::kNotFound));
  DroppedList list{6, {10, 20, 30}};
  ASSERT_OK(SaveDropped(mem, "a", 7, list));
  auto d = LoadDropped(mem, "a", 7);
  ASSERT_OK(d);
  EXPECT_EQ(d->refs, list.refs);
  EXPECT_EQ(DroppedName("a", 7), kName);
}

TEST(DroppedList, EveryByteFlipIsAClearError) {
  Bytes e = EncodeDropped(DroppedList{6, {10, 20, 30}}, kName);
  for (size_t i = 0; i < e.size(); ++i) {
    Bytes bad = e;
    bad[i] ^= 0x40;
    EXPECT_FALSE(DecodeDropped(bad, kName).ok()) << "byte " << i;
  }
  EXPECT_THAT(DecodeDropped(e, "vm/a/dropped/8"),
              StatusIsWith(StatusCode::kCorruption, "checksum"));
  e.resize(e.size() - 3);
  EXPECT_THAT(DecodeDropped(e, kName), StatusIs(StatusCode::kCorruption));
}

TEST(DroppedList, CountAndOrderAreChecked) {
  auto body = [](uint64_t count, std::vector<uint64_t> refs) {
    Bytes b;
    ByteWriter w(&b);
    w.U32(6);
    w.U64(count);
    for (uint64_t r : refs) w.U64(r);
    return b;
  };
  // A count that would allocate far more than the object holds.
  EXPECT_THAT(DecodeDropped(Frame(body(~uint64_t{0} / 8, {1, 2})), kName),
              StatusIsWith(StatusCode::kCorruption, "says"));
  EXPECT_THAT(DecodeDropped(Frame(body(1, {1, 2})), kName),
              StatusIsWith(StatusCode::kCorruption, "says"));
  Bytes ragged = body(2, {1, 2});
  ragged.push_back(0);
  EXPECT_THAT(DecodeDropped(Frame(ragged), kName),
              StatusIsWith(StatusCode::kCorruption, "says"));
  EXPECT_THAT(DecodeDropped(Frame(body(3, {1, 5, 5})), kName),
              StatusIsWith(StatusCode::kCorruption, "out of order"));
  EXPECT_THAT(DecodeDropped(Frame(body(2, {9, 5})), kName),
              StatusIsWith(StatusCode::kCorruption, "out of order"));
  EXPECT_THAT(DecodeDropped(Frame(body(2, {1, 5}), 2), kName),
              StatusIs(StatusCode::kNotSupported));
}

}  // namespace
}  // namespace vcsnap
