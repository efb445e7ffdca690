#include "source/nbd_image.h"

#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "source/image_source.h"
#include "testing/qemu.h"
#include "testing/status_matchers.h"
#include "testing/temp_dir.h"

namespace vcsnap {
namespace {

using ::vcsnap::testing::LogText;
using ::vcsnap::testing::QemuIo;
using ::vcsnap::testing::ReadTestFile;
using ::vcsnap::testing::RunTool;
using ::vcsnap::testing::StatusIs;
using ::vcsnap::testing::StatusIsWith;

constexpr uint64_t kMiB = 1 << 20;

// A qcow2 image and a raw file with the same contents, built with qemu-img
// and qemu-io in a fresh directory.
class Qcow2Test : public ::testing::Test {
 protected:
  void SetUp() override {
    EnableNbdSource();
    dir_ = ::vcsnap::testing::NewTempDir("nbd");
    qcow_ = dir_ + "/d.qcow2";
    raw_ = dir_ + "/ref.raw";
    log_ = dir_ + "/tools.log";
  }
  void Create(uint64_t size, const std::string& cluster = "64K") {
    ASSERT_EQ(RunTool({"qemu-img", "create", "-q", "-f", "qcow2", "-o",
                       "cluster_size=" + cluster, qcow_, std::to_string(size)},
                      log_),
              0)
        << LogText(log_);
    std::ofstream(raw_, std::ios::trunc).close();
    std::filesystem::resize_file(raw_, size);
  }
  // Applies qemu-io commands to both images.
  void Write(const std::vector<std::string>& commands) {
    ASSERT_EQ(QemuIo(qcow_, "qcow2", commands, log_), 0) << LogText(log_);
    ASSERT_EQ(QemuIo(raw_, "raw", commands, log_), 0) << LogText(log_);
  }
  void AddBitmap(const std::string& name) {
    ASSERT_EQ(RunTool({"qemu-img", "bitmap", "--add", "-g", "64K", qcow_, name},
                      log_),
              0)
        << LogText(log_);
  }

