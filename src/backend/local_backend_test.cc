// LocalBackend behaviour beyond the conformance suite: the errno mapping,
// real error paths, temporaries, and what lands on disk.

#include "backend/local_backend.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <thread>
#include <vector>

#include "testing/status_matchers.h"
#include "testing/temp_dir.h"

namespace vcsnap {
namespace {

using ::vcsnap::testing::NewTempDir;
using ::vcsnap::testing::StatusIs;
using ::vcsnap::testing::StatusIsWith;

TEST(ErrnoToStatus, MapsEveryClassAndNamesTheObject) {
  struct Case {
    int err;
    StatusCode code;
    bool retryable;
  };
  for (Case c : {Case{ENOENT, StatusCode::kNotFound, false},
                 Case{EEXIST, StatusCode::kAlreadyExists, false},
                 Case{EAGAIN, StatusCode::kIOError, true},
                 Case{EINTR, StatusCode::kIOError, true},
                 Case{EBUSY, StatusCode::kIOError, true},
                 Case{ETIMEDOUT, StatusCode::kIOError, true},
                 Case{ENAMETOOLONG, StatusCode::kInvalidArgument, false},
                 Case{EINVAL, StatusCode::kInvalidArgument, false},
                 Case{EIO, StatusCode::kIOError, false},
                 Case{ENOSPC, StatusCode::kIOError, false},
                 Case{EDQUOT, StatusCode::kIOError, false},
                 Case{EACCES, StatusCode::kIOError, false},
                 Case{EROFS, StatusCode::kIOError, false},
                 Case{ENOTDIR, StatusCode::kIOError, false}}) {
    Status s = ErrnoToStatus("put", "vm/x/obj", c.err);
    EXPECT_EQ(s.code(), c.code) << c.err;
    EXPECT_EQ(s.retryable(), c.retryable) << c.err;
    EXPECT_NE(s.message().find("put vm/x/obj: "), std::string::npos);
    EXPECT_NE(s.message().find(std::strerror(c.err)), std::string::npos);
  }
}

TEST(LocalBackend, OpenMissingDirectoryWithoutCreateIsNotFound) {
  std::string dir = NewTempDir("local") + "/absent";
  EXPECT_THAT(LocalBackend::Open(dir, /*create=*/false),
              StatusIsWith(StatusCode::kNotFound, "absent"));
  EXPECT_OK(LocalBackend::Open(dir + "/deeper", /*create=*/true));
}

TEST(LocalBackend, TheObjectSizeLimitIsLoweredNeverRaised) {
  auto b = LocalBackend::Open(NewTempDir("lower"), /*create=*/true, 1000);
  ASSERT_OK(b);
  ASSERT_OK((*b)->LowerObjectSizeLimit(100));
  EXPECT_EQ((*b)->max_object_size(), 100u);
  ASSERT_OK((*b)->LowerObjectSizeLimit(5000));
  EXPECT_EQ((*b)->max_object_size(), 100u);
  EXPECT_OK((*b)->Put("a", Bytes(100, 1)));
  EXPECT_THAT((*b)->Put("b", Bytes(101, 1)),
              StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT((*b)->Get("a"), StatusIs(StatusCode::kOk));
}

TEST(LocalBackend, OpenOnAFileIsInvalidArgument) {
  std::string file = NewTempDir("local") + "/plain";
  std::ofstream(file) << "x";
  EXPECT_THAT(LocalBackend::Open(file, /*create=*/false),
              StatusIsWith(StatusCode::kInvalidArgument, "not a directory"));
  EXPECT_THAT(LocalBackend::Open(file + "/sub", /*create=*/true),
              StatusIs(StatusCode::kIOError));
}

TEST(LocalBackend, ObjectsAreFilesAndTemporariesAreInvisible) {
  std::string dir = NewTempDir("local");
  auto b = std::move(*LocalBackend::Open(dir, false));
  ASSERT_OK(b->Put("vm/web1/c0001", AsBytes("data")));
  EXPECT_TRUE(std::filesystem::is_regular_file(dir + "/vm/web1/c0001"));
  // A leftover temporary from a crashed writer is never listed or read.
  std::ofstream(dir + "/vm/web1/.tmp-999-1") << "partial";
  auto listed = b->List("");
  ASSERT_OK(listed);
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ(listed->at(0).name, "vm/web1/c0001");
  // No temporaries are left by successful writes.
  ASSERT_OK(b->Create("vm/web1/lease", AsBytes("me")));
  int files = 0;
  for (auto& e : std::filesystem::directory_iterator(dir + "/vm/web1")) {
    files += e.path().filename().string().starts_with(".tmp-") ? 0 : 1;
  }
  EXPECT_EQ(files, 2);
}

TEST(LocalBackend, ErrorPathsNameTheObject) {
  std::string dir = NewTempDir("local");
  auto b = std::move(*LocalBackend::Open(dir, false));
  ASSERT_OK(b->Put("a", AsBytes("file")));
  // "a" is an object, so "a/b" cannot be one (ENOTDIR / EEXIST underneath).
  Status put = b->Put("a/b", AsBytes("x"));
  EXPECT_FALSE(put.ok());
  EXPECT_NE(put.message().find("a/b"), std::string::npos) << put;
  Status app = b->Append("a/b", AsBytes("x"));
  EXPECT_NE(app.message().find("a/b"), std::string::npos) << app;
  // A directory is not an object.
  ASSERT_OK(b->Put("d/x", AsBytes("1")));
  EXPECT_THAT(b->Stat("d"), StatusIsWith(StatusCode::kNotFound, "d"));
  Result<Bytes> get = b->Get("d");
  EXPECT_FALSE(get.ok());
  EXPECT_NE(get.status().message().find("get d"), std::string::npos);
  EXPECT_THAT(b->Delete("d"), StatusIs(StatusCode::kIOError));
}

TEST(LocalBackend, GetRefusesObjectsOverTheLimit) {
  std::string dir = NewTempDir("local");
  auto b = std::move(*LocalBackend::Open(dir, false, 1 << 20));
  // Written behind the backend's back: the size on disk is not trusted.
  std::ofstream(dir + "/huge") << std::string((1 << 20) + 1, 'x');
  EXPECT_THAT(b->Get("huge"), StatusIsWith(StatusCode::kCorruption, "huge"));
  EXPECT_EQ(b->Read("huge", 0, 10)->size(), 10u);
}

TEST(LocalBackend, DataSurvivesReopen) {
  std::string dir = NewTempDir("local");
  {
    auto b = std::move(*LocalBackend::Open(dir, false));
    ASSERT_OK(b->Put("p", AsBytes("put")));
    ASSERT_OK(b->Append("l", AsBytes("app")));
    ASSERT_OK(b->Sync("l"));
  }
  auto b = std::move(*LocalBackend::Open(dir, false));
  EXPECT_EQ(std::string(AsChars(*b->Get("p"))), "put");
  EXPECT_EQ(std::string(AsChars(*b->Get("l"))), "app");
}

TEST(LocalBackend, DeleteRemovesTheDirectoriesItEmpties) {
  namespace fs = std::filesystem;
  std::string dir = NewTempDir("local");
  auto b = std::move(*LocalBackend::Open(dir, false));
  ASSERT_OK(b->Put("a/b/c/x", AsBytes("x")));
  ASSERT_OK(b->Append("a/b/y", AsBytes("y")));
  ASSERT_OK(b->Delete("a/b/c/x"));
  EXPECT_FALSE(fs::exists(dir + "/a/b/c"));
  EXPECT_TRUE(fs::exists(dir + "/a/b"));
  ASSERT_OK(b->Delete("a/b/y"));
  EXPECT_FALSE(fs::exists(dir + "/a"));
  EXPECT_TRUE(fs::is_directory(dir)) << "the root is never removed";
  EXPECT_TRUE(b->List("")->empty());
  ASSERT_OK(b->Put("a/b/c/x", AsBytes("again")));  // made again on demand
  EXPECT_EQ(std::string(AsChars(*b->Get("a/b/c/x"))), "again");
}

// Writers and deleters of sibling objects race on the directories: a
// directory a Delete empties and removes under a writer is made again.
TEST(LocalBackend, WritersAndDeletersInOneDirectoryNeverFail) {
  std::string dir = NewTempDir("local");
  auto b = std::move(*LocalBackend::Open(dir, false));
  constexpr int kThreads = 3;
  constexpr int kRounds = 1500;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      const std::string name = "d/e/f/o" + std::to_string(t);
      for (int i = 0; i < kRounds; ++i) {
        Status s = (t % 2 == 0) ? b->Put(name, AsBytes("p"))
                                : b->Append(name, AsBytes("a"));
        if (s.ok()) s = b->Delete(name);
        if (!s.ok()) {
          ADD_FAILURE() << s;
          failures++;
          return;
        }
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_TRUE(b->List("")->empty());
}

}  // namespace
}  // namespace vcsnap
