// RadosBackend against a real Ceph cluster: the whole conformance suite
// (with the PDS in the same pool and in a pool of its own), then what is
// particular to RADOS -- placement, the layout record, errors.
//
// Needs VCSNAP_TEST_RADOS_CONF: the ceph.conf of a cluster with pools
// vcsnap-vm and vcsnap-pds (scripts/ceph-test-cluster.sh; CTest's `ceph`
// fixture starts one and sets the variable). Without it every test FAILS:
// a test that cannot reach its cluster has not passed.

#include "backend/rados_backend.h"

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <rados/librados.hpp>
#include <random>
#include <set>

#include "backend/backend_conformance.h"
#include "testing/status_matchers.h"
#include "testing/temp_dir.h"

namespace vcsnap::testing {
namespace {

constexpr const char* kVmPool = "vcsnap-vm";
constexpr const char* kPdsPool = "vcsnap-pds";

std::string ConfPath() {
  const char* c = std::getenv("VCSNAP_TEST_RADOS_CONF");
  return c == nullptr ? "" : c;
}

// A namespace no other test uses: a fresh, empty repository.
std::string FreshNamespace() {
  static std::mt19937_64 rng(std::random_device{}());
  static std::mutex mu;
  std::lock_guard<std::mutex> lock(mu);
  char buf[32];
  std::snprintf(buf, sizeof buf, "t%016llx",
                static_cast<unsigned long long>(rng()));
  return buf;
}

std::string Url(const std::string& ns, bool split, std::string extra = "") {
  return "rados://" + std::string(kVmPool) + "/" + ns + "?conf=" + ConfPath() +
         "&timeout=20" + (split ? std::string("&pds_pool=") + kPdsPool : "") +
         extra;
}

Result<std::unique_ptr<RadosBackend>> OpenUrl(
    const std::string& url, bool create,
    uint64_t limit = kDefaultMaxObjectSize) {
  VCSNAP_ASSIGN_OR_RETURN(RadosLocation loc, ParseRadosLocation(url));
  return RadosBackend::Open(loc, create, limit);
}

std::unique_ptr<Backend> MakeRados(uint64_t limit, bool split) {
  if (ConfPath().empty()) {
    ADD_FAILURE() << "VCSNAP_TEST_RADOS_CONF is not set: run under ctest "
                     "(its `ceph` fixture starts a cluster) or start one "
                     "with scripts/ceph-test-cluster.sh";
    return nullptr;
  }
  Result<std::unique_ptr<RadosBackend>> b =
      OpenUrl(Url(FreshNamespace(), split), /*create=*/true, limit);
  if (!b.ok()) {
    ADD_FAILURE() << b.status().ToString();
    return nullptr;
  }
  return std::move(*b);
}

INSTANTIATE_TEST_SUITE_P(
    Rados, BackendConformance,
    ::testing::Values(
        BackendFactory{"OnePool",
                       [](uint64_t limit) { return MakeRados(limit, false); }},
        BackendFactory{"PdsPool",
                       [](uint64_t limit) { return MakeRados(limit, true); }}),
    FactoryName);

// Raw librados access, to look behind the backend's back.
class RawPool {
 public:
  RawPool(const std::string& pool, const std::string& ns) {
    EXPECT_EQ(cluster_.init2("client.admin", "ceph", 0), 0);
    EXPECT_EQ(cluster_.conf_read_file(ConfPath().c_str()), 0);
    cluster_.conf_set("rados_osd_op_timeout", "20");
    EXPECT_EQ(cluster_.connect(), 0);
    EXPECT_EQ(cluster_.ioctx_create(pool.c_str(), io_), 0);
    io_.set_namespace(ns);
  }
  ~RawPool() {
    io_.close();
    cluster_.shutdown();
  }
  // The placement group the monitors map `oid` to ("osd map"), as
  // PlacementGroupOf numbers it; ~0 on failure.
  uint64_t MonitorPg(const std::string& pool, const std::string& oid) {
    librados::bufferlist in, out;
    std::string err;
    std::string cmd = R"({"prefix": "osd map", "format": "json", "pool": ")" +
                      pool + R"(", "object": ")" + oid + R"(", "nspace": ")" +
                      io_.get_namespace() + R"("})";
    EXPECT_EQ(cluster_.mon_command(cmd, in, &out, &err), 0) << err;
    // {"pool_id": 3, ..., "pgid": "3.a", ...}
    nlohmann::json j = nlohmann::json::parse(out.to_str(), nullptr, false);
    if (!j.is_object() || !j.contains("pgid")) {
      ADD_FAILURE() << out.to_str();
      return ~uint64_t{0};
    }
    std::string pgid = j["pgid"].get<std::string>();
    size_t dot = pgid.find('.');
    return std::stoull(pgid.substr(0, dot)) << 32 |
           std::stoull(pgid.substr(dot + 1), nullptr, 16);
  }
  bool Exists(const std::string& oid) {
    uint64_t size;
    return io_.stat(oid, &size, nullptr) == 0;
  }
  int Put(const std::string& oid, const Bytes& data) {
    librados::bufferlist bl;
    bl.append(reinterpret_cast<const char*>(data.data()), data.size());
    return io_.write_full(oid, bl);
  }

 private:
  librados::Rados cluster_;
  librados::IoCtx io_;
};

class RadosTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(ConfPath().empty()) << "VCSNAP_TEST_RADOS_CONF is not set";
  }
  std::vector<std::string> Names(Backend& b, std::string_view prefix) {
    std::vector<std::string> names;
    Result<std::vector<ObjectInfo>> l = b.List(prefix);
    EXPECT_OK(l);
    if (l.ok()) {
      for (const ObjectInfo& o : *l) names.push_back(o.name);
    }
    return names;
  }
  const Bytes data_{1, 2, 3};
};

using ::testing::ElementsAre;

TEST_F(RadosTest, PdsObjectsLiveInThePdsPool) {
  const std::string ns = FreshNamespace();
  auto b = OpenUrl(Url(ns, /*split=*/true), /*create=*/true);
  ASSERT_OK(b);
  ASSERT_OK((*b)->Put("pds/g1/c0", data_));
  ASSERT_OK((*b)->Put("pdsx", data_));
  ASSERT_OK((*b)->Put("vm/a/catalog", data_));
  EXPECT_EQ((*b)->PoolOf("pds/g1/c0"), kPdsPool);
  EXPECT_EQ((*b)->PoolOf("pdsx"), kVmPool);
  RawPool vm(kVmPool, ns), pds(kPdsPool, ns);
  EXPECT_TRUE(pds.Exists("pds/g1/c0"));
  EXPECT_FALSE(vm.Exists("pds/g1/c0"));
  EXPECT_TRUE(vm.Exists("vm/a/catalog"));
  EXPECT_TRUE(vm.Exists("pdsx"));
  EXPECT_FALSE(pds.Exists("vm/a/catalog"));
  // One sorted namespace over both pools; the layout record never shows.
  EXPECT_THAT(Names(**b, ""), ElementsAre("pds/g1/c0", "pdsx", "vm/a/catalog"));
  EXPECT_THAT(Names(**b, "pds/"), ElementsAre("pds/g1/c0"));
  EXPECT_THAT(Names(**b, "p"), ElementsAre("pds/g1/c0", "pdsx"));
  EXPECT_THAT(Names(**b, "vm/"), ElementsAre("vm/a/catalog"));
  // A stray "pds/" object in the main pool, or another object in the PDS
  // pool, is not part of the repository.
  ASSERT_EQ(vm.Put("pds/stray", data_), 0);
  ASSERT_EQ(pds.Put("vm/stray", data_), 0);
  EXPECT_THAT(Names(**b, "pds/"), ElementsAre("pds/g1/c0"));
  EXPECT_THAT(Names(**b, ""), ElementsAre("pds/g1/c0", "pdsx", "vm/a/catalog"));
  EXPECT_THAT(Names(**b, "vm/"), ElementsAre("vm/a/catalog"));
  EXPECT_THAT((*b)->Get("pds/stray"), StatusIs(StatusCode::kNotFound));
  EXPECT_THAT((*b)->Get("vm/stray"), StatusIs(StatusCode::kNotFound));
}

