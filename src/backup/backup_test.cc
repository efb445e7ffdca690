// End-to-end backup and restore over generated images: byte-exact restores,
// the level accounting, the lease, bad inputs, corruption, and a crash at
// every backend operation of a backup.

#include "backup/backup.h"

#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <random>
#include <semaphore>
#include <thread>

#include "backend/fault_backend.h"
#include "backend/mem_backend.h"
#include "backup/restore.h"
#include "recipe/catalog.h"
#include "recipe/lease.h"
#include "recipe/names.h"
#include "recipe/recipe_pack.h"
#include "recipe/snapshot_recipe.h"
#include "recipe/summary.h"
#include "testing/forwarding_backend.h"
#include "testing/small_repo.h"
#include "testing/status_matchers.h"
#include "testing/temp_dir.h"

namespace vcsnap {
namespace {

using ::vcsnap::testing::StatusIs;
using ::vcsnap::testing::StatusIsWith;

constexpr uint32_t kSeg = 64 << 10;

// Deterministic, compressible, chunk-shaped content: words from a small
// vocabulary, so that content repeats at chunk level across segments.
Bytes Text(size_t n, uint64_t seed) {
  static const char* kWords[] = {
      "alpha ", "beta ", "gamma ",       "delta\n",     "kernel ",
      "lib ",   "usr ",  "etc/passwd\n", "0123456789 ", "log: ok\n"};
  std::mt19937_64 rng(seed);
  Bytes out;
  while (out.size() < n) {
    const char* w = kWords[rng() % 10];
    out.insert(out.end(), w, w + std::strlen(w));
  }
  out.resize(n);
  return out;
}

class BackupTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = ::vcsnap::testing::NewTempDir("backup");
    NewRepo();
  }

  // A fresh repository on a fresh MemBackend, reached through the fault
  // wrapper (the repository owns only a forwarding handle).
  void NewRepo() {
    repo_.reset();
    fault_.reset();
    mem_owned_ = std::make_unique<MemBackend>(1 << 20);
    mem_ = mem_owned_.get();
    fault_ = std::make_unique<FaultBackend>(mem_);
    repo_ = std::move(*Repository::InitOn(
        std::make_unique<::vcsnap::testing::ForwardingBackend>(fault_.get()),
        ::vcsnap::testing::SmallRepoConfig()));
  }

  std::string Path(const std::string& name) { return dir_ + "/" + name; }

  void WriteImage(const std::string& name, const Bytes& data) {
    std::ofstream(Path(name), std::ios::binary | std::ios::trunc)
        .write(reinterpret_cast<const char*>(data.data()),
               static_cast<std::streamsize>(data.size()));
  }
  void WriteBitmap(const std::string& name, const std::vector<bool>& dirty) {
    Bytes bits((dirty.size() + 7) / 8, 0);
    for (size_t i = 0; i < dirty.size(); ++i) {
      if (dirty[i]) bits[i / 8] |= static_cast<uint8_t>(1 << (i % 8));
    }
    WriteImage(name, bits);
  }
  Bytes ReadFile(const std::string& path) {
    return ::vcsnap::testing::ReadTestFile(path);
  }

  Result<BackupResult> Backup(const std::string& vm, const std::string& image,
                              std::optional<std::string> bitmap = {},
                              uint64_t granularity = 0) {
    BackupOptions o;
    o.vm = vm;
    o.image_path = Path(image);
    if (bitmap) o.bitmap_path = Path(*bitmap);
    o.bitmap_granularity = granularity;
    o.threads = 2;
    return RunBackup(*repo_, o);
  }

  // Restores `snapshot` and returns the bytes (or the error).
  Result<Bytes> Restore(const std::string& vm, const std::string& snapshot,
                        bool verify = true) {
    RestoreOptions o;
    o.vm = vm;
    o.snapshot = snapshot;
    o.output = Path("restored.img");
    o.verify = verify;
    o.force = true;
    VCSNAP_ASSIGN_OR_RETURN(RestoreResult r, RunRestore(*repo_, o));
    (void)r;
    return ReadFile(o.output);
  }

