// The cluster-free half of the RADOS backend: location syntax and the layout
// record (rados_backend_test covers the rest against a real cluster).

#include "backend/rados_location.h"

#include <fstream>

#include "backend/backend.h"
#include "format/envelope.h"
#include "testing/status_matchers.h"
#include "testing/temp_dir.h"

namespace vcsnap {
namespace {

using ::vcsnap::testing::StatusIs;
using ::vcsnap::testing::StatusIsWith;

TEST(RadosLocation, PoolOnlyTakesDefaults) {
  Result<RadosLocation> l = ParseRadosLocation("rados://vmstore");
  ASSERT_OK(l);
  EXPECT_EQ(l->pool, "vmstore");
  EXPECT_EQ(l->ns, "");
  EXPECT_EQ(l->pds_pool, "");
  EXPECT_EQ(l->conf, "");
  EXPECT_EQ(l->user, "client.admin");
  EXPECT_EQ(l->cluster, "ceph");
  EXPECT_EQ(l->timeout_seconds, 30u);
}

TEST(RadosLocation, EveryKey) {
  Result<RadosLocation> l = ParseRadosLocation(
      "rados://vm-store/tenant_1.a?pds_pool=popular&conf=/etc/c/x.conf&"
      "keyring=/k/r&user=backup&cluster=east&timeout=8");
  ASSERT_OK(l);
  EXPECT_EQ(l->pool, "vm-store");
  EXPECT_EQ(l->ns, "tenant_1.a");
  EXPECT_EQ(l->pds_pool, "popular");
  EXPECT_EQ(l->conf, "/etc/c/x.conf");
  EXPECT_EQ(l->keyring, "/k/r");
  EXPECT_EQ(l->user, "client.backup");
  EXPECT_EQ(l->cluster, "east");
  EXPECT_EQ(l->timeout_seconds, 8u);
  EXPECT_EQ(ParseRadosLocation("rados://p?user=client.x")->user, "client.x");
}

TEST(RadosLocation, PdsPoolEqualToPoolIsKeptAsGiven) {
  // Open() reads it as "the PDS shares the pool", which a layout record
  // saying otherwise contradicts (rados_backend_test).
  EXPECT_EQ(ParseRadosLocation("rados://p?pds_pool=p")->pds_pool, "p");
}

TEST(RadosLocation, RejectsWhatItCannotMean) {
  for (const char* bad :
       {"rados://", "rados:///ns", "rados://.hidden", "rados://p/",
        "rados://p/.x", "rados://p/a/b", "rados://p q", "rados://p?",
        "rados://p?conf", "rados://p?conf=", "rados://p?=x",
        "rados://p?colour=blue", "rados://p?timeout=0",
        "rados://p?timeout=3601", "rados://p?timeout=5s",
        "rados://p?timeout=-1", "rados://p?pds_pool=a/b",
        "rados://p?cluster=a b", "local/dir"}) {
    EXPECT_THAT(ParseRadosLocation(bad), StatusIs(StatusCode::kInvalidArgument))
        << bad;
  }
  EXPECT_THAT(
      ParseRadosLocation("rados://p?colour=blue"),
      StatusIsWith(StatusCode::kInvalidArgument, "unknown key 'colour'"));
  EXPECT_THAT(
      ParseRadosLocation(std::string("rados://") + std::string(101, 'a')),
      StatusIsWith(StatusCode::kInvalidArgument, "pool name"));
  EXPECT_TRUE(IsRadosLocation("rados://p"));
  EXPECT_FALSE(IsRadosLocation("/srv/rados://p"));
}

// This test binary does not link vcsnap_rados, so librados is not loaded and
// no opener is installed: a rados:// location is refused with a clear error.
TEST(RadosLocation, WithoutTheBackendLibraryOpenIsNotSupported) {
  Result<RadosLocation> l = ParseRadosLocation("rados://vmstore");
  ASSERT_OK(l);
  EXPECT_THAT(OpenRadosBackend(*l, /*create=*/false, 1 << 20),
              StatusIsWith(StatusCode::kNotSupported,
                           "built without the RADOS backend"));
}

// The program's way: the backend is a module loaded on the first open. Its
// own error for a conf it cannot read shows the module answered (librados
// is loaded into this test; no cluster is needed).
TEST(RadosModule, IsLoadedOnTheFirstOpenAndAnswers) {
  UseRadosModule(std::string(VCSNAP_RADOS_MODULE_PATH));
  Result<RadosLocation> l =
      ParseRadosLocation("rados://vmstore?conf=/nonexistent/ceph.conf");
  ASSERT_OK(l);
  EXPECT_THAT(
      OpenRadosBackend(*l, /*create=*/false, 1 << 20),
      StatusIsWith(StatusCode::kInvalidArgument, "/nonexistent/ceph.conf"));
  SetRadosOpener(nullptr);
}

TEST(RadosModule, WhyItCannotBeLoadedIsNamed) {
  Result<RadosLocation> l = ParseRadosLocation("rados://vmstore");
  ASSERT_OK(l);
  UseRadosModule(
      Status::NotFound("vcsnap-rados.so was not found (looked "
                       "at /opt/x/vcsnap-rados.so)"));
  EXPECT_THAT(OpenRadosBackend(*l, false, 1 << 20),
              StatusIsWith(StatusCode::kNotSupported,
                           "could not be loaded: vcsnap-rados.so was not "
                           "found (looked at /opt/x/vcsnap-rados.so)"));
  const std::string text =
      ::vcsnap::testing::NewTempDir("rados-module") + "/not-a-module.so";
  std::ofstream(text) << "not a shared object\n";
  UseRadosModule(text);
  EXPECT_THAT(OpenRadosBackend(*l, false, 1 << 20),
              StatusIsWith(StatusCode::kNotSupported, text));
  UseRadosModule(std::string("libm.so.6"));  // a library, not the module
  EXPECT_THAT(OpenRadosBackend(*l, false, 1 << 20),
              StatusIsWith(StatusCode::kNotSupported,
                           "libm.so.6 has no vcsnap_rados_opener"));
  SetRadosOpener(nullptr);
}

TEST(RadosLayout, RoundTrips) {
  for (const char* pool : {"", "popular", "a.b-c_d"}) {
    Result<RadosLayout> d = DecodeRadosLayout(EncodeRadosLayout({pool}));
    ASSERT_OK(d);
    EXPECT_EQ(d->pds_pool, pool);
  }
}

TEST(RadosLayout, EveryFlippedBitIsCorruption) {
  Bytes good = EncodeRadosLayout({"popular"});
  for (size_t i = 0; i < good.size(); ++i) {
    for (int bit = 0; bit < 8; ++bit) {
      Bytes bad = good;
      bad[i] ^= static_cast<uint8_t>(1u << bit);
      EXPECT_THAT(DecodeRadosLayout(bad), StatusIs(StatusCode::kCorruption))
          << "byte " << i << " bit " << bit;
    }
  }
  for (size_t n = 0; n < good.size(); ++n) {
    EXPECT_THAT(DecodeRadosLayout(ByteView(good).first(n)),
                StatusIs(StatusCode::kCorruption))
        << "truncated to " << n;
  }
}

// Bodies that pass the envelope's checksum but are wrong inside.
TEST(RadosLayout, BadBodiesAreCorruptionAndNewerVersionsNotSupported) {
  const EnvelopeSpec spec{
      {'V', 'R', 'L', 'Y'}, "RADOS layout record", 1, 9, 512};
  auto wrap = [&](Bytes body, uint16_t version = 1) {
    return EncodeEnvelope(spec, version, kRadosLayoutObject, body);
  };
  EXPECT_THAT(DecodeRadosLayout(wrap({5, 0, 'a', 'b'})),
              StatusIs(StatusCode::kCorruption));  // length past the end
  EXPECT_THAT(DecodeRadosLayout(wrap({1, 0, 'a', 'b'})),
              StatusIsWith(StatusCode::kCorruption, "unexpected bytes"));
  EXPECT_THAT(DecodeRadosLayout(wrap({2, 0, '.', 'b'})),
              StatusIsWith(StatusCode::kCorruption, "not valid"));
  EXPECT_THAT(DecodeRadosLayout(wrap({1, 0, 'a'}, 2)),
              StatusIs(StatusCode::kNotSupported));
  // The checksum is bound to the record's name.
  Bytes elsewhere = EncodeEnvelope(spec, 1, "config", Bytes{1, 0, 'a'});
  EXPECT_THAT(DecodeRadosLayout(elsewhere), StatusIs(StatusCode::kCorruption));
}

}  // namespace
}  // namespace vcsnap
