// Compaction: CIDs kept, deleted chunks dropped, space reclaimed, whole
// groups copied without decoding, readers of the old generation retry.
#include "store/compaction.h"

#include <gtest/gtest.h>

#include <functional>
#include <utility>

#include "backend/mem_backend.h"
#include "store/store_testing.h"
#include "testing/forwarding_backend.h"
#include "testing/status_matchers.h"

namespace vcsnap {
namespace {

using ::vcsnap::testing::CutChunks;
using ::vcsnap::testing::RealContent;
using ::vcsnap::testing::SmallStoreConfig;
using ::vcsnap::testing::StatusIs;

class CompactionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    chunks_ = CutChunks(RealContent(1u << 20), 4096);
    auto s = VmStore::Open(&mem_, "db", SmallStoreConfig());
    ASSERT_OK(s);
    store_ = std::move(*s);
    for (const Bytes& c : chunks_) refs_.push_back(*store_->Put(c));
    ASSERT_OK(store_->Flush());
    ASSERT_EQ(refs_.back().container, 1);  // all in one container
  }
  // Deletes chunks [0, 16) (exactly the first group) and every 4th one.
  void DeleteSome() {
    for (size_t i = 0; i < refs_.size(); ++i) {
      if (i < 16 || i % 4 == 0) {
        ASSERT_OK(store_->Delete(refs_[i]));
        deleted_.push_back(i);
      }
    }
    ASSERT_OK(store_->Flush());
  }
  bool IsDeleted(size_t i) const {
    return std::find(deleted_.begin(), deleted_.end(), i) != deleted_.end();
  }

  MemBackend mem_{1u << 20};
  std::unique_ptr<VmStore> store_;
  std::vector<Bytes> chunks_;
  std::vector<ChunkRef> refs_;
  std::vector<size_t> deleted_;
};

TEST_F(CompactionTest, BelowThresholdDoesNothing) {
  ASSERT_OK(store_->Delete(refs_[20]));
  ASSERT_OK(store_->Flush());
  Result<CompactionStats> st = Compact(store_.get(), 0.5);
  ASSERT_OK(st);
  EXPECT_EQ(st->containers_examined, 1u);
  EXPECT_EQ(st->containers_compacted, 0u);
  EXPECT_EQ(*store_->Get(refs_[20]), chunks_[20]);
}

TEST_F(CompactionTest, KeepsCidsDropsDeletedAndShrinks) {
  DeleteSome();
  Result<ContainerInfo> before = store_->GetContainerInfo(1);
  ASSERT_OK(before);
  Result<CompactionStats> st = Compact(store_.get(), 0.2);
  ASSERT_OK(st);
  EXPECT_EQ(st->containers_compacted, 1u);
  EXPECT_EQ(st->chunks_dropped, deleted_.size());
  EXPECT_EQ(st->groups_dropped, 1u);  // the wholly deleted first group
  EXPECT_GT(st->groups_rewritten, 0u);
  EXPECT_LT(st->bytes_after, st->bytes_before);
  EXPECT_EQ(st->bytes_before, before->stored_bytes);
  // Fresh reader: same refs, live chunks byte-exact, deleted ones gone.
  auto r = VmStore::Open(&mem_, "db", SmallStoreConfig());
  ASSERT_OK(r);
  for (size_t i = 0; i < refs_.size(); ++i) {
    Result<Bytes> got = (*r)->Get(refs_[i]);
    if (IsDeleted(i)) {
      EXPECT_THAT(got, StatusIs(StatusCode::kNotFound)) << i;
    } else {
      ASSERT_OK(got);
      EXPECT_EQ(*got, chunks_[i]) << i;
    }
  }
  Result<ContainerInfo> after = (*r)->GetContainerInfo(1);
  ASSERT_OK(after);
  EXPECT_EQ(after->generation, 2u);
  EXPECT_EQ(after->deleted_chunks, 0u);  // a fresh log for the new generation
  EXPECT_EQ(after->live_chunks, refs_.size() - deleted_.size());
  EXPECT_EQ(after->next_cid, before->next_cid);
  Result<std::vector<uint64_t>> present = (*r)->PresentCids(1);
  ASSERT_OK(present);
  EXPECT_EQ(present->size(), refs_.size() - deleted_.size());
  // Only the new generation's objects remain.
  for (const ObjectInfo& o : *mem_.List("vm/db/store/c0001/")) {
    EXPECT_EQ(o.name.find("g00000001"), std::string::npos) << o.name;
  }
}

TEST_F(CompactionTest, UntouchedGroupsAreCopiedWithoutDecoding) {
  for (size_t i = 0; i < 16; ++i) ASSERT_OK(store_->Delete(refs_[i]));
  ASSERT_OK(store_->Flush());
  Result<CompactionStats> st = Compact(store_.get(), 0.0);
  ASSERT_OK(st);
  EXPECT_EQ(st->groups_dropped, 1u);
  EXPECT_EQ(st->groups_rewritten, 0u);
  EXPECT_GT(st->groups_copied, 10u);
  for (size_t i = 16; i < refs_.size(); ++i) {
    ASSERT_EQ(*store_->Get(refs_[i]), chunks_[i]);
  }
}

