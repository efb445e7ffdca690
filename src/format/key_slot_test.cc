#include "format/key_slot.h"

#include "testing/status_matchers.h"

namespace vcsnap {
namespace {

using ::vcsnap::testing::StatusIs;
using ::vcsnap::testing::StatusIsWith;

const Bytes kRepo = ToBytes("0123456789abcdef");

TEST(KeySlot, OpensWithItsKeyOnly) {
  Key256 master;
  RandomFill(master);
  const Bytes key = ToBytes(NewKeyFileContents());
  Bytes slot = EncodeKeySlot("keys/a", kRepo, master, key);
  auto got = OpenKeySlot("keys/a", kRepo, slot, key);
  ASSERT_OK(got);
  EXPECT_EQ(*got, master);
  Bytes other = ToBytes(NewKeyFileContents());
  EXPECT_THAT(OpenKeySlot("keys/a", kRepo, slot, other),
              StatusIsWith(StatusCode::kInvalidArgument,
                           "does not open key slot keys/a"));
  // Bound to its repository: the same bytes under another repo ID fail.
  EXPECT_THAT(OpenKeySlot("keys/a", ToBytes("fedcba9876543210"), slot, key),
              StatusIs(StatusCode::kInvalidArgument));
  // Two slots of one key differ (fresh salt and nonce).
  EXPECT_NE(EncodeKeySlot("keys/a", kRepo, master, key), slot);
}

TEST(KeySlot, DamageIsNeverAWrongKey) {
  Key256 master;
  RandomFill(master);
  const Bytes key(40, 'k');
  const Bytes slot = EncodeKeySlot("keys/b", kRepo, master, key);
  for (size_t i = 0; i < slot.size(); ++i) {
    Bytes bad = slot;
    bad[i] ^= 1;
    auto got = OpenKeySlot("keys/b", kRepo, bad, key);
    ASSERT_FALSE(got.ok()) << "byte " << i;
  }
  // Copied to another name: the envelope checksum catches it.
  EXPECT_THAT(OpenKeySlot("keys/c", kRepo, slot, key),
              StatusIs(StatusCode::kCorruption));
  EXPECT_THAT(OpenKeySlot("keys/b", kRepo, ByteView(slot).first(20), key),
              StatusIs(StatusCode::kCorruption));
}

TEST(KeySlot, KeyFileRules) {
  auto m = KeyMaterialFromFile(AsBytes(std::string(64, 'a') + "\r\n \n"), "f");
  ASSERT_OK(m);
  EXPECT_EQ(m->size(), 64u);
  EXPECT_THAT(KeyMaterialFromFile(AsBytes(std::string(31, 'a') + "\n"), "f"),
              StatusIsWith(StatusCode::kInvalidArgument, "at least 32"));
  EXPECT_THAT(KeyMaterialFromFile(Bytes(kMaxKeyFileSize + 1, 'a'), "f"),
              StatusIsWith(StatusCode::kInvalidArgument, "at most 4096"));
  std::string fresh = NewKeyFileContents();
  EXPECT_EQ(fresh.size(), 65u);
  EXPECT_EQ(fresh.back(), '\n');
  EXPECT_NE(NewKeyFileContents(), fresh);
}

}  // namespace
}  // namespace vcsnap
