#include "format/crypto.h"

#include <string>

#include "testing/status_matchers.h"

namespace vcsnap {
namespace {

using ::vcsnap::testing::StatusIs;
using ::vcsnap::testing::StatusIsWith;

Bytes Unhex(std::string_view hex) {
  Bytes out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<uint8_t>(
        std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
  }
  return out;
}

Key256 KeyOf(uint8_t first) {
  Key256 k{};
  for (size_t i = 0; i < k.size(); ++i) k[i] = static_cast<uint8_t>(first + i);
  return k;
}

TEST(Crypto, SealOpenRoundTripAndFreshNonces) {
  const Key256 key = KeyOf(7);
  const Bytes aad = ToBytes("vm/a/store/c0001");
  for (size_t n : {0, 1, 15, 16, 17, 4096, 100000}) {
    Bytes plain(n);
    for (size_t i = 0; i < n; ++i) plain[i] = static_cast<uint8_t>(i * 31);
    Bytes sealed = Seal(key, aad, plain);
    ASSERT_EQ(sealed.size(), n + kSealOverhead);
    Bytes back(n);
    ASSERT_OK(Open(key, aad, sealed, back.data(), "t"));
    EXPECT_EQ(back, plain);
    EXPECT_NE(Seal(key, aad, plain), sealed) << "nonce reused at size " << n;
  }
}

TEST(Crypto, EveryChangedByteKeyOrAadFailsAuthentication) {
  const Key256 key = KeyOf(1);
  const Bytes aad = ToBytes("place");
  const Bytes plain = ToBytes("the quick brown fox jumps over the lazy dog");
  const Bytes sealed = Seal(key, aad, plain);
  Bytes out(plain.size());
  for (size_t i = 0; i < sealed.size(); ++i) {
    Bytes bad = sealed;
    bad[i] ^= 0x10;
    EXPECT_THAT(Open(key, aad, bad, out.data(), "obj"),
                StatusIsWith(StatusCode::kCorruption, "obj: authentication"))
        << "byte " << i;
  }
  EXPECT_THAT(Open(KeyOf(2), aad, sealed, out.data(), "obj"),
              StatusIs(StatusCode::kCorruption));
  EXPECT_THAT(Open(key, ToBytes("other place"), sealed, out.data(), "obj"),
              StatusIs(StatusCode::kCorruption));
  EXPECT_THAT(Open(key, aad, ByteView(sealed).first(kSealOverhead - 1),
                   out.data(), "obj"),
              StatusIsWith(StatusCode::kCorruption, "shorter than nonce"));
}

// McGrew & Viega, "The Galois/Counter Mode of Operation", test case 14:
// K = 0^256, IV = 0^96, P = 0^128.
TEST(Crypto, OpensTheGcmSpecificationVector) {
  Bytes sealed(12, 0);
  Bytes ct = Unhex("cea7403d4d606b6e074ec5d3baf39d18");
  Bytes tag = Unhex("d0d1c8a799996bf0265b98b5d48ab919");
  sealed.insert(sealed.end(), ct.begin(), ct.end());
  sealed.insert(sealed.end(), tag.begin(), tag.end());
  Bytes out(16, 0xff);
  ASSERT_OK(Open(Key256{}, ByteView(), sealed, out.data(), "kat"));
  EXPECT_EQ(out, Bytes(16, 0));
}

// RFC 5869 test case 1 (the first 32 of its 42 output bytes).
TEST(Crypto, DeriveKeyIsHkdfSha256) {
  Bytes ikm(22, 0x0b);
  Bytes salt = Unhex("000102030405060708090a0b0c");
  Bytes info = Unhex("f0f1f2f3f4f5f6f7f8f9");
  Key256 k = DeriveKey(ikm, salt, AsChars(info));
  EXPECT_EQ(Bytes(k.begin(), k.end()),
            Unhex("3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ec"
                  "c4c5bf"));
}

// Expected value from Python: hmac.new(bytes(range(32)), b"vcsnap chunk",
// hashlib.sha256).hexdigest().
TEST(Crypto, KeyedFingerprintIsHmacSha256AndFollowsTheKey) {
  const Key256 a = KeyOf(0);
  const Key256 b = KeyOf(1);
  const Bytes data = ToBytes("vcsnap chunk");
  const Bytes want =
      Unhex("19d35fc05da6046f8600844f071c56ae8395030c7e0d33b2bd672a2becd4305f");
  auto fa = KeyedFingerprint(a, data);
  EXPECT_EQ(Bytes(fa.begin(), fa.end()), want);
  // Again with the same key: the cached context is re-initialised, not
  // re-keyed, and must give the same answer.
  EXPECT_EQ(KeyedFingerprint(a, data), fa);
  EXPECT_EQ(KeyedFingerprint(a, data), fa);
  // The per-thread context caches the key: switching keys must not reuse it.
  auto fb = KeyedFingerprint(b, data);
  EXPECT_NE(fb, fa);
  EXPECT_EQ(KeyedFingerprint(a, data), fa);
  EXPECT_EQ(KeyedFingerprint(b, data), fb);
  EXPECT_NE(KeyedFingerprint(a, ToBytes("vcsnap chunk!")), fa);
}

TEST(Crypto, RepoKeysAreDistinctPerUseAndRepository) {
  const Key256 master = KeyOf(9);
  RepoKeys k1 = RepoKeys::FromMaster(master, ToBytes("repo-1"));
  RepoKeys k2 = RepoKeys::FromMaster(master, ToBytes("repo-2"));
  EXPECT_NE(k1.data, k1.fingerprint);
  EXPECT_NE(k1.data, k1.metadata);
  EXPECT_NE(k1.fingerprint, k1.metadata);
  EXPECT_NE(k1.data, k2.data);
  EXPECT_NE(k1.fingerprint, k2.fingerprint);
  EXPECT_NE(k1.data, master);
}

}  // namespace
}  // namespace vcsnap
