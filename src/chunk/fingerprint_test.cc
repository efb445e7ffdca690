// File: chunk/fingerprint_test.cc

#include "chunk/fingerprint.h"

#include <gtest/gtest.h>

#include <thread>

#include "chunk/test_data.h"
#include "testing/status_matchers.h"

namespace vcsnap {
namespace {

using ::vcsnap::testing::StatusIs;

// FIPS 180-2 / NIST example vectors.
TEST(FingerprintTest, KnownAnswers) {
  EXPECT_EQ(ToHex(Sha256({})),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(ToHex(Sha256(AsBytes("abc"))),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(ToHex(Sha256(AsBytes(
                "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"))),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

TEST(FingerprintTest, ReusedContextMatchesOneShot) {
  const Bytes data = testdata::MixedContent(70000, 3);
  for (size_t len : {0u, 1u, 55u, 56u, 63u, 64u, 65u, 4096u, 70000u}) {
    ByteView v = ByteView(data).first(len);
    EXPECT_EQ(Sha256(v), Sha256OneShot(v)) << len;
  }
}

TEST(FingerprintTest, ThreadsGetTheSameDigests) {
  const Bytes data = testdata::MixedContent(1 << 16, 4);
  const Fingerprint want = Sha256(data);
  Fingerprint got[4];
  std::vector<std::thread> threads;
  for (auto& g : got) {
    threads.emplace_back([&] {
      for (int i = 0; i < 20; ++i) g = Sha256(data);
    });
  }
  for (auto& t : threads) t.join();
  for (const auto& g : got) EXPECT_EQ(g, want);
}

TEST(FingerprintTest, HexRoundTrip) {
  const Fingerprint fp = Sha256(AsBytes("vcsnap"));
  auto back = FingerprintFromHex(ToHex(fp));
  ASSERT_OK(back);
  EXPECT_EQ(*back, fp);
  std::string upper = ToHex(fp);
  for (char& c : upper) c = static_cast<char>(std::toupper(c));
  ASSERT_OK(FingerprintFromHex(upper));
  EXPECT_EQ(*FingerprintFromHex(upper), fp);
}

TEST(FingerprintTest, HexRejectsWrongLength) {
  EXPECT_THAT(FingerprintFromHex("abcd"),
              StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(FingerprintFromHex(ToHex(Fingerprint{}) + "0"),
              StatusIs(StatusCode::kInvalidArgument));
}

TEST(FingerprintTest, HexRejectsNonDigits) {
  std::string hex = ToHex(Fingerprint{});
  hex[17] = 'g';
  EXPECT_THAT(FingerprintFromHex(hex), StatusIs(StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace vcsnap
