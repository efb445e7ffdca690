// VmStore: round trips across group/block/container boundaries, visibility,
// deletion, corruption reporting, concurrency, salvage.
#include "store/vm_store.h"

#include <gtest/gtest.h>

#include <thread>

#include "backend/fault_backend.h"
#include "backend/mem_backend.h"
#include "store/compaction.h"
#include "store/store_testing.h"
#include "testing/status_matchers.h"

namespace vcsnap {
namespace {

using ::vcsnap::testing::CutChunks;
using ::vcsnap::testing::RealContent;
using ::vcsnap::testing::SmallStoreConfig;
using ::vcsnap::testing::StatusIs;
using ::vcsnap::testing::StatusIsWith;

class VmStoreTest : public ::testing::Test {
 protected:
  void SetUp() override { chunks_ = CutChunks(RealContent(4u << 20), 4096); }
  std::unique_ptr<VmStore> OpenStore(Backend* b, const std::string& vm = "web1",
                                     RepoConfig config = SmallStoreConfig()) {
    auto s = VmStore::Open(b, vm, config);
    EXPECT_OK(s);
    return std::move(*s);
  }
  std::vector<ChunkRef> PutAll(VmStore* s) {
    std::vector<ChunkRef> refs;
    for (const Bytes& c : chunks_) {
      Result<ChunkRef> r = s->Put(c);
      EXPECT_OK(r);
      refs.push_back(*r);
    }
    EXPECT_OK(s->Flush());
    return refs;
  }
  // Every chunk into a fresh store of mem_, a new container from chunk
  // `split` on.
  std::vector<ChunkRef> PutSealingAt(size_t split) {
    auto s = OpenStore(&mem_);
    std::vector<ChunkRef> refs;
    for (size_t i = 0; i < chunks_.size(); ++i) {
      if (i == split) {
        EXPECT_OK(s->SealContainer());
      }
      Result<ChunkRef> r = s->Put(chunks_[i]);
      EXPECT_OK(r);
      refs.push_back(r.ok() ? *r : ChunkRef{});
    }
    EXPECT_OK(s->Flush());
    return refs;
  }
  void ExpectAll(VmStore* s, const std::vector<ChunkRef>& refs) {
    for (size_t i = 0; i < refs.size(); ++i) {
      Result<Bytes> got = s->Get(refs[i]);
      ASSERT_OK(got) << i;
      ASSERT_EQ(*got, chunks_[i]) << i;
    }
  }

