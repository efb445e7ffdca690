// Properties of generated fleets: determinism, conservative and non-trivial
// dirty bitmaps, manifest hashes, sparseness, change rate, disk growth.
// Tests assert properties, never content hashes: the source files differ
// between machines.

#include "fleet/fleet.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>

#include "fleet/image_file.h"
#include "fleet/source.h"
#include "fleet/vm_disk.h"
#include "testing/status_matchers.h"
#include "testing/temp_dir.h"

namespace vcsnap::fleet {
namespace {

using ::vcsnap::testing::NewTempDir;
using ::vcsnap::testing::StatusIs;

Bytes ReadAll(const std::string& path) {
  auto r = ReadWholeFile(path, 1ull << 32);
  EXPECT_OK(r);
  return r.ok() ? *r : Bytes();
}

bool BitSet(const Bytes& bitmap, uint64_t i) {
  return i / 8 < bitmap.size() && ((bitmap[i / 8] >> (i % 8)) & 1);
}

// One fleet shared by the read-only tests: 4 VMs x 3 days x 32 MiB, bitmap
// granularity 256 KiB (ctest runs every test in its own process, so this is
// generated once per test: keep it small).
class FleetTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    options_ = new FleetOptions(TinyFleetOptions(NewTempDir("fleet")));
    options_->image_size = 32ull << 20;
    options_->granularity = 256 << 10;
    auto m = GenerateFleet(*options_);
    ASSERT_OK(m);
    manifest_ = new FleetManifest(*m);
  }
  static void TearDownTestSuite() {
    delete options_;
    delete manifest_;
  }
  static std::string Path(const std::string& rel) {
    return options_->out_dir + "/" + rel;
  }
  static FleetOptions* options_;
  static FleetManifest* manifest_;
};
FleetOptions* FleetTest::options_ = nullptr;
FleetManifest* FleetTest::manifest_ = nullptr;

TEST_F(FleetTest, LayoutAndManifestMatchFiles) {
  ASSERT_EQ(manifest_->vms.size(), 4u);
  auto read = ReadFleetManifest(options_->out_dir);
  ASSERT_OK(read);
  EXPECT_EQ(EncodeManifest(*read), EncodeManifest(*manifest_));
  EXPECT_EQ(read->version, kManifestVersion);
  EXPECT_EQ(read->dirty_target, options_->dirty_target);
  EXPECT_EQ(read->source_families, options_->source_families);
  for (const FleetVm& vm : manifest_->vms) {
    ASSERT_EQ(vm.days.size(), 3u);
    for (const FleetDay& d : vm.days) {
      auto digest = DigestFile(Path(d.image));
      ASSERT_OK(digest);
      EXPECT_EQ(digest->sha256, d.sha256) << d.image;
      EXPECT_EQ(digest->size, d.size) << d.image;
      const uint64_t granules =
          (d.size + manifest_->granularity - 1) / manifest_->granularity;
      EXPECT_EQ(ReadAll(Path(d.bitmap)).size(), (granules + 7) / 8);
    }
  }
}

TEST_F(FleetTest, DayZeroBitmapIsAllDirty) {
  for (const FleetVm& vm : manifest_->vms) {
    const FleetDay& d = vm.days[0];
    Bytes bm = ReadAll(Path(d.bitmap));
    for (uint64_t g = 0; g < d.size / manifest_->granularity; ++g) {
      ASSERT_TRUE(BitSet(bm, g)) << vm.name << " granule " << g;
    }
  }
}

