#include "repo/repository.h"

#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "backend/fault_backend.h"
#include "backend/mem_backend.h"
#include "repo/key_file.h"
#include "testing/forwarding_backend.h"
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
  // Flip bits rather than write a fixed value: the config holds a random
  // repository ID, and byte 30 is that value one time in 256.
  auto damage = [](const std::string& path) {
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    f.seekg(30);
    const char was = static_cast<char>(f.get());
    f.seekp(30);
    f.put(static_cast<char>(was ^ 0x40));
  };
  damage(dir + "/config");
  EXPECT_OK(Repository::Open(dir));  // from the copy ditto/config
  damage(dir + "/ditto/config");
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

TEST(Repository, EncryptedOpensWithAnyOfItsKeysEvenWhenOneSlotIsUnreadable) {
  MemBackend mem;
  FaultBackend fault(&mem);
  auto on = [&] {
    return std::make_unique<testing::ForwardingBackend>(&fault);
  };
  RepoKey k1{Bytes(32, 1), "key file k1"};
  RepoKey k2{Bytes(40, 2), "key file k2"};
  EXPECT_THAT(Repository::InitOn(on(), RepoConfig::NewEncrypted()),
              StatusIsWith(StatusCode::kInvalidArgument, "needs a key file"));
  auto repo = Repository::InitOn(on(), RepoConfig::NewEncrypted(), &k1);
  ASSERT_OK(repo);
  const std::string slot1 = (*repo)->opened_slot();
  ASSERT_TRUE(slot1.starts_with("keys/"));
  ASSERT_NE((*repo)->config().keys, nullptr);
  auto slot2 = (*repo)->AddKey(k2);
  ASSERT_OK(slot2);
  // k1's slot cannot be read: its copy opens the repository.
  fault.FailKind(OpKind::kGet, slot1);
  ASSERT_OK(Repository::OpenOn(on(), &k1));
  // Without the copy too, k2 still opens the repository, and k1 gets the
  // I/O error (retry later), not "wrong key".
  ASSERT_OK(mem.Delete(DittoName(slot1)));
  auto by2 = Repository::OpenOn(on(), &k2);
  ASSERT_OK(by2);
  EXPECT_EQ((*by2)->opened_slot(), *slot2);
  EXPECT_EQ((*by2)->config().keys->data, (*repo)->config().keys->data);
  EXPECT_THAT(Repository::OpenOn(on(), &k1), StatusIs(StatusCode::kIOError));
  fault.ClearFaults();
  // Revoking: never the slot in use, never an unknown one; then k1 is out.
  EXPECT_THAT((*by2)->RemoveKey(*slot2),
              StatusIsWith(StatusCode::kInvalidArgument, "key in use"));
  EXPECT_THAT((*by2)->RemoveKey("keys/0000000000000000"),
              StatusIs(StatusCode::kNotFound));
  ASSERT_OK((*by2)->RemoveKey(slot1));
  EXPECT_THAT(Repository::OpenOn(on(), &k1),
              StatusIsWith(StatusCode::kInvalidArgument,
                           "key file k1 opens none of the 1 key slots"));
  EXPECT_OK(Repository::OpenOn(on(), &k2));
  // An unencrypted repository ignores a key and has no slots to manage.
  MemBackend plain_mem;
  auto plain = Repository::InitOn(
      std::make_unique<testing::ForwardingBackend>(&plain_mem),
      RepoConfig::NewDefault(), &k1);
  ASSERT_OK(plain);
  EXPECT_EQ((*plain)->config().keys, nullptr);
  EXPECT_THAT((*plain)->AddKey(k2), StatusIs(StatusCode::kInvalidArgument));
}

TEST(KeyFile, CreatedOnceReadBackAndCheckedBeforeReading) {
  const std::string dir = NewTempDir("keyfile");
  const std::string path = dir + "/k";
  auto made = CreateKeyFileIfMissing(path);
  ASSERT_OK(made);
  EXPECT_TRUE(*made);
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  std::string warning;
  auto key = ReadKeyFile(path, &warning);
  ASSERT_OK(key);
  EXPECT_EQ(key->material.size(), 64u);  // hex digits, newline dropped
  EXPECT_TRUE(warning.empty());
  auto again = CreateKeyFileIfMissing(path);  // never over an existing key
  ASSERT_OK(again);
  EXPECT_FALSE(*again);
  EXPECT_EQ(ReadKeyFile(path)->material, key->material);
  ASSERT_EQ(::chmod(path.c_str(), 0644), 0);
  ASSERT_OK(ReadKeyFile(path, &warning));
  EXPECT_NE(warning.find("can be read by other users (mode 644)"),
            std::string::npos)
      << warning;
  std::ofstream(dir + "/big") << std::string(5000, 'k');
  EXPECT_THAT(ReadKeyFile(dir + "/big"),
              StatusIsWith(StatusCode::kInvalidArgument, "at most 4096"));
  EXPECT_THAT(ReadKeyFile(dir + "/none"), StatusIs(StatusCode::kNotFound));
  EXPECT_THAT(ReadKeyFile(dir), StatusIs(StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace vcsnap
