// Backups of qcow2 images read through qemu-nbd, with QEMU's persistent
// dirty bitmap as the CBT: byte-exact restores across days, level 1 and
// sub-segment CBT from the bitmap, a cleared bitmap, and a bitmap left
// inconsistent by a crashed writer (every segment read, nothing lost).

#include <filesystem>
#include <fstream>
#include <random>

#include "backend/mem_backend.h"
#include "backup/backup.h"
#include "backup/restore.h"
#include "source/nbd_image.h"
#include "testing/qemu.h"
#include "testing/small_repo.h"
#include "testing/status_matchers.h"
#include "testing/temp_dir.h"

namespace vcsnap {
namespace {

using ::vcsnap::testing::LogText;
using ::vcsnap::testing::QemuIo;
using ::vcsnap::testing::ReadTestFile;
using ::vcsnap::testing::RunTool;

constexpr uint64_t kQcowSeg = ::vcsnap::testing::kSmallSegment;  // 64 KiB
constexpr uint64_t kSegments = 32;

Bytes Content(size_t n, uint64_t seed) {
  static const char* kWords[] = {"alpha ", "beta ", "gamma\n", "usr/lib ",
                                 "0123 ",  "log: ", "ok\n",    "etc "};
  std::mt19937_64 rng(seed);
  std::string s;
  while (s.size() < n) s += kWords[rng() % 8];
  s.resize(n);
  return Bytes(s.begin(), s.end());
}

class Qcow2BackupTest : public ::testing::Test {
 protected:
  void SetUp() override {
    EnableNbdSource();
    dir_ = ::vcsnap::testing::NewTempDir("qcow2-backup");
    qcow_ = dir_ + "/d.qcow2";
    log_ = dir_ + "/tools.log";
    repo_ =
        std::move(*Repository::InitOn(std::make_unique<MemBackend>(1 << 20),
                                      ::vcsnap::testing::SmallRepoConfig()));
  }

  void WriteFile(const std::string& path, const Bytes& data) {
    std::ofstream(path, std::ios::binary | std::ios::trunc)
        .write(reinterpret_cast<const char*>(data.data()),
               static_cast<std::streamsize>(data.size()));
  }

  // Writes `data` at `offset` of the qcow2 image (through qemu-io, so the
  // image's bitmaps record it) and of the expected disk contents.
  void Patch(uint64_t offset, const Bytes& data) {
    const std::string src = dir_ + "/patch";
    WriteFile(src, data);
    ASSERT_EQ(QemuIo(qcow_, "qcow2",
                     {"write -s " + src + " " + std::to_string(offset) + " " +
                      std::to_string(data.size())},
                     log_),
              0)
        << LogText(log_);
    std::copy(data.begin(), data.end(), disk_.begin() + offset);
  }

  Result<BackupResult> Backup(const std::string& dirty_bitmap) {
    BackupOptions o;
    o.vm = "vm1";
    o.image_path = qcow_;
    o.dirty_bitmap = dirty_bitmap;
    o.format = ImageFormat::kQcow2;
    o.threads = 2;
    return RunBackup(*repo_, o);
  }

  void ExpectRestores(uint32_t snapshot) { ExpectRestores(snapshot, disk_); }
  void ExpectRestores(uint32_t snapshot, const Bytes& want) {
    RestoreOptions o;
    o.vm = "vm1";
    o.snapshot = std::to_string(snapshot);
    o.output = dir_ + "/restored.img";
    o.verify = true;
    o.force = true;
    ASSERT_OK(RunRestore(*repo_, o));
    EXPECT_TRUE(ReadTestFile(o.output) == want) << "snapshot " << snapshot;
  }

  std::string dir_, qcow_, log_;
  Bytes disk_;  // what the disk holds
  std::unique_ptr<Repository> repo_;
};

TEST_F(Qcow2BackupTest, QemusBitmapDrivesIncrementalsAndRestoresAreExact) {
  // Day 0: a disk with text and a zeroed stretch, converted to qcow2, and a
  // bitmap of 4 KiB granules (finer than the 64 KiB segments) from then on.
  disk_ = Content(kSegments * kQcowSeg, 1);
  std::fill(disk_.begin() + 8 * kQcowSeg, disk_.begin() + 12 * kQcowSeg, 0);
  const std::string raw = dir_ + "/d0.raw";
  WriteFile(raw, disk_);
  ASSERT_EQ(
      RunTool({"qemu-img", "convert", "-f", "raw", "-O", "qcow2", raw, qcow_},
              log_),
      0)
      << LogText(log_);
  ASSERT_EQ(
      RunTool({"qemu-img", "bitmap", "--add", "-g", "4K", qcow_, "cbt"}, log_),
      0)
      << LogText(log_);
  auto r = Backup("");
  ASSERT_OK(r);
  EXPECT_EQ(r->source, "qcow2 (qemu-nbd)");
  EXPECT_EQ(r->stats.logical, disk_.size());
  EXPECT_GE(r->stats.zero, 4 * kQcowSeg);
  ExpectRestores(1);
  const Bytes day0 = disk_;

  // Day 1: three small writes in segments 2, 9 and 20.
  Patch(2 * kQcowSeg + 100, Content(3000, 2));
  Patch(9 * kQcowSeg + 4096, Content(8192, 3));
  Patch(20 * kQcowSeg + 60000, Content(1000, 4));
  r = Backup("cbt");
  ASSERT_OK(r);
  EXPECT_TRUE(r->bitmap_used) << r->note;
  EXPECT_EQ(r->segments_dirty, 3u);
  EXPECT_EQ(r->stats.level1, (kSegments - 3) * kQcowSeg);
  EXPECT_GT(r->bytes_reused, 0u);  // clean granules of dirty segments
  ExpectRestores(2);
  ExpectRestores(1, day0);

  // The operator rotates the bitmap after the backup: nothing written since.
  ASSERT_EQ(RunTool({"qemu-img", "bitmap", "--clear", qcow_, "cbt"}, log_), 0);
  r = Backup("cbt");
  ASSERT_OK(r);
  EXPECT_EQ(r->segments_dirty, 0u);
  EXPECT_EQ(r->stats.level1, disk_.size());
  ExpectRestores(3);

  // A writer crashes with the image open: its write is on the disk, the
  // bitmap is inconsistent, and qemu-nbd refuses it. The backup reads every
  // segment instead, and says so.
  ASSERT_TRUE(::vcsnap::testing::CrashWriter(qcow_, log_)) << LogText(log_);
  std::fill(disk_.begin(), disk_.begin() + 4096, 0x5a);
  r = Backup("cbt");
  ASSERT_OK(r);
  EXPECT_FALSE(r->bitmap_used);
  EXPECT_NE(r->note.find("inconsistent"), std::string::npos) << r->note;
  EXPECT_EQ(r->segments_dirty, kSegments);
  ExpectRestores(4);
}

}  // namespace
}  // namespace vcsnap
