// Encrypted repositories end to end: the random crash histories of
// soak_crash_test.cc (backups with the PDS, forget, gc, compact, crashes at
// every step) run over an encrypted repository lose nothing; afterwards no
// stored object holds a piece of any disk or a plain SHA-256 of any chunk;
// a wrong key opens nothing; a forged group (checksum recomputed) is an
// authentication error in restore and check, never data.
#include <string_view>
#include <unordered_set>

#include "chunk/chunker.h"
#include "chunk/segment.h"
#include "gc/soak_test.h"
#include "pds/pds_update.h"
#include "store/container_format.h"
#include "store/group.h"
#include "util/checksum.h"
#include "util/coding.h"

namespace vcsnap {
namespace {

using ::vcsnap::testing::StatusIs;
using ::vcsnap::testing::StatusIsWith;

class EncryptedSoakTest : public SoakTest {
 protected:
  void SetUp() override {
    encrypted_ = true;
    SoakTest::SetUp();
  }

  // Backs up every VM's disk as it is now and records the snapshots.
  void BackupAll() {
    for (int v = 0; v < kVms; ++v) {
      Result<BackupResult> r = BackupVm(v);
      ASSERT_OK(r);
      model_[v].live[r->snapshot] = model_[v].image;
      model_[v].dirty.assign(kGranules, false);
    }
  }

