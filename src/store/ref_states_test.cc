// RefStates: the state of every reference of a store with compaction holes
// and chunks logged for deletion, and the ranks it gives present chunks
// (check keeps one bit per rank, so ranks must be dense and distinct).
#include "store/ref_states.h"

#include <gtest/gtest.h>

#include <map>

#include "backend/mem_backend.h"
#include "store/compaction.h"
#include "store/store_testing.h"
#include "testing/status_matchers.h"

namespace vcsnap {
namespace {

using ::vcsnap::testing::CutChunks;
using ::vcsnap::testing::RealContent;
using ::vcsnap::testing::SmallStoreConfig;

TEST(RefStatesTest, StatesAndDenseRanksAcrossHolesAndDeletions) {
  MemBackend mem(1u << 20);
  Result<std::unique_ptr<VmStore>> s =
      VmStore::Open(&mem, "web1", SmallStoreConfig());
  ASSERT_OK(s);
  VmStore* store = s->get();
  std::vector<ChunkRef> refs;
  for (const Bytes& c : CutChunks(RealContent(8u << 20), 4096)) {
    Result<ChunkRef> r = store->Put(c);
    ASSERT_OK(r);
    refs.push_back(*r);
  }
  ASSERT_OK(store->Flush());
  ASSERT_GT(refs.back().container, refs.front().container);  // 2+ containers
  // Container 1 loses its first 16 chunks and every third one to a
  // compaction (holes); then every seventh chunk of the store is logged for
  // deletion but stays present.
  std::vector<RefState> want(refs.size(), RefState::kLive);
  for (size_t i = 0; i < refs.size(); ++i) {
    if (refs[i].container == 1 && (i < 16 || i % 3 == 0)) {
      ASSERT_OK(store->Delete(refs[i]));
      want[i] = RefState::kAbsent;
    }
  }
  ASSERT_OK(store->Flush());
  ASSERT_OK(CompactContainer(store, 1, 0.0));
  for (size_t i = 0; i < refs.size(); ++i) {
    if (want[i] == RefState::kLive && i % 7 == 0) {
      ASSERT_OK(store->Delete(refs[i]));
      want[i] = RefState::kDeleted;
    }
  }
  ASSERT_OK(store->Flush());

  RefStates states(store);
  std::map<uint16_t, std::vector<uint64_t>> ranks;  // in CID order
  for (size_t i = 0; i < refs.size(); ++i) {
    uint64_t rank = UINT64_MAX;
    Result<RefState> got = states.Get(refs[i], &rank);
    ASSERT_OK(got);
    ASSERT_EQ(*got, want[i]) << i;
    if (want[i] == RefState::kAbsent) {
      EXPECT_EQ(rank, UINT64_MAX) << i;  // untouched
    } else {
      ranks[refs[i].container].push_back(rank);
    }
  }
  // A CID past the container's last is absent too.
  ChunkRef past = refs.back();
  past.cid += 1000;
  EXPECT_EQ(*states.Get(past), RefState::kAbsent);
  // Per container, the present chunks (taken in CID order) have ranks 0, 1,
  // ..., Present() - 1.
  for (const auto& [container, r] : ranks) {
    ASSERT_EQ(states.Present(container), r.size()) << container;
    for (size_t k = 0; k < r.size(); ++k) EXPECT_EQ(r[k], k) << container;
  }
  size_t in1 = 0;
  for (const ChunkRef& r : refs) in1 += r.container == 1;
  EXPECT_LT(states.Present(1), 2 * in1 / 3);  // the holes are not ranked
  EXPECT_EQ(states.Present(999), 0u);         // never loaded

  // Marks: every fifth chunk (twice: the second time is not the first);
  // the unmarked live ones are exactly the rest, in CID order.
  std::map<uint16_t, std::vector<uint64_t>> want_unmarked;
  for (size_t i = 0; i < refs.size(); ++i) {
    bool first = false;
    if (i % 5 == 0) {
      ASSERT_EQ(*states.Mark(refs[i], &first), want[i]) << i;
      EXPECT_EQ(first, want[i] != RefState::kAbsent) << i;
      first = true;
      ASSERT_OK(states.Mark(refs[i], &first));
      EXPECT_EQ(first, want[i] == RefState::kAbsent) << i;  // absent: untouched
    } else if (want[i] == RefState::kLive) {
      want_unmarked[refs[i].container].push_back(refs[i].cid);
    }
  }
  for (const auto& [container, cids] : want_unmarked) {
    std::vector<uint64_t> got;
    ASSERT_OK(states.ForEachUnmarkedLive(container, [&](uint64_t cid) {
      got.push_back(cid);
      return Status::Ok();
    }));
    EXPECT_EQ(got, cids) << container;
  }
  // The callback's error stops the walk and is returned.
  int calls = 0;
  Status stop = states.ForEachUnmarkedLive(2, [&](uint64_t) {
    ++calls;
    return Status::Corruption("stop");
  });
  EXPECT_EQ(stop.message(), "stop");
  EXPECT_EQ(calls, 1);
}

}  // namespace
}  // namespace vcsnap
