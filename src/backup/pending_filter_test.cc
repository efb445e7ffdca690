// The counting filter a backup moves along: however its updates wait (a
// first backup's until Finish(), an incremental's until the parent's filter
// is loaded), the result equals applying them to the filter in order.
#include "backup/pending_filter.h"

#include <random>
#include <utility>
#include <vector>

#include "backend/mem_backend.h"
#include "testing/status_matchers.h"

namespace vcsnap {
namespace {

using Update = std::pair<uint64_t, bool>;  // (ref, add)

// Runs of consecutive new references (as a first backup numbers its
// chunks), repeats of earlier ones, and removes -- some pushing a counter
// past its saturation (15) and back, where the order of updates matters.
std::vector<Update> Updates(uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<Update> out;
  std::vector<uint64_t> added;
  uint64_t next = 1000;
  for (int step = 0; step < 400; ++step) {
    switch (rng() % 4) {
      case 0:
      case 1:
        for (uint64_t n = 1 + rng() % 50; n > 0; --n) {
          out.emplace_back(next, true);
          added.push_back(next++);
        }
        break;
      case 2:
        if (!added.empty()) {
          const uint64_t ref = added[rng() % added.size()];
          for (int i = 0; i < 18; ++i) out.emplace_back(ref, true);
          for (int i = 0; i < 3; ++i) out.emplace_back(ref, false);
        }
        break;
      default:
        if (!added.empty()) {
          const size_t i = rng() % added.size();
          out.emplace_back(added[i], false);
          added.erase(added.begin() + static_cast<ptrdiff_t>(i));
        }
    }
  }
  return out;
}

CountingBloom Direct(CountingBloom c, const std::vector<Update>& updates) {
  for (const auto& [ref, add] : updates) {
    if (add) {
      c.Add(ref);
    } else {
      c.Remove(ref);
    }
  }
  return c;
}

void Feed(PendingFilter& p, const std::vector<Update>& updates, size_t from,
          size_t to) {
  for (size_t i = from; i < to; ++i) {
    if (updates[i].second) {
      p.Add(updates[i].first);
    } else {
      p.Remove(updates[i].first);
    }
  }
}

constexpr BloomParams kParams{4099, 3};

TEST(PendingFilterTest, AFirstBackupsFilterIsMadeAtFinishWithEveryUpdate) {
  for (uint64_t seed = 1; seed <= 5; ++seed) {
    const std::vector<Update> updates = Updates(seed);
    PendingFilter p(kParams);
    Feed(p, updates, 0, updates.size() / 2);
    ASSERT_OK(p.Poll());  // nothing to load: the updates keep waiting
    Feed(p, updates, updates.size() / 2, updates.size());
    auto f = p.Finish();
    ASSERT_OK(f);
    const CountingBloom want = Direct(NewVmFilterCounts(kParams), updates);
    EXPECT_EQ((*f)->filter.Encode(), want.Encode()) << "seed " << seed;
    EXPECT_EQ((*f)->filter.frame().before, kVmFilterFrame.before);
    EXPECT_TRUE(p.note().empty());
    // Finished: later updates go straight to the filter.
    p.Add(7);
    EXPECT_TRUE((*f)->filter.MayContain(7));
  }
}

TEST(PendingFilterTest, AFirstBackupWithoutReferencesHasAnEmptyFilter) {
  PendingFilter p(kParams);
  auto f = p.Finish();
  ASSERT_OK(f);
  EXPECT_EQ((*f)->filter.keys(), 0u);
  EXPECT_EQ((*f)->filter.params(), kParams);
}

TEST(PendingFilterTest, UpdatesWaitingForTheParentsFilterAreReplayedInOrder) {
  const std::vector<Update> before = Updates(11);
  const std::vector<Update> updates = Updates(12);
  MemBackend backend;
  VmFilter stored{3, Direct(NewVmFilterCounts(kParams), before)};
  ASSERT_OK(SaveVmFilter(backend, "vm1", &stored));
  SnapshotRecipe parent;
  parent.id = 3;
  PendingFilter p(&backend, "vm1", &parent, 1u << 21, nullptr);
  Feed(p, updates, 0, updates.size());  // most wait for the load
  auto f = p.Finish();
  ASSERT_OK(f);
  std::vector<Update> all = before;
  all.insert(all.end(), updates.begin(), updates.end());
  EXPECT_EQ((*f)->filter.Encode(),
            Direct(NewVmFilterCounts(kParams), all).Encode());
  EXPECT_EQ((*f)->snapshot, 3u);
}

}  // namespace
}  // namespace vcsnap