// Every granule whose bytes differ from the previous day is marked; and the
// bitmap is not trivially all ones: most unchanged segments are clean.
TEST_F(FleetTest, BitmapIsConservativeAndNotAllOnes) {
  const uint64_t g = manifest_->granularity;
  uint64_t changed = 0, unchanged = 0, unchanged_clean = 0;
  for (const FleetVm& vm : manifest_->vms) {
    for (size_t day = 1; day < vm.days.size(); ++day) {
      const FleetDay& prev = vm.days[day - 1];
      const FleetDay& cur = vm.days[day];
      Bytes bm = ReadAll(Path(cur.bitmap));
      Bytes a = ReadAll(Path(prev.image));
      Bytes b = ReadAll(Path(cur.image));
      ASSERT_EQ(b.size(), cur.size);
      for (uint64_t i = 0; i * g < cur.size; ++i) {
        const uint64_t len = std::min<uint64_t>(g, cur.size - i * g);
        const bool same =
            (i + 1) * g <= a.size() &&
            std::memcmp(a.data() + i * g, b.data() + i * g, len) == 0;
        if (!same) {
          ++changed;
          ASSERT_TRUE(BitSet(bm, i)) << vm.name << " day " << day << " granule "
                                     << i << " changed but is not marked dirty";
        } else {
          ++unchanged;
          if (!BitSet(bm, i)) ++unchanged_clean;
        }
      }
    }
  }
  EXPECT_GT(changed, 0u);
  ASSERT_GT(unchanged, 0u);
  EXPECT_GT(static_cast<double>(unchanged_clean) / unchanged, 0.5)
      << unchanged_clean << " of " << unchanged << " unchanged granules clean";
}

TEST_F(FleetTest, ImagesAreSparseWhereZero) {
  for (const FleetVm& vm : manifest_->vms) {
    const FleetDay& d = vm.days.back();
    Bytes img = ReadAll(Path(d.image));
    uint64_t nonzero_blocks = 0;
    for (size_t off = 0; off < img.size(); off += 4096) {
      const uint8_t* p = img.data() + off;
      if (!(p[0] == 0 && std::memcmp(p, p + 1, 4095) == 0)) ++nonzero_blocks;
    }
    EXPECT_LT(d.allocated, d.size) << d.image;
    EXPECT_LE(d.allocated, nonzero_blocks * 4096 + (256 << 10)) << d.image;
  }
}

TEST_F(FleetTest, OsContentIsRealFiles) {
  // Real binaries from the source tree: ELF headers at block starts. Counted
  // over every VM's first image: which files land in one 32 MiB image
  // depends on what this machine's /usr holds (installing packages moved
  // VM 0's count from above 5 to 4).
  int elf = 0;
  for (const FleetVm& vm : manifest_->vms) {
    Bytes img = ReadAll(Path(vm.days[0].image));
    for (size_t off = 0; off + 4 <= img.size(); off += 4096) {
      if (std::memcmp(img.data() + off,
                      "\x7f"
                      "ELF",
                      4) == 0)
        ++elf;
    }
  }
  EXPECT_GT(elf, 5);
  EXPECT_EQ(manifest_->source_root, "/usr");
  EXPECT_EQ(manifest_->source_digest.size(), 64u);
}

TEST_F(FleetTest, DailyChangeRateWithinConfiguredRange) {
  const double rate = options_->change_rate;
  double sum = 0;
  int n = 0;
  for (const FleetVm& vm : manifest_->vms) {
    for (size_t day = 1; day < vm.days.size(); ++day) {
      const double r = static_cast<double>(vm.days[day].written_bytes) /
                       static_cast<double>(vm.days[day].size);
      EXPECT_GT(r, rate / 4) << vm.name << " day " << day;
      EXPECT_LT(r, rate * 4) << vm.name << " day " << day;
      sum += r;
      ++n;
    }
  }
  EXPECT_GT(sum / n, rate * 0.5);
  EXPECT_LT(sum / n, rate * 2.0);
}

TEST(FleetGenerateTest, SameSeedSameFleetOtherSeedOtherFleet) {
  FleetOptions a = TinyFleetOptions(NewTempDir("fleet-a"));
  FleetOptions b = TinyFleetOptions(NewTempDir("fleet-b"));
  FleetOptions c = TinyFleetOptions(NewTempDir("fleet-c"));
  a.vms = b.vms = c.vms = 2;
  c.seed = 2;
  auto ma = GenerateFleet(a);
  auto mb = GenerateFleet(b);
  auto mc = GenerateFleet(c);
  ASSERT_OK(ma);
  ASSERT_OK(mb);
  ASSERT_OK(mc);
  EXPECT_EQ(EncodeManifest(*ma), EncodeManifest(*mb));
  for (const FleetVm& vm : ma->vms) {
    for (const FleetDay& d : vm.days) {
      EXPECT_EQ(ReadAll(a.out_dir + "/" + d.bitmap),
                ReadAll(b.out_dir + "/" + d.bitmap));
    }
  }
  EXPECT_NE(ma->vms[0].days[0].sha256, mc->vms[0].days[0].sha256);
  EXPECT_NE(ma->vms[1].days[2].sha256, mc->vms[1].days[2].sha256);
}