  // How many distinct `probes` (32 bytes each) occur in some stored object:
  // every 32-byte window of every object is looked up in a set of the
  // probes. *distinct: how many distinct probes there were (VMs share
  // segments, so chunks repeat).
  size_t Found(const std::vector<Bytes>& probes, size_t* distinct = nullptr) {
    std::unordered_set<std::string_view> want;
    for (const Bytes& p : probes) {
      EXPECT_EQ(p.size(), kProbe);
      want.insert(AsChars(p));
    }
    if (distinct != nullptr) *distinct = want.size();
    std::unordered_set<std::string_view> found;
    std::vector<Bytes> objects;
    for (const ObjectInfo& o : *mem_->List("")) {
      objects.push_back(*mem_->Get(o.name));
      const std::string_view b = AsChars(objects.back());
      for (size_t i = 0; i + kProbe <= b.size(); ++i) {
        auto it = want.find(b.substr(i, kProbe));
        if (it != want.end()) found.insert(*it);
      }
    }
    return found.size();
  }
  static constexpr size_t kProbe = 32;
};

TEST_F(EncryptedSoakTest, RandomHistoriesLoseNothingAndStoreNoPlaintext) {
  ForEachSeed(2, [&](uint64_t seed) { RunSeed(seed, 24); });
  if (HasFatalFailure()) return;
  BackupAll();
  ASSERT_OK(RunPdsUpdate(*repo_, {0.5, 0}).status());
  LoadPds();
  std::mt19937_64 rng(9);
  for (int v = 0; v < kVms; ++v) ChangeDisk(v, rng);
  BackupAll();
  ASSERT_TRUE(Intact(true));
  EXPECT_GT(stats_.level3_bytes, 0u);

  // What someone reading the storage could look for: 32-byte pieces of each
  // chunk, and each chunk's unkeyed SHA-256. The keyed fingerprints must be
  // there (the recipes hold them): the scan's positive control.
  auto plain = MakeChunker(::vcsnap::testing::SmallRepoConfig());
  ASSERT_OK(plain);
  std::vector<Bytes> pieces, sha, keyed;
  for (int v = 0; v < kVms; ++v) {
    const Bytes& img = model_[v].image;
    for (size_t s = 0; s < img.size(); s += kSeg) {
      std::vector<ChunkInfo> chunks;
      ByteView seg = ByteView(img).subspan(s, kSeg);
      ChunkSegment(**plain, seg, &chunks);
      for (const ChunkInfo& c : chunks) {
        if (c.zero || c.length < 64) continue;
        ByteView bytes = seg.subspan(c.offset, c.length);
        ByteView mid = bytes.subspan(c.length / 2, 32);
        pieces.emplace_back(mid.begin(), mid.end());
        sha.emplace_back(c.fp.begin(), c.fp.end());
        Fingerprint k =
            KeyedFingerprint(repo_->config().keys->fingerprint, bytes);
        keyed.emplace_back(k.begin(), k.end());
      }
    }
  }
  ASSERT_GT(pieces.size(), 500u);
  EXPECT_EQ(Found(pieces), 0u) << "plaintext stored";
  EXPECT_EQ(Found(sha), 0u) << "unkeyed fingerprints stored";
  size_t distinct = 0;
  const size_t found = Found(keyed, &distinct);
  EXPECT_GT(found, distinct / 2) << "of " << distinct;
}

TEST_F(EncryptedSoakTest, AWrongOrMissingKeyOpensNothing) {
  model_[0] = VmModel{InitialImage(5, 0), {}, {}};
  model_[0].dirty.assign(kGranules, true);
  ASSERT_OK(BackupVm(0));
  auto open = [&](const RepoKey* k) {
    return Repository::OpenOn(
        std::make_unique<::vcsnap::testing::ForwardingBackend>(fault_.get()),
        k);
  };
  EXPECT_THAT(open(nullptr), StatusIsWith(StatusCode::kInvalidArgument,
                                          "the repository is encrypted"));
  RepoKey other{Bytes(48, 7), "key file other"};
  EXPECT_THAT(open(&other),
              StatusIsWith(StatusCode::kInvalidArgument,
                           "key file other opens none of the 1 key slots"));
  // A second key opens it, and restores the same bytes.
  RepoKey second{Bytes(40, 9), "key file second"};
  ASSERT_OK(repo_->AddKey(second));
  auto reopened = open(&second);
  ASSERT_OK(reopened);
  repo_ = std::move(*reopened);
  EXPECT_TRUE(Restores(Vm(0), 1, model_[0].image));
  EXPECT_EQ(repo_->ListKeySlots()->size(), 2u);
  // With every slot gone (both copies) the data is unreadable, and says so.
  for (const std::string& s : *repo_->ListKeySlots()) {
    ASSERT_OK(mem_->Delete(s));
    ASSERT_OK(mem_->Delete(DittoName(s)));
  }
  EXPECT_THAT(open(&second),
              StatusIsWith(StatusCode::kCorruption, "has no key slot"));
}

TEST_F(EncryptedSoakTest, AForgedGroupIsAnAuthenticationErrorNeverData) {
  model_[1] = VmModel{InitialImage(6, 1), {}, {}};
  model_[1].dirty.assign(kGranules, true);
  ASSERT_OK(BackupVm(1));
  // Flip a byte inside the sealed part of the first group of the first block
  // and recompute its checksum, as a forger (not random damage) would.
  auto blocks = mem_->List(StorePrefix(Vm(1)));
  ASSERT_OK(blocks);
  std::string block;
  for (const ObjectInfo& o : *blocks) {
    if (o.name.find("/b") != std::string::npos && block.empty()) block = o.name;
  }
  ASSERT_FALSE(block.empty());
  Bytes bytes = *mem_->Get(block);
  const std::string vm = Vm(1);
  const GroupPlace place{vm, DecodeFixed16(bytes.data() + 8), 0, block,
                         0,  repo_->config().keys.get()};
  auto h = PeekGroupHeader(bytes, place, GroupLimits{});
  ASSERT_OK(h);
  ASSERT_TRUE(h->sealed);
  const size_t end = h->total_len();
  bytes[kGroupHeaderSize + kNonceSize + 3] ^= 0x40;
  EncodeFixed64(
      bytes.data() + end - 8,
      Checksum64(ByteView(bytes).first(end - 8), GroupSeed(block, 0)));
  ASSERT_OK(mem_->Put(block, bytes));
  RestoreOptions o;
  o.vm = Vm(1);
  o.snapshot = "1";
  o.output = dir_ + "/forged.img";
  o.force = true;
  EXPECT_THAT(RunRestore(*repo_, o).status(),
              StatusIsWith(StatusCode::kCorruption, "authentication failed"));
  auto c = RunCheck(*repo_, CheckOptions{.read_data = true});
  ASSERT_OK(c);
  ASSERT_FALSE(c->problems.empty());
  EXPECT_NE(c->problems[0].find("authentication failed"), std::string::npos)
      << c->problems[0];
}

}  // namespace
}  // namespace vcsnap