  void ExpectLevelsAddUp(const BackupStats& s) {
    EXPECT_EQ(s.level1 + s.level2 + s.level3 + s.zero + s.new_bytes, s.logical);
  }

  std::string dir_;
  std::unique_ptr<MemBackend> mem_owned_;
  MemBackend* mem_ = nullptr;
  std::unique_ptr<FaultBackend> fault_;
  std::unique_ptr<Repository> repo_;
};

TEST_F(BackupTest, FirstBackupRestoresByteExact) {
  Bytes img = Text(10 * kSeg + 1234, 1);
  std::fill(img.begin() + 3 * kSeg, img.begin() + 5 * kSeg, 0);  // zeros
  // Segment 7 repeats segment 1: found through this backup's own segments.
  std::copy(img.begin() + kSeg, img.begin() + 2 * kSeg, img.begin() + 7 * kSeg);
  WriteImage("d0.img", img);
  auto r = Backup("vm1", "d0.img");
  ASSERT_OK(r);
  EXPECT_EQ(r->snapshot, 1u);
  EXPECT_EQ(r->parent, 0u);
  EXPECT_EQ(r->stats.logical, img.size());
  EXPECT_EQ(r->stats.level1, 0u);
  EXPECT_GE(r->stats.zero, 2u * kSeg);
  EXPECT_GT(r->stats.new_bytes, 0u);
  EXPECT_EQ(r->stats.level2, kSeg);                      // segment 7
  EXPECT_LT(r->stats.stored_bytes, r->stats.new_bytes);  // compressed
  ExpectLevelsAddUp(r->stats);
  auto back = Restore("vm1", "1");
  ASSERT_OK(back);
  EXPECT_TRUE(*back == img);
}

TEST_F(BackupTest, IncrementalWithBitmapReusesCleanSegments) {
  Bytes d0 = Text(16 * kSeg, 2);
  WriteImage("d0.img", d0);
  ASSERT_OK(Backup("vm1", "d0.img"));
  Bytes d1 = d0;
  // Day 1: segment 3 gets an in-place edit, segment 9 an insert that shifts.
  std::memcpy(d1.data() + 3 * kSeg + 100, "EDITED", 6);
  // The insert stays inside segment 9 (its tail falls off), as a guest
  // file system rewriting one extent would.
  Bytes ins = Text(300, 99);
  Bytes seg9(d0.begin() + 9 * kSeg, d0.begin() + 10 * kSeg);
  seg9.insert(seg9.begin() + 5000, ins.begin(), ins.end());
  std::copy(seg9.begin(), seg9.begin() + kSeg, d1.begin() + 9 * kSeg);
  WriteImage("d1.img", d1);
  std::vector<bool> dirty(16, false);
  dirty[3] = dirty[9] = true;
  WriteBitmap("d1.bitmap", dirty);
  auto r = Backup("vm1", "d1.img", "d1.bitmap");
  ASSERT_OK(r);
  EXPECT_EQ(r->parent, 1u);
  EXPECT_EQ(r->segments_dirty, 2u);
  EXPECT_EQ(r->stats.level1, 14u * kSeg);
  EXPECT_GT(r->stats.level2, kSeg);  // most of the two dirty segments
  EXPECT_LT(r->stats.new_bytes, kSeg / 4);
  ExpectLevelsAddUp(r->stats);
  EXPECT_TRUE(*Restore("vm1", "2") == d1);
  EXPECT_TRUE(*Restore("vm1", "1") == d0);
  EXPECT_TRUE(*Restore("vm1", "latest") == d1);
}

