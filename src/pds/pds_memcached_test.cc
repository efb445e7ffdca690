// The memcached PDS index against real memcached servers: answers equal the
// in-process table's, and everything that can go wrong with a cache -- not
// loaded, evicted, a server down, damaged or foreign values -- is a miss,
// never a wrong reference.
//
// Needs VCSNAP_TEST_MEMCACHED_DIR: a directory from
// scripts/memcached-test-servers.sh (CTest's `memcached` fixture provides
// one with 2 servers). Without it every test FAILS.

#include "pds/pds_memcached.h"

#include <libmemcached/memcached.h>

#include <cstdlib>
#include <fstream>
#include <random>

#include "backend/mem_backend.h"
#include "pds/pds_table.h"
#include "testing/status_matchers.h"

namespace vcsnap {
namespace {

using ::vcsnap::testing::StatusIs;
using ::vcsnap::testing::StatusIsWith;

TEST(MemcachedLocation, Parses) {
  auto l = ParseMemcachedLocation("memcached://127.0.0.1:11211,mc-2.lan:7000");
  ASSERT_OK(l);
  ASSERT_EQ(l->size(), 2u);
  EXPECT_EQ((*l)[0].host, "127.0.0.1");
  EXPECT_EQ((*l)[0].port, 11211);
  EXPECT_EQ((*l)[1].host, "mc-2.lan");
  EXPECT_EQ((*l)[1].port, 7000);
  for (const char* bad :
       {"memcached://", "memcached://h", "memcached://:1", "memcached://h:0",
        "memcached://h:65536", "memcached://h:1,", "memcached://h:x",
        "memcached://h h:1", "memcache://h:1", "h:1"}) {
    EXPECT_THAT(ParseMemcachedLocation(bad),
                StatusIs(StatusCode::kInvalidArgument))
        << bad;
  }
}

std::vector<MemcachedServer> Servers() {
  const char* dir = std::getenv("VCSNAP_TEST_MEMCACHED_DIR");
  if (dir == nullptr) return {};
  std::string loc;
  std::ifstream(std::string(dir) + "/location") >> loc;
  Result<std::vector<MemcachedServer>> s = ParseMemcachedLocation(loc);
  return s.ok() ? *s : std::vector<MemcachedServer>{};
}

RepoId RandomRepoId() {
  static std::mt19937_64 rng(std::random_device{}());
  RepoId id;
  for (auto& b : id) b = static_cast<uint8_t>(rng());
  return id;
}

Fingerprint RandomFp(std::mt19937_64& rng) {
  Fingerprint fp;
  for (auto& b : fp) b = static_cast<uint8_t>(rng());
  return fp;
}

class MemcachedPds : public ::testing::Test {
 protected:
  void SetUp() override {
    servers_ = Servers();
    ASSERT_FALSE(servers_.empty())
        << "VCSNAP_TEST_MEMCACHED_DIR is not set or has no location: run "
           "under ctest (its `memcached` fixture) or start servers with "
           "scripts/memcached-test-servers.sh";
    std::mt19937_64 rng(7);
    for (int i = 0; i < 20000; ++i) {
      entries_.push_back({RandomFp(rng), static_cast<uint64_t>(i) * 4096,
                          static_cast<uint32_t>(1000 + i % 3000)});
    }
    std::sort(entries_.begin(), entries_.end(),
              [](const auto& a, const auto& b) { return a.fp < b.fp; });
    ASSERT_OK(WritePdsIndex(backend_, kGen, entries_));
    for (int i = 0; i < 5000; ++i) absent_.push_back(RandomFp(rng));
  }

  // memcached_st on the same servers, for tampering.
  memcached_st* Raw() {
    memcached_st* mc = memcached_create(nullptr);
    for (const auto& s : servers_) {
      memcached_server_add(mc, s.host.c_str(), s.port);
    }
    memcached_behavior_set(mc, MEMCACHED_BEHAVIOR_DISTRIBUTION,
                           MEMCACHED_DISTRIBUTION_CONSISTENT_KETAMA);
    memcached_behavior_set(mc, MEMCACHED_BEHAVIOR_KETAMA_HASH,
                           MEMCACHED_HASH_MD5);
    return mc;
  }

