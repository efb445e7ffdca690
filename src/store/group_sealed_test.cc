// Sealed (encrypted) chunk groups: round trips through every decoder, and
// each way a sealed group can be wrong gives a clear error, never data.
#include <gtest/gtest.h>

#include <algorithm>

#include "store/group.h"
#include "store/store_testing.h"
#include "testing/status_matchers.h"
#include "util/checksum.h"
#include "util/coding.h"

namespace vcsnap {
namespace {

using ::vcsnap::testing::CutChunks;
using ::vcsnap::testing::RealContent;
using ::vcsnap::testing::StatusIs;
using ::vcsnap::testing::StatusIsWith;

class SealedGroupTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Key256 master;
    RandomFill(master);
    keys_ = RepoKeys::FromMaster(master, ToBytes("repo"));
    for (const Bytes& c : CutChunks(RealContent(64u << 10), 1000)) {
      lens_.push_back(static_cast<uint32_t>(c.size()));
      raw_.insert(raw_.end(), c.begin(), c.end());
    }
  }
  GroupPlace Here(const RepoKeys* keys) const {
    return GroupPlace{"web1", 1, 1, block_, 4096, keys};
  }
  Bytes Encode(CompressionKind kind, const RepoKeys* keys) {
    Bytes scratch;
    return EncodeGroup(kind, 1, 1, 1000, lens_, raw_, Here(keys), &scratch);
  }
  // Re-checksums `g` after an edit, as a forger would.
  void Forge(Bytes* g) {
    const size_t n = g->size() - kGroupTrailerSize;
    EncodeFixed64(g->data() + n,
                  Checksum64(ByteView(*g).first(n), GroupSeed(block_, 4096)));
  }
  RepoKeys keys_;
  std::vector<uint32_t> lens_;
  Bytes raw_;
  const std::string block_ = "vm/web1/store/c0001/g00000001/b000000";
};

TEST_F(SealedGroupTest, RoundTripEveryCodecAndDecoder) {
  for (CompressionKind kind : {CompressionKind::kNone, CompressionKind::kLz4,
                               CompressionKind::kZstd}) {
    Bytes g = Encode(kind, &keys_);
    Bytes plain = Encode(kind, nullptr);
    EXPECT_EQ(g.size(), plain.size() + kSealOverhead);
    // Neither the chunk lengths nor any 32 bytes of content show.
    ByteView probe = ByteView(raw_).subspan(5000, 32);
    EXPECT_EQ(std::search(g.begin(), g.end(), probe.begin(), probe.end()),
              g.end());
    auto h = PeekGroupHeader(g, Here(&keys_), GroupLimits{});
    ASSERT_OK(h);
    EXPECT_TRUE(h->sealed);
    EXPECT_EQ(h->total_len(), g.size());
    auto d = DecodeGroup(g, Here(&keys_), GroupLimits{});
    ASSERT_OK(d);
    EXPECT_EQ(Bytes((*d)->data.get(), (*d)->data.get() + (*d)->raw_len), raw_);
    auto hdr = DecodeGroup(g, Here(&keys_), GroupLimits{}, true);
    ASSERT_OK(hdr);
    EXPECT_EQ((*hdr)->lens, lens_);
    GroupView view;
    ASSERT_OK(DecodeGroupView(g, Here(&keys_), GroupLimits{}, &view));
    EXPECT_EQ(Bytes(view.data.begin(), view.data.end()), raw_);
    // Compaction moves a sealed group by re-checksumming it only.
    GroupPlace moved{"web1", 1,     2, "vm/web1/store/c0001/g00000002/b000000",
                     0,      &keys_};
    auto m = DecodeGroup(RebindGroup(g, moved), moved, GroupLimits{});
    ASSERT_OK(m);
    EXPECT_EQ((*m)->raw_len, raw_.size());
  }
}

TEST_F(SealedGroupTest, EveryForgedByteOtherKeyOrOtherVmFails) {
  const Bytes g = Encode(CompressionKind::kZstd, &keys_);
  // Header bytes are associated data, the rest is sealed: with the checksum
  // recomputed, every change is caught by a header check or the tag.
  for (size_t i = 0; i < g.size() - kGroupTrailerSize; ++i) {
    Bytes bad = g;
    bad[i] ^= 0x01;
    Forge(&bad);
    ASSERT_FALSE(DecodeGroup(bad, Here(&keys_), GroupLimits{}).ok())
        << "byte " << i;
  }
  Key256 other;
  RandomFill(other);
  const RepoKeys wrong = RepoKeys::FromMaster(other, ToBytes("repo"));
  EXPECT_THAT(DecodeGroup(g, Here(&wrong), GroupLimits{}),
              StatusIsWith(StatusCode::kCorruption, "authentication failed"));
  GroupPlace vm2 = Here(&keys_);
  vm2.vm = "web2";  // the same bytes in another VM's store
  EXPECT_THAT(DecodeGroup(g, vm2, GroupLimits{}),
              StatusIsWith(StatusCode::kCorruption, "authentication failed"));
}

TEST_F(SealedGroupTest, SealingMustMatchTheRepository) {
  EXPECT_THAT(
      DecodeGroup(Encode(CompressionKind::kZstd, &keys_), Here(nullptr),
                  GroupLimits{}),
      StatusIsWith(StatusCode::kCorruption, "repository is not encrypted"));
  // A plain group slipped into an encrypted repository is refused, not read.
  EXPECT_THAT(DecodeGroup(Encode(CompressionKind::kZstd, nullptr), Here(&keys_),
                          GroupLimits{}),
              StatusIsWith(StatusCode::kCorruption,
                           "unsealed group in an encrypted repository"));
  Bytes g = Encode(CompressionKind::kZstd, &keys_);
  g[7] |= 0x02;  // an unknown flag
  Forge(&g);
  EXPECT_THAT(DecodeGroup(g, Here(&keys_), GroupLimits{}),
              StatusIsWith(StatusCode::kCorruption, "flags"));
  EXPECT_THAT(DecodeGroup(ByteView(g).first(60), Here(&keys_), GroupLimits{}),
              StatusIs(StatusCode::kCorruption));
}

}  // namespace
}  // namespace vcsnap