// Calls `f` with the entries of each segment of `snapshot` in order (null
// for a zero segment).
void ForEachSegment(
    Backend* backend, const std::string& vm, uint32_t snapshot,
    const std::function<void(const std::vector<RecipeEntry>*)>& f) {
  const std::string name = SnapshotRecipeName(vm, snapshot);
  Result<Bytes> raw = backend->Get(name);
  ASSERT_OK(raw);
  Result<SnapshotRecipe> recipe = DecodeSnapshotRecipe(*raw, name);
  ASSERT_OK(recipe);
  RecipeReader reader(backend, vm, recipe->segment_size, nullptr);
  for (const SegmentSlot& slot : recipe->segments) {
    if (slot.zero) {
      f(nullptr);
      continue;
    }
    Result<std::vector<RecipeEntry>> entries = reader.Read(slot.ref);
    ASSERT_OK(entries);
    f(&*entries);
  }
}

// What a snapshot's segments hold, without the references (which differ
// between VMs): kind, length and fingerprint of every chunk.
std::vector<std::string> Chunks(Backend* backend, const std::string& vm,
                                uint32_t snapshot) {
  std::vector<std::string> out;
  ForEachSegment(
      backend, vm, snapshot, [&](const std::vector<RecipeEntry>* entries) {
        if (entries == nullptr) {
          out.push_back("zero segment");
          return;
        }
        for (const RecipeEntry& e : *entries) {
          out.push_back(std::to_string(static_cast<int>(e.kind)) + " " +
                        std::to_string(e.length) + " " +
                        (e.kind == ChunkKind::kZero ? "" : ToHex(e.fp)));
        }
      });
  return out;
}

TEST_F(BackupTest, AFinerBitmapHashesLessAndGivesTheSameRecipes) {
  // The same two days backed up as two VMs: with a bitmap of one bit per
  // segment and with one bit per 4 KiB granule (16 per segment).
  const uint32_t granule = 4096, per_segment = kSeg / granule;
  Bytes d0 = Text(16 * kSeg, 5);
  std::fill(d0.begin() + 2 * kSeg + 1000, d0.begin() + 2 * kSeg + 9000, 0);
  WriteImage("d0.img", d0);
  ASSERT_OK(Backup("coarse", "d0.img"));
  ASSERT_OK(Backup("fine", "d0.img"));
  Bytes d1 = d0;
  std::vector<bool> granules(16 * per_segment, false);
  auto write = [&](uint32_t at, const Bytes& bytes) {
    std::copy(bytes.begin(), bytes.end(), d1.begin() + at);
    for (uint32_t g = at / granule; g <= (at + bytes.size() - 1) / granule;
         ++g) {
      granules[g] = true;
    }
  };
  write(3 * kSeg + 100, Text(40, 7));                // an in-place edit
  write(5 * kSeg + 20000, Bytes(3000, 0));           // zeros in the middle
  write(2 * kSeg + 9000, Bytes(200, 0));             // a run of zeros grows
  write(9 * kSeg + kSeg - 50, Text(100, 8));         // across segments
  write(12 * kSeg + 4 * granule, Text(granule, 9));  // one whole granule
  WriteImage("d1.img", d1);
  std::vector<bool> segments(16, false);
  for (size_t g = 0; g < granules.size(); ++g) {
    if (granules[g]) segments[g / per_segment] = true;
  }
  WriteBitmap("coarse.bitmap", segments);
  WriteBitmap("fine.bitmap", granules);
  auto coarse = Backup("coarse", "d1.img", "coarse.bitmap");
  auto fine = Backup("fine", "d1.img", "fine.bitmap", granule);
  ASSERT_OK(coarse);
  ASSERT_OK(fine);
  EXPECT_EQ(coarse->segments_dirty, 6u);
  EXPECT_EQ(fine->segments_dirty, 6u);
  EXPECT_EQ(coarse->bytes_reused, 0u);
  // Most of the 6 dirty segments lies in clean granules.
  EXPECT_GT(fine->bytes_reused, 4u * kSeg);
  EXPECT_LT(fine->bytes_reused, 6u * kSeg);
  EXPECT_GT(fine->chunks_reused, 0u);
  // Only the written granules and the margins around them are read.
  EXPECT_EQ(coarse->bytes_read, 6u * kSeg);
  EXPECT_LT(fine->bytes_read, 6u * kSeg - fine->bytes_reused / 2);
  EXPECT_GT(fine->bytes_read, 0u);
  EXPECT_EQ(fine->stats, coarse->stats);
  EXPECT_EQ(Chunks(mem_, "fine", 2), Chunks(mem_, "coarse", 2));
  EXPECT_TRUE(*Restore("fine", "2") == d1);
  EXPECT_TRUE(*Restore("fine", "1") == d0);
}

