// Repair of damaged container metadata: a deletion log rewritten from its
// readable records (by hand, and by Flush and compaction on their own), a
// damaged head pointed at the newest generation; what is never touched.
#include <gtest/gtest.h>

#include "backend/mem_backend.h"
#include "store/compaction.h"
#include "store/store_testing.h"
#include "store/vm_store.h"
#include "testing/status_matchers.h"
#include "util/checksum.h"
#include "util/coding.h"

namespace vcsnap {
namespace {

using ::testing::HasSubstr;
using ::vcsnap::testing::CutChunks;
using ::vcsnap::testing::RealContent;
using ::vcsnap::testing::SmallStoreConfig;
using ::vcsnap::testing::StatusIs;
using ::vcsnap::testing::StatusIsWith;

class StoreRepairTest : public ::testing::Test {
 protected:
  void SetUp() override {
    chunks_ = CutChunks(RealContent(1u << 20), 4096);
    std::unique_ptr<VmStore> s = Open();
    for (const Bytes& c : chunks_) refs_.push_back(*s->Put(c));
    ASSERT_OK(s->Flush());
    ASSERT_EQ(refs_.back().container, 1);  // all in one container
    for (size_t i = 0; i < 10; ++i) ASSERT_OK(s->Delete(refs_[i * 3]));
    ASSERT_OK(s->Flush());
  }
  std::unique_ptr<VmStore> Open() {
    auto s = VmStore::Open(&mem_, "db", SmallStoreConfig());
    EXPECT_OK(s);
    return std::move(*s);
  }
  // Flips a bit of the CID of the deletion log's record `i`.
  void DamageRecord(size_t i, uint32_t gen = 1) {
    Result<Bytes> b = mem_.Get(DlogName("db", 1, gen));
    ASSERT_OK(b);
    (*b)[kDlogHeaderSize + i * kDlogRecordSize + 1] ^= 2;
    ASSERT_OK(mem_.Put(DlogName("db", 1, gen), *b));
  }
  // The CIDs deleted in SetUp but record `lost`.
  std::vector<uint64_t> DeletedBut(size_t lost) const {
    std::vector<uint64_t> out;
    for (size_t i = 0; i < 10; ++i) {
      if (i != lost) out.push_back(refs_[i * 3].cid);
    }
    return out;
  }

