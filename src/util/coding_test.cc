#include "util/coding.h"

#include "testing/status_matchers.h"
#include "util/checksum.h"

namespace vcsnap {
namespace {

using ::vcsnap::testing::StatusIsWith;

TEST(Coding, LittleEndianRoundTrip) {
  Bytes b;
  ByteWriter w(&b);
  w.U8(0xab);
  w.U16(0x1234);
  w.U32(0xdeadbeef);
  w.U64(0x0102030405060708ull);
  w.Raw("xyz");
  ASSERT_EQ(b.size(), 1u + 2 + 4 + 8 + 3);
  EXPECT_EQ(b[1], 0x34);  // least significant byte first
  EXPECT_EQ(b[7], 0x08);
  ByteReader r(b, "test");
  EXPECT_EQ(*r.U8("a"), 0xab);
  EXPECT_EQ(*r.U16("b"), 0x1234);
  EXPECT_EQ(*r.U32("c"), 0xdeadbeefu);
  EXPECT_EQ(*r.U64("d"), 0x0102030405060708ull);
  EXPECT_EQ(AsChars(*r.Raw(3, "e")), "xyz");
  EXPECT_TRUE(r.done());
}

TEST(Coding, ReaderNeverReadsPastTheEnd) {
  Bytes b = ToBytes("abc");
  ByteReader r(b, "widget");
  EXPECT_THAT(
      r.U32("count"),
      StatusIsWith(StatusCode::kCorruption,
                   "widget: count at offset 0 needs 4 bytes, 3 remain"));
  EXPECT_EQ(r.offset(), 0u);
  EXPECT_THAT(r.Raw(SIZE_MAX, "blob"),
              StatusIsWith(StatusCode::kCorruption, "blob"));
  EXPECT_EQ(*r.U16("ok"), 0x6261);
  EXPECT_THAT(r.U16("tail"), StatusIsWith(StatusCode::kCorruption, "tail"));
}

TEST(Checksum, SeedBindsIdentity) {
  Bytes b = ToBytes("same bytes");
  EXPECT_EQ(Checksum64(b, IdentitySeed("a")), Checksum64(b, IdentitySeed("a")));
  EXPECT_NE(Checksum64(b, IdentitySeed("a")), Checksum64(b, IdentitySeed("b")));
}

}  // namespace
}  // namespace vcsnap