  MemBackend mem_{1u << 20};
  std::vector<Bytes> chunks_;
};

TEST_F(VmStoreTest, RoundTripAcrossGroupsBlocksAndContainers) {
  for (CompressionKind k : {CompressionKind::kNone, CompressionKind::kLz4,
                            CompressionKind::kZstd}) {
    MemBackend mem(1u << 20);
    auto s = OpenStore(&mem, "web1", SmallStoreConfig(k));
    std::vector<ChunkRef> refs = PutAll(s.get());
    ExpectAll(s.get(), refs);
    // CIDs increase within a container; containers number from 1.
    EXPECT_EQ(refs.front(), (ChunkRef{1, 0}));
    for (size_t i = 1; i < refs.size(); ++i) {
      if (refs[i].container == refs[i - 1].container) {
        EXPECT_EQ(refs[i].cid, refs[i - 1].cid + 1);
      } else {
        EXPECT_EQ(refs[i].container, refs[i - 1].container + 1);
        EXPECT_EQ(refs[i].cid, 0u);
      }
    }
    Result<std::vector<ContainerInfo>> cs = s->ListContainers();
    ASSERT_OK(cs);
    EXPECT_GE(cs->size(), k == CompressionKind::kNone ? 2u : 1u);
    uint64_t chunks = 0;
    for (const ContainerInfo& c : *cs) chunks += c.live_chunks;
    EXPECT_EQ(chunks, chunks_.size());
    // No block exceeds the object limit (the backend enforces it too).
    Result<std::vector<ObjectInfo>> objs = mem.List("vm/web1/store/");
    ASSERT_OK(objs);
    size_t blocks = 0;
    for (const ObjectInfo& o : *objs)
      blocks += o.name.find("/b0") != std::string::npos;
    EXPECT_GE(blocks, 2u);
  }
}

// GetInto copies a chunk in place only when the caller's length is its
// length; otherwise it reports the length and leaves the buffer alone.
TEST_F(VmStoreTest, GetIntoCopiesOnlyAChunkOfTheExpectedLength) {
  MemBackend mem(1u << 20);
  auto s = OpenStore(&mem, "web1", SmallStoreConfig(CompressionKind::kZstd));
  std::vector<ChunkRef> refs = PutAll(s.get());
  ASSERT_OK(s->Flush());
  for (size_t i = 0; i < refs.size(); i += 7) {
    const Bytes& want = chunks_[i];
    Bytes exact(want.size(), 0xEE);
    Result<uint32_t> n = s->GetInto(refs[i], exact);
    ASSERT_OK(n);
    EXPECT_EQ(*n, want.size());
    EXPECT_EQ(exact, want);
    Bytes longer(want.size() + 1, 0xEE);
    n = s->GetInto(refs[i], longer);
    ASSERT_OK(n);
    EXPECT_EQ(*n, want.size());
    EXPECT_EQ(longer, Bytes(want.size() + 1, 0xEE));
  }
  Bytes any(16);
  EXPECT_FALSE(s->GetInto(ChunkRef{1, 1u << 30}, any).ok());
}

TEST_F(VmStoreTest, ReopenedStoreReadsEverything) {
  std::vector<ChunkRef> refs;
  {
    auto s = OpenStore(&mem_);
    refs = PutAll(s.get());
  }
  auto r = OpenStore(&mem_);
  ExpectAll(r.get(), refs);
  // And a reopened writer continues after the last CID.
  Result<ChunkRef> next = r->Put(chunks_[0]);
  ASSERT_OK(next);
  EXPECT_EQ(next->container, refs.back().container);
  EXPECT_EQ(next->cid, refs.back().cid + 1);
}

TEST_F(VmStoreTest, UnflushedChunksAreInvisible) {
  auto s = OpenStore(&mem_);
  Result<ChunkRef> a = s->Put(chunks_[0]);
  ASSERT_OK(a);
  EXPECT_THAT(s->Get(*a), StatusIs(StatusCode::kNotFound));
  auto other = OpenStore(&mem_);
  EXPECT_THAT(other->Get(*a), StatusIs(StatusCode::kNotFound));
  ASSERT_OK(s->Flush());
  ASSERT_OK(s->Get(*a));
  // The other instance sees it after reloading the index on a miss.
  Result<Bytes> got = other->Get(*a);
  ASSERT_OK(got);
  EXPECT_EQ(*got, chunks_[0]);
}

TEST_F(VmStoreTest, StoresOfTwoVmsAreSeparate) {
  auto a = OpenStore(&mem_, "a");
  auto b = OpenStore(&mem_, "b");
  Result<ChunkRef> ra = a->Put(chunks_[0]);
  Result<ChunkRef> rb = b->Put(chunks_[1]);
  ASSERT_OK(ra);
  ASSERT_OK(rb);
  ASSERT_OK(a->Flush());
  ASSERT_OK(b->Flush());
  EXPECT_EQ(*ra, *rb);  // same reference, different stores
  EXPECT_EQ(*a->Get(*ra), chunks_[0]);
  EXPECT_EQ(*b->Get(*rb), chunks_[1]);
  Result<std::vector<ObjectInfo>> objs = mem_.List("vm/a/");
  ASSERT_OK(objs);
  for (const ObjectInfo& o : *objs)
    EXPECT_TRUE(o.name.starts_with("vm/a/store/c0001/"));
}

TEST_F(VmStoreTest, DeleteIsLoggedAndDurableAfterFlush) {
  auto s = OpenStore(&mem_);
  std::vector<ChunkRef> refs = PutAll(s.get());
  ASSERT_OK(s->Delete(refs[3]));
  ASSERT_OK(s->Delete(refs[5]));
  ASSERT_OK(s->Delete(refs[3]));
  EXPECT_THAT(s->Delete(ChunkRef{1, 999999}), StatusIs(StatusCode::kNotFound));
  EXPECT_THAT(s->Delete(ChunkRef{77, 0}), StatusIs(StatusCode::kNotFound));
  Result<std::vector<uint64_t>> before = s->DeletedCids(1);
  ASSERT_OK(before);
  EXPECT_TRUE(before->empty());
  ASSERT_OK(s->Flush());
  auto r = OpenStore(&mem_);
  Result<std::vector<uint64_t>> after = r->DeletedCids(1);
  ASSERT_OK(after);
  EXPECT_EQ(*after, (std::vector<uint64_t>{refs[3].cid, refs[5].cid}));
  // Lazy deletion: the bytes stay readable until compaction.
  EXPECT_EQ(*r->Get(refs[3]), chunks_[3]);
  Result<ContainerInfo> info = r->GetContainerInfo(1);
  ASSERT_OK(info);
  EXPECT_EQ(info->deleted_chunks, 2u);
}

TEST_F(VmStoreTest, CorruptionNamesVmContainerAndOffset) {
  FaultBackend fault(&mem_);
  auto s = OpenStore(&fault);
  std::vector<ChunkRef> refs = PutAll(s.get());
  Result<std::vector<IndexEntry>> idx = s->GroupIndex(1);
  ASSERT_OK(idx);
  ASSERT_GE(idx->size(), 3u);
  const IndexEntry& e = (*idx)[2];
  fault.CorruptReads(BlockName("web1", 1, 1, e.block), e.offset + e.length / 2);
  auto r = OpenStore(&fault);
  Result<Bytes> got = r->Get(ChunkRef{1, e.first_cid});
  EXPECT_THAT(got,
              StatusIsWith(StatusCode::kCorruption, "vm web1 container 0001"));
  EXPECT_THAT(got, StatusIsWith(StatusCode::kCorruption,
                                "offset " + std::to_string(e.offset)));
  // Other groups still read.
  EXPECT_EQ(*r->Get(refs[0]), chunks_[0]);
}

TEST_F(VmStoreTest, TruncatedBlockIsCorruptionNotShortData) {
  auto s = OpenStore(&mem_);
  std::vector<ChunkRef> refs = PutAll(s.get());
  const std::string block = BlockName("web1", 1, 1, 0);
  Result<Bytes> b = mem_.Get(block);
  ASSERT_OK(b);
  b->resize(b->size() - 10);
  ASSERT_OK(mem_.Put(block, *b));
  Result<std::vector<IndexEntry>> idx = s->GroupIndex(1);
  ASSERT_OK(idx);
  uint64_t last_cid = 0;
  for (const IndexEntry& e : *idx) {
    if (e.block == 0) last_cid = e.first_cid;
  }
  auto r = OpenStore(&mem_);
  EXPECT_THAT(r->Get(ChunkRef{1, last_cid}),
              StatusIsWith(StatusCode::kCorruption, "truncated group"));
}

TEST_F(VmStoreTest, DamagedIndexIsReportedThenSalvaged) {
  std::vector<ChunkRef> refs;
  {
    auto s = OpenStore(&mem_);
    refs = PutAll(s.get());
  }
  const std::string index = IndexName("web1", 1, 1);
  Result<Bytes> bytes = mem_.Get(index);
  ASSERT_OK(bytes);
  (*bytes)[kIndexHeaderSize + 5] ^= 0x40;
  ASSERT_OK(mem_.Put(index, *bytes));
  auto r = OpenStore(&mem_);
  EXPECT_THAT(r->Get(refs[0]), StatusIsWith(StatusCode::kCorruption, "index"));
  // A writer refuses to append to a container it cannot trust.
  EXPECT_THAT(r->Put(chunks_[0]), StatusIs(StatusCode::kCorruption));
  Result<SalvageStats> st = r->SalvageIndex(1);
  ASSERT_OK(st);
  EXPECT_GT(st->groups, 0u);
  EXPECT_EQ(st->bytes_ignored, 0u);
  ExpectAll(r.get(), refs);
  auto again = OpenStore(&mem_);
  ExpectAll(again.get(), refs);
}

// A salvaged container takes no new chunks: its lost groups may have held
// CIDs that recipes still name.
TEST_F(VmStoreTest, SalvagedContainerIsClosedToNewChunks) {
  std::vector<ChunkRef> refs;
  {
    auto s = OpenStore(&mem_);
    refs = PutAll(s.get());
  }
  const uint16_t last = refs.back().container;
  const std::string index = IndexName("web1", last, 1);
  Result<Bytes> bytes = mem_.Get(index);
  ASSERT_OK(bytes);
  (*bytes)[3] ^= 1;  // the header: its base CID is lost with it
  ASSERT_OK(mem_.Put(index, *bytes));
  auto r = OpenStore(&mem_);
  Result<std::vector<MetadataRepair>> dry = r->RepairMetadata(true);
  ASSERT_OK(dry);
  ASSERT_EQ(dry->size(), 1u);
  EXPECT_EQ((*dry)[0].kind, MetadataRepair::Kind::kIndex);
  EXPECT_FALSE((*dry)[0].done);
  EXPECT_EQ(*mem_.Get(index), *bytes) << "a dry run changed the index";
  Result<std::vector<MetadataRepair>> done = r->RepairMetadata(false);
  ASSERT_OK(done);
  ASSERT_EQ(done->size(), 1u);
  EXPECT_TRUE((*done)[0].done);
  EXPECT_GT((*done)[0].salvage.chunks, 0u);
  EXPECT_THAT((*done)[0].Describe(), ::testing::HasSubstr("takes no new"));
  ExpectAll(r.get(), refs);
  Result<ChunkRef> next = r->Put(chunks_[0]);
  ASSERT_OK(next);
  EXPECT_EQ(next->container, last + 1);
  ASSERT_OK(r->Flush());
  auto again = OpenStore(&mem_);
  ExpectAll(again.get(), refs);
  EXPECT_EQ(*again->Get(*next), chunks_[0]);
  Result<std::vector<MetadataRepair>> none = again->RepairMetadata(false);
  ASSERT_OK(none);
  EXPECT_TRUE(none->empty());
}

// A lost index looks like a crash before the container's first index
// entry: the writer indexes the blocks instead of deleting them, and
// RepairMetadata does the same for any container.
TEST_F(VmStoreTest, BlocksWithoutAnIndexAreIndexedNeverDeleted) {
  const std::vector<ChunkRef> refs = PutSealingAt(100);
  ASSERT_FALSE(HasFatalFailure());
  const uint16_t last = refs.back().container;
  ASSERT_GT(last, 1);
  ASSERT_OK(mem_.Delete(IndexName("web1", 1, 1)));
  ASSERT_OK(mem_.Delete(IndexName("web1", last, 1)));
  auto w = OpenStore(&mem_);
  Result<ChunkRef> next = w->Put(chunks_[0]);  // the writer meets `last`
  ASSERT_OK(next);
  ASSERT_OK(w->Flush());
  EXPECT_EQ(next->container, last + 1);
  std::vector<MetadataRepair> repairs = w->TakeRepairs();
  ASSERT_EQ(repairs.size(), 1u);
  EXPECT_EQ(repairs[0].kind, MetadataRepair::Kind::kUnindexedData);
  EXPECT_EQ(repairs[0].container, last);
  Result<std::vector<MetadataRepair>> dry = w->RepairMetadata(true);
  ASSERT_OK(dry);
  ASSERT_EQ(dry->size(), 1u);  // container 1, below the writer's
  EXPECT_EQ((*dry)[0].container, 1);
  EXPECT_EQ((*dry)[0].kind, MetadataRepair::Kind::kUnindexedData);
  ASSERT_OK(w->RepairMetadata(false));
  auto r = OpenStore(&mem_);
  ExpectAll(r.get(), refs);
  EXPECT_EQ(*r->Get(*next), chunks_[0]);
}

// An index cut at a record boundary looks intact and shorter: the groups it
// lost look like a crash's. Neither compaction nor the next writer may drop
// them.
TEST_F(VmStoreTest, TruncatedIndexIsNeverTakenForCrashDebris) {
  const std::vector<ChunkRef> refs = PutSealingAt(300);
  ASSERT_FALSE(HasFatalFailure());
  const uint16_t last = refs.back().container;
  ASSERT_GT(last, 1);
  for (uint16_t c : {uint16_t{1}, last}) {
    const std::string index = IndexName("web1", c, 1);
    Result<Bytes> bytes = mem_.Get(index);
    ASSERT_OK(bytes);
    ASSERT_GT(bytes->size(), kIndexHeaderSize + 2 * kIndexEntrySize);
    bytes->resize(kIndexHeaderSize + 2 * kIndexEntrySize);
    ASSERT_OK(mem_.Put(index, *bytes));
  }
  auto s = OpenStore(&mem_);
  // Compaction of container 1 refuses (below the writer's container).
  EXPECT_THAT(CompactContainer(s.get(), 1, 0.0),
              StatusIsWith(StatusCode::kCorruption, "no index entry covers"));
  // The writer's recovery (run by that compaction) indexed `last`'s groups.
  std::vector<MetadataRepair> repairs = s->TakeRepairs();
  ASSERT_EQ(repairs.size(), 1u);
  EXPECT_EQ(repairs[0].kind, MetadataRepair::Kind::kUnindexedData);
  EXPECT_EQ(repairs[0].container, last);
  // recover's repair indexes container 1's.
  Result<std::vector<MetadataRepair>> fixed = s->RepairMetadata(false);
  ASSERT_OK(fixed);
  ASSERT_EQ(fixed->size(), 1u);
  EXPECT_EQ((*fixed)[0].container, 1);
  auto r = OpenStore(&mem_);
  ExpectAll(r.get(), refs);
  ASSERT_OK(CompactContainer(r.get(), 1, 0.0));
  ExpectAll(r.get(), refs);
}

// Index and a block both damaged: salvage skips the damaged group and goes
// on with the next group of the same block.
TEST_F(VmStoreTest, SalvageResumesAfterADamagedGroup) {
  std::vector<ChunkRef> refs;
  {
    auto s = OpenStore(&mem_);
    refs = PutAll(s.get());
  }
  auto reader = OpenStore(&mem_);
  Result<std::vector<IndexEntry>> idx = reader->GroupIndex(1);
  ASSERT_OK(idx);
  ASSERT_GT(idx->size(), 3u);
  const IndexEntry hit = (*idx)[1];  // a group in the middle of block 0
  ASSERT_EQ(hit.block, 0u);
  ASSERT_EQ((*idx)[2].block, 0u);
  const std::string block = BlockName("web1", 1, 1, 0);
  Result<Bytes> b = mem_.Get(block);
  ASSERT_OK(b);
  (*b)[hit.offset + hit.length / 2] ^= 0x10;
  ASSERT_OK(mem_.Put(block, *b));
  const std::string index = IndexName("web1", 1, 1);
  Result<Bytes> i = mem_.Get(index);
  ASSERT_OK(i);
  (*i)[kIndexHeaderSize + 1] ^= 0x10;
  ASSERT_OK(mem_.Put(index, *i));
  auto s = OpenStore(&mem_);
  Result<SalvageStats> st = s->SalvageIndex(1);
  ASSERT_OK(st);
  EXPECT_EQ(st->bytes_ignored, hit.length);
  EXPECT_EQ(st->groups, idx->size() - 1);
  auto r = OpenStore(&mem_);
  for (size_t k = 0; k < refs.size(); ++k) {
    if (refs[k].container != 1) continue;
    Result<Bytes> got = r->Get(refs[k]);
    if (refs[k].cid >= hit.first_cid && refs[k].cid < hit.end_cid()) {
      EXPECT_THAT(got, StatusIs(StatusCode::kNotFound)) << k;
    } else {
      ASSERT_OK(got) << k;
      EXPECT_EQ(*got, chunks_[k]) << k;
    }
  }
}

TEST_F(VmStoreTest, SalvageReportsDuplicateCid) {
  {
    auto s = OpenStore(&mem_);
    PutAll(s.get());
  }
  // Append a copy of the first group (same CIDs) re-bound to the block's end.
  auto reader = OpenStore(&mem_);
  Result<std::vector<IndexEntry>> idx = reader->GroupIndex(1);
  ASSERT_OK(idx);
  const IndexEntry first = idx->front();
  uint64_t end = 0;
  for (const IndexEntry& e : *idx) {
    if (e.block == 0) end = e.offset + e.length;
  }
  const std::string block = BlockName("web1", 1, 1, 0);
  Result<Bytes> g = mem_.Read(block, first.offset, first.length);
  ASSERT_OK(g);
  Bytes copy = RebindGroup(*g, GroupPlace{"web1", 1, 1, block, end});
  Result<Bytes> whole = mem_.Get(block);
  ASSERT_OK(whole);
  whole->resize(end);
  whole->insert(whole->end(), copy.begin(), copy.end());
  MemBackend big;  // no 1 MiB limit for the doctored block
  for (const ObjectInfo& o : *mem_.List(""))
    ASSERT_OK(big.Put(o.name, *mem_.Get(o.name)));
  ASSERT_OK(big.Put(block, *whole));
  RepoConfig config = SmallStoreConfig();
  config.max_object_size = 2u << 20;
  auto s = OpenStore(&big, "web1", config);
  EXPECT_THAT(s->SalvageIndex(1),
              StatusIsWith(StatusCode::kCorruption, "duplicate CID"));
}

TEST_F(VmStoreTest, OversizedChunkIsRefused) {
  auto s = OpenStore(&mem_);
  Bytes big(s->max_chunk_size() + 1, 7);
  EXPECT_THAT(s->Put(big), StatusIs(StatusCode::kInvalidArgument));
  Bytes ok(s->max_chunk_size(), 7);
  Result<ChunkRef> r = s->Put(ok);
  ASSERT_OK(r);
  ASSERT_OK(s->Flush());
  EXPECT_EQ(*s->Get(*r), ok);
}

TEST_F(VmStoreTest, ConcurrentReadersWithAWriter) {
  auto s = OpenStore(&mem_);
  const size_t half = chunks_.size() / 2;
  std::vector<ChunkRef> refs;
  for (size_t i = 0; i < half; ++i) refs.push_back(*s->Put(chunks_[i]));
  ASSERT_OK(s->Flush());
  std::atomic<int> errors{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 3; ++t) {
    readers.emplace_back([&, t] {
      for (size_t i = t; i < half; i += 3) {
        Result<Bytes> got = s->Get(refs[i]);
        if (!got.ok() || *got != chunks_[i]) {
          ++errors;
        }
      }
    });
  }
  for (size_t i = half; i < chunks_.size(); ++i) {
    Result<ChunkRef> r = s->Put(chunks_[i]);
    ASSERT_OK(r);
    if (i % 100 == 0) {
      ASSERT_OK(s->Flush());
    }
  }
  ASSERT_OK(s->Flush());
  for (auto& t : readers) t.join();
  EXPECT_EQ(errors.load(), 0);
}

TEST_F(VmStoreTest, SealContainerStartsANewOne) {
  auto s = OpenStore(&mem_);
  Result<ChunkRef> a = s->Put(chunks_[0]);
  ASSERT_OK(s->SealContainer());
  Result<ChunkRef> b = s->Put(chunks_[1]);
  ASSERT_OK(s->Flush());
  EXPECT_EQ(a->container, 1);
  EXPECT_EQ(b->container, 2);
  EXPECT_EQ(*s->Get(*a), chunks_[0]);
  EXPECT_EQ(*s->Get(*b), chunks_[1]);
}

TEST_F(VmStoreTest, FailedFlushVoidsItsRefsAndTheWriterRecovers) {
  FaultBackend fault(&mem_);
  auto s = OpenStore(&fault);
  std::vector<ChunkRef> good;
  for (int i = 0; i < 40; ++i) good.push_back(*s->Put(chunks_[i]));
  ASSERT_OK(s->Flush());
  std::vector<ChunkRef> lost;
  for (int i = 40; i < 60; ++i) lost.push_back(*s->Put(chunks_[i]));
  fault.FailKind(OpKind::kSync);
  EXPECT_THAT(s->Flush(), StatusIs(StatusCode::kIOError));
  fault.ClearFaults();
  ASSERT_OK(s->Flush());  // recovery; nothing pending
  Result<ChunkRef> next = s->Put(chunks_[60]);
  ASSERT_OK(next);
  ASSERT_OK(s->Flush());
  EXPECT_GT(next->cid, lost.back().cid);  // void CIDs are not reused
  for (size_t i = 0; i < good.size(); ++i)
    EXPECT_EQ(*s->Get(good[i]), chunks_[i]);
  EXPECT_EQ(*s->Get(*next), chunks_[60]);
  for (const ChunkRef& r : lost) {
    EXPECT_THAT(s->Get(r), StatusIs(StatusCode::kNotFound));
  }
}

TEST_F(VmStoreTest, OpenRejectsBadArguments) {
  EXPECT_THAT(VmStore::Open(&mem_, ".hidden", SmallStoreConfig()),
              StatusIs(StatusCode::kInvalidArgument));
  MemBackend tiny(4096);
  EXPECT_THAT(VmStore::Open(&tiny, "a", SmallStoreConfig()),
              StatusIs(StatusCode::kInvalidArgument));
  auto s = OpenStore(&mem_);
  EXPECT_THAT(s->Get(ChunkRef{0, 1}), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(s->Get(ChunkRef{3, 1}), StatusIs(StatusCode::kNotFound));
}

}  // namespace
}  // namespace vcsnap