// The VM's counting filter, kept up to date from the dirty segments only,
// must count exactly the VM references of the latest snapshot's segments:
// deletion's summaries are cut from it, and a reference it missed could be
// deleted while live.
void ExpectFilterCountsLatest(Backend* backend, const std::string& vm,
                              uint32_t snapshot) {
  Result<std::optional<VmFilter>> stored = LoadVmFilter(*backend, vm);
  ASSERT_OK(stored);
  ASSERT_TRUE(stored->has_value());
  ASSERT_EQ((*stored)->snapshot, snapshot);
  CountingBloom want((*stored)->filter.params());
  ForEachSegment(backend, vm, snapshot,
                 [&](const std::vector<RecipeEntry>* entries) {
                   if (entries == nullptr) return;
                   for (const RecipeEntry& e : *entries) {
                     if (e.kind == ChunkKind::kVm) want.Add(e.vm_ref);
                   }
                 });
  EXPECT_EQ(want.keys(), (*stored)->filter.keys()) << "snapshot " << snapshot;
  EXPECT_TRUE(want.Encode() == (*stored)->filter.Encode())
      << "snapshot " << snapshot;
}

TEST_F(BackupTest, TheVmFilterCountsExactlyTheLatestSnapshotsReferences) {
  const uint32_t granule = 4096;
  Bytes img = Text(12 * kSeg + 300, 11);
  WriteImage("d.img", img);
  ASSERT_OK(Backup("vm1", "d.img"));
  ExpectFilterCountsLatest(mem_, "vm1", 1);
  uint32_t snapshot = 1;
  for (int day = 0; day < 6; ++day) {
    auto granules_of = [&] { return (img.size() + granule - 1) / granule; };
    std::vector<bool> granules(granules_of(), false);
    auto write = [&](size_t at, const Bytes& bytes) {
      std::copy(bytes.begin(), bytes.end(), img.begin() + at);
      for (size_t g = at / granule; g <= (at + bytes.size() - 1) / granule;
           ++g) {
        granules[g] = true;
      }
    };
    write(day * kSeg + 777, Text(2000, 20 + day));               // an edit
    write((day + 3) * kSeg, Bytes(kSeg, 0));                     // zeroed
    write((day + 5) * kSeg + 5000, Bytes((day + 1) * 3000, 0));  // a hole
    write(2 * kSeg, Bytes(img.begin() + 8 * kSeg,                // a copy
                          img.begin() + 8 * kSeg + kSeg / 2));
    std::string bitmap = "day" + std::to_string(day) + ".bitmap";
    if (day == 3) {  // the image grows, then shrinks
      Bytes more = Text(2 * kSeg, 40);
      img.insert(img.end(), more.begin(), more.end());
      granules.resize(granules_of(), true);
    }
    if (day == 5) {
      img.resize(9 * kSeg + 10);
      granules.resize(granules_of());
    }
    WriteImage("d.img", img);
    WriteBitmap(bitmap, granules);
    ASSERT_OK(Backup("vm1", "d.img", bitmap, granule));
    ++snapshot;
    ExpectFilterCountsLatest(mem_, "vm1", snapshot);
    EXPECT_TRUE(*Restore("vm1", std::to_string(snapshot)) == img);
  }
}

