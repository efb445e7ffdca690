// Deletion end to end: approximate forget, retention, exact gc, compaction
// and check, over random histories of real backups.

#include "gc/gc_test.h"

#include <algorithm>
#include <cstring>
#include <fstream>
#include <iterator>
#include <map>
#include <random>
#include <set>

#include "backend/fault_backend.h"
#include "backend/mem_backend.h"
#include "backup/backup.h"
#include "backup/restore.h"
#include "gc/check.h"
#include "gc/forget.h"
#include "gc/gc_state.h"
#include "gc/sweep.h"
#include "pds/fp_run.h"
#include "pds/pds_table.h"
#include "pds/pds_update.h"
#include "recipe/bloom.h"
#include "recipe/catalog.h"
#include "recipe/lease.h"
#include "recipe/recipe_pack.h"
#include "recipe/snapshot_recipe.h"
#include "recipe/summary.h"
#include "store/vm_store.h"
#include "testing/forwarding_backend.h"
#include "testing/small_repo.h"
#include "testing/status_matchers.h"
#include "testing/temp_dir.h"

namespace vcsnap {
namespace {

using ::vcsnap::testing::StatusIs;
using ::vcsnap::testing::StatusIsWith;

TEST(Bloom, NoFalseNegativesAndAboutOnePercentFalsePositives) {
  for (uint64_t n : {10ull, 1000ull, 20000ull}) {
    BloomBits b(BloomParams::ForKeys(n));
    for (uint64_t i = 0; i < n; ++i) b.Add(i * 7919);
    for (uint64_t i = 0; i < n; ++i) ASSERT_TRUE(b.MayContain(i * 7919));
    int fp = 0;
    for (uint64_t i = 0; i < 20000; ++i) fp += b.MayContain((1ull << 40) + i);
    EXPECT_LT(fp, 20000 * 0.02) << n;
  }
}

TEST(Bloom, CountingFilterRemovesAndRoundTrips) {
  CountingBloom c(BloomParams::ForKeys(1000));
  for (uint64_t i = 0; i < 1000; ++i) c.Add(i);
  for (uint64_t i = 0; i < 500; ++i) c.Remove(i);
  for (uint64_t i = 500; i < 1000; ++i) ASSERT_TRUE(c.MayContain(i));
  int still = 0;
  for (uint64_t i = 0; i < 500; ++i) still += c.MayContain(i);
  EXPECT_LT(still, 25);
  auto d = CountingBloom::Decode(c.Encode());
  ASSERT_OK(d);
  EXPECT_EQ(d->keys(), 500u);
  BloomBits bits = d->ToBits();
  for (uint64_t i = 500; i < 1000; ++i) ASSERT_TRUE(bits.MayContain(i));
  auto e = BloomBits::Decode(bits.Encode());
  ASSERT_OK(e);
  EXPECT_TRUE(e->MayContain(777));
  Bytes unknown = bits.Encode();
  unknown[0] = 9;  // an encoding from the future
  EXPECT_TRUE(BloomBits::Decode(unknown)->contains_everything());
  Bytes bad = bits.Encode();
  bad.pop_back();
  EXPECT_THAT(BloomBits::Decode(bad), StatusIs(StatusCode::kCorruption));
}

// ToBits sets exactly the cells whose counter is not zero (read from the
// two encodings), for an odd number of cells and counters of every value.
TEST(Bloom, ToBitsSetsExactlyTheNonZeroCounters) {
  for (uint64_t cells : {1ull, 63ull, 64ull, 65ull, 1001ull, 40001ull}) {
    CountingBloom c(BloomParams{cells, 3});
    std::mt19937_64 rng(cells);
    std::vector<uint64_t> keys;
    for (uint64_t i = 0; i < cells / 3 + 1; ++i) {
      keys.push_back(rng());
      c.Add(keys.back());
    }
    for (size_t i = 0; i < keys.size(); i += 3) c.Remove(keys[i]);
    const Bytes counts = c.Encode();  // cells, hashes, keys, then nibbles
    const Bytes bits = c.ToBits().Encode();  // kind, cells, hashes, words
    ASSERT_EQ(counts.size(), 17 + (cells + 1) / 2);
    ASSERT_EQ(bits.size(), 10 + (cells + 63) / 64 * 8);
    uint64_t set = 0;
    for (uint64_t cell = 0; cell < cells; ++cell) {
      const bool counted = (counts[17 + cell / 2] >> (4 * (cell % 2))) & 0xf;
      const bool bit = (bits[10 + cell / 8] >> (cell % 8)) & 1;
      ASSERT_EQ(bit, counted) << cells << " cell " << cell;
      set += bit;
    }
    for (size_t i = 10 + (cells + 7) / 8; i < bits.size(); ++i) {
      ASSERT_EQ(bits[i], 0) << "padding";
    }
    if (cells > 64) {
      EXPECT_GT(set, 0u);
    }
  }
}

TEST(Bloom, ViewAnswersLikeTheDecodedFilterAndRejectsWhatDecodeRejects) {
  BloomBits b(BloomParams::ForKeys(3000));
  for (uint64_t i = 0; i < 3000; ++i) b.Add(i * 104729);
  const Bytes enc = b.Encode();
  auto v = BloomView::Parse(enc);
  ASSERT_OK(v);
  for (uint64_t k = 0; k < 100000; k += 7) {
    ASSERT_EQ(v->MayContain(k), b.MayContain(k)) << k;
  }
  Bytes unknown = enc;
  unknown[0] = 9;
  EXPECT_TRUE(BloomView::Parse(unknown)->contains_everything());
  EXPECT_TRUE(BloomView::Parse(unknown)->MayContain(12345));
  Bytes bad = enc;
  bad.pop_back();
  EXPECT_THAT(BloomView::Parse(bad), StatusIs(StatusCode::kCorruption));
}

TEST(Bloom, FpEstimatorMatchesMeasuredRates) {
  // Two filters of one size sharing 95 % of their keys (like consecutive
  // snapshots), and a third of another size.
  const BloomParams p = BloomParams::ForKeys(20000);
  BloomBits a(p), b(p), c(BloomParams::ForKeys(5000));
  for (uint64_t i = 0; i < 20000; ++i) a.Add(i);
  for (uint64_t i = 1000; i < 21000; ++i) b.Add(i);
  for (uint64_t i = 0; i < 5000; ++i) c.Add(i << 20);
  const Bytes ea = a.Encode(), eb = b.Encode(), ec = c.Encode();
  const BloomView va = *BloomView::Parse(ea), vb = *BloomView::Parse(eb),
                  vc = *BloomView::Parse(ec);
  FpEstimator ab, abc;
  ab.Add(va);
  ab.Add(vb);
  abc.Add(va);
  abc.Add(vb);
  abc.Add(vc);
  const int kProbes = 400000;
  int fp_ab = 0, fp_abc = 0;
  for (int i = 0; i < kProbes; ++i) {
    const uint64_t k = (1ull << 50) + i;  // in none of the filters
    const bool in_ab = va.MayContain(k) || vb.MayContain(k);
    fp_ab += in_ab;
    fp_abc += in_ab || vc.MayContain(k);
  }
  // About 1 % each; the estimate is an upper bound close to the measure.
  const double m_ab = double(fp_ab) / kProbes, m_abc = double(fp_abc) / kProbes;
  EXPECT_GT(m_ab, 0.003);
  EXPECT_GE(ab.Rate(), m_ab * 0.85);
  EXPECT_LE(ab.Rate(), m_ab * 1.6);
  EXPECT_GE(abc.Rate(), m_abc * 0.85);
  EXPECT_LE(abc.Rate(), m_abc * 1.6);
  EXPECT_GT(abc.Rate(), ab.Rate());
  // Filters of 2^16 words and more are sampled: still close to the measure.
  const BloomParams big = BloomParams::ForKeys(500000);
  ASSERT_GE(big.cells / 64, FpEstimator::kSampleFrom);
  BloomBits d(big), e(big);
  for (uint64_t i = 0; i < 500000; ++i) d.Add(i * 7);
  for (uint64_t i = 20000; i < 520000; ++i) e.Add(i * 7);
  const Bytes ed = d.Encode(), ee = e.Encode();
  const BloomView vd = *BloomView::Parse(ed), ve = *BloomView::Parse(ee);
  FpEstimator de;
  de.Add(vd);
  de.Add(ve);
  int fp_de = 0;
  for (int i = 0; i < kProbes; ++i) {
    const uint64_t k = (1ull << 50) + i;
    fp_de += vd.MayContain(k) || ve.MayContain(k);
  }
  const double m_de = double(fp_de) / kProbes;
  EXPECT_GT(m_de, 0.003);
  EXPECT_GE(de.Rate(), m_de * 0.85);
  EXPECT_LE(de.Rate(), m_de * 1.6);
  FpEstimator all;
  all.Add(va);
  all.Add(BloomView::ContainsEverything());
  EXPECT_EQ(all.Rate(), 1);
  EXPECT_EQ(FpEstimator().Rate(), 0);
  FpEstimator empty;
  empty.Add(BloomView());
  EXPECT_EQ(empty.Rate(), 0);
  EXPECT_FALSE(BloomView().MayContain(1));
}

TEST(Retention, KeepLastDailyWeekly) {
  Catalog c;
  const uint64_t day = 86400, t0 = 1763683200;  // a Friday, 00:00 UTC
  for (uint32_t i = 1; i <= 20; ++i) {
    c.entries.push_back(
        {i, i - 1, t0 + (i / 2) * day, 1, 1, 1, 0, i == 3 ? 1u : 0u});
  }
  c.next_id = 21;
  auto f = SelectByRetention(c, {3, 0, 0});
  EXPECT_EQ(f.size(), 16u);  // 20 - 3 kept - protected #3
  EXPECT_EQ(std::count(f.begin(), f.end(), 3u), 0);
  auto daily = SelectByRetention(c, {0, 4, 0});
  // Newest of the last 4 days: 20 (day 10), 19 (day 9), 17, 15.
  for (uint32_t kept : {20u, 19u, 17u, 15u, 3u}) {
    EXPECT_EQ(std::count(daily.begin(), daily.end(), kept), 0) << kept;
  }
  EXPECT_EQ(daily.size(), 20u - 5);
  auto weekly = SelectByRetention(c, {0, 0, 2});
  EXPECT_EQ(weekly.size(), 20u - 3);  // two weeks' newest + protected
}

// The property: after every operation of a random history, every live
// snapshot restores byte-exact and check --read-data finds nothing.
TEST_F(GcTest, RandomHistoriesKeepEveryLiveSnapshotIntact) {
  for (uint64_t seed : {1u, 2u, 3u}) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    SetUp();
    std::mt19937_64 rng(seed);
    std::map<std::string, Bytes> current;
    std::map<std::string, std::map<uint32_t, Bytes>> live;
    for (const char* vm : {"a", "b"}) current[vm] = Initial(seed * 10 + vm[0]);
    for (int step = 0; step < 24; ++step) {
      const std::string vm = rng() % 2 ? "a" : "b";
      const int op = static_cast<int>(rng() % 10);
      if (op < 5 || live[vm].empty()) {
        std::vector<bool> dirty;
        Mutate(&current[vm], rng, &dirty);
        auto r = Backup(vm, current[vm], live[vm].empty() ? nullptr : &dirty);
        ASSERT_OK(r);
        live[vm][r->snapshot] = current[vm];
      } else if (op < 7) {
        auto it = live[vm].begin();
        std::advance(it, rng() % live[vm].size());
        ASSERT_OK(
            RunForget(*repo_, {vm, {std::to_string(it->first)}, {}, false}));
        live[vm].erase(it);
      } else if (op == 7) {
        auto r = RunForget(*repo_, {vm, {}, {2, 0, 0}, false});
        ASSERT_OK(r);
        for (uint32_t id : r->forgotten) live[vm].erase(id);
      } else if (op == 8) {
        ASSERT_OK(RunGc(*repo_, vm));
      } else {
        ASSERT_OK(RunCompact(*repo_, vm, 0.0));
      }
      for (const auto& [name, snaps] : live) {
        for (const auto& [id, img] : snaps)
          ASSERT_TRUE(Restores(name, id, img));
      }
      ASSERT_TRUE(CheckPasses(step % 6 == 5));
    }
  }
}

TEST_F(GcTest, ApproximateDeleteLeaksLittleAndGcRepairsItToZero) {
  std::mt19937_64 rng(9);
  Bytes img = Initial(9);
  std::vector<bool> dirty;
  ASSERT_OK(Backup("vm", img, nullptr));
  for (int day = 1; day <= 12; ++day) {
    Mutate(&img, rng, &dirty);
    ASSERT_OK(Backup("vm", img, &dirty));
  }
  uint64_t deleted = 0;
  for (uint32_t id = 1; id <= 10; ++id) {
    auto r = RunForget(*repo_, {"vm", {std::to_string(id)}, {}, false});
    ASSERT_OK(r);
    deleted += r->chunks_deleted;
    EXPECT_LT(r->fp_rate, 0.02);
  }
  EXPECT_GT(deleted, 0u);
  auto state = LoadGcState(*mem_, "vm");
  EXPECT_EQ(state->approx_deletes, 10u);
  auto gc = RunGc(*repo_, "vm");
  ASSERT_OK(gc);
  // The leak the approximate deletes left is small next to what they freed.
  EXPECT_LE(gc->leaked_chunks * 100, deleted * 2 + 5);
  auto again = RunGc(*repo_, "vm");
  EXPECT_EQ(again->leaked_chunks, 0u);
  EXPECT_TRUE(Restores("vm", 13, img));
  EXPECT_TRUE(CheckPasses(true));
}

// Chunks present in the VM's store, not logged for deletion, and referenced
// by no live snapshot: the leak, counted independently of RunGc.
uint64_t DeadChunks(Backend& backend, const RepoConfig& config,
                    const std::string& vm) {
  std::set<uint64_t> live;
  RecipeReader reader(&backend, vm, config.segment_size, config.keys.get());
  const Catalog catalog = *LoadCatalog(backend, vm);
  for (const CatalogEntry& ce : catalog.entries) {
    const SnapshotRecipe recipe = *LoadSnapshotRecipe(backend, vm, ce.id);
    for (const SegmentSlot& slot : recipe.segments) {
      if (slot.zero) continue;
      const std::vector<RecipeEntry> entries = *reader.Read(slot.ref);
      for (const RecipeEntry& e : entries) {
        if (e.kind == ChunkKind::kVm) live.insert(e.vm_ref);
      }
    }
  }
  auto store = VmStore::Open(&backend, vm, config);
  uint64_t dead = 0;
  const std::vector<ContainerInfo> containers = *(*store)->ListContainers();
  for (const ContainerInfo& c : containers) {
    const std::vector<uint64_t> gone = *(*store)->DeletedCids(c.id);
    const std::vector<uint64_t> present = *(*store)->PresentCids(c.id);
    for (uint64_t cid : present) {
      if (std::binary_search(gone.begin(), gone.end(), cid)) continue;
      dead += !live.count(ChunkRef{c.id, cid}.raw());
    }
  }
  return dead;
}

// A leak forced by useless summaries (every live snapshot's summary says
// "contains everything", as an unknown encoding would): forget then frees
// nothing, and gc finds and repairs exactly the chunks no live snapshot uses.
TEST_F(GcTest, AForcedLeakIsFoundAndRepairedExactlyByGc) {
  std::mt19937_64 rng(4);
  Bytes img = Initial(4);
  std::vector<bool> dirty;
  ASSERT_OK(Backup("vm", img, nullptr));
  for (int day = 1; day <= 5; ++day) {
    Mutate(&img, rng, &dirty);
    ASSERT_OK(Backup("vm", img, &dirty));
  }
  ASSERT_EQ(DeadChunks(*mem_, repo_->config(), "vm"), 0u);
  for (uint32_t id = 2; id <= 6; ++id) {
    ASSERT_OK(SaveSummary(*mem_, "vm", id, BloomBits::ContainsEverything()));
  }
  auto r = RunForget(*repo_, {"vm", {"1", "2"}, {}, false});
  ASSERT_OK(r);
  EXPECT_GT(r->candidate_chunks, 0u);
  EXPECT_EQ(r->chunks_deleted, 0u);
  EXPECT_EQ(r->chunks_kept_by_summary, r->candidate_chunks);
  const uint64_t leak = DeadChunks(*mem_, repo_->config(), "vm");
  ASSERT_GT(leak, 0u);
  auto gc = RunGc(*repo_, "vm");
  ASSERT_OK(gc);
  EXPECT_EQ(gc->leaked_chunks, leak);
  EXPECT_EQ(gc->approx_deletes_before, 2u);
  EXPECT_EQ(DeadChunks(*mem_, repo_->config(), "vm"), 0u);
  auto again = RunGc(*repo_, "vm");
  ASSERT_OK(again);
  EXPECT_EQ(again->leaked_chunks, 0u);
  EXPECT_EQ(again->approx_deletes_before, 0u);
  EXPECT_TRUE(Restores("vm", 6, img));
  EXPECT_TRUE(CheckPasses(true));
}

// gc's mark reads each container's CIDs; a read that fails once must fail
// the gc, never leave that container's chunks unmarked for the sweep.
TEST_F(GcTest, AReadErrorAtAnyStepOfGcDeletesNothingLive) {
  std::mt19937_64 rng(5);
  Bytes img = Initial(5);
  std::vector<bool> dirty;
  ASSERT_OK(Backup("vm", img, nullptr));
  std::map<uint32_t, Bytes> live;
  for (int day = 1; day <= 4; ++day) {
    Mutate(&img, rng, &dirty);
    auto r = Backup("vm", img, &dirty);
    ASSERT_OK(r);
    live[r->snapshot] = img;
  }
  for (uint32_t id = 2; id <= 5; ++id) {  // forget 1 leaks all it frees
    ASSERT_OK(SaveSummary(*mem_, "vm", id, BloomBits::ContainsEverything()));
  }
  ASSERT_OK(RunForget(*repo_, {"vm", {"1"}, {}, false}));
  const uint64_t leak = DeadChunks(*mem_, repo_->config(), "vm");
  ASSERT_GT(leak, 0u);
  // The fault moves one call further each time, until a gc makes fewer
  // calls than that; whatever each gc did, the live snapshots stay whole.
  int failed = 0;
  for (uint64_t n = 1;; ++n) {
    fault_->FailNth(n);
    const uint64_t before = fault_->op_count();
    Result<GcResult> gc = RunGc(*repo_, "vm");
    const uint64_t calls = fault_->op_count() - before;
    fault_->ClearFaults();
    for (const auto& [id, want] : live) ASSERT_TRUE(Restores("vm", id, want));
    ASSERT_TRUE(CheckPasses(false)) << "after a fault at call " << n;
    failed += !gc.ok();
    (void)BreakLease(*mem_, "vm", true);  // if the fault hit its release
    if (n > calls) break;
  }
  EXPECT_GT(failed, 20);
  ASSERT_OK(RunGc(*repo_, "vm"));
  EXPECT_EQ(DeadChunks(*mem_, repo_->config(), "vm"), 0u);
}

TEST_F(GcTest, ForgettingEverythingThenGcAndCompactLeavesAlmostNothing) {
  std::mt19937_64 rng(4);
  Bytes img = Initial(4);
  std::vector<bool> dirty;
  ASSERT_OK(Backup("vm", img, nullptr));
  for (int day = 0; day < 3; ++day) {
    Mutate(&img, rng, &dirty);
    ASSERT_OK(Backup("vm", img, &dirty));
  }
  ASSERT_OK(RunForget(*repo_, {"vm", {"1", "2", "3", "4"}, {}, false}));
  ASSERT_OK(RunGc(*repo_, "vm"));
  ASSERT_OK(RunCompact(*repo_, "vm", 0.0));
  EXPECT_EQ(LiveStoredChunks("vm"), 0u);
  EXPECT_TRUE(mem_->List("vm/vm/snap/")->empty());
  EXPECT_TRUE(mem_->List("vm/vm/recipes/")->empty());
  uint64_t bytes = 0;
  for (const ObjectInfo& o : *mem_->List("vm/vm/store/")) bytes += o.size;
  EXPECT_LT(bytes, 4096u);  // container heads and empty indexes only
  // And the VM starts over cleanly.
  ASSERT_OK(Backup("vm", img, nullptr));
  EXPECT_TRUE(Restores("vm", 5, img));
}

// Damaged derived metadata never stops a forget and never deletes more: a
// damaged summary of a live snapshot keeps every candidate, a damaged gc
// state starts afresh; both are said in the notes, and gc repairs both.
TEST_F(GcTest, ForgetWithDamagedSummaryOrGcStateKeepsEverythingAndSaysSo) {
  const std::vector<Bytes> days = DailyBackups("vm", 5, 3);
  ASSERT_EQ(days.size(), 4u);
  ASSERT_OK(RunForget(*repo_, {"vm", {"1"}, {}, false}));  // a gc state
  ASSERT_OK(mem_->Put("vm/vm/summary/3", AsBytes("not a summary")));
  ASSERT_OK(mem_->Put("vm/vm/gcstate", AsBytes("not a state")));
  auto r = RunForget(*repo_, {"vm", {"2"}, {}, false});
  ASSERT_OK(r);
  EXPECT_GT(r->candidate_chunks, 0u);
  EXPECT_EQ(r->chunks_deleted, 0u);
  ASSERT_EQ(r->notes.size(), 2u);
  EXPECT_NE(r->notes[0].find("snapshot 3: its summary is unreadable"),
            std::string::npos)
      << r->notes[0];
  EXPECT_NE(r->notes[1].find("the gc state is unreadable"), std::string::npos)
      << r->notes[1];
  EXPECT_EQ(LoadGcState(*mem_, "vm")->approx_deletes, 1u);  // afresh
  EXPECT_TRUE(Restores("vm", 3, days[2]));
  EXPECT_TRUE(Restores("vm", 4, days[3]));
  auto gc = RunGc(*repo_, "vm");
  ASSERT_OK(gc);
  EXPECT_GT(gc->leaked_chunks, 0u);  // what the forget kept
  EXPECT_TRUE(Restores("vm", 3, days[2]));
  EXPECT_TRUE(Restores("vm", 4, days[3]));
}

TEST_F(GcTest, ForgetRefusesProtectedAndUnknownAndWaitsForTheLease) {
  Bytes img = Initial(5);
  ASSERT_OK(Backup("vm", img, nullptr));
  ASSERT_OK(Backup("vm", img, nullptr));
  EXPECT_THAT(RunForget(*repo_, {"vm", {"9"}, {}, false}),
              StatusIsWith(StatusCode::kNotFound, "no snapshot 9"));
  auto dry = RunForget(*repo_, {"vm", {}, {1, 0, 0}, true});
  ASSERT_OK(dry);
  EXPECT_EQ(dry->forgotten, std::vector<uint32_t>{1});
  EXPECT_TRUE(Restores("vm", 1, img));  // dry run changed nothing
  {
    auto running = Lease::Acquire(mem_.get(), "vm", "backup");
    ASSERT_OK(running);
    EXPECT_THAT(RunForget(*repo_, {"vm", {"1"}, {}, false}),
                StatusIsWith(StatusCode::kBusy, "locked by 'backup'"));
    EXPECT_THAT(RunGc(*repo_, "vm"), StatusIs(StatusCode::kBusy));
  }
  Catalog c = *LoadCatalog(*mem_, "vm");
  c.entries[0].flags |= 1;
  ASSERT_OK(CommitCatalog(*mem_, "vm", c));
  EXPECT_THAT(RunForget(*repo_, {"vm", {"1"}, {}, false}),
              StatusIsWith(StatusCode::kInvalidArgument, "protected"));
  auto kept = RunForget(*repo_, {"vm", {}, {1, 0, 0}, false});
  ASSERT_OK(kept);
  EXPECT_TRUE(kept->forgotten.empty());  // #1 protected, #2 the last
}

// Regression: the CBT bitmap is relative to the previous backup. Once that
// snapshot is forgotten, the next backup's parent is older, and trusting the
// bitmap would reuse segments that changed since the parent.
TEST_F(GcTest, ForgettingTheNewestSnapshotMakesTheNextBitmapUntrusted) {
  std::mt19937_64 rng(8);
  Bytes d0 = Initial(8);
  ASSERT_OK(Backup("vm", d0, nullptr));
  Bytes d1 = d0;
  std::vector<bool> dirty1, dirty2;
  Mutate(&d1, rng, &dirty1);
  ASSERT_OK(Backup("vm", d1, &dirty1));
  ASSERT_OK(RunForget(*repo_, {"vm", {"2"}, {}, false}));
  Bytes d2 = d1;
  Mutate(&d2, rng, &dirty2);  // relative to d1, which is gone
  auto r = Backup("vm", d2, &dirty2);
  ASSERT_OK(r);
  EXPECT_EQ(r->parent, 1u);
  EXPECT_FALSE(r->bitmap_used);
  EXPECT_NE(r->note.find("forgotten"), std::string::npos);
  EXPECT_EQ(r->stats.level1, 0u);
  EXPECT_TRUE(Restores("vm", 3, d2));
}

TEST_F(GcTest, CheckNamesDamageByPlace) {
  Bytes img = Initial(6);
  ASSERT_OK(Backup("vm", img, nullptr));
  ASSERT_TRUE(CheckPasses(true));
  fault_->CorruptReads("vm/vm/store/", 300);
  auto c = RunCheck(*repo_, {true, 2});
  ASSERT_OK(c);
  ASSERT_FALSE(c->problems.empty());
  // The damaged index once, with its repair; then every use of it.
  EXPECT_NE(c->problems[0].find("index damaged"), std::string::npos)
      << c->problems[0];
  EXPECT_NE(c->problems[0].find("vcsnap recover --vm vm"), std::string::npos);
  ASSERT_GT(c->problems.size(), 1u);
  EXPECT_NE(c->problems[1].find("VM vm snapshot 1 segment"), std::string::npos)
      << c->problems[1];
  fault_->ClearFaults();
  fault_->CorruptReads("vm/vm/recipes/", 20);
  c = RunCheck(*repo_, {false, 2});
  ASSERT_OK(c);
  ASSERT_FALSE(c->problems.empty());
  EXPECT_NE(c->problems[0].find("segment recipe"), std::string::npos);
  fault_->ClearFaults();
  fault_->CorruptReads("vm/vm/catalog", 20);
  c = RunCheck(*repo_, {false, 2});
  ASSERT_OK(c);
  ASSERT_EQ(c->problems.size(), 1u);
  EXPECT_NE(c->problems[0].find("VM vm"), std::string::npos);
  fault_->ClearFaults();
  // Deletion metadata: a summary, and the dropped list of snapshot 2.
  std::vector<bool> dirty(24, false);
  dirty[3] = true;
  img[3 * kSeg + 10] ^= 1;
  ASSERT_OK(Backup("vm", img, &dirty));
  ASSERT_TRUE(CheckPasses(false));
  for (const char* object : {"vm/vm/summary/1", "vm/vm/dropped/2"}) {
    SCOPED_TRACE(object);
    fault_->CorruptReads(object, 20);
    c = RunCheck(*repo_, {false, 2});
    ASSERT_OK(c);
    ASSERT_EQ(c->problems.size(), 1u);
    EXPECT_NE(c->problems[0].find(object), std::string::npos) << c->problems[0];
    EXPECT_NE(c->problems[0].find("VM vm snapshot"), std::string::npos);
    fault_->ClearFaults();
  }
  // Derived metadata: the counting filter, the gc state (forget wrote one),
  // a fingerprint run.
  ASSERT_OK(RunForget(*repo_, {"vm", {"1"}, {}, false}));
  ASSERT_TRUE(CheckPasses(false));
  for (const char* object : {"vm/vm/cbf", "vm/vm/gcstate", "vm/vm/fps/2-0.0"}) {
    SCOPED_TRACE(object);
    ASSERT_OK(mem_->Stat(object));
    fault_->CorruptReads(object, 20);
    c = RunCheck(*repo_, {false, 2});
    ASSERT_OK(c);
    ASSERT_EQ(c->problems.size(), 1u);
    EXPECT_EQ(c->problems[0].rfind("VM vm: ", 0), 0u) << c->problems[0];
    EXPECT_NE(c->problems[0].find(object), std::string::npos) << c->problems[0];
    fault_->ClearFaults();
  }
  // A VM whose marker is lost is still checked, and reported.
  ASSERT_OK(mem_->Delete("vms/vm"));
  c = RunCheck(*repo_, {false, 2});
  ASSERT_OK(c);
  ASSERT_EQ(c->problems.size(), 1u);
  EXPECT_EQ(c->problems[0].rfind("VM vm: its marker vms/vm is missing", 0), 0u)
      << c->problems[0];
  EXPECT_EQ(c->vms, 1u);
  EXPECT_EQ(c->snapshots, 1u);
}

// A bad reference is checked once but reported at every distinct recipe
// that uses it: here a chunk of segment 3 that snapshot 2 rewrote around.
TEST_F(GcTest, CheckReportsABadReferenceAtEveryRecipeThatUsesIt) {
  Bytes img = Initial(7);
  ASSERT_OK(Backup("vm", img, nullptr));
  std::vector<bool> dirty(24, false);
  dirty[3] = true;
  img[3 * kSeg + 10] ^= 1;
  ASSERT_OK(Backup("vm", img, &dirty));
  RecipeReader reader(mem_.get(), "vm", kSeg, nullptr);
  std::vector<std::vector<RecipeEntry>> seg3;
  for (uint32_t id : {1u, 2u}) {
    auto snap = LoadSnapshotRecipe(*mem_, "vm", id);
    ASSERT_OK(snap);
    auto entries = reader.Read(snap->segments[3].ref);
    ASSERT_OK(entries);
    seg3.push_back(*entries);
  }
  ASSERT_NE(seg3[0], seg3[1]);                // two distinct recipes ...
  const RecipeEntry shared = seg3[0].back();  // ... sharing their last chunk
  ASSERT_EQ(shared.kind, ChunkKind::kVm);
  ASSERT_EQ(seg3[1].back(), shared);
  auto store = VmStore::Open(mem_.get(), "vm", repo_->config());
  ASSERT_OK(store);
  ASSERT_OK((*store)->Delete(*ChunkRef::FromRaw(shared.vm_ref)));
  ASSERT_OK((*store)->Flush());

  auto c = RunCheck(*repo_, {false, 2});
  ASSERT_OK(c);
  ASSERT_EQ(c->problems.size(), 2u);
  EXPECT_NE(c->problems[0].find("VM vm snapshot 1 segment 3"),
            std::string::npos)
      << c->problems[0];
  EXPECT_NE(c->problems[1].find("VM vm snapshot 2 segment 3"),
            std::string::npos)
      << c->problems[1];
  for (const std::string& p : c->problems) {
    EXPECT_NE(p.find("logged for deletion but still referenced"),
              std::string::npos)
        << p;
  }
}

// Popularity counts what the VMs hold now: chunks forgotten since the last
// update stop counting once consolidation drops their records, and a running
// or crashed backup's runs never count.
// A VM matched chunks in PDS generation 1, then forgot the snapshot that
// used them, and generation 1 was retired: its records of those chunks no
// longer count for popularity, and consolidation drops them.
TEST_F(GcTest, PdsUpdateForgetsRecordsOfRetiredGenerations) {
  auto image = [](bool shared_part, uint64_t own_seed) {
    std::mt19937_64 shared(1), own(own_seed);
    Bytes img(10 * kSeg);
    for (size_t i = 0; i < img.size(); ++i) {
      const bool s = shared_part && i < 8 * kSeg;
      img[i] = static_cast<uint8_t>((s ? shared() : own()) & 0x3f);
    }
    return img;
  };
  for (int v = 0; v < 3; ++v) {
    ASSERT_OK(Backup("vm" + std::to_string(v), image(true, 100 + v), nullptr));
  }
  auto up1 = RunPdsUpdate(*repo_, {0.3, 0});
  ASSERT_OK(up1);
  ASSERT_EQ(up1->generation, 1u);
  {
    auto gen1 = PdsTable::Load(*mem_, 1);
    ASSERT_OK(gen1);
    auto b = Backup("vm9", image(true, 900), nullptr, gen1->get());
    ASSERT_OK(b);
    ASSERT_GT(b->stats.level3, 0u);
  }
  ASSERT_OK(Backup("vm9", image(false, 901), nullptr));  // S is gone
  uint64_t stale = 0;  // vm9's records of generation-1 chunks
  {
    auto stream = VmFpStream::Open(mem_.get(), "vm9");
    ASSERT_OK(stream);
    FpRecord r;
    while (*(*stream)->Next(&r)) {
      stale += r.kind == ChunkKind::kPds && r.pds.generation == 1;
    }
  }
  ASSERT_GT(stale, 0u);
  auto forgot = RunForget(*repo_, {"vm9", {"1"}, {}, false});
  ASSERT_OK(forgot);
  // Generation 1 is still published while this update counts, and then
  // retired: nothing references it any more.
  auto up2 = RunPdsUpdate(*repo_, {0.3, 0});
  ASSERT_OK(up2);
  ASSERT_OK(up2->retire_error);
  ASSERT_EQ(up2->retire.retired, std::vector<uint32_t>{1});
  // Nothing else changed: the next count leaves the stale records out
  // (vm9 has 2 runs, too few to be consolidated).
  auto up3 = RunPdsUpdate(*repo_, {0.3, 0});
  ASSERT_OK(up3);
  EXPECT_EQ(up3->report.total, up2->report.total - stale);
  EXPECT_EQ(up3->fp_records_pruned, 0u);
  // Three more backups make 5 runs: consolidation drops them for good, with
  // the records of the chunks the forget deleted.
  for (uint64_t day = 2; day <= 4; ++day) {
    ASSERT_OK(Backup("vm9", image(false, 900 + day), nullptr));
  }
  auto up4 = RunPdsUpdate(*repo_, {0.3, 0});
  ASSERT_OK(up4);
  EXPECT_EQ(up4->fp_records_pruned, stale + forgot->chunks_deleted);
  auto stream = VmFpStream::Open(mem_.get(), "vm9");
  ASSERT_OK(stream);
  FpRecord r;
  while (*(*stream)->Next(&r)) EXPECT_NE(r.kind, ChunkKind::kPds);
}

TEST_F(GcTest, PdsUpdateCountsNeitherForgottenChunksNorUncommittedRuns) {
  // Day 1 holds the shared part S; days 2-5 hold S' instead, and every day
  // some new data of the VM's own, so that each backup writes a run.
  auto day_image = [](int v, int day) {
    std::mt19937_64 shared(day == 1 ? 1 : 2), own(1000 + 10 * v + day);
    Bytes img(10 * kSeg);
    for (size_t i = 0; i < img.size(); ++i) {
      img[i] = static_cast<uint8_t>((i < 8 * kSeg ? shared() : own()) & 0x3f);
    }
    return img;
  };
  for (int day = 1; day <= 5; ++day) {
    for (int v = 0; v < 2; ++v) {
      ASSERT_OK(Backup("vm" + std::to_string(v), day_image(v, day), nullptr));
    }
  }
  uint64_t deleted = 0;
  for (const char* vm : {"vm0", "vm1"}) {
    auto f = RunForget(*repo_, {vm, {"1"}, {}, false});
    ASSERT_OK(f);
    deleted += f->chunks_deleted;
  }
  ASSERT_GT(deleted, 8u * kSeg / 4096);  // at least S, from both VMs
  // Both VMs' next backups crashed after writing their runs, with S in
  // them: S would be popular again if those runs counted.
  std::vector<FpRecord> s_records;  // all of vm0's, S's included
  {
    auto stream = VmFpStream::Open(mem_.get(), "vm0");  // not yet pruned
    ASSERT_OK(stream);
    FpRecord r;
    while (*(*stream)->Next(&r)) s_records.push_back(r);
  }
  for (const char* vm : {"vm0", "vm1"}) {
    FpRunWriter crashed(mem_.get(), vm, "6");
    for (const FpRecord& r : s_records) ASSERT_OK(crashed.Add(r));
    ASSERT_OK(crashed.Finish());
  }
  auto up = RunPdsUpdate(*repo_, {1.0, 0});
  ASSERT_OK(up);
  // Every record of a chunk the forgets deleted, and only those.
  EXPECT_EQ(up->fp_records_pruned, deleted);
  // Only S' is held by both VMs now: a new VM with S finds nothing of it at
  // level 3, one with S' finds all of it.
  auto pds = PdsTable::Load(*mem_, up->generation);
  ASSERT_OK(pds);
  auto with_s = Backup("vm8", day_image(8, 1), nullptr, pds->get());
  ASSERT_OK(with_s);
  EXPECT_EQ(with_s->stats.level3, 0u);
  auto with_s2 = Backup("vm9", day_image(9, 2), nullptr, pds->get());
  ASSERT_OK(with_s2);
  EXPECT_GE(with_s2->stats.level3, 7u * kSeg);
  // gc removes the crashed backup's run, and only it.
  auto gc = RunGc(*repo_, "vm1");
  ASSERT_OK(gc);
  EXPECT_EQ(gc->orphan_objects, 1u);  // its one part
  auto runs = ListRuns(*mem_, "vm1");
  ASSERT_OK(runs);
  ASSERT_FALSE(runs->empty());
  for (const RunInfo& r : *runs) EXPECT_NE(r.run.substr(0, 2), "6-");
}

}  // namespace
}  // namespace vcsnap