TEST(FleetGenerateTest, DiskGrowthMarksTheNewArea) {
  FleetOptions o = TinyFleetOptions(NewTempDir("fleet-grow"));
  o.vms = 1;
  o.growth_probability = 1.0;
  o.granularity = 64 << 10;
  auto m = GenerateFleet(o);
  ASSERT_OK(m);
  const auto& days = m->vms[0].days;
  for (size_t d = 1; d < days.size(); ++d) {
    ASSERT_GT(days[d].size, days[d - 1].size);
    Bytes bm = ReadAll(o.out_dir + "/" + days[d].bitmap);
    const uint64_t g = o.granularity;
    ASSERT_EQ(bm.size(), ((days[d].size + g - 1) / g + 7) / 8);
    for (uint64_t i = days[d - 1].size / g; i * g < days[d].size; ++i) {
      ASSERT_TRUE(BitSet(bm, i)) << "new granule " << i << " not dirty";
    }
    struct stat st;
    ASSERT_EQ(::stat((o.out_dir + "/" + days[d].image).c_str(), &st), 0);
    EXPECT_EQ(static_cast<uint64_t>(st.st_size), days[d].size);
  }
}

TEST(FleetGenerateTest, KeepDaysRemovesOldImagesButKeepsBitmaps) {
  FleetOptions o = TinyFleetOptions(NewTempDir("fleet-keep"));
  o.vms = 1;
  o.keep_days = 1;
  auto m = GenerateFleet(o);
  ASSERT_OK(m);
  const auto& days = m->vms[0].days;
  for (size_t d = 0; d < days.size(); ++d) {
    const bool last = d + 1 == days.size();
    EXPECT_EQ(days[d].image_present, last);
    EXPECT_EQ(std::filesystem::exists(o.out_dir + "/" + days[d].image), last);
    EXPECT_TRUE(std::filesystem::exists(o.out_dir + "/" + days[d].bitmap));
  }
}

TEST(FleetGenerateTest, RejectsBadOptionsAndNonEmptyOutput) {
  FleetOptions o = TinyFleetOptions(NewTempDir("fleet-bad"));
  o.image_size = (16ull << 20) + 4096;
  EXPECT_THAT(GenerateFleet(o), StatusIs(StatusCode::kInvalidArgument));
  o = TinyFleetOptions(o.out_dir);
  o.change_rate = 0;
  EXPECT_THAT(GenerateFleet(o), StatusIs(StatusCode::kInvalidArgument));
  o = TinyFleetOptions(o.out_dir);
  o.granularity = 3000;
  EXPECT_THAT(GenerateFleet(o), StatusIs(StatusCode::kInvalidArgument));
  o = TinyFleetOptions(o.out_dir);
  ASSERT_OK(WriteWholeFile(o.out_dir + "/junk", AsBytes("x")));
  EXPECT_THAT(GenerateFleet(o), StatusIs(StatusCode::kAlreadyExists));
}