  std::string dir_, qcow_, raw_, log_;
};

TEST_F(Qcow2Test, ReadsTheDiskNotTheContainer) {
  Create(16 * kMiB);
  Write({"write -P 0xaa 0 64k", "write -P 0xbb 5M 1M",
         "write -P 0xcc 9437696 4k", "write -z 12M 64k"});
  auto src = OpenImageSource(qcow_, "", ImageFormat::kQcow2);
  ASSERT_OK(src);
  EXPECT_EQ((*src)->kind(), "qcow2 (qemu-nbd)");
  EXPECT_EQ((*src)->name(), qcow_);
  ASSERT_EQ((*src)->size(), 16 * kMiB);
  Bytes all;
  ASSERT_OK((*src)->ReadSparse(0, 16 * kMiB, &all));
  EXPECT_TRUE(all == ReadTestFile(raw_));
  // Never written, or written as zeros: holes, without a read.
  EXPECT_TRUE((*src)->IsHole(2 * kMiB, 2 * kMiB));
  EXPECT_TRUE((*src)->IsHole(12 * kMiB, 64 << 10));
  EXPECT_FALSE((*src)->IsHole(4 * kMiB, 2 * kMiB));
  EXPECT_FALSE((*src)->IsHole(9 * kMiB, 4096));
  // A used buffer is overwritten, holes included.
  Bytes part(3 * kMiB, 0xff);
  ASSERT_OK((*src)->ReadSparse(4 * kMiB, 2 * kMiB, &part));
  ASSERT_EQ(part.size(), 2 * kMiB);
  EXPECT_TRUE(std::equal(part.begin(), part.end(), all.begin() + 4 * kMiB));
  EXPECT_THAT((*src)->ReadSparse(15 * kMiB, 2 * kMiB, &part),
              StatusIs(StatusCode::kInvalidArgument));
  // No bitmap asked for: none, and no complaint.
  auto own = (*src)->OwnBitmap(2 * kMiB);
  ASSERT_OK(own);
  EXPECT_FALSE(own->has_value());
  EXPECT_EQ((*src)->bitmap_problem(), "");
}

// The program's way: NBD sources are a module loaded on the first qcow2 or
// NBD source (a missing bitmap's note shows the openers' bitmap_problem
// crosses the module's boundary too).
TEST_F(Qcow2Test, OpensThroughTheModule) {
  Create(4 * kMiB);
  Write({"write -P 0x5a 1M 64k"});
  UseNbdModule(std::string(VCSNAP_NBD_MODULE_PATH));
  auto src = OpenImageSource(qcow_, "nightly", ImageFormat::kQcow2);
  EnableNbdSource();
  ASSERT_OK(src);
  EXPECT_EQ((*src)->kind(), "qcow2 (qemu-nbd)");
  Bytes all;
  ASSERT_OK((*src)->ReadSparse(0, 4 * kMiB, &all));
  EXPECT_TRUE(all == ReadTestFile(raw_));
  EXPECT_NE((*src)->bitmap_problem().find("'nightly'"), std::string::npos)
      << (*src)->bitmap_problem();
}

TEST(NbdModule, WhyNbdSourcesCannotBeOpenedIsNamed) {
  const std::string uri = "nbd+unix:///?socket=/nonexistent.sock";
  UseNbdModule(Status::NotFound(
      "vcsnap-nbd.so was not found (looked at /opt/x/vcsnap-nbd.so)"));
  EXPECT_THAT(OpenImageSource(uri),
              StatusIsWith(StatusCode::kNotSupported,
                           "NBD sources could not be loaded: vcsnap-nbd.so was "
                           "not found (looked at /opt/x/vcsnap-nbd.so)"));
  UseNbdModule(std::string("libm.so.6"));  // a library, not the module
  EXPECT_THAT(OpenImageSource(uri),
              StatusIsWith(StatusCode::kNotSupported,
                           "libm.so.6 has no vcsnap_nbd_openers"));
  SetNbdOpeners(nullptr);
  EXPECT_THAT(OpenImageSource(uri), StatusIsWith(StatusCode::kNotSupported,
                                                 "built without NBD sources"));
  EnableNbdSource();
  EXPECT_THAT(OpenImageSource(uri), StatusIs(StatusCode::kIOError));
}

TEST_F(Qcow2Test, QemusDirtyBitmapIsTheChangedBlockTracking) {
  Create(16 * kMiB);
  Write({"write -P 0xaa 0 8M"});
  AddBitmap("cbt");
  // One 4 KiB write inside a 64 KiB granule of segment 1, one 2 KiB write
  // straddling two granules of segment 3, one zero write in segment 6.
  Write({"write -P 0xcc 3149824 4k", "write -P 0xdd 7339008 2k",
         "write -z 13M 64k"});
  auto src = OpenImageSource(qcow_, "cbt", ImageFormat::kQcow2);
  ASSERT_OK(src);
  EXPECT_EQ((*src)->bitmap_problem(), "");
  auto own = (*src)->OwnBitmap(2 * kMiB);
  ASSERT_OK(own);
  ASSERT_TRUE(own->has_value());
  const DirtyBitmap& b = **own;
  ASSERT_EQ(b.segments(), 8u);
  EXPECT_EQ(b.dirty_count(), 3u);
  EXPECT_TRUE(b.dirty(1) && b.dirty(3) && b.dirty(6));
  ASSERT_TRUE(b.fine());
  const uint32_t seg = 2 * kMiB;
  EXPECT_EQ(b.DirtyRanges(1, seg),
            (std::vector<DirtyRange>{{1 << 20, (1 << 20) + (64 << 10)}}));
  EXPECT_EQ(b.DirtyRanges(3, seg),
            (std::vector<DirtyRange>{
                {(1 << 20) - (64 << 10), (1 << 20) + (64 << 10)}}));
  EXPECT_EQ(b.DirtyRanges(6, seg),
            (std::vector<DirtyRange>{{1 << 20, (1 << 20) + (64 << 10)}}));
  Bytes all;
  ASSERT_OK((*src)->ReadSparse(0, 16 * kMiB, &all));
  EXPECT_TRUE(all == ReadTestFile(raw_));
}

TEST_F(Qcow2Test, AQemuGranuleFinerThanTheMapsIsRoundedOut) {
  Create(4 * kMiB, "512");  // allocation extents of 512 B too
  ASSERT_EQ(
      RunTool({"qemu-img", "bitmap", "--add", "-g", "512", qcow_, "cbt"}, log_),
      0)
      << LogText(log_);
  // QEMU marks [3 MiB + 512, 3 MiB + 1536): inside one 4 KiB map granule.
  Write({"write -P 0x77 3146240 1000"});
  auto src = OpenImageSource(qcow_, "cbt", ImageFormat::kQcow2);
  ASSERT_OK(src);
  auto own = (*src)->OwnBitmap(2 * kMiB);
  ASSERT_OK(own);
  ASSERT_TRUE(own->has_value());
  EXPECT_EQ((*own)->DirtyRanges(1, 2 * kMiB),
            (std::vector<DirtyRange>{{1 << 20, (1 << 20) + 4096}}));
  // Zeros are rounded in: the map granule holding the write is read.
  EXPECT_FALSE((*src)->IsHole(3 * kMiB, 4096));
  EXPECT_TRUE((*src)->IsHole(3 * kMiB + 4096, 4096));
  Bytes all;
  ASSERT_OK((*src)->ReadSparse(0, 4 * kMiB, &all));
  EXPECT_TRUE(all == ReadTestFile(raw_));
}

TEST_F(Qcow2Test, AMissingBitmapIsReportedAndTheImageStillReads) {
  Create(4 * kMiB);
  Write({"write -P 0x11 1M 1M"});
  auto src = OpenImageSource(qcow_, "nosuch", ImageFormat::kQcow2);
  ASSERT_OK(src);
  EXPECT_NE((*src)->bitmap_problem().find("'nosuch'"), std::string::npos)
      << (*src)->bitmap_problem();
  auto own = (*src)->OwnBitmap(2 * kMiB);
  ASSERT_OK(own);
  EXPECT_FALSE(own->has_value());
  Bytes all;
  ASSERT_OK((*src)->ReadSparse(0, 4 * kMiB, &all));
  EXPECT_TRUE(all == ReadTestFile(raw_));
}

TEST_F(Qcow2Test, ABitmapLeftInUseByACrashedWriterIsNotTrusted) {
  Create(4 * kMiB);
  AddBitmap("cbt");
  Write({"write -P 0x22 0 64k"});
  ASSERT_TRUE(::vcsnap::testing::CrashWriter(qcow_, log_)) << LogText(log_);
  Write({"write -P 0x5a 0 4k"});  // what the crashed writer wrote
  auto src = OpenImageSource(qcow_, "cbt", ImageFormat::kQcow2);
  ASSERT_OK(src);
  EXPECT_NE((*src)->bitmap_problem().find("inconsistent"), std::string::npos)
      << (*src)->bitmap_problem();
  auto own = (*src)->OwnBitmap(2 * kMiB);
  ASSERT_OK(own);
  EXPECT_FALSE(own->has_value());
}

TEST_F(Qcow2Test, ConnectsToAServerByUri) {
  Create(4 * kMiB);
  AddBitmap("cbt");
  Write({"write -P 0x33 2M 4k"});
  const std::string sock = dir_ + "/s";
  pid_t server = ::vcsnap::testing::Spawn(
      {"qemu-nbd", "--read-only", "--format=qcow2", "--persistent",
       "--bitmap=cbt", "--socket=" + sock, qcow_},
      log_);
  ASSERT_GT(server, 0);
  struct stat st;
  for (int i = 0; i < 200 && ::stat(sock.c_str(), &st) != 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
  const std::string uri = "nbd+unix:///?socket=" + sock;
  {
    auto src = OpenImageSource(uri, "cbt");
    ASSERT_OK(src);
    EXPECT_EQ((*src)->kind(), "nbd");
    auto own = (*src)->OwnBitmap(2 * kMiB);
    ASSERT_OK(own);
    ASSERT_TRUE(own->has_value());
    EXPECT_EQ((*own)->dirty_count(), 1u);
    EXPECT_TRUE((*own)->dirty(1));
    Bytes all;
    ASSERT_OK((*src)->ReadSparse(0, 4 * kMiB, &all));
    EXPECT_TRUE(all == ReadTestFile(raw_));
  }
  {
    auto src = OpenImageSource(uri, "other");
    ASSERT_OK(src);
    EXPECT_NE((*src)->bitmap_problem().find("does not export"),
              std::string::npos);
  }
  // The server goes away under an open source: reads fail, naming the URI.
  auto src = OpenImageSource(uri);
  ASSERT_OK(src);
  ::kill(server, SIGKILL);
  ::waitpid(server, nullptr, 0);
  Bytes all;
  EXPECT_THAT((*src)->ReadSparse(0, 4 * kMiB, &all),
              StatusIsWith(StatusCode::kIOError, uri));
  EXPECT_THAT(OpenImageSource(uri), StatusIsWith(StatusCode::kIOError, sock));
}

TEST_F(Qcow2Test, ARawImageHasNoQemuBitmap) {
  std::ofstream(raw_, std::ios::trunc).close();
  std::filesystem::resize_file(raw_, 4 * kMiB);
  EXPECT_THAT(OpenImageSource(raw_, "cbt"),
              StatusIsWith(StatusCode::kInvalidArgument, "--bitmap"));
  auto src = OpenImageSource(raw_);
  ASSERT_OK(src);
  EXPECT_EQ((*src)->kind(), "raw");
}

TEST_F(Qcow2Test, AQcow2HeaderInsideARawDiskIsNeverFollowed) {
  // A guest writes, at the start of its raw disk, a qcow2 header whose
  // backing file is a host file. Probing the format would serve that file.
  const std::string secret = dir_ + "/host-secret";
  std::ofstream(secret) << std::string(1 << 20, 'S');
  const std::string evil = dir_ + "/evil.qcow2";
  ASSERT_EQ(RunTool({"qemu-img", "create", "-q", "-f", "qcow2", "-b", secret,
                     "-F", "raw", evil, "1M"},
                    log_),
            0)
      << LogText(log_);
  const std::string disk = dir_ + "/tenant.raw";
  std::filesystem::copy_file(evil, disk);
  std::filesystem::resize_file(disk, 4 * kMiB);
  EXPECT_THAT(OpenImageSource(disk),
              StatusIsWith(StatusCode::kInvalidArgument, "--format"));
  // Told it is raw, the disk's own bytes are read, header and all.
  auto src = OpenImageSource(disk, "", ImageFormat::kRaw);
  ASSERT_OK(src);
  EXPECT_EQ((*src)->kind(), "raw");
  Bytes all;
  ASSERT_OK((*src)->ReadSparse(0, 4 * kMiB, &all));
  EXPECT_TRUE(all == ReadTestFile(disk));
  EXPECT_THAT(OpenImageSource(disk, "", ImageFormat::kQcow2).status(),
              StatusIs(StatusCode::kOk));  // the operator's explicit choice
  EXPECT_THAT(OpenImageSource(raw_ + ".none", "", ImageFormat::kQcow2),
              StatusIsWith(StatusCode::kInvalidArgument, "not a qcow2"));
  EXPECT_THAT(
      OpenImageSource("nbd+unix:///?socket=/x", "", ImageFormat::kQcow2),
      StatusIsWith(StatusCode::kInvalidArgument, "raw disk"));
  EXPECT_THAT(ParseImageFormat("vmdk"),
              StatusIsWith(StatusCode::kInvalidArgument, "vmdk"));
}

TEST_F(Qcow2Test, MapsOfAHugeDiskStayWithinTwoMegabytes) {
  const uint64_t size = uint64_t{256} << 30;
  ASSERT_EQ(
      RunTool({"qemu-img", "create", "-q", "-f", "qcow2", qcow_, "256G"}, log_),
      0);
  AddBitmap("cbt");
  ASSERT_EQ(QemuIo(qcow_, "qcow2", {"write -P 0x44 200G 12k"}, log_), 0)
      << LogText(log_);
  auto nbd = NbdImage::Serve(
      {"qemu-nbd", "--read-only", "--format=qcow2", "--bitmap=cbt", qcow_},
      qcow_, "qcow2 (qemu-nbd)", "cbt");
  ASSERT_OK(nbd);
  EXPECT_EQ((*nbd)->size(), size);
  EXPECT_EQ((*nbd)->granule(), 16384u);  // 2^24 granules cover 256 GiB
  auto own = (*nbd)->OwnBitmap(2 * kMiB);
  ASSERT_OK(own);
  ASSERT_TRUE(own->has_value());
  EXPECT_EQ((*own)->dirty_count(), 1u);
  const uint64_t at = uint64_t{200} << 30;
  EXPECT_TRUE((*own)->dirty(at / (2 * kMiB)));
  EXPECT_FALSE((*nbd)->IsHole(at, 2 * kMiB));
  EXPECT_TRUE((*nbd)->IsHole(at + 2 * kMiB, 2 * kMiB));
  Bytes seg;
  ASSERT_OK((*nbd)->ReadSparse(at, 2 * kMiB, &seg));
  for (size_t i = 0; i < seg.size(); ++i) {
    ASSERT_EQ(seg[i], i < 12288 ? 0x44 : 0) << i;
  }
}

}  // namespace
}  // namespace vcsnap