// The ditto copies of the roots (repo/roots.h) live in the PDS pool too, so
// a root and its copy never share a placement group.
TEST_F(RadosTest, DittoCopiesLiveInThePdsPool) {
  const std::string ns = FreshNamespace();
  auto b = OpenUrl(Url(ns, /*split=*/true), /*create=*/true);
  ASSERT_OK(b);
  ASSERT_OK((*b)->Put("config", data_));
  ASSERT_OK((*b)->Put("ditto/config", data_));
  ASSERT_OK((*b)->Put("ditto/keys/00ff", data_));
  ASSERT_OK((*b)->Put("pds/current", data_));
  EXPECT_EQ((*b)->PoolOf("ditto/config"), kPdsPool);
  EXPECT_EQ((*b)->PoolOf("config"), kVmPool);
  RawPool vm(kVmPool, ns), pds(kPdsPool, ns);
  EXPECT_TRUE(pds.Exists("ditto/config"));
  EXPECT_FALSE(vm.Exists("ditto/config"));
  EXPECT_TRUE(vm.Exists("config"));
  EXPECT_THAT(Names(**b, ""), ElementsAre("config", "ditto/config",
                                          "ditto/keys/00ff", "pds/current"));
  EXPECT_THAT(Names(**b, "ditto/keys/"), ElementsAre("ditto/keys/00ff"));
  EXPECT_THAT(Names(**b, "d"), ElementsAre("ditto/config", "ditto/keys/00ff"));
  // A stray copy in the main pool is not part of the repository.
  ASSERT_EQ(vm.Put("ditto/stray", data_), 0);
  EXPECT_THAT(Names(**b, "ditto/"),
              ElementsAre("ditto/config", "ditto/keys/00ff"));
  EXPECT_THAT((*b)->Get("ditto/stray"), StatusIs(StatusCode::kNotFound));
}

TEST_F(RadosTest, NamespacesSeparateRepositories) {
  auto a = OpenUrl(Url(FreshNamespace(), false), true);
  auto b = OpenUrl(Url(FreshNamespace(), false), true);
  ASSERT_OK(a);
  ASSERT_OK(b);
  ASSERT_OK((*a)->Put("config", data_));
  EXPECT_THAT((*b)->Get("config"), StatusIs(StatusCode::kNotFound));
  EXPECT_TRUE(Names(**b, "").empty());
}

TEST_F(RadosTest, LayoutRecordFixesWhereThePdsLives) {
  const std::string ns = FreshNamespace();
  {
    auto b = OpenUrl(Url(ns, true), true);
    ASSERT_OK(b);
    ASSERT_OK((*b)->Put("pds/current", data_));
  }
  // Later opens may leave pds_pool out ...
  auto again = OpenUrl(Url(ns, false), false);
  ASSERT_OK(again);
  EXPECT_EQ((*again)->PoolOf("pds/current"), kPdsPool);
  EXPECT_OK((*again)->Get("pds/current"));
  EXPECT_THAT((*again)->Describe(), ::testing::HasSubstr("pds: vcsnap-pds"));
  // ... but may not contradict it, at open or at a second init.
  EXPECT_THAT(OpenUrl(Url(ns, false, "&pds_pool=other"), false),
              StatusIsWith(StatusCode::kInvalidArgument, "vcsnap-pds"));
  EXPECT_THAT(
      OpenUrl(Url(ns, false, "&pds_pool=" + std::string(kVmPool)), true),
      StatusIsWith(StatusCode::kInvalidArgument, "fixed at init"));
  // A one-pool repository cannot later grow a PDS pool either.
  const std::string one = FreshNamespace();
  ASSERT_OK(OpenUrl(Url(one, false), true));
  EXPECT_THAT(OpenUrl(Url(one, true), false),
              StatusIs(StatusCode::kInvalidArgument));
}

TEST_F(RadosTest, OpenWithoutCreateNeedsARepository) {
  EXPECT_THAT(OpenUrl(Url(FreshNamespace(), false), false),
              StatusIsWith(StatusCode::kNotFound, "no vcsnap repository"));
}

TEST_F(RadosTest, DamagedLayoutRecordIsCorruption) {
  const std::string ns = FreshNamespace();
  ASSERT_OK(OpenUrl(Url(ns, true), true));
  RawPool vm(kVmPool, ns);
  Bytes flipped = EncodeRadosLayout({kPdsPool});
  flipped[flipped.size() / 2] ^= 0x40;
  for (const Bytes& bad : {flipped, Bytes()}) {
    ASSERT_EQ(vm.Put(std::string(kRadosLayoutObject), bad), 0);
    EXPECT_THAT(OpenUrl(Url(ns, false), false),
                StatusIsWith(StatusCode::kCorruption, "RADOS layout record"))
        << bad.size() << " bytes";
  }
}

