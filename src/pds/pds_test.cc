// The popular data set: fingerprint runs, popularity counting and top-k,
// both index readers, and the update lifecycle with backups and restores.

#include <cmath>
#include <cstring>
#include <random>
#include <set>

#include "backend/fault_backend.h"
#include "backend/mem_backend.h"
#include "pds/fp_run.h"
#include "pds/pds_retire.h"
#include "pds/pds_table.h"
#include "pds/pds_update.h"
#include "pds/popularity.h"
#include "testing/forwarding_backend.h"
#include "testing/status_matchers.h"

namespace vcsnap {
namespace {

using ::vcsnap::testing::StatusIs;
using ::vcsnap::testing::StatusIsWith;

Fingerprint Fp(uint64_t v) {
  Fingerprint f{};
  for (int i = 0; i < 8; ++i) f[i] = static_cast<uint8_t>(v >> (56 - 8 * i));
  f[31] = 1;
  return f;
}

FpRecord Rec(uint64_t v) {
  FpRecord r;
  r.fp = Fp(v);
  r.kind = ChunkKind::kVm;
  r.vm_ref = (1ull << 48) | v;
  r.length = 100;
  return r;
}

// Every run of every VM, every record.
std::vector<VmFpSource> AllRuns(MemBackend& mem,
                                const std::vector<std::string>& vms) {
  std::vector<VmFpSource> sources;
  for (const std::string& vm : vms) {
    sources.push_back(VmFpSource{vm, *ListRuns(mem, vm), {}});
  }
  return sources;
}

std::vector<uint64_t> Stream(MemBackend& mem, const VmFpSource& source) {
  auto stream = VmFpStream::Open(&mem, source);
  EXPECT_TRUE(stream.ok());
  std::vector<uint64_t> got;
  FpRecord r;
  while (*(*stream)->Next(&r)) got.push_back(r.vm_ref & 0xffffffff);
  return got;
}

TEST(FpRun, SpillsSortedUniqueRunsAndStreamsTheirUnion) {
  MemBackend mem;
  FpRunWriter w(&mem, "vm1", "7", /*buffer_records=*/100);
  std::mt19937_64 rng(1);
  std::set<uint64_t> all;
  for (int i = 0; i < 12000; ++i) {
    uint64_t v = rng() % 5000;
    all.insert(v);
    ASSERT_OK(w.Add(Rec(v)));
  }
  ASSERT_OK(w.Finish());
  EXPECT_GT(w.runs().size(), 10u);
  auto stream = VmFpStream::Open(&mem, "vm1");
  ASSERT_OK(stream);
  std::vector<uint64_t> got;
  FpRecord r;
  while (*(*stream)->Next(&r)) got.push_back(r.vm_ref & 0xffffffff);
  EXPECT_EQ(got, std::vector<uint64_t>(all.begin(), all.end()));
  // Consolidation keeps the union and leaves one run.
  // Runs of snapshot 7 are uncommitted while the catalog's next id is 7.
  ASSERT_OK(ConsolidateRuns(&mem, "vm1", 1, /*committed_below=*/7));
  EXPECT_GT(ListRuns(mem, "vm1")->size(), 10u);
  ASSERT_OK(ConsolidateRuns(&mem, "vm1", 1, /*committed_below=*/8));
  EXPECT_EQ(ListRuns(mem, "vm1")->size(), 1u);
  auto again = VmFpStream::Open(&mem, "vm1");
  std::vector<uint64_t> got2;
  while (*(*again)->Next(&r)) got2.push_back(r.vm_ref & 0xffffffff);
  EXPECT_EQ(got2, got);
}

// keep() decides per record: a fingerprint whose first record is dropped is
// still streamed from another run that holds it, and one with no kept record
// is left out; consolidation writes only what is kept.
TEST(FpRun, KeepFiltersRecordsBeforeTheUnionAndConsolidationPrunes) {
  MemBackend mem;
  for (const char* run : {"1", "2"}) {
    FpRunWriter w(&mem, "vm1", run);
    for (uint64_t v = 0; v < 100; ++v) {
      FpRecord r = Rec(v);
      if (run[0] == '2') r.vm_ref |= uint64_t{1} << 32;  // a second copy
      if (run[0] == '1' || v % 2 == 0) {
        ASSERT_OK(w.Add(r));
      }
    }
    ASSERT_OK(w.Finish());
  }
  // Drop the first copies of 0..49: evens survive through run 2.
  auto keep = [](const FpRecord& r) {
    return (r.vm_ref >> 32 & 1) != 0 || (r.vm_ref & 0xffffffff) >= 50;
  };
  std::vector<uint64_t> want;
  for (uint64_t v = 0; v < 100; ++v) {
    if (v >= 50 || v % 2 == 0) want.push_back(v);
  }
  VmFpSource all{"vm1", *ListRuns(mem, "vm1"), {}};
  EXPECT_EQ(Stream(mem, all).size(), 100u);
  VmFpSource kept{"vm1", *ListRuns(mem, "vm1"), keep};
  EXPECT_EQ(Stream(mem, kept), want);
  ASSERT_OK(ConsolidateRuns(&mem, "vm1", 1, /*committed_below=*/3, keep));
  ASSERT_EQ(ListRuns(mem, "vm1")->size(), 1u);
  EXPECT_EQ(Stream(mem, VmFpSource{"vm1", *ListRuns(mem, "vm1"), {}}), want);
}

// Runs are written in the background: a failed write is returned by the
// next spill or by Finish -- never lost -- and runs() never names it.
TEST(FpRun, AFailedBackgroundWriteIsReportedAndItsRunNotNamed) {
  for (uint64_t fail_at = 1; fail_at <= 4; ++fail_at) {
    SCOPED_TRACE("failing put " + std::to_string(fail_at));
    MemBackend mem;
    FaultBackend fault(&mem);
    fault.FailNth(fail_at);
    Status first_error;
    {
      FpRunWriter w(&fault, "vm1", "7", /*buffer_records=*/100);
      for (uint64_t v = 0; v < 250 && first_error.ok(); ++v) {
        first_error = w.Add(Rec(v));
      }
      if (first_error.ok()) first_error = w.Finish();
      // Two runs of one part each: puts 1 and 2 are spills, 3 is Finish's.
      EXPECT_LE(w.runs().size(), fail_at - 1);
      if (!first_error.ok()) {  // the writer stays failed
        EXPECT_FALSE(w.Add(Rec(1)).ok());
        EXPECT_FALSE(w.Finish().ok());
      }
    }
    if (fail_at <= 3) {
      EXPECT_FALSE(first_error.ok());
    } else {
      EXPECT_OK(first_error);
    }
  }
}

// A crash at any operation of a pruning consolidation, applied or not,
// leaves the same kept union, and a later consolidation finishes the job.
TEST(FpRun, ACrashDuringConsolidationKeepsTheKeptUnion) {
  auto keep = [](const FpRecord& r) { return (r.vm_ref & 0xffffffff) % 3; };
  auto fill = [](Backend* b) {
    for (const char* run : {"1", "2", "3"}) {
      FpRunWriter w(b, "vm1", run, /*buffer_records=*/4000);
      for (uint64_t v = run[0] - '1'; v < 9000; v += 2) {
        EXPECT_TRUE(w.Add(Rec(v)).ok());
      }
      EXPECT_TRUE(w.Finish().ok());
    }
  };
  MemBackend probe;
  fill(&probe);
  const std::vector<uint64_t> want =
      Stream(probe, VmFpSource{"vm1", *ListRuns(probe, "vm1"), keep});
  ASSERT_EQ(want.size(), 6000u);  // 0..8999 but the multiples of 3
  uint64_t ops = 0;
  {
    FaultBackend fault(&probe);
    ASSERT_OK(ConsolidateRuns(&fault, "vm1", 1, 4, keep));
    ops = fault.op_count();
  }
  ASSERT_GT(ops, 4u);
  for (uint64_t i = 1; i <= ops; ++i) {
    for (bool applied : {false, true}) {
      SCOPED_TRACE("crash at operation " + std::to_string(i) +
                   (applied ? ", applied" : ""));
      MemBackend mem;
      fill(&mem);
      FaultBackend fault(&mem);
      fault.CrashAtNth(i, applied);
      EXPECT_FALSE(ConsolidateRuns(&fault, "vm1", 1, 4, keep).ok());
      fault.Restart();
      EXPECT_EQ(Stream(mem, VmFpSource{"vm1", *ListRuns(mem, "vm1"), keep}),
                want);
      ASSERT_OK(ConsolidateRuns(&mem, "vm1", 1, 4, keep));
      EXPECT_EQ(ListRuns(mem, "vm1")->size(), 1u);
      EXPECT_EQ(Stream(mem, VmFpSource{"vm1", *ListRuns(mem, "vm1"), {}}),
                want);
    }
  }
}

// Runs count once their snapshot is committed; a crashed attempt's runs are
// removed by snapshot ID, and only its own.
TEST(FpRun, CommittedRunsAndDeleteSnapshotRuns) {
  MemBackend mem;
  for (const char* prefix : {"1", "12", "3"}) {
    FpRunWriter w(&mem, "vm1", prefix, /*buffer_records=*/10);
    for (uint64_t v = 0; v < 25; ++v) ASSERT_OK(w.Add(Rec(v)));
    ASSERT_OK(w.Finish());  // runs <prefix>-0 .. -2
  }
  auto names = [&](const std::vector<RunInfo>& runs) {
    std::set<std::string> out;
    for (const RunInfo& r : runs) out.insert(r.run);
    return out;
  };
  EXPECT_EQ(names(*CommittedRuns(mem, "vm1", 3)),
            (std::set<std::string>{"1-0", "1-1", "1-2"}));
  EXPECT_EQ(names(*CommittedRuns(mem, "vm1", 13)).size(), 9u);
  EXPECT_EQ(*DeleteSnapshotRuns(mem, "vm1", 1), 3u);  // one part each
  EXPECT_EQ(
      names(*ListRuns(mem, "vm1")),
      (std::set<std::string>{"12-0", "12-1", "12-2", "3-0", "3-1", "3-2"}));
  // gc's sweep: the runs of IDs at or above the catalog's next ID go.
  EXPECT_EQ(*DeleteUncommittedRuns(mem, "vm1", 4), 3u);
  EXPECT_EQ(names(*ListRuns(mem, "vm1")),
            (std::set<std::string>{"3-0", "3-1", "3-2"}));
}

TEST(FpRun, DamagedPartsAreCorruption) {
  MemBackend mem;
  FaultBackend fault(&mem);
  SortedRunWriter w(&fault, "vm1", "r");
  ASSERT_OK(w.Add(Rec(1)));
  ASSERT_OK(w.Add(Rec(2)));
  ASSERT_OK(w.Finish());
  fault.CorruptReads("vm/vm1/fps/", 40);
  FpRunReader r(&fault, "vm1", "r", 1);
  FpRecord rec;
  EXPECT_THAT(r.Next(&rec), StatusIs(StatusCode::kCorruption));
}

TEST(Popularity, CountsVmsAndKeepsTheTopK) {
  MemBackend mem;
  // fp v is held by (v % 4) + 1 VMs: vm0 holds all, vm1 holds v%4>=1, ...
  std::vector<std::string> vms = {"v0", "v1", "v2", "v3"};
  for (int vm = 0; vm < 4; ++vm) {
    FpRunWriter w(&mem, vms[vm], "1");
    for (uint64_t v = 0; v < 400; ++v) {
      if (static_cast<int>(v % 4) >= vm) {
        ASSERT_OK(w.Add(Rec(v)));
      }
    }
    ASSERT_OK(w.Finish());
  }
  PopularityReport rep;
  auto top = SelectPopular(&mem, AllRuns(mem, vms), 150, 0, &rep);
  ASSERT_OK(top);
  EXPECT_EQ(rep.unique, 400u);
  EXPECT_EQ(rep.total, 100u * (1 + 2 + 3 + 4));
  EXPECT_EQ(rep.histogram.at(4), 100u);
  ASSERT_EQ(top->size(), 150u);  // all 100 of count 4, then 50 of count 3
  int fours = 0;
  for (const PopularChunk& c : *top) {
    EXPECT_GE(c.count, 3u);
    fours += c.count == 4;
  }
  EXPECT_EQ(fours, 100);
  EXPECT_TRUE(std::is_sorted(top->begin(), top->end(),
                             [](auto& a, auto& b) { return a.fp < b.fp; }));
  EXPECT_EQ(rep.covered, 100u * 4 + 50 * 3);
  // Count-1 fingerprints never enter, whatever k.
  auto all = SelectPopular(&mem, AllRuns(mem, vms), 1000, 0, &rep);
  EXPECT_EQ(all->size(), 300u);
  auto frac = SelectPopular(&mem, AllRuns(mem, vms), 0, 0.25, &rep);
  EXPECT_EQ(frac->size(), 100u);
}

TEST(Popularity, ZipfFitRecoversTheExponent) {
  std::map<uint32_t, uint64_t> h;
  // f_i = 100000 / i^0.7 for i in 1..20000, bucketed by rounded count.
  for (int i = 1; i <= 20000; ++i) {
    h[static_cast<uint32_t>(std::lround(100000 / std::pow(i, 0.7)))]++;
  }
  EXPECT_NEAR(FitZipf(h), 0.7, 0.05);
}

TEST(PdsIndex, TableAndFileIndexAgree) {
  MemBackend mem;
  std::vector<PdsIndexEntry> entries;
  std::mt19937_64 rng(7);
  std::set<uint64_t> keys;
  while (keys.size() < 10000) keys.insert(rng());
  for (uint64_t k : keys)
    entries.push_back({Fp(k), k % 100000, static_cast<uint32_t>(1 + k % 5000)});
  ASSERT_OK(WritePdsIndex(mem, 3, entries));
  auto table = PdsTable::Load(mem, 3);
  ASSERT_OK(table);
  EXPECT_LE((*table)->memory_bytes(), 48u * entries.size());
  auto file = PdsFileIndex::Open(&mem, 3);
  ASSERT_OK(file);
  std::vector<Fingerprint> q;
  for (int i = 0; i < 3000; ++i) {
    q.push_back(i % 2 ? entries[rng() % entries.size()].fp : Fp(rng()));
  }
  std::vector<std::optional<PdsRef>> a, b;
  (*table)->Lookup(q, &a);
  (*file)->Lookup(q, &b);
  int hits = 0;
  for (size_t i = 0; i < q.size(); ++i) {
    ASSERT_EQ(a[i], b[i]) << i;
    if (a[i]) {
      ++hits;
      uint64_t k = 0;
      for (int j = 0; j < 8; ++j) k = (k << 8) | q[i][j];
      EXPECT_EQ(a[i]->offset, k % 100000);
      EXPECT_EQ(a[i]->size, 1 + k % 5000);
      EXPECT_EQ(a[i]->generation, 3u);
    }
  }
  EXPECT_EQ(hits, 1500);
  EXPECT_OK((*file)->last_error());
}

TEST(PdsIndex, CurrentAndCorruption) {
  MemBackend mem;
  FaultBackend fault(&mem);
  EXPECT_THAT(ReadCurrentPds(fault), StatusIs(StatusCode::kNotFound));
  ASSERT_OK(PublishPds(fault, 5));
  EXPECT_EQ(*ReadCurrentPds(fault), 5u);
  ASSERT_OK(WritePdsIndex(fault, 5, {{Fp(1), 0, 10}, {Fp(2), 10, 10}}));
  fault.CorruptReads("pds/index/5/p0", 50);
  EXPECT_THAT(PdsTable::Load(fault, 5), StatusIs(StatusCode::kCorruption));
  auto file = PdsFileIndex::Open(&fault, 5);
  ASSERT_OK(file);
  std::vector<std::optional<PdsRef>> out;
  std::vector<Fingerprint> q = {Fp(1)};
  (*file)->Lookup(q, &out);
  EXPECT_FALSE(out[0].has_value());  // a miss, never a wrong reference
  EXPECT_THAT((*file)->last_error(), StatusIs(StatusCode::kCorruption));
}

// A backend on which `pds update` publishes generation 6 and retires 5 the
// moment a reader first opens anything of index 5.
class RetiresUnderTheReader : public ::vcsnap::testing::ForwardingBackend {
 public:
  using ForwardingBackend::ForwardingBackend;
  Result<Bytes> Get(std::string_view n) override {
    if (!fired_ && n.starts_with("pds/index/5/")) {
      fired_ = true;
      EXPECT_OK(WritePdsIndex(*this, 6, {{Fp(1), 0, 10}, {Fp(3), 10, 10}}));
      EXPECT_OK(PublishPds(*this, 6));
      EXPECT_OK(DeletePdsIndex(*this, 5));
    }
    return ForwardingBackend::Get(n);
  }
  bool fired_ = false;
};

TEST(PdsIndex, ALoadThatLosesARaceWithRetirementLoadsTheNewGeneration) {
  for (bool file : {false, true}) {
    SCOPED_TRACE(file ? "file index" : "table");
    MemBackend mem;
    RetiresUnderTheReader racing(&mem);
    auto none = LoadCurrentPdsIndex(racing, file);
    ASSERT_OK(none);
    EXPECT_EQ(*none, nullptr);  // no PDS yet
    ASSERT_OK(WritePdsIndex(mem, 5, {{Fp(1), 0, 10}, {Fp(2), 10, 10}}));
    ASSERT_OK(PublishPds(mem, 5));
    auto index = LoadCurrentPdsIndex(racing, file);
    ASSERT_OK(index);
    EXPECT_TRUE(racing.fired_);
    EXPECT_EQ((*index)->generation(), 6u);
    std::vector<std::optional<PdsRef>> out;
    std::vector<Fingerprint> q = {Fp(3)};
    (*index)->Lookup(q, &out);
    ASSERT_TRUE(out[0].has_value());
    EXPECT_EQ(out[0]->generation, 6u);
    // A generation that is gone while still current is an error, not a loop.
    ASSERT_OK(DeletePdsIndex(mem, 6));
    EXPECT_THAT(LoadCurrentPdsIndex(racing, file),
                StatusIs(StatusCode::kNotFound));
  }
}

TEST(PdsPins, RoundTripAndCorruptionIsNamed) {
  MemBackend mem;
  Result<bool> usable = PinPdsGeneration(mem, "vm1", 7);
  ASSERT_OK(usable);
  EXPECT_FALSE(*usable);  // generation 7 was never published
  ASSERT_OK(PinPdsGeneration(mem, "vm2", 8));
  auto pins = ListPdsPins(mem);
  ASSERT_OK(pins);
  ASSERT_EQ(pins->size(), 2u);
  EXPECT_EQ((*pins)[0].vm, "vm1");
  EXPECT_EQ((*pins)[0].generation, 7u);
  EXPECT_EQ((*pins)[1].vm, "vm2");
  EXPECT_EQ((*pins)[1].generation, 8u);
  EXPECT_GT((*pins)[1].time_unix, 0u);
  // A pin of another VM's name, or with a flipped byte, is corrupt.
  Bytes raw = *mem.Get(PdsPinName("vm2"));
  ASSERT_OK(mem.Put(PdsPinName("vm3"), raw));
  EXPECT_THAT(ListPdsPins(mem),
              StatusIsWith(StatusCode::kCorruption, "pds/pins/vm3"));
  ASSERT_OK(mem.Delete(PdsPinName("vm3")));
  raw[raw.size() / 2] ^= 1;
  ASSERT_OK(mem.Put(PdsPinName("vm2"), raw));
  EXPECT_THAT(ListPdsPins(mem),
              StatusIsWith(StatusCode::kCorruption, "pds/pins/vm2"));
  ASSERT_OK(UnpinPds(mem, "vm2"));
  ASSERT_OK(UnpinPds(mem, "vm2"));  // absent is fine
  EXPECT_EQ(ListPdsPins(mem)->size(), 1u);
}

TEST(PdsRetire, NothingToDoWithoutAPdsAndCorruptMarksStopIt) {
  MemBackend mem;
  auto none = RetirePdsGenerations(mem, {});
  ASSERT_OK(none);
  EXPECT_EQ(none->current, 0u);
  ASSERT_OK(PublishPds(mem, 2));
  ASSERT_OK(mem.Put(PdsRetiringName(1), Bytes{1, 2, 3}));
  EXPECT_THAT(RetirePdsGenerations(mem, {}),
              StatusIsWith(StatusCode::kCorruption, "pds/retiring/1"));
  // A corrupt pin also stops it: an unreadable pin might protect anything.
  ASSERT_OK(mem.Delete(PdsRetiringName(1)));
  ASSERT_OK(mem.Put(PdsPinName("vm1"), Bytes{1, 2, 3}));
  ASSERT_OK(mem.Put("pds/g00000001/manifest", Bytes{}));
  EXPECT_THAT(RetirePdsGenerations(mem, {}),
              StatusIsWith(StatusCode::kCorruption, "pds/pins/vm1"));
}

}  // namespace
}  // namespace vcsnap
