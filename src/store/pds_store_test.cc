// PdsStore: generations written, sealed, read back; unpublished ones are
// invisible; bad references and damaged bytes are errors.
#include "store/pds_store.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "backend/fault_backend.h"
#include "backend/mem_backend.h"
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

class PdsStoreTest : public ::testing::Test {
 protected:
  void SetUp() override { chunks_ = CutChunks(RealContent(300u << 10), 4096); }
  std::vector<PdsRef> WriteGen(PdsStore* pds, uint32_t gen) {
    auto w = pds->BeginGeneration(gen);
    EXPECT_OK(w);
    std::vector<PdsRef> refs;
    for (const Bytes& c : chunks_) refs.push_back(*(*w)->Append(c));
    EXPECT_OK((*w)->Seal());
    return refs;
  }
  MemBackend mem_{64u << 10};  // small blocks: records cross many of them
  std::vector<Bytes> chunks_;
};

TEST_F(PdsStoreTest, RoundTripAcrossBlocks) {
  PdsStore pds(&mem_, nullptr);
  std::vector<PdsRef> refs = WriteGen(&pds, 1);
  PdsStore reader(&mem_, nullptr, 0);  // another process, no cache
  for (size_t i = 0; i < refs.size(); ++i) {
    Result<Bytes> got = reader.Get(refs[i]);
    ASSERT_OK(got);
    ASSERT_EQ(*got, chunks_[i]);
    ASSERT_EQ(*pds.Get(refs[i]), chunks_[i]);  // twice: cached path
    ASSERT_EQ(*pds.Get(refs[i]), chunks_[i]);
  }
  Result<PdsGenerationInfo> info = reader.GetGenerationInfo(1);
  ASSERT_OK(info);
  EXPECT_GT(info->blocks, 3u);
  EXPECT_EQ(info->chunks, chunks_.size());
  EXPECT_EQ(*reader.ListGenerations(), std::vector<uint32_t>{1});
}

TEST_F(PdsStoreTest, UnsealedGenerationIsInvisibleAndRestartable) {
  PdsStore pds(&mem_, nullptr);
  PdsRef ref;
  {
    auto w = pds.BeginGeneration(2);
    ASSERT_OK(w);
    ref = *(*w)->Append(chunks_[0]);
  }  // crashed writer: no Seal
  EXPECT_THAT(pds.Get(ref), StatusIs(StatusCode::kNotFound));
  EXPECT_TRUE(pds.ListGenerations()->empty());
  std::vector<PdsRef> refs = WriteGen(&pds, 2);
  EXPECT_EQ(*pds.Get(refs[5]), chunks_[5]);
  EXPECT_THAT(pds.BeginGeneration(2), StatusIs(StatusCode::kAlreadyExists));
}

TEST_F(PdsStoreTest, BadReferencesAreCorruption) {
  PdsStore pds(&mem_, nullptr, 0);
  std::vector<PdsRef> refs = WriteGen(&pds, 1);
  PdsRef wrong_size = refs[3];
  wrong_size.size -= 1;
  EXPECT_THAT(pds.Get(wrong_size),
              StatusIsWith(StatusCode::kCorruption, "checksum"));
  PdsRef wrong_offset = refs[3];
  wrong_offset.offset += 8;
  EXPECT_THAT(pds.Get(wrong_offset), StatusIs(StatusCode::kCorruption));
  PdsRef past = refs.back();
  past.offset += 1u << 20;
  EXPECT_THAT(pds.Get(past), StatusIsWith(StatusCode::kCorruption, "outside"));
  EXPECT_THAT(pds.Get(PdsRef{}), StatusIs(StatusCode::kInvalidArgument));
}

TEST_F(PdsStoreTest, FlippedBitIsCorruption) {
  PdsStore writer(&mem_, nullptr);
  std::vector<PdsRef> refs = WriteGen(&writer, 1);
  FaultBackend fault(&mem_);
  fault.CorruptReads(PdsBlockName(1, 0), refs[1].offset + 5);
  PdsStore pds(&fault, nullptr, 0);
  EXPECT_THAT(pds.Get(refs[1]),
              StatusIsWith(StatusCode::kCorruption, "pds g1+"));
  EXPECT_EQ(*pds.Get(refs[0]), chunks_[0]);
}

TEST_F(PdsStoreTest, DeleteGeneration) {
  PdsStore pds(&mem_, nullptr);
  std::vector<PdsRef> a = WriteGen(&pds, 1);
  std::vector<PdsRef> b = WriteGen(&pds, 2);
  ASSERT_EQ(*pds.Get(a[0]), chunks_[0]);
  ASSERT_OK(pds.DeleteGeneration(1));
  EXPECT_THAT(pds.Get(a[0]), StatusIs(StatusCode::kNotFound));
  EXPECT_EQ(*pds.Get(b[0]), chunks_[0]);
  EXPECT_EQ(*pds.ListGenerations(), std::vector<uint32_t>{2});
  EXPECT_TRUE(mem_.List("pds/g00000001/")->empty());
}

}  // namespace
}  // namespace vcsnap

namespace vcsnap {
namespace {

using ::vcsnap::testing::StatusIsWith;

TEST_F(PdsStoreTest, SealedRecordsHideTheChunksAndOpenOnlyWithTheirKey) {
  Key256 master;
  RandomFill(master);
  const RepoKeys keys = RepoKeys::FromMaster(master, ToBytes("repo"));
  PdsStore pds(&mem_, &keys, 0);
  std::vector<PdsRef> refs = WriteGen(&pds, 1);
  for (size_t i = 0; i < refs.size(); ++i) {
    ASSERT_EQ(*pds.Get(refs[i]), chunks_[i]);
  }
  // No chunk's bytes appear in any block (16 bytes from its middle).
  for (const ObjectInfo& o : *mem_.List("pds/")) {
    Bytes block = *mem_.Get(o.name);
    for (const Bytes& c : chunks_) {
      auto probe = ByteView(c).subspan(c.size() / 2, 16);
      ASSERT_EQ(
          std::search(block.begin(), block.end(), probe.begin(), probe.end()),
          block.end())
          << o.name;
    }
  }
  // Another key, or no key: never the chunk.
  Key256 other;
  RandomFill(other);
  const RepoKeys wrong = RepoKeys::FromMaster(other, ToBytes("repo"));
  EXPECT_THAT(PdsStore(&mem_, &wrong, 0).Get(refs[2]),
              StatusIsWith(StatusCode::kCorruption, "authentication failed"));
  Result<Bytes> unkeyed = PdsStore(&mem_, nullptr, 0).Get(refs[2]);
  EXPECT_FALSE(unkeyed.ok() && *unkeyed == chunks_[2]);
  // A record re-checksummed after a flip (a forger, not random damage) fails
  // authentication.
  const std::string block = PdsBlockName(1, 0);
  Bytes bytes = *mem_.Get(block);
  const uint64_t rec = refs[0].size + kSealOverhead + kPdsRecordTrailer;
  bytes[20] ^= 1;
  EncodeFixed64(
      bytes.data() + rec - 8,
      Checksum64(ByteView(bytes).first(rec - 8), GroupSeed(block, 0)));
  ASSERT_OK(mem_.Put(block, bytes));
  EXPECT_THAT(pds.Get(refs[0]),
              StatusIsWith(StatusCode::kCorruption, "authentication failed"));
}

}  // namespace
}  // namespace vcsnap