TEST(FleetGenerateTest, BadSourceLeavesNoOutputBehind) {
  const std::string tmp = NewTempDir("fleet-bad-source");
  FleetOptions o = TinyFleetOptions(tmp + "/new/fleet");
  o.source_root = tmp + "/missing";
  EXPECT_THAT(GenerateFleet(o), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_FALSE(std::filesystem::exists(tmp + "/new"));
  // An output directory that existed (empty) stays, and stays empty.
  ASSERT_TRUE(std::filesystem::create_directory(tmp + "/empty"));
  o.out_dir = tmp + "/empty";
  EXPECT_THAT(GenerateFleet(o), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_TRUE(std::filesystem::is_directory(o.out_dir));
  EXPECT_TRUE(std::filesystem::is_empty(o.out_dir));
}

TEST(FleetGenerateTest, FailureAfterTheImagesRemovesThem) {
  // The last progress call puts a directory where the manifest goes, so
  // GenerateFleet fails after writing every image.
  const std::string tmp = NewTempDir("fleet-late-failure");
  FleetOptions o = TinyFleetOptions(tmp + "/fleet");
  o.vms = 1;
  o.days = 2;
  int calls = 0;
  o.progress = [&](const std::string&) {
    if (++calls == 2) {
      std::filesystem::create_directories(o.out_dir + "/manifest.json/x");
    }
  };
  EXPECT_THAT(GenerateFleet(o), StatusIs(StatusCode::kIOError));
  EXPECT_EQ(calls, 2);
  EXPECT_FALSE(std::filesystem::exists(o.out_dir));
  EXPECT_TRUE(std::filesystem::is_directory(tmp));
}

// The share of dirty segments a day follows --dirty-target: more places
// (database regions, edits, moves) when it is higher, and the change rate
// stays in its range.
TEST(FleetGenerateTest, DirtyTargetRaisesTheDirtyShare) {
  auto share = [](double target, double* rate) {
    FleetOptions o = TinyFleetOptions(NewTempDir("fleet-target"));
    o.vms = 1;
    o.days = 5;
    o.image_size = 128ull << 20;
    o.growth_probability = 0;
    o.dirty_target = target;
    auto m = GenerateFleet(o);
    EXPECT_OK(m);
    if (!m.ok()) return 0.0;
    double sum = 0;
    *rate = 0;
    const auto& days = m->vms[0].days;
    for (size_t d = 1; d < days.size(); ++d) {
      sum += static_cast<double>(days[d].dirty_segments) /
             static_cast<double>(days[d].size / o.segment_size);
      *rate += static_cast<double>(days[d].written_bytes) /
               static_cast<double>(days[d].size) / (days.size() - 1);
      EXPECT_GE(days[d].events.at("inserts"), 1u) << "day " << d;
      EXPECT_GE(days[d].events.at("db_regions"), 1u) << "day " << d;
    }
    return sum / (days.size() - 1);
  };
  double rate_low = 0, rate_high = 0;
  const double low = share(0, &rate_low);
  const double high = share(0.35, &rate_high);
  EXPECT_GT(high, low + 0.04) << low << " vs " << high;
  EXPECT_GT(high, 0.25);
  for (double r : {rate_low, rate_high}) {
    EXPECT_GT(r, 0.01);
    EXPECT_LT(r, 0.04);
  }
  FleetOptions bad = TinyFleetOptions(NewTempDir("fleet-target-bad"));
  bad.dirty_target = 1.5;
  EXPECT_THAT(GenerateFleet(bad), StatusIs(StatusCode::kInvalidArgument));
}

// A source of three OS trees ("aa", "bb", "cc"), about 7 MiB each, with
// text and compressed names, each 4 KiB block naming its tree.
std::string MakeThreeTrees() {
  const std::string root = NewTempDir("fleet-trees");
  for (const char* top : {"aa", "bb", "cc"}) {
    for (int d = 0; d < 10; ++d) {
      const std::string dir =
          root + "/" + top + "/usr/lib/pkg" + std::to_string(d);
      std::filesystem::create_directories(dir);
      for (int f = 0; f < 12; ++f) {
        std::string body;
        for (int b = 0; b < 14; ++b) {
          std::string block = std::string("TREE=") + top + " dir " +
                              std::to_string(d) + " file " + std::to_string(f) +
                              " block " + std::to_string(b) + "\n";
          block.resize(4096, static_cast<char>('a' + (b + f + d) % 26));
          body += block;
        }
        const char* ext = f == 0 ? ".gz" : f == 1 ? ".txt" : ".so";
        EXPECT_OK(WriteWholeFile(dir + "/f" + std::to_string(f) + ext,
                                 AsBytes(body)));
      }
    }
  }
  return root;
}

TEST(FleetGenerateTest, SourceFamiliesAreTheTopLevelTrees) {
  const std::string trees = MakeThreeTrees();
  FleetOptions o = TinyFleetOptions(NewTempDir("fleet-trees-out"));
  o.source_root = trees;
  o.source_families = true;
  o.families = 5;  // ignored: the trees decide
  auto catalog = SourceCatalog::Scan(trees, 16 << 20, 0);
  ASSERT_OK(catalog);
  auto plan = MakeFleetPlan(*catalog, o);
  ASSERT_OK(plan);
  ASSERT_EQ(plan->families, 3u);
  EXPECT_TRUE(plan->core.empty());
  const char* tops[] = {"aa/", "bb/", "cc/"};
  for (uint32_t f = 0; f < 3; ++f) {
    ASSERT_FALSE(plan->family[f].empty());
    for (uint32_t p : plan->family[f]) {
      const std::string& path =
          catalog->files()[catalog->packages()[p].first].path;
      EXPECT_EQ(path.rfind(tops[f], 0), 0u) << "family " << f << ": " << path;
    }
  }
  o.vms = 3;
  o.days = 2;
  auto m = GenerateFleet(o);
  ASSERT_OK(m);
  EXPECT_EQ(m->families, 3u);
  for (uint32_t v = 0; v < 3; ++v) EXPECT_EQ(m->vms[v].family, v);
  // Without source_families the same trees are one pool split at random.
  o.source_families = false;
  auto mixed = MakeFleetPlan(*catalog, o);
  ASSERT_OK(mixed);
  EXPECT_EQ(mixed->families, 5u);
  EXPECT_FALSE(mixed->core.empty());
  // Files only at the root (9 packages of 48 files): no tree, no family.
  const std::string flat = NewTempDir("fleet-flat");
  for (int i = 0; i < 9 * 48; ++i) {
    ASSERT_OK(WriteWholeFile(
        flat + "/f" + std::to_string(1000 + i) + (i == 0 ? ".gz" : ".txt"),
        AsBytes("x")));
  }
  auto flat_catalog = SourceCatalog::Scan(flat, 0, 0);
  ASSERT_OK(flat_catalog);
  o.source_families = true;
  EXPECT_THAT(MakeFleetPlan(*flat_catalog, o),
              StatusIs(StatusCode::kInvalidArgument));
}

TEST(SourceCatalogTest, TooSmallRootIsInvalidArgument) {
  const std::string dir = NewTempDir("fleet-src");
  ASSERT_OK(WriteWholeFile(dir + "/a.txt", AsBytes("hello")));
  EXPECT_THAT(SourceCatalog::Scan(dir, 1 << 20, 0),
              StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(SourceCatalog::Scan(dir + "/missing", 0, 0),
              StatusIs(StatusCode::kInvalidArgument));
}

TEST(SourceCatalogTest, ScanIsSortedAndDeterministic) {
  auto a = SourceCatalog::Scan("/usr/share", 1 << 20, 5000);
  auto b = SourceCatalog::Scan("/usr/share", 1 << 20, 5000);
  ASSERT_OK(a);
  ASSERT_OK(b);
  EXPECT_EQ(a->digest(), b->digest());
  ASSERT_EQ(a->files().size(), 5000u);
  uint64_t in_packages = 0;
  for (const SourcePackage& p : a->packages()) {
    EXPECT_LE(p.count, kPackageFiles);
    in_packages += p.count;
  }
  EXPECT_EQ(in_packages, a->files().size());
}

TEST(DirtyBitmapTest, MarksLsbFirstAndClampsToTheEnd) {
  DirtyBitmap bm(4096, 10 * 4096 + 1);  // 11 granules
  EXPECT_EQ(bm.bytes().size(), 2u);
  bm.Mark(4096, 1);          // granule 1
  bm.Mark(8 * 4096 - 1, 2);  // granules 7 and 8
  bm.Mark(10 * 4096, 5000);  // granule 10, clamped
  EXPECT_EQ(bm.bytes()[0], 0b10000010);
  EXPECT_EQ(bm.bytes()[1], 0b00000101);
  EXPECT_EQ(bm.DirtySegments(8 * 4096), (std::vector<uint64_t>{0, 1}));
  EXPECT_EQ(bm.CountDirtySegments(8 * 4096), 2u);
  EXPECT_EQ(bm.CountDirtySegments(2 * 4096), 4u);  // {0}, {3}, {4}, {5}
  EXPECT_TRUE(bm.TestRange(2 * 4096, 8 * 4096));
  EXPECT_FALSE(bm.TestRange(2 * 4096, 5 * 4096));  // granules 2-6
  EXPECT_FALSE(bm.TestRange(11 * 4096, 4096));     // past the end
  bm.Resize(20 * 4096);
  EXPECT_FALSE(bm.Test(15));
  EXPECT_EQ(bm.bytes().size(), 3u);
}

}  // namespace
}  // namespace vcsnap::fleet
