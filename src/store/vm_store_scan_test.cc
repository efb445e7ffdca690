// VmStore::ScanGroups (the streaming read of check --read-data) and the
// group decoder it uses: round trips across containers, groups and read
// sizes; damage reported per group with its place while the scan goes on;
// compacted containers with holes; chunks logged for deletion but present.
#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <map>
#include <mutex>

#include "backend/fault_backend.h"
#include "backend/mem_backend.h"
#include "store/compaction.h"
#include "store/store_testing.h"
#include "store/vm_store.h"
#include "testing/forwarding_backend.h"
#include "testing/status_matchers.h"

namespace vcsnap {
namespace {

using ::vcsnap::testing::CutChunks;
using ::vcsnap::testing::RealContent;
using ::vcsnap::testing::SmallStoreConfig;
using ::vcsnap::testing::StatusIs;
using ::vcsnap::testing::StatusIsWith;

// Forwards to a backend and records the block reads (name, offset, length).
class RecordingBackend final : public ::vcsnap::testing::ForwardingBackend {
 public:
  struct ReadCall {
    std::string name;
    uint64_t offset, length;
  };
  explicit RecordingBackend(Backend* target) : ForwardingBackend(target) {}
  std::vector<ReadCall> TakeReads() {
    std::lock_guard lock(mu_);
    return std::exchange(reads_, {});
  }
  Result<Bytes> Read(std::string_view n, uint64_t o, uint64_t l) override {
    {
      std::lock_guard lock(mu_);
      reads_.push_back(ReadCall{std::string(n), o, l});
    }
    return ForwardingBackend::Read(n, o, l);
  }

 private:
  std::mutex mu_;
  std::vector<ReadCall> reads_;
};

// What one scan delivered.
struct Scanned {
  std::map<uint64_t, Bytes> chunks;  // raw ChunkRef -> bytes
  std::vector<std::pair<IndexEntry, Status>> bad;
  std::vector<uint64_t> order;  // CIDs in delivery order
};

class ScanTest : public ::testing::Test {
 protected:
  void SetUp() override { chunks_ = CutChunks(RealContent(8u << 20), 4096); }
  std::unique_ptr<VmStore> Open(Backend* b,
                                RepoConfig config = SmallStoreConfig()) {
    auto s = VmStore::Open(b, "web1", config);
    EXPECT_OK(s);
    return std::move(*s);
  }
  void PutAll(VmStore* s) {
    refs_.clear();
    for (const Bytes& c : chunks_) refs_.push_back(*s->Put(c));
    ASSERT_OK(s->Flush());
  }
  // Scans entries [begin, end) of `index` (all when end is SIZE_MAX).
  static Scanned Scan(VmStore* s, const ContainerIndex& index,
                      uint64_t read_bytes = 4u << 20, size_t begin = 0,
                      size_t end = SIZE_MAX,
                      std::function<bool(const IndexEntry&)> want = nullptr) {
    Scanned out;
    GroupScan scan;
    scan.want = std::move(want);
    scan.read_bytes = read_bytes;
    scan.chunk = [&](uint64_t cid, ByteView data) {
      const uint64_t raw = ChunkRef{index.container, cid}.raw();
      EXPECT_TRUE(
          out.chunks.emplace(raw, Bytes(data.begin(), data.end())).second)
          << "delivered twice: " << cid;
      out.order.push_back(cid);
    };
    scan.bad_group = [&](const IndexEntry& e, const Status& error) {
      out.bad.emplace_back(e, error);
    };
    EXPECT_OK(
        s->ScanGroups(index, begin, std::min(end, index.entries.size()), scan));
    return out;
  }
  // Scans every container of the store.
  static Scanned ScanAll(VmStore* s, uint64_t read_bytes = 4u << 20) {
    Scanned all;
    for (const ContainerInfo& c : *s->ListContainers()) {
      Result<ContainerIndex> index = s->LoadContainerIndex(c.id);
      EXPECT_OK(index);
      Scanned one = Scan(s, *index, read_bytes);
      all.chunks.merge(one.chunks);
      for (auto& b : one.bad) all.bad.push_back(b);
    }
    return all;
  }