TEST_F(RadosTest, MissingPoolsAreNamed) {
  EXPECT_THAT(OpenUrl("rados://no-such-pool/x?conf=" + ConfPath(), true),
              StatusIsWith(StatusCode::kNotFound, "no-such-pool"));
  EXPECT_THAT(OpenUrl(Url(FreshNamespace(), false, "&pds_pool=nope"), true),
              StatusIsWith(StatusCode::kNotFound, "'nope'"));
}

TEST_F(RadosTest, UnreadableConfIsInvalidArgument) {
  EXPECT_THAT(
      OpenUrl("rados://p?conf=/nonexistent/ceph.conf", false),
      StatusIsWith(StatusCode::kInvalidArgument, "/nonexistent/ceph.conf"));
}

TEST_F(RadosTest, UnreachableClusterFailsWithinTheTimeout) {
  // A monitor address nobody listens on.
  std::string dir = NewTempDir("rados-dead");
  std::string conf = dir + "/ceph.conf";
  std::ofstream(conf) << "[global]\nmon_host = 127.0.0.1:9\n"
                      << "auth_client_required = none\n";
  auto start = std::chrono::steady_clock::now();
  EXPECT_THAT(OpenUrl("rados://p?timeout=2&conf=" + conf, false),
              StatusIs(StatusCode::kIOError));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(30));
}

TEST_F(RadosTest, ObjectSizeIsCappedAtOneRadosWrite) {
  auto b = OpenUrl(Url(FreshNamespace(), false), true, kMaxObjectSizeCeiling);
  ASSERT_OK(b);
  EXPECT_EQ((*b)->max_object_size(), kRadosMaxObjectSize);
}

// CopiesOf, or 0 after a failure that the expectation then shows.
uint32_t Copies(Backend& b, std::string_view name) {
  Result<uint32_t> r = b.CopiesOf(name);
  EXPECT_OK(r);
  return r.ok() ? *r : 0;
}

TEST_F(RadosTest, CopiesAreThePoolSizeOfEachObject) {
  // ceph-test-cluster.sh: vcsnap-vm of size 3, vcsnap-two of size 2.
  auto one = OpenUrl(Url(FreshNamespace(), false), true);
  ASSERT_OK(one);
  EXPECT_EQ(Copies(**one, "vm/a/store/c0001/g00000001/b000000"), 3u);
  EXPECT_EQ(Copies(**one, "pds/g00000001/b000000"), 3u);
  auto split =
      OpenUrl("rados://" + std::string(kVmPool) + "/" + FreshNamespace() +
                  "?conf=" + ConfPath() + "&timeout=20&pds_pool=vcsnap-two",
              true);
  ASSERT_OK(split);
  EXPECT_EQ(Copies(**split, "vm/a/catalog"), 3u);
  EXPECT_EQ(Copies(**split, "pds/g00000001/b000000"), 2u);
}

TEST_F(RadosTest, PlacementGroupsAreTheMonitorsMapping) {
  const std::string ns = FreshNamespace();
  auto b = OpenUrl(Url(ns, true), true);
  ASSERT_OK(b);
  RawPool vm(kVmPool, ns), pds(kPdsPool, ns);
  std::set<uint64_t> seen;
  for (int i = 0; i < 40; i++) {
    std::string name = "vm/a/store/c0001/g00000001/b" + std::to_string(i);
    Result<uint64_t> pg = (*b)->PlacementGroupOf(name);
    ASSERT_OK(pg);
    EXPECT_EQ(*pg, vm.MonitorPg(kVmPool, name)) << name;
    seen.insert(*pg);
    std::string pname = "pds/g00000001/b" + std::to_string(i);
    Result<uint64_t> ppg = (*b)->PlacementGroupOf(pname);
    ASSERT_OK(ppg);
    EXPECT_EQ(*ppg, pds.MonitorPg(kPdsPool, pname)) << pname;
    EXPECT_NE(*ppg >> 32, *pg >> 32);  // another pool
  }
  EXPECT_GT(seen.size(), 4u);  // 40 names over the pool's 16 groups
  EXPECT_LE(seen.size(), 16u);
  EXPECT_THAT((*b)->PlacementGroupOf("../x"),
              StatusIs(StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace vcsnap::testing