TEST_F(CompactionTest, WriterContinuesInTheCompactedContainer) {
  DeleteSome();
  ASSERT_OK(Compact(store_.get(), 0.2));
  Result<ChunkRef> next = store_->Put(chunks_[1]);
  ASSERT_OK(next);
  ASSERT_OK(store_->Flush());
  EXPECT_EQ(next->container, 1);
  EXPECT_EQ(next->cid, refs_.back().cid + 1);  // CIDs never go back
  EXPECT_EQ(*store_->Get(*next), chunks_[1]);
  ASSERT_OK(store_->Delete(*next));
  ASSERT_OK(store_->Flush());
  auto r = VmStore::Open(&mem_, "db", SmallStoreConfig());
  ASSERT_OK(r);
  EXPECT_EQ(*(*r)->Get(*next), chunks_[1]);
  Result<std::vector<uint64_t>> dl = (*r)->DeletedCids(1);
  ASSERT_OK(dl);
  EXPECT_EQ(*dl, std::vector<uint64_t>{next->cid});
}

TEST_F(CompactionTest, ReaderOfTheOldGenerationRetries) {
  auto reader = VmStore::Open(&mem_, "db", SmallStoreConfig(),
                              StoreOptions{0, 0});  // no cache
  ASSERT_OK(reader);
  ASSERT_EQ(*(*reader)->Get(refs_[100]), chunks_[100]);  // loads gen 1 view
  DeleteSome();
  ASSERT_OK(Compact(store_.get(), 0.2));
  for (size_t i = 100; i < 140; ++i) {
    if (IsDeleted(i)) continue;
    Result<Bytes> got = (*reader)->Get(refs_[i]);
    ASSERT_OK(got);
    EXPECT_EQ(*got, chunks_[i]);
  }
}

// Two threads of one reader miss the old generation together; the one that
// reloads second finds the view already moved on. It must still retry (a
// restore beside a compaction failed this way, with NotFound of a gen-1
// block). The backend replays that interleaving deterministically: the
// first failed block read runs another Get of the same store before
// returning.
TEST_F(CompactionTest, ReaderRetriesWhenAnotherThreadReloadedFirst) {
  class Interleave : public ::vcsnap::testing::ForwardingBackend {
   public:
    using ForwardingBackend::ForwardingBackend;
    std::function<void()> on_failed_read;
    Result<Bytes> Read(std::string_view n, uint64_t o, uint64_t l) override {
      Result<Bytes> r = ForwardingBackend::Read(n, o, l);
      if (!r.ok() && on_failed_read) std::exchange(on_failed_read, nullptr)();
      return r;
    }
  };
  Interleave backend(&mem_);
  auto reader = VmStore::Open(&backend, "db", SmallStoreConfig(),
                              StoreOptions{0, 0});  // no cache
  ASSERT_OK(reader);
  ASSERT_EQ(*(*reader)->Get(refs_[100]), chunks_[100]);  // loads gen 1 view
  DeleteSome();
  ASSERT_OK(Compact(store_.get(), 0.2));
  bool other_ok = false;
  backend.on_failed_read = [&] {
    Result<Bytes> got = (*reader)->Get(refs_[101]);  // "the other thread"
    other_ok = got.ok() && *got == chunks_[101];
  };
  Result<Bytes> got = (*reader)->Get(refs_[102]);
  EXPECT_TRUE(other_ok);
  ASSERT_OK(got);
  EXPECT_EQ(*got, chunks_[102]);
}

TEST_F(CompactionTest, EverythingDeletedKeepsTheCidCounter) {
  for (const ChunkRef& r : refs_) ASSERT_OK(store_->Delete(r));
  ASSERT_OK(store_->Flush());
  Result<CompactionStats> st = Compact(store_.get(), 0.5);
  ASSERT_OK(st);
  EXPECT_EQ(st->bytes_after, 0u);
  auto r = VmStore::Open(&mem_, "db", SmallStoreConfig());
  ASSERT_OK(r);
  Result<ChunkRef> next = (*r)->Put(chunks_[0]);
  ASSERT_OK(next);
  ASSERT_OK((*r)->Flush());
  EXPECT_EQ(next->cid, refs_.back().cid + 1);
  EXPECT_THAT((*r)->Get(refs_[0]), StatusIs(StatusCode::kNotFound));
  EXPECT_EQ(*(*r)->Get(*next), chunks_[0]);
}

TEST_F(CompactionTest, MissingContainerIsNotFound) {
  EXPECT_THAT(CompactContainer(store_.get(), 9, 0.1),
              StatusIs(StatusCode::kNotFound));
}

}  // namespace
}  // namespace vcsnap