  MemBackend mem_{1u << 20};
  std::vector<Bytes> chunks_;
  std::vector<ChunkRef> refs_;
};

TEST_F(ScanTest, RoundTripOverContainersGroupsCodecsAndReadSizes) {
  for (CompressionKind k : {CompressionKind::kNone, CompressionKind::kLz4,
                            CompressionKind::kZstd}) {
    SCOPED_TRACE(static_cast<int>(k));
    MemBackend mem(1u << 20);
    RecordingBackend rec(&mem);
    auto s = Open(&rec, SmallStoreConfig(k));
    PutAll(s.get());
    Result<std::vector<ContainerInfo>> cs = s->ListContainers();
    ASSERT_OK(cs);
    ASSERT_GE(cs->size(), 2u) << "needs several containers";
    size_t groups = 0;
    for (const ContainerInfo& c : *cs) groups += c.groups;
    size_t all_blocks = 0;
    for (const ObjectInfo& o : *mem.List("vm/web1/store/")) {
      all_blocks += o.name.find("/b0") != std::string::npos;
    }
    // 1 byte: every group read alone; 200 KiB: a few groups per read;
    // 4 MiB: one read per block (blocks are at most 1 MiB here).
    for (uint64_t read_bytes :
         {uint64_t{1}, uint64_t{200} << 10, uint64_t{4} << 20}) {
      rec.TakeReads();
      Scanned got = ScanAll(s.get(), read_bytes);
      EXPECT_TRUE(got.bad.empty()) << got.bad[0].second.ToString();
      ASSERT_EQ(got.chunks.size(), chunks_.size());
      for (size_t i = 0; i < refs_.size(); ++i) {
        ASSERT_EQ(got.chunks[refs_[i].raw()], chunks_[i]) << i;
      }
      size_t reads = 0;
      for (const auto& r : rec.TakeReads()) {
        if (r.name.find("/b0") == std::string::npos) continue;
        ++reads;
        EXPECT_LE(r.length, std::max<uint64_t>(read_bytes, 200u << 10));
      }
      if (read_bytes == 1) {
        EXPECT_EQ(reads, groups);
      } else if (read_bytes == (4u << 20)) {
        EXPECT_EQ(reads, all_blocks);
      }
      EXPECT_LT(reads, groups + 1);
    }
  }
}

TEST_F(ScanTest, RangesAreInCidOrderAndSplitTheWholeScan) {
  auto s = Open(&mem_);
  PutAll(s.get());
  Result<ContainerIndex> index = s->LoadContainerIndex(1);
  ASSERT_OK(index);
  ASSERT_GE(index->entries.size(), 10u);
  EXPECT_EQ(index->generation, 1u);
  Result<std::vector<IndexEntry>> current = s->GroupIndex(1);
  ASSERT_OK(current);
  ASSERT_EQ(index->entries.size(), current->size());
  for (size_t i = 0; i < current->size(); ++i) {
    EXPECT_EQ(index->entries[i].offset, (*current)[i].offset);
    EXPECT_EQ(index->entries[i].first_cid, (*current)[i].first_cid);
  }
  Scanned whole = Scan(s.get(), *index);
  EXPECT_TRUE(std::is_sorted(whole.order.begin(), whole.order.end()));
  // Three ranges cut anywhere deliver exactly the same chunks.
  const size_t n = index->entries.size();
  Scanned parts;
  for (auto [b, e] :
       {std::pair{size_t{0}, size_t{3}}, {3, n / 2}, {n / 2, n}}) {
    Scanned p = Scan(s.get(), *index, 4u << 20, b, e);
    ASSERT_EQ(p.order.front(), index->entries[b].first_cid);
    parts.chunks.merge(p.chunks);
  }
  EXPECT_EQ(parts.chunks, whole.chunks);
  GroupScan scan;
  scan.chunk = [](uint64_t, ByteView) {};
  scan.bad_group = [](const IndexEntry&, const Status&) {};
  EXPECT_THAT(s->ScanGroups(*index, 2, 1, scan),
              StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(s->ScanGroups(*index, 0, n + 1, scan),
              StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(s->LoadContainerIndex(77), StatusIs(StatusCode::kNotFound));
}

TEST_F(ScanTest, UnwantedGroupsAreNotRead) {
  RecordingBackend rec(&mem_);
  auto s = Open(&rec);
  PutAll(s.get());
  Result<ContainerIndex> index = s->LoadContainerIndex(1);
  ASSERT_OK(index);
  // Wanting every third group: no read touches the bytes of the others.
  std::map<uint64_t, bool> wanted;
  size_t want = 0;
  for (size_t i = 0; i < index->entries.size(); ++i) {
    wanted[index->entries[i].first_cid] = i % 3 == 1;
    if (i % 3 == 1) want += index->entries[i].live;
  }
  rec.TakeReads();
  Scanned got =
      Scan(s.get(), *index, 4u << 20, 0, SIZE_MAX,
           [&](const IndexEntry& e) { return wanted.at(e.first_cid); });
  EXPECT_TRUE(got.bad.empty());
  EXPECT_EQ(got.chunks.size(), want);
  for (const auto& [raw, bytes] : got.chunks) {
    ASSERT_EQ(bytes, chunks_[raw & kMaxCid]);  // container 1: CID = index
  }
  const std::vector<RecordingBackend::ReadCall> reads = rec.TakeReads();
  EXPECT_FALSE(reads.empty());
  for (const auto& r : reads) {
    for (size_t i = 0; i < index->entries.size(); ++i) {
      const IndexEntry& e = index->entries[i];
      if (i % 3 == 1 || BlockName("web1", 1, 1, e.block) != r.name) continue;
      EXPECT_TRUE(r.offset + r.length <= e.offset ||
                  e.offset + e.length <= r.offset)
          << "read of an unwanted group " << i;
    }
  }
}

// A damaged group in the middle of a coalesced read is reported alone, with
// its place; the groups before and after it in the same read are delivered.
TEST_F(ScanTest, CorruptedGroupIsReportedWithItsPlaceAndTheScanGoesOn) {
  FaultBackend fault(&mem_);
  auto s = Open(&fault);
  PutAll(s.get());
  Result<ContainerIndex> index = s->LoadContainerIndex(1);
  ASSERT_OK(index);
  const IndexEntry e = index->entries[3];
  ASSERT_EQ(e.block, index->entries[2].block);  // one read covers 2..4
  ASSERT_EQ(e.block, index->entries[4].block);
  fault.CorruptReads(BlockName("web1", 1, 1, e.block), e.offset + e.length / 2);
  Scanned got = Scan(s.get(), *index);
  ASSERT_EQ(got.bad.size(), 1u);
  EXPECT_EQ(got.bad[0].first.first_cid, e.first_cid);
  const Status& error = got.bad[0].second;
  EXPECT_THAT(error, StatusIsWith(StatusCode::kCorruption,
                                  "vm web1 container 0001 gen 1 "
                                  "(vm/web1/store/c0001/g00000001/b000000) "
                                  "offset " +
                                      std::to_string(e.offset)));
  EXPECT_THAT(error, StatusIsWith(StatusCode::kCorruption, "checksum"));
  // The error is the one Get gives for the same chunk.
  EXPECT_EQ(Open(&fault)->Get(ChunkRef{1, e.first_cid}).status().message(),
            error.message());
  uint64_t live = 0;
  for (const IndexEntry& x : index->entries) live += x.live;
  EXPECT_EQ(got.chunks.size(), live - e.live);
  for (uint64_t cid = e.first_cid; cid < e.end_cid(); ++cid) {
    EXPECT_EQ(got.chunks.count(ChunkRef{1, cid}.raw()), 0u);
  }
  EXPECT_EQ(got.chunks.at(ChunkRef{1, e.end_cid()}.raw()),
            chunks_[e.end_cid()]);
}

TEST_F(ScanTest, TruncatedAndMissingBlocksAreBadGroupsNamingThePlace) {
  auto s = Open(&mem_);
  PutAll(s.get());
  Result<ContainerIndex> index = s->LoadContainerIndex(1);
  ASSERT_OK(index);
  const std::string b0 = BlockName("web1", 1, 1, 0);
  Result<Bytes> bytes = mem_.Get(b0);
  ASSERT_OK(bytes);
  bytes->resize(bytes->size() - 10);
  ASSERT_OK(mem_.Put(b0, *bytes));
  ASSERT_OK(mem_.Delete(BlockName("web1", 1, 1, 1)));
  Scanned got = Scan(s.get(), *index);
  size_t truncated = 0, missing = 0;
  for (const auto& [e, error] : got.bad) {
    if (e.block == 0) {
      ++truncated;
      EXPECT_THAT(error, StatusIsWith(StatusCode::kCorruption,
                                      "truncated group: the block holds"));
      EXPECT_EQ(e.offset + e.length, bytes->size() + 10);  // the last group
    } else {
      ++missing;
      EXPECT_EQ(e.block, 1u);
      EXPECT_THAT(error, StatusIsWith(StatusCode::kNotFound, "b000001"));
    }
  }
  EXPECT_EQ(truncated, 1u);
  size_t in_block1 = 0;
  for (const IndexEntry& e : index->entries) in_block1 += e.block == 1;
  ASSERT_GT(in_block1, 0u);
  EXPECT_EQ(missing, in_block1);
  EXPECT_EQ(got.chunks.at(refs_[0].raw()), chunks_[0]);  // block 0 still read
}

TEST_F(ScanTest, CompactedContainerWithHolesAndDeletedButPresentChunks) {
  auto s = Open(&mem_);
  PutAll(s.get());
  // Delete the first group's chunks and every third chunk of container 1,
  // and every fifth of container 2 (which is then not compacted).
  std::vector<bool> deleted(refs_.size());
  for (size_t i = 0; i < refs_.size(); ++i) {
    const bool c1 = refs_[i].container == 1;
    deleted[i] = c1 ? (i < 16 || i % 3 == 0) : i % 5 == 0;
    if (deleted[i]) {
      ASSERT_OK(s->Delete(refs_[i]));
    }
  }
  ASSERT_OK(s->Flush());
  Result<ContainerIndex> stale = s->LoadContainerIndex(1);
  ASSERT_OK(stale);
  ASSERT_OK(CompactContainer(s.get(), 1, 0.0));
  Result<ContainerIndex> index = s->LoadContainerIndex(1);
  ASSERT_OK(index);
  EXPECT_EQ(index->generation, 2u);
  EXPECT_GT(index->entries.front().first_cid, 0u);  // group 0 dropped
  Scanned got = ScanAll(s.get());
  EXPECT_TRUE(got.bad.empty());
  for (size_t i = 0; i < refs_.size(); ++i) {
    auto it = got.chunks.find(refs_[i].raw());
    if (refs_[i].container == 1 && deleted[i]) {
      EXPECT_EQ(it, got.chunks.end()) << "a hole was delivered: " << i;
    } else {
      // Live chunks, and chunks logged for deletion but not yet compacted.
      ASSERT_NE(it, got.chunks.end()) << i;
      EXPECT_EQ(it->second, chunks_[i]) << i;
    }
  }
  // A plan made before the compaction names the vanished generation.
  Scanned old = Scan(s.get(), *stale);
  EXPECT_TRUE(old.chunks.empty());
  ASSERT_EQ(old.bad.size(), stale->entries.size());
  EXPECT_THAT(old.bad[0].second,
              StatusIsWith(StatusCode::kNotFound, "container 0001 gen 1"));
}

TEST(GroupView, DecodesLikeDecodeGroupWithoutCopyingRawPayloads) {
  const std::vector<Bytes> chunks = CutChunks(RealContent(256u << 10), 4096);
  const std::string block = "vm/v/store/c0001/g00000001/b000000";
  const GroupPlace place{"v", 1, 1, block, 4096};
  GroupView view;
  for (CompressionKind k : {CompressionKind::kNone, CompressionKind::kZstd}) {
    std::vector<uint32_t> lens;
    Bytes raw;
    for (size_t i = 0; i < 20; ++i) {
      const bool absent = i % 7 == 3;
      lens.push_back(absent ? kAbsentBit
                            : static_cast<uint32_t>(chunks[i].size()));
      if (!absent) raw.insert(raw.end(), chunks[i].begin(), chunks[i].end());
    }
    Bytes scratch;
    Bytes g = EncodeGroup(k, 1, 1, 100, lens, raw, place, &scratch);
    ASSERT_OK(DecodeGroupView(g, place, GroupLimits{}, &view));
    EXPECT_EQ(view.first_cid, 100u);
    EXPECT_EQ(view.count(), 20u);
    EXPECT_EQ(view.live(), 17u);
    const bool inside =
        view.data.data() >= g.data() && view.data.data() < g.data() + g.size();
    EXPECT_EQ(inside, k == CompressionKind::kNone);
    for (size_t i = 0; i < 20; ++i) {
      ASSERT_EQ(view.Present(100 + i), i % 7 != 3);
      if (i % 7 == 3) continue;
      ByteView c = view.Chunk(100 + i);
      ASSERT_EQ(Bytes(c.begin(), c.end()), chunks[i]) << i;
    }
    EXPECT_FALSE(view.Present(99));
    EXPECT_FALSE(view.Present(120));
    // Damage: the same error as DecodeGroup.
    g[g.size() / 2] ^= 1;
    Status bad = DecodeGroupView(g, place, GroupLimits{}, &view);
    EXPECT_THAT(bad, StatusIsWith(StatusCode::kCorruption, "checksum"));
    EXPECT_EQ(bad.message(),
              DecodeGroup(g, place, GroupLimits{}).status().message());
  }
}

}  // namespace
}  // namespace vcsnap
