#include "format/repo_config.h"

#include "testing/status_matchers.h"
#include "util/coding.h"

namespace vcsnap {
namespace {

using ::vcsnap::testing::StatusIs;
using ::vcsnap::testing::StatusIsWith;

TEST(RepoConfig, DefaultsAreValidAndRoundTrip) {
  RepoConfig c = RepoConfig::NewDefault();
  ASSERT_OK(c.Validate());
  c.compression = CompressionKind::kLz4;
  c.compression_level = -3;
  c.chunk_avg = 8192;
  c.chunk_max = 65536;
  Result<RepoConfig> d = DecodeRepoConfig(EncodeRepoConfig(c));
  ASSERT_OK(d);
  EXPECT_EQ(d->repo_id, c.repo_id);
  EXPECT_EQ(d->created_unix, c.created_unix);
  EXPECT_EQ(d->segment_size, c.segment_size);
  EXPECT_EQ(d->chunk_min, c.chunk_min);
  EXPECT_EQ(d->chunk_avg, 8192u);
  EXPECT_EQ(d->chunk_max, 65536u);
  EXPECT_EQ(d->compression, CompressionKind::kLz4);
  EXPECT_EQ(d->compression_level, -3);
  EXPECT_EQ(d->group_chunks, c.group_chunks);
  EXPECT_EQ(d->container_size, c.container_size);
  EXPECT_EQ(d->max_object_size, c.max_object_size);
  EXPECT_EQ(c.RepoIdHex().size(), 32u);
}

TEST(RepoConfig, FreshConfigsHaveDistinctIds) {
  EXPECT_NE(RepoConfig::NewDefault().repo_id, RepoConfig::NewDefault().repo_id);
}

TEST(RepoConfig, ValidateNamesTheBadParameter) {
  auto bad = [](auto mutate, const char* what) {
    RepoConfig c = RepoConfig::NewDefault();
    mutate(c);
    EXPECT_THAT(c.Validate(), StatusIsWith(StatusCode::kInvalidArgument, what));
  };
  bad([](RepoConfig& c) { c.segment_size = 3 << 20; }, "segment size");
  bad([](RepoConfig& c) { c.segment_size = 1 << 12; }, "segment size");
  bad([](RepoConfig& c) { c.chunk_avg = 5000; }, "average chunk");
  bad([](RepoConfig& c) { c.chunk_min = 0; }, "chunk sizes");
  bad([](RepoConfig& c) { c.chunk_max = 4 << 20; }, "chunk sizes");
  bad([](RepoConfig& c) { c.group_chunks = 0; }, "chunks per group");
  bad([](RepoConfig& c) { c.container_size = 1 << 20; }, "container size");
  bad([](RepoConfig& c) { c.max_object_size = 256ull << 20; }, "object size");
  bad([](RepoConfig& c) { c.compression = static_cast<CompressionKind>(9); },
      "compression");
  bad([](RepoConfig& c) { c.compression_level = 40; }, "compression level");
}

TEST(RepoConfig, CorruptionIsDetected) {
  Bytes e = EncodeRepoConfig(RepoConfig::NewDefault());
  for (size_t i = 0; i < e.size(); ++i) {
    Bytes c = e;
    c[i] ^= 0x10;
    EXPECT_FALSE(DecodeRepoConfig(c).ok()) << i;
  }
  EXPECT_THAT(DecodeRepoConfig(ByteView(e).first(e.size() - 1)),
              StatusIs(StatusCode::kCorruption));
  EXPECT_THAT(DecodeRepoConfig(AsBytes("not a config at all, just text")),
              StatusIsWith(StatusCode::kCorruption, "bad magic"));
}

TEST(RepoConfig, EncryptedConfigsAreVersion2AndPlainOnesStayVersion1) {
  RepoConfig plain = RepoConfig::NewDefault();
  Bytes p = EncodeRepoConfig(plain);
  EXPECT_EQ(DecodeFixed16(p.data() + 4), 1);  // older readers still read it
  auto dp = DecodeRepoConfig(p);
  ASSERT_OK(dp);
  EXPECT_FALSE(dp->encrypted());
  EXPECT_EQ(dp->hash, HashKind::kSha256);

  RepoConfig enc = RepoConfig::NewEncrypted();
  ASSERT_OK(enc.Validate());
  Bytes e = EncodeRepoConfig(enc);
  EXPECT_EQ(DecodeFixed16(e.data() + 4), 2);  // older readers refuse it
  EXPECT_EQ(e.size(), p.size() + 1);
  auto de = DecodeRepoConfig(e);
  ASSERT_OK(de);
  EXPECT_EQ(de->encryption, EncryptionKind::kAes256Gcm);
  EXPECT_EQ(de->hash, HashKind::kHmacSha256);
  EXPECT_EQ(de->keys, nullptr);  // keys are never stored in the config
  for (size_t i = 0; i < e.size(); ++i) {
    Bytes c = e;
    c[i] ^= 0x10;
    EXPECT_FALSE(DecodeRepoConfig(c).ok()) << i;
  }
}

TEST(RepoConfig, EncryptionAndKeyedFingerprintsGoTogether) {
  RepoConfig c = RepoConfig::NewDefault();
  c.hash = HashKind::kHmacSha256;
  EXPECT_THAT(c.Validate(),
              StatusIsWith(StatusCode::kInvalidArgument, "keyed fingerprints"));
  c = RepoConfig::NewEncrypted();
  c.hash = HashKind::kSha256;
  EXPECT_THAT(c.Validate(),
              StatusIsWith(StatusCode::kInvalidArgument, "keyed fingerprints"));
  c = RepoConfig::NewEncrypted();
  c.encryption = static_cast<EncryptionKind>(7);
  EXPECT_THAT(c.Validate(),
              StatusIsWith(StatusCode::kInvalidArgument, "encryption"));
}

TEST(RepoConfig, ParseCompression) {
  EXPECT_EQ(*ParseCompression("zstd"), CompressionKind::kZstd);
  EXPECT_EQ(*ParseCompression("lz4"), CompressionKind::kLz4);
  EXPECT_EQ(*ParseCompression("none"), CompressionKind::kNone);
  EXPECT_THAT(ParseCompression("gzip"),
              StatusIsWith(StatusCode::kInvalidArgument, "gzip"));
}

}  // namespace
}  // namespace vcsnap
