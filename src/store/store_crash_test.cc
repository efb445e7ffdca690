// Crash tests with FaultBackend: a crash at every backend operation of a
// write workload and of a compaction; after Restart the store reopens, every
// chunk whose Flush returned OK reads back exactly, nothing unflushed is
// visible, and the writer continues.
#include <gtest/gtest.h>

#include "backend/fault_backend.h"
#include "backend/mem_backend.h"
#include "store/compaction.h"
#include "store/store_testing.h"
#include "store/vm_store.h"
#include "testing/status_matchers.h"

namespace vcsnap {
namespace {

using ::vcsnap::testing::CutChunks;
using ::vcsnap::testing::RealContent;
using ::vcsnap::testing::SmallStoreConfig;
using ::vcsnap::testing::StatusIs;

RepoConfig CrashConfig() {
  RepoConfig c = SmallStoreConfig(CompressionKind::kLz4);
  c.group_chunks = 8;
  c.max_object_size = 1u << 20;
  c.container_size = 1u << 20;
  return c;
}

struct Written {
  std::vector<std::pair<ChunkRef, size_t>> durable;  // ref, chunk index
  std::vector<std::pair<ChunkRef, size_t>> pending;
};

// Puts chunks [from, to) flushing every `every`; stops at the first error.
Status Workload(VmStore* s, const std::vector<Bytes>& chunks, size_t from,
                size_t to, size_t every, Written* w) {
  for (size_t i = from; i < to; ++i) {
    Result<ChunkRef> r = s->Put(chunks[i]);
    if (!r.ok()) return r.status();
    w->pending.emplace_back(*r, i);
    if ((i + 1) % every == 0 || i + 1 == to) {
      VCSNAP_RETURN_IF_ERROR(s->Flush());
      w->durable.insert(w->durable.end(), w->pending.begin(), w->pending.end());
      w->pending.clear();
    }
  }
  return Status::Ok();
}

// 0: crash drops every unsynced byte; 1: a random prefix of them survives
// (torn tail); 2: the crashing call takes effect first.
class StoreCrashTest : public ::testing::TestWithParam<int> {
 protected:
  void SetUp() override {
    // Many chunks cross a block and a container boundary (1 MiB each) with
    // few backend operations: compressible text-like content.
    chunks_ = CutChunks(RealContent(3u << 19), 16384);
  }
  std::vector<Bytes> chunks_;
};

TEST_P(StoreCrashTest, CrashAtEveryOperationOfAppendAndFlush) {
  const bool apply_then_crash = GetParam() == 2;
  const bool torn = GetParam() == 1;
  const size_t n = chunks_.size();
  // Dry run: count the operations of the workload.
  uint64_t ops = 0;
  {
    MemBackend mem(1u << 20);
    FaultBackend fault(&mem);
    auto s = VmStore::Open(&fault, "vm1", CrashConfig());
    ASSERT_OK(s);
    Written w;
    ASSERT_OK(Workload(s->get(), chunks_, 0, n, 40, &w));
    ops = fault.op_count();
  }
  ASSERT_GT(ops, 20u);
  for (uint64_t i = 1; i <= ops; ++i) {
    SCOPED_TRACE("crash at op " + std::to_string(i));
    MemBackend mem(1u << 20);
    FaultBackend fault(&mem);
    if (torn) fault.SetTornTail(i);
    Written w;
    {
      auto s = VmStore::Open(&fault, "vm1", CrashConfig());
      ASSERT_OK(s);
      fault.CrashAtNth(i, apply_then_crash);
      EXPECT_THAT(Workload(s->get(), chunks_, 0, n, 40, &w),
                  StatusIs(StatusCode::kIOError));
    }
    fault.Restart();
    auto s = VmStore::Open(&fault, "vm1", CrashConfig());
    ASSERT_OK(s);
    for (const auto& [ref, idx] : w.durable) {
      Result<Bytes> got = (*s)->Get(ref);
      ASSERT_OK(got) << ref.ToString();
      ASSERT_EQ(*got, chunks_[idx]) << ref.ToString();
    }
    for (const auto& [ref, idx] : w.pending) {
      Result<Bytes> got = (*s)->Get(ref);
      if ((apply_then_crash || torn) && got.ok()) {
        // Made durable just before the crash (or its whole index record
        // survived as a "torn" tail): correct bytes, never wrong ones.
        ASSERT_EQ(*got, chunks_[idx]);
      } else {
        ASSERT_THAT(got, StatusIs(StatusCode::kNotFound)) << ref.ToString();
      }
    }
    // The writer repairs the torn tails and continues.
    Written more;
    ASSERT_OK(Workload(s->get(), chunks_, 0, 30, 10, &more));
    auto check = VmStore::Open(&fault, "vm1", CrashConfig());
    ASSERT_OK(check);
    for (const auto* list : {&w.durable, &more.durable}) {
      for (const auto& [ref, idx] : *list) {
        Result<Bytes> got = (*check)->Get(ref);
        ASSERT_OK(got) << ref.ToString();
        ASSERT_EQ(*got, chunks_[idx]);
      }
    }
  }
}

TEST_P(StoreCrashTest, CrashAtEveryOperationOfCompaction) {
  const bool apply_then_crash = GetParam() == 2;
  const bool torn = GetParam() == 1;
  const size_t n = std::min<size_t>(chunks_.size(), 64);
  MemBackend base(1u << 20);
  std::vector<std::pair<ChunkRef, size_t>> live;
  std::vector<ChunkRef> dead;
  {
    auto s = VmStore::Open(&base, "vm1", CrashConfig());
    ASSERT_OK(s);
    Written w;
    ASSERT_OK(Workload(s->get(), chunks_, 0, n, n, &w));
    for (size_t k = 0; k < w.durable.size(); ++k) {
      // Delete whole groups (0..7), scattered chunks, and keep the rest.
      if (k < 8 || k % 3 == 0) {
        ASSERT_OK((*s)->Delete(w.durable[k].first));
        dead.push_back(w.durable[k].first);
      } else {
        live.push_back(w.durable[k]);
      }
    }
    ASSERT_OK((*s)->Flush());
  }
  auto copy_of = [&](MemBackend* to) {
    for (const ObjectInfo& o : *base.List("")) {
      ASSERT_OK(to->Put(o.name, *base.Get(o.name)));
    }
  };
  uint64_t ops = 0;
  {
    MemBackend mem(1u << 20);
    copy_of(&mem);
    FaultBackend fault(&mem);
    auto s = VmStore::Open(&fault, "vm1", CrashConfig());
    ASSERT_OK(s);
    uint64_t before = fault.op_count();
    Result<CompactionStats> st = Compact(s->get(), 0.1);
    ASSERT_OK(st);
    ASSERT_EQ(st->containers_compacted, 1u);
    ops = fault.op_count() - before;
  }
  for (uint64_t i = 1; i <= ops; ++i) {
    SCOPED_TRACE("crash at compaction op " + std::to_string(i));
    MemBackend mem(1u << 20);
    copy_of(&mem);
    FaultBackend fault(&mem);
    if (torn) fault.SetTornTail(i);
    {
      auto s = VmStore::Open(&fault, "vm1", CrashConfig());
      ASSERT_OK(s);
      fault.CrashAtNth(i, apply_then_crash);
      EXPECT_THAT(Compact(s->get(), 0.1), StatusIs(StatusCode::kIOError));
    }
    fault.Restart();
    auto s = VmStore::Open(&fault, "vm1", CrashConfig());
    ASSERT_OK(s);
    for (const auto& [ref, idx] : live) {
      Result<Bytes> got = (*s)->Get(ref);
      ASSERT_OK(got) << ref.ToString();
      ASSERT_EQ(*got, chunks_[idx]);
    }
    // Compaction completes on retry and leaves one generation.
    ASSERT_OK(Compact(s->get(), 0.1));
    for (const auto& [ref, idx] : live)
      ASSERT_EQ(*(*s)->Get(ref), chunks_[idx]);
    for (const ChunkRef& ref : dead) {
      ASSERT_THAT((*s)->Get(ref), StatusIs(StatusCode::kNotFound));
    }
    Result<std::vector<ObjectInfo>> objs = mem.List("vm/vm1/store/c0001/");
    ASSERT_OK(objs);
    for (const ObjectInfo& o : *objs) {
      EXPECT_TRUE(o.name.find("g00000001") == std::string::npos) << o.name;
    }
  }
}

std::string ModeName(const ::testing::TestParamInfo<int>& p) {
  static const char* const kNames[] = {"Crash", "TornTail", "ApplyThenCrash"};
  return kNames[p.param];
}

INSTANTIATE_TEST_SUITE_P(Modes, StoreCrashTest, ::testing::Values(0, 1, 2),
                         ModeName);

}  // namespace
}  // namespace vcsnap
