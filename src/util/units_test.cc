#include "util/units.h"

#include "testing/status_matchers.h"

namespace vcsnap {
namespace {

using ::vcsnap::testing::StatusIs;

TEST(Units, ParsesBinaryAndDecimalSizes) {
  EXPECT_EQ(*ParseByteSize("4096"), 4096u);
  EXPECT_EQ(*ParseByteSize("4KiB"), 4096u);
  EXPECT_EQ(*ParseByteSize("4kib"), 4096u);
  EXPECT_EQ(*ParseByteSize("2MiB"), 2u << 20);
  EXPECT_EQ(*ParseByteSize("2 M"), 2u << 20);
  EXPECT_EQ(*ParseByteSize("1GiB"), 1ull << 30);
  EXPECT_EQ(*ParseByteSize("1.5GiB"), 3ull << 29);
  EXPECT_EQ(*ParseByteSize("4KB"), 4000u);
  EXPECT_EQ(*ParseByteSize("0"), 0u);
}

TEST(Units, RejectsGarbage) {
  for (const char* bad : {"", "abc", "-1", "4 XB", "1.2.3", "4KiBx",
                          "99999999999999999999", "16777216TiB", "1e9"}) {
    EXPECT_THAT(ParseByteSize(bad), StatusIs(StatusCode::kInvalidArgument))
        << bad;
  }
}

TEST(Units, Formats) {
  EXPECT_EQ(FormatByteSize(17), "17 B");
  EXPECT_EQ(FormatByteSize(4096), "4.0 KiB");
  EXPECT_EQ(FormatByteSize(3u << 20), "3.0 MiB");
  EXPECT_TRUE(IsPowerOfTwo(4096));
  EXPECT_FALSE(IsPowerOfTwo(0));
  EXPECT_FALSE(IsPowerOfTwo(3u << 20));
  EXPECT_EQ(FormatUnixTime(1'700'000'000, "%Y-%m-%dT%H:%M:%SZ"),
            "2023-11-14T22:13:20Z");
  EXPECT_EQ(FormatUnixTime(0, "%Y-%m-%d %H:%M UTC"), "1970-01-01 00:00 UTC");
  EXPECT_EQ(FormatUnixTime(uint64_t{1} << 62, "%Y"), "?");  // no such year
}

}  // namespace
}  // namespace vcsnap