  static constexpr uint32_t kGen = 3;
  MemBackend backend_;
  std::vector<MemcachedServer> servers_;
  std::vector<PdsIndexEntry> entries_;
  std::vector<Fingerprint> absent_;
  const RepoId repo_ = RandomRepoId();
};

TEST_F(MemcachedPds, AnswersEqualTheInProcessTable) {
  auto loaded = LoadPdsIndexIntoMemcached(backend_, repo_, kGen, servers_);
  ASSERT_OK(loaded);
  EXPECT_EQ(loaded->entries, entries_.size());
  auto index = MemcachedPdsIndex::Open(repo_, kGen, servers_);
  ASSERT_OK(index);
  EXPECT_EQ((*index)->entries(), entries_.size());
  EXPECT_EQ((*index)->generation(), kGen);
  auto table = PdsTable::Load(backend_, kGen);
  ASSERT_OK(table);
  // Present, absent and repeated fingerprints, shuffled, in batches.
  std::vector<Fingerprint> fps;
  for (const auto& e : entries_) fps.push_back(e.fp);
  fps.insert(fps.end(), absent_.begin(), absent_.end());
  fps.push_back(entries_[5].fp);
  fps.push_back(absent_[5]);
  std::shuffle(fps.begin(), fps.end(), std::mt19937_64(1));
  size_t hits = 0;
  for (size_t at = 0; at < fps.size(); at += 4096) {
    std::span<const Fingerprint> batch(fps.data() + at,
                                       std::min<size_t>(4096, fps.size() - at));
    std::vector<std::optional<PdsRef>> got, want;
    (*index)->Lookup(batch, &got);
    (*table)->Lookup(batch, &want);
    ASSERT_EQ(got, want) << "batch at " << at;
    for (const auto& g : got) hits += g.has_value();
  }
  EXPECT_EQ(hits, entries_.size() + 1);
  EXPECT_EQ((*index)->rejected(), 0u);
}

TEST_F(MemcachedPds, NotLoadedIsNotFound) {
  EXPECT_THAT(MemcachedPdsIndex::Open(repo_, kGen, servers_),
              StatusIsWith(StatusCode::kNotFound, "not loaded"));
  // Another generation or repository does not count either.
  ASSERT_OK(LoadPdsIndexIntoMemcached(backend_, repo_, kGen, servers_));
  EXPECT_THAT(MemcachedPdsIndex::Open(repo_, kGen + 1, servers_),
              StatusIs(StatusCode::kNotFound));
  EXPECT_THAT(MemcachedPdsIndex::Open(RandomRepoId(), kGen, servers_),
              StatusIs(StatusCode::kNotFound));
}

TEST_F(MemcachedPds, TamperedValuesAreMissesNeverWrongReferences) {
  ASSERT_OK(LoadPdsIndexIntoMemcached(backend_, repo_, kGen, servers_));
  auto index = MemcachedPdsIndex::Open(repo_, kGen, servers_);
  ASSERT_OK(index);
  memcached_st* mc = Raw();
  // Three entries rewritten: a flipped byte, a short value, and the valid
  // value of a different fingerprint (a copy to the wrong key).
  std::vector<Fingerprint> fps = {entries_[0].fp, entries_[1].fp,
                                  entries_[2].fp, entries_[3].fp};
  std::vector<std::string> keys;
  std::vector<std::string> values;
  for (const auto& fp : fps) {
    std::string key = "vcsnap:";
    char hex[3];
    for (size_t i = 0; i < 8; ++i) {
      std::snprintf(hex, sizeof hex, "%02x", repo_[i]);
      key += hex;
    }
    key += ":" + std::to_string(kGen) + ":" + ToHex(fp);
    size_t len;
    uint32_t flags;
    memcached_return_t rc;
    char* v = memcached_get(mc, key.data(), key.size(), &len, &flags, &rc);
    ASSERT_NE(v, nullptr) << memcached_strerror(mc, rc);
    values.emplace_back(v, len);
    std::free(v);
    keys.push_back(key);
  }
  std::string flipped = values[0];
  flipped[3] ^= 1;
  std::string shortv = values[1].substr(0, 12);
  for (auto [k, v] : {std::pair{keys[0], flipped}, std::pair{keys[1], shortv},
                      std::pair{keys[2], values[3]}}) {
    ASSERT_EQ(memcached_set(mc, k.data(), k.size(), v.data(), v.size(), 0, 0),
              MEMCACHED_SUCCESS);
  }
  std::vector<std::optional<PdsRef>> got;
  (*index)->Lookup(fps, &got);
  EXPECT_FALSE(got[0].has_value());
  EXPECT_FALSE(got[1].has_value());
  EXPECT_FALSE(got[2].has_value());
  ASSERT_TRUE(got[3].has_value());
  EXPECT_EQ(got[3]->offset, entries_[3].offset);
  EXPECT_EQ((*index)->rejected(), 3u);
  memcached_free(mc);
}

TEST_F(MemcachedPds, EvictedEntriesAndDeadServersAreMisses) {
  ASSERT_OK(LoadPdsIndexIntoMemcached(backend_, repo_, kGen, servers_));
  auto index = MemcachedPdsIndex::Open(repo_, kGen, servers_);
  ASSERT_OK(index);
  std::vector<Fingerprint> fps;
  for (const auto& e : entries_) fps.push_back(e.fp);
  // A client that also knows a server nobody runs: its share of the keys
  // misses, the rest still hit, and nothing fails.
  std::vector<MemcachedServer> with_dead = servers_;
  with_dead.push_back({"127.0.0.1", 9});
  // The marker may hash to the dead server; then Open says so.
  auto partial = MemcachedPdsIndex::Open(repo_, kGen, with_dead);
  if (partial.ok()) {
    std::vector<std::optional<PdsRef>> got;
    (*partial)->Lookup(fps, &got);
    size_t hits = std::count_if(got.begin(), got.end(),
                                [](const auto& g) { return g.has_value(); });
    EXPECT_GT(hits, 0u);
    EXPECT_LT(hits, fps.size());
  } else {
    EXPECT_FALSE(partial.status().ok());
  }
  // Everything flushed (a restart): every lookup misses.
  memcached_st* mc = Raw();
  ASSERT_EQ(memcached_flush(mc, 0), MEMCACHED_SUCCESS);
  memcached_free(mc);
  std::vector<std::optional<PdsRef>> got;
  (*index)->Lookup(fps, &got);
  EXPECT_EQ(std::count_if(got.begin(), got.end(),
                          [](const auto& g) { return g.has_value(); }),
            0);
  EXPECT_THAT(MemcachedPdsIndex::Open(repo_, kGen, servers_),
              StatusIs(StatusCode::kNotFound));
}

}  // namespace
}  // namespace vcsnap
