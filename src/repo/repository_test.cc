#include "repo/repository.h"

#include <filesystem>
#include <fstream>

#include "backend/mem_backend.h"
#include "testing/status_matchers.h"
#include "testing/temp_dir.h"

namespace vcsnap {
namespace {

using ::vcsnap::testing::NewTempDir;
using ::vcsnap::testing::StatusIs;
using ::vcsnap::testing::StatusIsWith;

TEST(Repository, InitThenOpenReadsTheSameConfig) {
  std::string dir = NewTempDir("repo") + "/r";
  RepoConfig c = RepoConfig::NewDefault();
  c.compression = CompressionKind::kLz4;
  ASSERT_OK(Repository::Init(dir, c));
  Result<std::unique_ptr<Repository>> r = Repository::Open(dir);
  ASSERT_OK(r);
  EXPECT_EQ((*r)->config().repo_id, c.repo_id);
  EXPECT_EQ((*r)->config().compression, CompressionKind::kLz4);
  EXPECT_EQ((*r)->backend().max_object_size(), c.max_object_size);
}

TEST(Repository, SecondInitFails) {
  std::string dir = NewTempDir("repo");
  ASSERT_OK(Repository::Init(dir, RepoConfig::NewDefault()));
  EXPECT_THAT(
      Repository::Init(dir, RepoConfig::NewDefault()),
      StatusIsWith(StatusCode::kAlreadyExists, "already a vcsnap repository"));
}

TEST(Repository, InitRefusesANonEmptyDirectory) {
  std::string dir = NewTempDir("repo");
  std::ofstream(dir + "/precious") << "user data";
  EXPECT_THAT(Repository::Init(dir, RepoConfig::NewDefault()),
              StatusIsWith(StatusCode::kInvalidArgument, "not empty"));
  EXPECT_TRUE(std::filesystem::exists(dir + "/precious"));
}

TEST(Repository, InitRejectsAnInvalidConfig) {
  RepoConfig c = RepoConfig::NewDefault();
  c.segment_size = 12345;
  EXPECT_THAT(Repository::Init(NewTempDir("repo"), c),
              StatusIs(StatusCode::kInvalidArgument));
}

TEST(Repository, OpenSaysWhenThereIsNoRepository) {
  std::string dir = NewTempDir("repo");
  EXPECT_THAT(Repository::Open(dir),
              StatusIsWith(StatusCode::kNotFound, "not a vcsnap repository"));
  EXPECT_THAT(Repository::Open(dir + "/missing"),
              StatusIsWith(StatusCode::kNotFound, "not a vcsnap repository"));
  EXPECT_THAT(Repository::Open(""),
              StatusIsWith(StatusCode::kInvalidArgument, "--repo"));
  EXPECT_THAT(Repository::Open("s3://bucket"),
              StatusIsWith(StatusCode::kNotSupported, "unknown scheme"));
  EXPECT_THAT(Repository::Open("rados://pool?colour=blue"),
              StatusIsWith(StatusCode::kInvalidArgument, "colour"));
}

TEST(Repository, DamagedConfigIsCorruptionNamingTheRepository) {
  std::string dir = NewTempDir("repo");
  ASSERT_OK(Repository::Init(dir, RepoConfig::NewDefault()));
  {
    // Flip bits rather than write a fixed value: the config holds a random
    // repository ID, and byte 30 is that value one time in 256.
    std::fstream f(dir + "/config",
                   std::ios::in | std::ios::out | std::ios::binary);
    f.seekg(30);
    const char was = static_cast<char>(f.get());
    f.seekp(30);
    f.put(static_cast<char>(was ^ 0x40));
  }
  EXPECT_THAT(Repository::Open(dir),
              StatusIsWith(StatusCode::kCorruption, "repository config"));
}

TEST(Repository, WorksOverAnyBackend) {
  auto mem = std::make_unique<MemBackend>();
  MemBackend* raw = mem.get();
  auto repo = Repository::InitOn(std::move(mem), RepoConfig::NewDefault());
  ASSERT_OK(repo);
  EXPECT_OK(raw->Stat("config"));
  EXPECT_THAT(Repository::InitOn(std::make_unique<MemBackend>(), RepoConfig{}),
              StatusIs(StatusCode::kOk));
}

}  // namespace
}  // namespace vcsnap
