#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "backend/local_backend.h"
#include "gc/check.h"
#include "gc/check_record.h"
#include "gc/forget.h"
#include "gc/gc_state.h"
#include "gc/gc_test.h"
#include "gc/sweep.h"
#include "pds/pds_update.h"
#include "recipe/names.h"
#include "report/fleet_report.h"
#include "report/html.h"
#include "report/json.h"
#include "report/svg.h"
#include "report/text.h"
#include "testing/status_matchers.h"

namespace vcsnap {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// The findings about `vm` (all of them for "").
std::vector<Finding> About(const FleetReport& f, const std::string& vm) {
  std::vector<Finding> out;
  for (const Finding& x : f.findings) {
    if (x.vm == vm) out.push_back(x);
  }
  return out;
}

const VmReport* Vm(const FleetReport& f, const std::string& vm) {
  for (const VmReport& v : f.vms) {
    if (v.vm == vm) return &v;
  }
  return nullptr;
}

size_t Count(const std::string& s, const std::string& what) {
  size_t n = 0;
  for (size_t p = s.find(what); p != std::string::npos;
       p = s.find(what, p + 1)) {
    ++n;
  }
  return n;
}

class ReportTest : public GcTest {
 protected:
  FleetReport Collect(ReportOptions o = {}) {
    Result<FleetReport> f = CollectReport(*repo_, o);
    EXPECT_TRUE(f.ok()) << f.status();
    return f.ok() ? *f : FleetReport{};
  }
  // Three VMs: a with 3 snapshots, b with 2 (a's first two days: chunks
  // for a PDS), c with 1.
  void ThreeVms() {
    DailyBackups("a", 1, 2);
    DailyBackups("b", 1, 1);
    DailyBackups("c", 3, 0);
  }
  // VM a backed up on 5 days, then all but the newest snapshot forgotten:
  // chunks logged for deletion, not yet compacted.
  void ForgetAllButNewestOfA() {
    DailyBackups("a", 1, 4);
    ForgetOptions fo;
    fo.vm = "a";
    fo.retention.keep_last = 1;
    ASSERT_OK(RunForget(*repo_, fo));
  }
  uint64_t Newest() {
    uint64_t t = 0;
    for (const std::string& vm : *ListVmNames(repo_->backend())) {
      Catalog cat = *LoadCatalog(repo_->backend(), vm);
      for (const CatalogEntry& e : cat.entries) t = std::max(t, e.time_unix);
    }
    return t;
  }
};

TEST_F(ReportTest, FiguresAreTheRepositorys) {
  ThreeVms();
  ReportOptions o;
  o.now_unix = Newest() + 60;
  FleetReport f = Collect(o);
  ASSERT_EQ(f.vms.size(), 3u);
  Backend& b = repo_->backend();
  uint64_t snapshots = 0, logical = 0;
  for (const VmReport& v : f.vms) {
    SCOPED_TRACE(v.vm);
    EXPECT_TRUE(v.error.empty()) << v.error;
    Catalog cat = *LoadCatalog(b, v.vm);
    EXPECT_EQ(v.snapshots, cat.entries);
    for (const CatalogEntry& e : cat.entries) logical += e.logical_bytes;
    snapshots += cat.entries.size();
    for (const CatalogEntry& e : cat.entries) EXPECT_GE(e.backup_ms, 1u);
    SnapshotRecipe last = *LoadSnapshotRecipe(b, v.vm, cat.entries.back().id);
    ASSERT_TRUE(v.last_backup.has_value());
    EXPECT_EQ(*v.last_backup, last.stats);
    auto store = VmStore::OpenIn(*repo_, v.vm);
    uint64_t stored = 0, live = 0;
    for (const ContainerInfo& c : *(*store)->ListContainers()) {
      stored += c.stored_bytes;
      live += c.live_chunks;
    }
    EXPECT_EQ(v.stored_chunk_bytes, stored);
    EXPECT_EQ(v.live_chunks, live);
    EXPECT_GT(stored, 0u);
    ASSERT_TRUE(v.gc.has_value());
  }
  EXPECT_EQ(Vm(f, "a")->snapshots.size(), 3u);
  EXPECT_EQ(Vm(f, "c")->snapshots.size(), 1u);
  EXPECT_EQ(f.snapshot_count(), snapshots);
  EXPECT_EQ(f.live_logical_bytes(), logical);
  uint64_t objects = 0, bytes = 0;
  for (const ObjectInfo& info : *b.List("")) {
    objects++;
    bytes += info.size;
  }
  EXPECT_EQ(f.total.objects, objects);
  EXPECT_EQ(f.total.bytes, bytes);
  // Every backup was made just now: the days hold all of them.
  ASSERT_EQ(f.days.size(), 30u);
  uint64_t day_backups = 0, day_logical = 0;
  for (const DayTotals& d : f.days) {
    day_backups += d.backups;
    day_logical += d.logical_bytes;
  }
  EXPECT_EQ(day_backups, snapshots);
  uint64_t timed = 0;
  for (const DayTotals& d : f.days) timed += d.timed_backups;
  EXPECT_EQ(timed, snapshots);
  EXPECT_EQ(day_logical, logical);
  EXPECT_EQ(f.days.back().day_unix, o.now_unix - o.now_unix % 86400);
  // Three VMs, no PDS, never checked: the repository-wide findings.
  ASSERT_EQ(f.findings.size(), 2u) << f.findings[0].what;
  EXPECT_EQ(f.findings[0].vm, "");
  EXPECT_EQ(f.findings[0].action, "vcsnap check --read-data");
  EXPECT_THAT(f.findings[0].what, HasSubstr("never verified"));
  EXPECT_EQ(f.findings[1].action, "vcsnap pds update");
  PdsUpdateOptions pu;
  pu.fraction = 0.5;
  ASSERT_OK(RunPdsUpdate(*repo_, pu));
  Result<CheckResult> check = RunCheck(*repo_, {true, 2});
  ASSERT_OK(check);
  ASSERT_OK(SaveCheckRecord(repo_->backend(), MakeCheckRecord(*check, true)));
  f = Collect(o);
  EXPECT_TRUE(f.findings.empty()) << f.findings[0].what;
  EXPECT_GT(f.pds_generation, 0u);
  EXPECT_GT(f.pds_chunks, 0u);
  ASSERT_TRUE(f.last_read_data_check.has_value());
  EXPECT_EQ(f.last_read_data_check->snapshots, snapshots);
  EXPECT_EQ(f.last_check, f.last_read_data_check);
}

// The recorded checks: damage they found is a problem until a check passes;
// data not re-read for too long, or a damaged record, a warning.
TEST_F(ReportTest, RecordedChecks) {
  DailyBackups("a", 1, 0);
  Backend& b = repo_->backend();
  ReportOptions o;
  o.now_unix = Newest() + 60;
  CheckResult damaged;
  damaged.problems = {"VM a snapshot 1 segment 3: bad", "second"};
  CheckRecord data = MakeCheckRecord(damaged, true);
  data.finished_unix = o.now_unix - 40 * 86400;
  ASSERT_OK(SaveCheckRecord(b, data));
  std::vector<Finding> x = About(Collect(o), "");
  ASSERT_EQ(x.size(), 2u);
  EXPECT_EQ(x[0].severity, Finding::Severity::kProblem);
  EXPECT_THAT(x[0].what, HasSubstr("--read-data"));
  EXPECT_THAT(x[0].what, HasSubstr("found 2 problems, first: VM a snapshot 1"));
  EXPECT_THAT(x[1].what, HasSubstr("last verified 40 days ago"));
  // A newer structure check that passed does not clear the data damage.
  CheckRecord structure = MakeCheckRecord(CheckResult{}, false);
  ASSERT_OK(SaveCheckRecord(b, structure));
  x = About(Collect(o), "");
  ASSERT_EQ(x.size(), 2u);
  EXPECT_EQ(x[0].severity, Finding::Severity::kProblem);
  EXPECT_THAT(x[0].what, HasSubstr("--read-data"));
  o.verify_after_seconds = 41 * 86400;
  EXPECT_EQ(About(Collect(o), "").size(), 1u);
  // A passing read-data check clears both.
  ASSERT_OK(SaveCheckRecord(b, MakeCheckRecord(CheckResult{}, true)));
  EXPECT_TRUE(About(Collect(o), "").empty());
  EXPECT_THAT(RenderText(Collect(o)), HasSubstr("last check --read-data "));
  ASSERT_OK(b.Put(CheckRecordName(), AsBytes("junk")));
  x = About(Collect(o), "");
  ASSERT_EQ(x.size(), 1u);
  EXPECT_THAT(x[0].what, HasSubstr("record of the last check is unreadable"));
}

TEST_F(ReportTest, StaleAndMissingBackups) {
  ThreeVms();
  Catalog empty;
  ASSERT_OK(CommitCatalog(repo_->backend(), "d", empty));
  ASSERT_OK(repo_->backend().Create(VmMarkerName("d"), ByteView()));
  ReportOptions o;
  o.threads = 1;  // the one-thread path (the other tests use 8)
  o.now_unix = Newest() + 27 * 3600;
  FleetReport f = Collect(o);
  for (const std::string vm : {"a", "b", "c"}) {
    std::vector<Finding> x = About(f, vm);
    ASSERT_EQ(x.size(), 1u) << vm;
    EXPECT_EQ(x[0].severity, Finding::Severity::kWarning);
    EXPECT_THAT(x[0].what, HasSubstr("last backup 27 h ago"));
  }
  ASSERT_EQ(About(f, "d").size(), 1u);
  EXPECT_THAT(About(f, "d")[0].what, HasSubstr("has no snapshot"));
  o.stale_after_seconds = 28 * 3600;
  f = Collect(o);
  EXPECT_TRUE(About(f, "a").empty());
  EXPECT_EQ(About(f, "d").size(), 1u);
}

TEST_F(ReportTest, DamageStaysWithItsVm) {
  ThreeVms();
  ReportOptions o;
  o.now_unix = Newest() + 60;
  ASSERT_OK(repo_->backend().Put(CatalogName("b"), AsBytes("garbage")));
  ASSERT_OK(repo_->backend().Put(SnapshotRecipeName("c", 1), AsBytes("x")));
  FleetReport f = Collect(o);
  ASSERT_EQ(f.vms.size(), 3u);
  EXPECT_TRUE(Vm(f, "a")->error.empty());
  EXPECT_EQ(Vm(f, "a")->snapshots.size(), 3u);
  EXPECT_THAT(Vm(f, "b")->error, HasSubstr("b"));
  EXPECT_THAT(Vm(f, "c")->error, HasSubstr("snapshot 1"));
  EXPECT_EQ(f.problems(), 2u);
  // Problems first, naming the VM and pointing to check.
  EXPECT_EQ(f.findings[0].vm, "b");
  EXPECT_EQ(f.findings[1].vm, "c");
  EXPECT_THAT(f.findings[0].action, HasSubstr("vcsnap check"));
  EXPECT_EQ(f.findings[2].severity, Finding::Severity::kWarning);
  // A damaged PDS pointer is a finding, not a failed report.
  ASSERT_OK(repo_->backend().Put("pds/current", AsBytes("junk")));
  FleetReport no_pds = Collect(o);
  ASSERT_EQ(About(no_pds, "").size(), 3u);  // + never verified, no PDS
  EXPECT_EQ(About(no_pds, "")[0].severity, Finding::Severity::kProblem);
  EXPECT_THAT(About(no_pds, "")[0].what, HasSubstr("PDS pointer is damaged"));
  // A VM that lost its marker is still reported, with the repair.
  ASSERT_OK(repo_->backend().Delete(VmMarkerName("a")));
  FleetReport unmarked = Collect(o);
  ASSERT_NE(Vm(unmarked, "a"), nullptr);
  EXPECT_EQ(Vm(unmarked, "a")->snapshots.size(), 3u);
  ASSERT_EQ(About(unmarked, "a").size(), 1u);
  EXPECT_EQ(About(unmarked, "a")[0].action, "vcsnap recover --vm a");
  // The table does not show a damaged VM's figures as if they were real.
  EXPECT_EQ(Count(RenderHtml(f), "cannot be read (see above)"), 2u);
}

TEST_F(ReportTest, RepairAndCompactionDue) {
  ForgetAllButNewestOfA();
  ASSERT_FALSE(HasFatalFailure());
  ReportOptions o;
  o.now_unix = Newest() + 60;
  o.compact_threshold = 0.01;
  FleetReport f = Collect(o);
  const VmReport* a = Vm(f, "a");
  ASSERT_GT(a->deleted_chunks, 0u);
  std::vector<Finding> x = About(f, "a");
  ASSERT_EQ(x.size(), 1u);
  EXPECT_THAT(x[0].action, "vcsnap compact --vm a");
  o.compact_threshold = a->deleted_fraction() + 0.01;
  EXPECT_TRUE(About(Collect(o), "a").empty());
  GcState g = *LoadGcState(repo_->backend(), "a");
  g.last_fp_rate = 0.01;
  g.approx_deletes = 301;  // > tau / eps = 300
  ASSERT_OK(SaveGcState(repo_->backend(), "a", g));
  x = About(Collect(o), "a");
  ASSERT_EQ(x.size(), 1u);
  EXPECT_THAT(x[0].what, HasSubstr("leak repair due: 301"));
  EXPECT_EQ(x[0].action, "vcsnap gc --vm a");
  ASSERT_OK(repo_->backend().Put(VmPrefix("a") + "gcstate", AsBytes("bad")));
  FleetReport bad = Collect(o);
  EXPECT_FALSE(Vm(bad, "a")->gc.has_value());
  ASSERT_EQ(About(bad, "a").size(), 1u);
  EXPECT_THAT(About(bad, "a")[0].what, HasSubstr("gc state is unreadable"));
}

// A damaged deletion log is a warning on its VM, not "cannot be read": the
// VM restores and backs up as usual, and gc rewrites the log.
TEST_F(ReportTest, ADamagedDeletionLogIsAWarningNotAnUnreadableVm) {
  ForgetAllButNewestOfA();
  ASSERT_FALSE(HasFatalFailure());
  std::string dlog;
  for (const ObjectInfo& obj : *repo_->backend().List(VmPrefix("a"))) {
    if (obj.name.ends_with("/dlog")) dlog = obj.name;
  }
  ASSERT_FALSE(dlog.empty());
  Bytes b = *repo_->backend().Get(dlog);
  b[b.size() - 3] ^= 0x01;
  ASSERT_OK(repo_->backend().Put(dlog, b));
  ReportOptions o;
  o.now_unix = Newest() + 60;
  const FleetReport f = Collect(o);
  const VmReport* a = Vm(f, "a");
  EXPECT_TRUE(a->error.empty()) << a->error;
  EXPECT_THAT(a->dlog_problem, HasSubstr(dlog));
  const std::vector<Finding> x = About(f, "a");
  EXPECT_TRUE(std::any_of(x.begin(), x.end(), [](const Finding& g) {
    return g.severity == Finding::Severity::kWarning &&
           g.what.find("a deletion log is damaged") != std::string::npos &&
           g.action == "vcsnap gc --vm a";
  }));
  EXPECT_THAT(ReportJson(f).dump(), HasSubstr("deletion_log_problem"));
  ASSERT_OK(RunGc(*repo_, "a"));
  EXPECT_TRUE(Vm(Collect(o), "a")->dlog_problem.empty());
}

TEST_F(ReportTest, IsolationAddsDependencies) {
  ThreeVms();
  ReportOptions o;
  o.isolation = true;
  FleetReport f = Collect(o);
  for (const VmReport& v : f.vms) {
    ASSERT_TRUE(v.dependencies.has_value()) << v.vm;
    EXPECT_GE(v.dependencies->vm_blocks, 1u) << v.vm;
  }
  EXPECT_THAT(RenderHtml(f), HasSubstr("N1 blocks"));
  EXPECT_THAT(RenderHtml(Collect()), Not(HasSubstr("N1 blocks")));
}

class ReportTenantTest : public ReportTest {
 protected:
  void SetUp() override {
    encrypted_ = true;
    ReportTest::SetUp();
  }
};

TEST_F(ReportTenantTest, ShredLeftoversAreAProblem) {
  ASSERT_OK(repo_->AddTenant("acme"));
  tenant_of_["a"] = "acme";
  DailyBackups("a", 1, 1);
  DailyBackups("b", 2, 0);
  FleetReport f = Collect();
  EXPECT_EQ(f.tenants, std::vector<std::string>{"acme"});
  EXPECT_EQ(Vm(f, "a")->tenant, "acme");
  EXPECT_EQ(Vm(f, "a")->snapshots.size(), 2u);
  // An interrupted shred: the key is gone, the VM's objects are not.
  ASSERT_OK(repo_->DeleteTenantKey("acme"));
  f = Collect();
  EXPECT_TRUE(Vm(f, "a")->shredded);
  std::vector<Finding> x = About(f, "a");
  ASSERT_EQ(x.size(), 1u);
  EXPECT_EQ(x[0].severity, Finding::Severity::kProblem);
  EXPECT_EQ(x[0].action, "vcsnap tenant shred acme --yes");
  EXPECT_TRUE(About(f, "b").empty());
  EXPECT_EQ(Vm(f, "b")->snapshots.size(), 1u);
}

// A tenant's report: its VMs only, nothing repository-wide, the storage of
// its VMs' own objects.
TEST_F(ReportTenantTest, ATenantsReportShowsOnlyItsVms) {
  ASSERT_OK(repo_->AddTenant("acme"));
  ASSERT_OK(repo_->AddTenant("globex"));
  tenant_of_["a1"] = tenant_of_["a2"] = "acme";
  tenant_of_["g1"] = "globex";
  DailyBackups("a1", 1, 1);
  DailyBackups("a2", 2, 0);
  DailyBackups("g1", 3, 0);
  DailyBackups("plain", 4, 0);
  ReportOptions o;
  o.tenant = "acme";
  FleetReport f = Collect(o);
  ASSERT_EQ(f.vms.size(), 2u);
  EXPECT_EQ(f.vms[0].vm, "a1");
  EXPECT_EQ(f.vms[1].vm, "a2");
  EXPECT_EQ(f.snapshot_count(), 3u);
  EXPECT_TRUE(f.findings.empty()) << f.findings[0].what;  // no PDS: not its
  EXPECT_TRUE(f.areas.empty());
  EXPECT_TRUE(f.location.empty());
  EXPECT_EQ(f.tenants, std::vector<std::string>{"acme"});
  uint64_t objects = 0, bytes = 0;
  for (const std::string vm : {"a1", "a2"}) {
    for (const ObjectInfo& info : *repo_->backend().List(VmPrefix(vm))) {
      objects++;
      bytes += info.size;
    }
  }
  EXPECT_EQ(f.total.objects, objects);
  EXPECT_EQ(f.total.bytes, bytes);
  for (const std::string& page :
       {RenderHtml(f), RenderText(f), ReportJson(f).dump()}) {
    EXPECT_THAT(page, HasSubstr("acme"));
    EXPECT_THAT(page, Not(HasSubstr("g1")));
    EXPECT_THAT(page, Not(HasSubstr("globex")));
    EXPECT_THAT(page, Not(HasSubstr("plain")));
    EXPECT_THAT(page, Not(HasSubstr(repo_->location())));
  }
  o.tenant = "nobody";
  EXPECT_THAT(CollectReport(*repo_, o),
              ::vcsnap::testing::StatusIsWith(StatusCode::kNotFound,
                                              "no tenant nobody"));
}

// Leases: a dead holder on this host is a problem; a live one held longer
// than the stale limit a warning; a fresh one nothing.
TEST(ReportLease, DeadAndLongHeldLeases) {
  std::string dir = ::vcsnap::testing::NewTempDir("report-lease");
  auto repo =
      Repository::Init(dir + "/repo", ::vcsnap::testing::SmallRepoConfig());
  ASSERT_OK(repo);
  Backend& b = (*repo)->backend();
  ASSERT_OK(b.Create(VmMarkerName("dead"), ByteView()));
  ASSERT_OK(b.Create(VmMarkerName("busy"), ByteView()));
  pid_t child = ::fork();
  if (child == 0) {
    auto lease = Lease::Acquire(&b, "dead", "backup");
    ::_exit(lease.ok() ? 0 : 1);  // exits without releasing it
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_EQ(WEXITSTATUS(status), 0);
  auto busy = Lease::Acquire(&b, "busy", "forget");
  ASSERT_OK(busy);
  ReportOptions o;
  auto report = CollectReport(**repo, o);
  ASSERT_OK(report);
  std::vector<Finding> dead = About(*report, "dead");
  ASSERT_EQ(dead.size(), 2u);  // the lease, and no snapshot
  EXPECT_EQ(dead[0].severity, Finding::Severity::kProblem);
  EXPECT_EQ(dead[0].action, "vcsnap unlock --vm dead");
  ASSERT_EQ(About(*report, "busy").size(), 1u);  // no snapshot only
  o.now_unix = static_cast<uint64_t>(std::time(nullptr)) + 27 * 3600;
  report = CollectReport(**repo, o);
  ASSERT_OK(report);
  std::vector<Finding> busy_now = About(*report, "busy");
  ASSERT_EQ(busy_now.size(), 2u);
  EXPECT_THAT(busy_now[0].what, HasSubstr("lease held for 27 h"));
  EXPECT_THAT(busy_now[0].what, HasSubstr("forget"));
  // A damaged lease blocks backups: a problem, and the VM is still read.
  ASSERT_OK(b.Put(LeaseName("busy"), AsBytes("garbage")));
  report = CollectReport(**repo, {});
  ASSERT_OK(report);
  std::vector<Finding> damaged = About(*report, "busy");
  ASSERT_EQ(damaged.size(), 2u);
  EXPECT_EQ(damaged[0].severity, Finding::Severity::kProblem);
  EXPECT_THAT(damaged[0].what, HasSubstr("lease is unreadable"));
  EXPECT_EQ(damaged[0].action, "vcsnap unlock --vm busy");
  EXPECT_TRUE(Vm(*report, "busy")->error.empty());
}

// Each day: its backups, and the window from the first start (commit time
// less the duration, rounded up to seconds) to the last commit, of the
// backups that recorded a duration.
TEST(ReportDays, TotalsAndBackupWindow) {
  const uint64_t d0 = 1'700'006'400;  // a midnight UTC
  std::vector<DayTotals> days(2);
  days[0].day_unix = d0;
  days[1].day_unix = d0 + 86400;
  std::vector<CatalogEntry> s(6);
  s[0].time_unix = d0 + 3600, s[0].backup_ms = 10'000, s[0].logical_bytes = 5;
  s[1].time_unix = d0 + 7200, s[1].backup_ms = 500, s[1].stored_bytes = 7;
  s[2].time_unix = d0 + 86400 + 100;  // duration unknown (version 1)
  s[3].time_unix = d0 + 86400 + 200, s[3].backup_ms = 1500;
  s[4].time_unix = d0 - 5, s[4].backup_ms = 1;          // before the days
  s[5].time_unix = d0 + 2 * 86400, s[5].backup_ms = 1;  // after them
  AddToDays(s, &days);
  EXPECT_EQ(days[0].backups, 2u);
  EXPECT_EQ(days[0].timed_backups, 2u);
  EXPECT_EQ(days[0].logical_bytes, 5u);
  EXPECT_EQ(days[0].stored_bytes, 7u);
  EXPECT_DOUBLE_EQ(days[0].backup_seconds, 10.5);
  EXPECT_EQ(days[0].window_seconds(), 7200u - (3600 - 10));
  EXPECT_EQ(days[1].backups, 2u);
  EXPECT_EQ(days[1].timed_backups, 1u);
  EXPECT_EQ(days[1].window_seconds(), 2u);
}

TEST(ReportRender, EscapesNamesAndClosesEveryElement) {
  FleetReport f;
  f.repo_id = "r<1>";
  f.location = "/tmp/a&b";
  f.generated_unix = 1'700'000'000;
  VmReport v;
  v.vm = "vm\"1";
  v.snapshots.push_back(
      CatalogEntry{1, 0, 1'699'990'000, 1 << 20, 1 << 20, 4096, 0, 0});
  BackupStats s;
  s.logical = 100;
  s.level1 = 50;
  s.new_bytes = 50;
  v.last_backup = s;
  f.vms.push_back(v);
  f.days.push_back({1'699'920'000, 1, 1 << 20, 4096});
  f.findings.push_back({Finding::Severity::kProblem, "vm\"1",
                        "<script>alert(1)</script>", "vcsnap check"});
  std::string html = RenderHtml(f);
  EXPECT_THAT(html, Not(HasSubstr("<script>")));
  EXPECT_THAT(html, HasSubstr("&lt;script&gt;"));
  EXPECT_THAT(html, HasSubstr("r&lt;1&gt;"));
  EXPECT_THAT(html, HasSubstr("/tmp/a&amp;b"));
  EXPECT_THAT(html, HasSubstr("vm&quot;1"));
  for (const char* tag : {"table", "tr", "svg", "td", "h2", "p", "div"}) {
    EXPECT_EQ(Count(html, std::string("<") + tag + ">") +
                  Count(html, std::string("<") + tag + " "),
              Count(html, std::string("</") + tag + ">"))
        << tag;
  }
  nlohmann::json j = ReportJson(f);
  EXPECT_EQ(j["findings"][0]["severity"], "problem");
  EXPECT_EQ(j["vms"][0]["last_snapshot"]["bytes"]["level1"], 50);
  EXPECT_EQ(j["problems"], 1);
  EXPECT_THAT(RenderText(f), HasSubstr("PROBLEM vm\"1: <script>"));
}

// The dedup chart draws the kChartVms VMs with the most new data.
TEST(ReportRender, ChartKeepsTheVmsWithTheMostNewData) {
  FleetReport f;
  for (int i = 0; i < 45; ++i) {
    VmReport v;
    v.vm = "vm" + std::string(i < 10 ? "0" : "") + std::to_string(i);
    BackupStats s;
    s.new_bytes = static_cast<uint64_t>(i) + 1;
    s.level1 = 100;
    v.last_backup = s;
    f.vms.push_back(v);
  }
  std::string html = RenderHtml(f);
  EXPECT_THAT(html, HasSubstr("The 40 of 45 VMs with the most new data"));
  EXPECT_EQ(Count(html, "text-anchor=\"end\">vm"), 40u);
  EXPECT_EQ(Count(html, ">vm44</text>"), 1u);
  EXPECT_EQ(Count(html, ">vm04</text>"), 0u);
  EXPECT_EQ(Count(html, ">vm05</text>"), 1u);
  EXPECT_EQ(Count(html, "<td class=\"l\">vm04</td>"), 1u);  // in the table
}

TEST(ReportRender, BarsScaleToTheLargestValue) {
  auto fmt = [](double v) { return std::to_string(static_cast<int>(v)); };
  std::string svg = SvgBars({"x", "y", "z"}, {4, 2, 0}, "#000", fmt);
  EXPECT_THAT(svg, HasSubstr("height=\"140.0\""));  // the largest: full
  EXPECT_THAT(svg, HasSubstr("height=\"70.0\""));   // half of it
  EXPECT_THAT(svg, HasSubstr("<title>y: 2</title>"));
  std::string stacked =
      SvgStacked({{"vm", {3, 1}}}, {"old", "new"}, {"#111", "#222"});
  EXPECT_THAT(stacked, HasSubstr("width=\"390.0\""));  // 75 % of 520
  EXPECT_THAT(stacked, HasSubstr("vm new: 25.0%"));
  EXPECT_EQ(FormatAge(59), "59 s");
  EXPECT_EQ(FormatAge(27 * 3600), "27 h");
  EXPECT_EQ(FormatAge(9 * 86400 + 5), "9 days");
  EXPECT_EQ(FormatRatio(300, 100), "3.0x");
  EXPECT_EQ(FormatRatio(300, 0), "-");
  EXPECT_EQ(FormatDuration(0.044), "0.04 s");
  EXPECT_EQ(FormatDuration(4.24), "4.2 s");
  EXPECT_EQ(FormatDuration(45), "45 s");
  EXPECT_EQ(FormatDuration(720), "12 min");
  EXPECT_EQ(FormatDuration(3.1 * 3600), "3.1 h");
}

}  // namespace
}  // namespace vcsnap