// The filter is loaded in the background while the backup runs: a damaged
// one is rebuilt from the parent's recipes with a note, a missing one
// silently, and either way it ends counting exactly the new snapshot.
TEST_F(BackupTest, ADamagedOrMissingVmFilterIsRebuiltMeanwhile) {
  Bytes img = Text(6 * kSeg + 100, 3);
  WriteImage("d.img", img);
  ASSERT_OK(Backup("vm1", "d.img"));
  for (int round = 0; round < 2; ++round) {
    SCOPED_TRACE(round == 0 ? "damaged" : "missing");
    if (round == 0) {
      Result<Bytes> cbf = mem_->Get("vm/vm1/cbf");
      ASSERT_OK(cbf);
      (*cbf)[cbf->size() / 2] ^= 0x10;
      ASSERT_OK(mem_->Put("vm/vm1/cbf", *cbf));
    } else {
      ASSERT_OK(mem_->Delete("vm/vm1/cbf"));
    }
    Bytes edit = Text(3000, 50 + round);
    std::copy(edit.begin(), edit.end(), img.begin() + 2 * kSeg + 10);
    WriteImage("d.img", img);
    std::vector<bool> dirty(7, false);
    dirty[2] = true;
    WriteBitmap("b.bitmap", dirty);
    auto r = Backup("vm1", "d.img", "b.bitmap");
    ASSERT_OK(r);
    EXPECT_EQ(
        r->note.find("counting filter is unreadable") != std::string::npos,
        round == 0)
        << r->note;
    ExpectFilterCountsLatest(mem_, "vm1", r->snapshot);
  }
  // An I/O error while loading it is not damage: the backup fails, at
  // whatever point the loader's error is taken, and commits nothing.
  fault_->FailKind(OpKind::kGet, "vm/vm1/cbf");
  auto failed = Backup("vm1", "d.img");
  fault_->ClearFaults();
  ASSERT_FALSE(failed.ok());
  EXPECT_NE(failed.status().message().find("vm/vm1/cbf"), std::string::npos)
      << failed.status().message();
  Result<Catalog> catalog = LoadCatalog(*mem_, "vm1");
  ASSERT_OK(catalog);
  EXPECT_EQ(catalog->entries.size(), 3u);
}

TEST_F(BackupTest, WithoutBitmapEverySegmentIsDirtyButDedupsAgainstParent) {
  Bytes d0 = Text(8 * kSeg, 3);
  WriteImage("d0.img", d0);
  ASSERT_OK(Backup("vm1", "d0.img"));
  auto r = Backup("vm1", "d0.img");
  ASSERT_OK(r);
  EXPECT_EQ(r->segments_dirty, 8u);
  EXPECT_EQ(r->stats.level1, 0u);
  EXPECT_EQ(r->stats.new_bytes, 0u);
  EXPECT_EQ(r->stats.level2, d0.size());
}

TEST_F(BackupTest, MovedDataIsFoundThroughSimilarSegments) {
  Bytes d0 = Text(8 * kSeg, 4);
  for (size_t i = 0; i < 8 * kSeg; ++i) d0[i] ^= static_cast<uint8_t>(i / kSeg);
  WriteImage("d0.img", d0);
  ASSERT_OK(Backup("vm1", "d0.img"));
  Bytes d1 = d0;
  // Segment 2's content moves to segment 6 (a file relocated on disk).
  std::memcpy(d1.data() + 6 * kSeg, d0.data() + 2 * kSeg, kSeg);
  WriteImage("d1.img", d1);
  std::vector<bool> dirty(8, false);
  dirty[6] = true;
  WriteBitmap("d1.bitmap", dirty);
  auto r = Backup("vm1", "d1.img", "d1.bitmap");
  ASSERT_OK(r);
  EXPECT_EQ(r->stats.new_bytes, 0u);
  EXPECT_EQ(r->stats.level2, kSeg);
  EXPECT_TRUE(*Restore("vm1", "2") == d1);
}

