#include "source/raw_image.h"

#include <fcntl.h>
#include <unistd.h>

#include <fstream>

#include "testing/status_matchers.h"
#include "testing/temp_dir.h"

namespace vcsnap {
namespace {

using ::vcsnap::testing::StatusIs;
using ::vcsnap::testing::StatusIsWith;

TEST(RawImage, ReadsRangesAndSeesHoles) {
  std::string dir = ::vcsnap::testing::NewTempDir("image");
  std::string path = dir + "/disk.img";
  {
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(::pwrite(fd, "hello", 5, 4 << 20), 5);  // data at 4 MiB
    ASSERT_EQ(::ftruncate(fd, 8 << 20), 0);
    ::close(fd);
  }
  auto img = RawImage::Open(path);
  ASSERT_OK(img);
  EXPECT_EQ((*img)->size(), 8u << 20);
  Bytes b;
  ASSERT_OK((*img)->Read((4 << 20) - 1, 7, &b));
  EXPECT_EQ(std::string(AsChars(b)), std::string("\0hello\0", 7));
  EXPECT_FALSE((*img)->IsHole(4 << 20, 1 << 20));
  EXPECT_FALSE((*img)->IsHole(3 << 20, 2 << 20));
  // Whether the file system reports holes is its business; when it does, the
  // unwritten first megabyte must be one.
  if ((*img)->IsHole(6 << 20, 1 << 20)) {
    EXPECT_TRUE((*img)->IsHole(0, 1 << 20));
  }
  EXPECT_THAT((*img)->Read(8 << 20, 1, &b),
              StatusIsWith(StatusCode::kInvalidArgument, "past the end"));
  // ReadSparse returns the same bytes as Read for every range, holes and
  // data alike, including ranges that start or end inside either.
  Bytes plain, sparse;
  for (uint64_t off :
       {0ull, (4ull << 20) - 3, 4ull << 20, (4ull << 20) + 2, 6ull << 20}) {
    for (uint64_t len : {1ull, 5ull, 4096ull, 1ull << 20}) {
      if (off + len > (8u << 20)) continue;
      ASSERT_OK((*img)->Read(off, len, &plain));
      ASSERT_OK((*img)->ReadSparse(off, len, &sparse));
      EXPECT_TRUE(plain == sparse) << off << "+" << len;
      // A used buffer (the backup recycles them) is overwritten whole.
      Bytes used(len + 100, 0xaa);
      ASSERT_OK((*img)->ReadSparse(off, len, &used));
      EXPECT_TRUE(plain == used) << "reused buffer, " << off << "+" << len;
    }
  }
  EXPECT_THAT((*img)->ReadSparse(8 << 20, 1, &b),
              StatusIsWith(StatusCode::kInvalidArgument, "past the end"));
}

TEST(RawImage, RejectsNonImages) {
  std::string dir = ::vcsnap::testing::NewTempDir("image");
  EXPECT_THAT(RawImage::Open(dir + "/missing"),
              StatusIsWith(StatusCode::kInvalidArgument, "missing"));
  EXPECT_THAT(RawImage::Open(dir),
              StatusIsWith(StatusCode::kInvalidArgument, "not a regular file"));
}

TEST(RawImage, ShrunkImageIsAnIOError) {
  std::string path = ::vcsnap::testing::NewTempDir("image") + "/d";
  std::ofstream(path) << std::string(1000, 'a');
  auto img = RawImage::Open(path);
  ASSERT_OK(img);
  ASSERT_EQ(::truncate(path.c_str(), 10), 0);
  Bytes b;
  EXPECT_THAT((*img)->Read(0, 1000, &b),
              StatusIsWith(StatusCode::kIOError, "did it shrink"));
}

}  // namespace
}  // namespace vcsnap