  MemBackend mem_{1u << 20};
  std::vector<Bytes> chunks_;
  std::vector<ChunkRef> refs_;
};

TEST_F(StoreRepairTest, DamagedLogIsRewrittenWithItsReadableRecords) {
  DamageRecord(4);
  const Bytes damaged = *mem_.Get(DlogName("db", 1, 1));
  std::unique_ptr<VmStore> s = Open();
  EXPECT_THAT(s->DeletedCids(1), StatusIsWith(StatusCode::kCorruption,
                                              "record checksum mismatch"));
  Result<std::optional<MetadataRepair>> dry = s->RepairDeletionLog(1, true);
  ASSERT_OK(dry);
  ASSERT_TRUE(dry->has_value());
  EXPECT_FALSE((*dry)->done);
  EXPECT_EQ((*dry)->records_kept, 9u);
  EXPECT_EQ((*dry)->records_dropped, 1u);
  EXPECT_EQ(*mem_.Get(DlogName("db", 1, 1)), damaged) << "dry run wrote";
  Result<std::optional<MetadataRepair>> r = s->RepairDeletionLog(1, false);
  ASSERT_OK(r);
  ASSERT_TRUE(r->has_value());
  EXPECT_TRUE((*r)->done);
  EXPECT_EQ((*r)->kind, MetadataRepair::Kind::kDeletionLog);
  EXPECT_THAT((*r)->Describe(), HasSubstr("9 readable records (1 unreadable"));
  Result<std::vector<uint64_t>> now = Open()->DeletedCids(1);
  ASSERT_OK(now);
  EXPECT_EQ(*now, DeletedBut(4));
  Result<std::optional<MetadataRepair>> again = s->RepairDeletionLog(1, false);
  ASSERT_OK(again);
  EXPECT_FALSE(again->has_value()) << "an intact log was repaired";
}

TEST_F(StoreRepairTest, FlushRewritesADamagedLogAndAppends) {
  DamageRecord(0);
  std::unique_ptr<VmStore> s = Open();
  ASSERT_OK(s->Delete(refs_[100]));
  ASSERT_OK(s->Flush());
  std::vector<MetadataRepair> repairs = s->TakeRepairs();
  ASSERT_EQ(repairs.size(), 1u);
  EXPECT_EQ(repairs[0].records_dropped, 1u);
  EXPECT_TRUE(s->TakeRepairs().empty()) << "repairs are taken once";
  std::vector<uint64_t> want = DeletedBut(0);
  want.push_back(refs_[100].cid);
  std::sort(want.begin(), want.end());
  Result<std::vector<uint64_t>> now = Open()->DeletedCids(1);
  ASSERT_OK(now);
  EXPECT_EQ(*now, want);
}

TEST_F(StoreRepairTest, CompactionRewritesADamagedLogAndDropsOnlyItsRecords) {
  DamageRecord(2);
  std::unique_ptr<VmStore> s = Open();
  Result<CompactionStats> st = Compact(s.get(), 0.0);
  ASSERT_OK(st);
  EXPECT_EQ(st->chunks_dropped, 9u);
  EXPECT_EQ(s->TakeRepairs().size(), 1u);
  std::unique_ptr<VmStore> r = Open();
  for (size_t i = 0; i < 10; ++i) {
    Result<Bytes> got = r->Get(refs_[i * 3]);
    if (i == 2) {  // its record was lost: kept, a leak gc repairs
      ASSERT_OK(got);
      EXPECT_EQ(*got, chunks_[i * 3]);
    } else {
      EXPECT_THAT(got, StatusIs(StatusCode::kNotFound)) << i;
    }
  }
  EXPECT_EQ(*r->Get(refs_[1]), chunks_[1]);
}

TEST_F(StoreRepairTest, UnknownVersionIsNotDamage) {
  Result<Bytes> b = mem_.Get(DlogName("db", 1, 1));
  ASSERT_OK(b);
  (*b)[4] = 9;  // version 9: a newer vcsnap's log (checksum recomputed)
  EncodeFixed64(b->data() + 16, Checksum64(ByteView(b->data(), 16),
                                           IdentitySeed(DlogName("db", 1, 1))));
  ASSERT_OK(mem_.Put(DlogName("db", 1, 1), *b));
  std::unique_ptr<VmStore> s = Open();
  EXPECT_THAT(s->RepairDeletionLog(1, false),
              StatusIs(StatusCode::kNotSupported));
  EXPECT_THAT(s->RepairMetadata(false), StatusIs(StatusCode::kNotSupported));
  ASSERT_OK(s->Delete(refs_[100]));
  EXPECT_THAT(s->Flush(), StatusIs(StatusCode::kNotSupported));
  EXPECT_EQ(*mem_.Get(DlogName("db", 1, 1)), *b) << "a newer log was touched";
}

TEST_F(StoreRepairTest, DamagedHeadPointsAtTheNewestGenerationWithAnIndex) {
  std::unique_ptr<VmStore> s = Open();
  ASSERT_OK(Compact(s.get(), 0.0));  // generation 2, and a head naming it
  ASSERT_OK(s->Delete(refs_[1]));
  ASSERT_OK(s->Flush());
  ASSERT_OK(Compact(s.get(), 0.0));  // generation 3
  // Debris of a crashed compaction: generation 4 without an index.
  ASSERT_OK(mem_.Put(BlockName("db", 1, 4, 0), Bytes(100, 1)));
  Result<Bytes> head = mem_.Get(HeadName("db", 1));
  ASSERT_OK(head);
  (*head)[0] ^= 1;
  ASSERT_OK(mem_.Put(HeadName("db", 1), *head));
  std::unique_ptr<VmStore> r = Open();
  EXPECT_THAT(r->Get(refs_[2]), StatusIs(StatusCode::kCorruption));
  Result<std::vector<MetadataRepair>> done = r->RepairMetadata(false);
  ASSERT_OK(done);
  ASSERT_EQ(done->size(), 1u);
  EXPECT_EQ((*done)[0].kind, MetadataRepair::Kind::kHead);
  EXPECT_EQ((*done)[0].generation, 3u);
  std::unique_ptr<VmStore> after = Open();
  EXPECT_EQ(*after->Get(refs_[2]), chunks_[2]);
  EXPECT_THAT(after->Get(refs_[1]), StatusIs(StatusCode::kNotFound));
}

TEST_F(StoreRepairTest, HeadWithoutAnyValidIndexIsAnError) {
  std::unique_ptr<VmStore> s = Open();
  ASSERT_OK(Compact(s.get(), 0.0));
  ASSERT_OK(mem_.Put(HeadName("db", 1), Bytes(5, 0)));
  ASSERT_OK(mem_.Put(IndexName("db", 1, 2), Bytes(40, 0)));
  EXPECT_THAT(Open()->RepairMetadata(false),
              StatusIsWith(StatusCode::kCorruption, "no generation"));
}

}  // namespace
}  // namespace vcsnap