TEST_F(BackupTest, ImageMayGrowAndShrink) {
  Bytes d0 = Text(4 * kSeg + 100, 5);
  WriteImage("d.img", d0);
  ASSERT_OK(Backup("vm1", "d.img"));
  Bytes d1 = d0;
  Bytes more = Text(3 * kSeg, 6);
  d1.insert(d1.end(), more.begin(), more.end());
  WriteImage("d.img", d1);
  WriteBitmap("none.bitmap", std::vector<bool>(8, false));  // nothing marked
  auto grown = Backup("vm1", "d.img", "none.bitmap");
  ASSERT_OK(grown);
  // The old partial last segment changed length: it is not reused blindly.
  EXPECT_EQ(grown->stats.level1, 4u * kSeg);
  EXPECT_TRUE(*Restore("vm1", "2") == d1);
  Bytes d2(d1.begin(), d1.begin() + 2 * kSeg + 7);
  WriteImage("d.img", d2);
  ASSERT_OK(Backup("vm1", "d.img", "none.bitmap"));
  EXPECT_TRUE(*Restore("vm1", "3") == d2);
  EXPECT_TRUE(*Restore("vm1", "1") == d0);
}

TEST_F(BackupTest, SparseImagesAndEmptyImages) {
  {
    int fd =
        ::open(Path("sparse.img").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ASSERT_GE(fd, 0);
    Bytes t = Text(5000, 7);
    ASSERT_EQ(::pwrite(fd, t.data(), t.size(), 5 * kSeg + 10),
              static_cast<ssize_t>(t.size()));
    ASSERT_EQ(::ftruncate(fd, 12 * kSeg), 0);
    ::close(fd);
  }
  auto r = Backup("vm1", "sparse.img");
  ASSERT_OK(r);
  EXPECT_GE(r->stats.zero, 11u * kSeg);
  ExpectLevelsAddUp(r->stats);
  EXPECT_TRUE(*Restore("vm1", "1") == ReadFile(Path("sparse.img")));
  WriteImage("empty.img", Bytes());
  ASSERT_OK(Backup("vm2", "empty.img"));
  EXPECT_TRUE(Restore("vm2", "1")->empty());
}

TEST_F(BackupTest, BadInputsAreClearErrorsAndChangeNothing) {
  WriteImage("d.img", Text(4 * kSeg, 8));
  ASSERT_OK(Backup("vm1", "d.img"));
  auto objects = mem_->List("");
  EXPECT_THAT(Backup("vm1", "missing.img"),
              StatusIsWith(StatusCode::kInvalidArgument, "missing.img"));
  WriteImage("long.bitmap", Bytes(100, 0xff));
  EXPECT_THAT(Backup("vm1", "d.img", "long.bitmap"),
              StatusIsWith(StatusCode::kInvalidArgument, "another disk"));
  EXPECT_THAT(Backup("vm1", "d.img", "no.bitmap"),
              StatusIsWith(StatusCode::kInvalidArgument, "no.bitmap"));
  BackupOptions o;
  o.vm = "vm1";
  o.image_path = Path("d.img");
  o.bitmap_path = Path("long.bitmap");
  o.bitmap_granularity = 3000;
  EXPECT_THAT(RunBackup(*repo_, o),
              StatusIsWith(StatusCode::kInvalidArgument, "granularity"));
  for (const char* bad : {"a/b", "..", "", ".x"}) {
    EXPECT_THAT(Backup(bad, "d.img"), StatusIs(StatusCode::kInvalidArgument));
  }
  EXPECT_THAT(Restore("nobody", "1"),
              StatusIsWith(StatusCode::kNotFound, "no snapshots"));
  EXPECT_THAT(Restore("vm1", "7"), StatusIsWith(StatusCode::kNotFound, "7"));
  EXPECT_THAT(Restore("vm1", "x7"), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_EQ(mem_->List("")->size(), objects->size());
  EXPECT_THAT(ReadLease(*mem_, "vm1"), StatusIs(StatusCode::kNotFound));
}

// Notes whether a dedup slot was free when a VM's catalog was last written
// (the commit's last step).
class SlotWatchingBackend final : public ::vcsnap::testing::ForwardingBackend {
 public:
  SlotWatchingBackend(Backend* target, std::counting_semaphore<>* slots,
                      std::string catalog)
      : ForwardingBackend(target),
        slots_(slots),
        catalog_(std::move(catalog)) {}
  Status Put(std::string_view name, ByteView data) override {
    if (name == catalog_) {
      free_at_commit = slots_->try_acquire();
      if (free_at_commit) slots_->release();
    }
    return ForwardingBackend::Put(name, data);
  }
  bool free_at_commit = false;

 private:
  std::counting_semaphore<>* slots_;
  const std::string catalog_;
};

TEST_F(BackupTest, ABackupHoldsItsDedupSlotUntilItsCommitOnly) {
  WriteImage("d.img", Text(4 * kSeg, 8));
  std::counting_semaphore<> slots(1);
  MemBackend mem(1 << 20);
  auto owned =
      std::make_unique<SlotWatchingBackend>(&mem, &slots, CatalogName("vm1"));
  SlotWatchingBackend* watch = owned.get();
  auto repo = std::move(*Repository::InitOn(
      std::move(owned), ::vcsnap::testing::SmallRepoConfig()));
  BackupOptions o;
  o.vm = "vm1";
  o.image_path = Path("d.img");
  o.dedup_slots = &slots;
  // Committed without the slot: the next backup's dedup overlaps the fsyncs.
  Result<BackupResult> first = RunBackup(*repo, o);
  ASSERT_OK(first);
  EXPECT_TRUE(watch->free_at_commit);
  EXPECT_LT(first->seconds_queued, 0.5);
  // A backup waits while every slot is taken, and says how long.
  slots.acquire();
  std::thread holder([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    slots.release();
  });
  Result<BackupResult> second = RunBackup(*repo, o);
  holder.join();
  ASSERT_OK(second);
  EXPECT_GE(second->seconds_queued, 0.15);
  // A failed backup gives its slot back too.
  o.image_path = Path("missing.img");
  EXPECT_THAT(RunBackup(*repo, o), StatusIs(StatusCode::kInvalidArgument));
  ASSERT_TRUE(slots.try_acquire());
  slots.release();
}

TEST_F(BackupTest, BackupsOfOneProcessReuseEachOthersSegmentBuffers) {
  WriteImage("a.img", Text(6 * kSeg, 21));
  WriteImage("b.img", Text(6 * kSeg, 22));
  WriteImage("one.img", Text(kSeg, 23));
  BufferPool pool(16);
  BackupOptions o;
  o.vm = "vm0";
  o.image_path = Path("one.img");
  o.threads = 2;
  o.segment_buffers = &pool;
  ASSERT_OK(RunBackup(*repo_, o));
  EXPECT_EQ(pool.kept(), 1u);  // the one segment's buffer came back
  o.vm = "vm1";
  o.image_path = Path("a.img");
  ASSERT_OK(RunBackup(*repo_, o));
  // At most the pipeline's, one in reading and one in dedup: the first
  // VM's buffer was taken again, not one more made.
  constexpr size_t kMost = 2 * 2 + 4;
  EXPECT_GE(pool.kept(), 2u);
  EXPECT_LE(pool.kept(), kMost);
  o.vm = "vm2";
  o.image_path = Path("b.img");
  ASSERT_OK(RunBackup(*repo_, o));
  EXPECT_LE(pool.kept(), kMost);  // not twice as many: taken again
  Result<Bytes> back = Restore("vm2", "latest");
  ASSERT_OK(back);
  EXPECT_TRUE(*back == Text(6 * kSeg, 22));
}

TEST_F(BackupTest, RestoreRefusesToOverwriteWithoutForce) {
  WriteImage("d.img", Text(kSeg, 9));
  ASSERT_OK(Backup("vm1", "d.img"));
  RestoreOptions o;
  o.vm = "vm1";
  o.snapshot = "1";
  o.output = Path("d.img");
  EXPECT_THAT(RunRestore(*repo_, o),
              StatusIsWith(StatusCode::kAlreadyExists, "--force"));
  o.force = true;
  EXPECT_OK(RunRestore(*repo_, o));
}

TEST_F(BackupTest, LeaseRefusesASecondWriter) {
  WriteImage("d.img", Text(kSeg, 10));
  auto held = Lease::Acquire(mem_, "vm1", "forget");
  ASSERT_OK(held);
  EXPECT_THAT(Backup("vm1", "d.img"),
              StatusIsWith(StatusCode::kBusy, "locked by 'forget'"));
  ASSERT_OK((*held)->Release());
  EXPECT_OK(Backup("vm1", "d.img"));
}

TEST_F(BackupTest, CorruptionIsReportedWithItsPlaceNeverAsWrongBytes) {
  Bytes img = Text(6 * kSeg, 11);
  WriteImage("d.img", img);
  ASSERT_OK(Backup("vm1", "d.img"));
  fault_->CorruptReads("vm/vm1/store/", 200);
  auto bad = Restore("vm1", "1", /*verify=*/false);
  EXPECT_THAT(
      bad, StatusIsWith(StatusCode::kCorruption, "VM vm1 snapshot 1 segment"));
  fault_->ClearFaults();
  fault_->CorruptReads("vm/vm1/recipes/", 40);
  EXPECT_THAT(Restore("vm1", "1"),
              StatusIsWith(StatusCode::kCorruption, "segment recipe"));
  fault_->ClearFaults();
  fault_->CorruptReads("vm/vm1/snap/", 30);
  EXPECT_THAT(Restore("vm1", "1"),
              StatusIsWith(StatusCode::kCorruption, "snapshot recipe"));
  fault_->ClearFaults();
  EXPECT_FALSE(std::filesystem::exists(Path("restored.img.vcsnap-partial")));
  EXPECT_TRUE(*Restore("vm1", "1") == img);
}

// Crashes an incremental backup at each backend operation in turn (with and
// without the operation taking effect). Every time, the earlier snapshot
// still restores, a committed snapshot is complete, and -- once the lease of
// the dead writer is broken, as an operator would -- the next backup works.
TEST_F(BackupTest, CrashAtEveryOperationOfABackup) {
  Bytes d0 = Text(12 * kSeg, 12);
  Bytes d1 = d0;
  for (int s : {2, 5, 11})
    std::memcpy(d1.data() + s * kSeg + 77, "CHANGED!", 8);
  Bytes fresh = Text(kSeg, 13);
  std::copy(fresh.begin(), fresh.end(), d1.begin() + 8 * kSeg);
  WriteImage("d0.img", d0);
  WriteImage("d1.img", d1);
  std::vector<bool> dirty(12, false);
  for (int s : {2, 5, 8, 11}) dirty[s] = true;
  WriteBitmap("d1.bitmap", dirty);

  // Count the operations of the incremental backup.
  ASSERT_OK(Backup("vm1", "d0.img"));
  uint64_t before = fault_->op_count();
  ASSERT_OK(Backup("vm1", "d1.img", "d1.bitmap"));
  const uint64_t ops = fault_->op_count() - before;
  ASSERT_GT(ops, 10u);

  for (uint64_t i = 1; i <= ops; ++i) {
    for (bool apply : {false, true}) {
      SCOPED_TRACE("crash at operation " + std::to_string(i) +
                   (apply ? " (applied)" : ""));
      NewRepo();
      ASSERT_OK(Backup("vm1", "d0.img"));
      fault_->CrashAtNth(i, apply);
      Result<BackupResult> crashed = Backup("vm1", "d1.img", "d1.bitmap");
      fault_->Restart();
      auto catalog = LoadCatalog(*mem_, "vm1");
      ASSERT_OK(catalog);
      ASSERT_GE(catalog->entries.size(), 1u);
      ASSERT_TRUE(*Restore("vm1", "1") == d0);
      if (catalog->entries.size() == 2) {
        // Only the catalog write itself may have landed before the crash.
        ASSERT_TRUE(*Restore("vm1", "2") == d1);
        continue;
      }
      ASSERT_FALSE(crashed.ok());
      (void)BreakLease(*mem_, "vm1", /*force=*/true);  // may be absent
      auto next = Backup("vm1", "d1.img", "d1.bitmap");
      ASSERT_OK(next);
      ASSERT_EQ(next->snapshot, 2u);
      ASSERT_TRUE(*Restore("vm1", "2") == d1);
    }
  }
}

}  // namespace
}  // namespace vcsnap
