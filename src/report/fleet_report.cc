#include "report/fleet_report.h"

#include <algorithm>
#include <atomic>
#include <ctime>
#include <mutex>
#include <set>
#include <thread>

#include "pds/pds_table.h"
#include "recipe/names.h"
#include "report/text.h"
#include "store/pds_store.h"
#include "store/vm_store.h"

namespace vcsnap {
namespace {

constexpr uint64_t kDay = 86400;

Finding Make(Finding::Severity s, const std::string& vm, std::string what,
             std::string action) {
  return Finding{s, vm, std::move(what), std::move(action)};
}

// Fills `r` from the VM's objects; what cannot be read goes to r->error.
void CollectVm(Repository& repo, VmReport* r) {
  Backend& backend = repo.backend();
  Result<LeaseHolder> lease = ReadLease(backend, r->vm);
  if (lease.ok()) {
    r->lease = *lease;
  } else if (!lease.status().IsNotFound()) {
    r->lease_error = lease.status().message();
  }
  Result<VmKeys> keys = repo.KeysOf(r->vm);
  if (!keys.ok()) {
    r->error = keys.status().message();
    return;
  }
  r->tenant = keys->tenant;
  r->shredded = keys->shredded;
  if (r->shredded) return;
  Result<Catalog> cat = LoadCatalog(backend, r->vm);
  if (!cat.ok()) {
    r->error = cat.status().message();
    return;
  }
  r->snapshots = cat->entries;
  for (const CatalogEntry& e : r->snapshots) {
    if (e.flags & 1) r->protected_snapshots++;
  }
  Result<GcState> gc = LoadGcState(backend, r->vm);
  if (gc.ok()) r->gc = *gc;
  if (!r->snapshots.empty()) {
    Result<SnapshotRecipe> last =
        LoadSnapshotRecipe(backend, r->vm, r->snapshots.back().id);
    if (!last.ok()) {
      r->error = last.status().message();
      return;
    }
    r->last_backup = last->stats;
  }
  Result<std::unique_ptr<VmStore>> store = VmStore::OpenIn(repo, r->vm);
  Result<std::vector<ContainerInfo>> cs =
      store.ok() ? (*store)->ListContainers()
                 : Result<std::vector<ContainerInfo>>(store.status());
  if (!cs.ok()) {
    r->error = cs.status().message();
    return;
  }
  r->containers = cs->size();
  size_t damaged_logs = 0;
  for (const ContainerInfo& c : *cs) {
    r->stored_chunk_bytes += c.stored_bytes;
    r->live_chunks += c.live_chunks;
    r->deleted_chunks += c.deleted_chunks;
    if (c.dlog_problem.empty()) continue;
    if (damaged_logs++ == 0) r->dlog_problem = c.dlog_problem;
  }
  if (damaged_logs > 1) {
    r->dlog_problem += " (and " + std::to_string(damaged_logs - 1) + " more)";
  }
}

// Keeps only `tenant`'s VMs and drops what is repository-wide; the storage
// becomes that of the VMs' own objects (not their share of the PDS).
void ScopeToTenant(const std::string& tenant,
                   const std::vector<ObjectInfo>& objects, FleetReport* f) {
  std::erase_if(f->vms, [&](const VmReport& v) { return v.tenant != tenant; });
  f->tenant = tenant;
  f->tenants = {tenant};
  f->location.clear();
  f->areas.clear();
  f->total = {};
  f->pds_generation = 0;
  f->pds_chunks = f->pds_chunk_bytes = 0;
  f->findings.clear();  // repository-wide ones (PDS) so far
  std::set<std::string, std::less<>> mine;
  for (const VmReport& v : f->vms) mine.insert(v.vm);
  const std::string prefix = "vm/";  // VmPrefix(vm) without the VM
  for (const ObjectInfo& o : objects) {
    if (!o.name.starts_with(prefix)) continue;
    const std::string_view rest =
        std::string_view(o.name).substr(prefix.size());
    if (mine.contains(rest.substr(0, rest.find('/')))) {
      f->total.objects++;
      f->total.bytes += o.size;
    }
  }
}

// Every VM of `names`, in that order, read by options.threads threads (the
// reads are small and latency-bound on RADOS).
std::vector<VmReport> CollectVms(Repository& repo,
                                 const std::vector<std::string>& names,
                                 const ReportOptions& o) {
  std::vector<VmReport> out(names.size());
  std::atomic<size_t> next{0};
  std::mutex progress_mu;
  const auto work = [&] {
    for (size_t i = next++; i < names.size(); i = next++) {
      if (o.on_vm) {
        std::lock_guard<std::mutex> lock(progress_mu);
        o.on_vm(i, names.size(), names[i]);
      }
      out[i].vm = names[i];
      CollectVm(repo, &out[i]);
    }
  };
  const size_t threads =
      std::clamp<size_t>(o.threads, 1, std::max<size_t>(names.size(), 1));
  std::vector<std::thread> pool;
  for (size_t t = 1; t < threads; ++t) pool.emplace_back(work);
  work();
  for (std::thread& t : pool) t.join();
  return out;
}

// The findings about one collected VM, in the order an operator acts.
void VmFindings(const VmReport& r, const ReportOptions& o, uint64_t now,
                std::vector<Finding>* out) {
  using S = Finding::Severity;
  const std::string& vm = r.vm;
  if (!r.lease_error.empty()) {
    out->push_back(Make(S::kProblem, vm,
                        "its lease is unreadable (" + r.lease_error +
                            "); its backups fail until it is broken",
                        "vcsnap unlock --vm " + vm));
  }
  if (r.lease) {
    uint64_t held =
        now > r.lease->started_unix ? now - r.lease->started_unix : 0;
    if (r.lease->DeadOnThisHost()) {
      out->push_back(
          Make(S::kProblem, vm,
               "lease left by a process that is gone: " + r.lease->Describe() +
                   "; its backups fail until it is broken",
               "vcsnap unlock --vm " + vm));
    } else if (held > o.stale_after_seconds) {
      out->push_back(
          Make(S::kWarning, vm,
               "lease held for " + FormatAge(held) + ": " + r.lease->Describe(),
               "vcsnap unlock --vm " + vm +
                   " (once that process is known to be gone)"));
    }
  }
  if (r.shredded) {
    out->push_back(Make(S::kProblem, vm,
                        "tenant " + r.tenant +
                            " was shredded but objects of this VM are left "
                            "(an interrupted shred)",
                        "vcsnap tenant shred " + r.tenant + " --yes"));
    return;
  }
  if (!r.error.empty()) {
    out->push_back(Make(S::kProblem, vm, "cannot be read: " + r.error,
                        "vcsnap check (then vcsnap recover, see "
                        "docs/reliability.md)"));
    return;
  }
  if (r.snapshots.empty()) {
    out->push_back(Make(S::kWarning, vm,
                        "has no snapshot (never backed up, or all forgotten)",
                        ""));
  } else {
    uint64_t t = r.snapshots.back().time_unix;
    uint64_t age = now > t ? now - t : 0;
    if (age > o.stale_after_seconds) {
      out->push_back(Make(S::kWarning, vm,
                          "last backup " + FormatAge(age) + " ago",
                          "vcsnap backup --vm " + vm + " --image ..."));
    }
  }
  if (!r.dlog_problem.empty()) {
    out->push_back(Make(S::kWarning, vm,
                        "a deletion log is damaged (" + r.dlog_problem +
                            "): its lost records leave chunks stored",
                        "vcsnap gc --vm " + vm));
  }
  if (!r.gc) {
    out->push_back(Make(S::kWarning, vm,
                        "its gc state is unreadable: no leak estimate",
                        "vcsnap gc --vm " + vm));
  } else if (r.gc->RepairDue()) {
    out->push_back(
        Make(S::kWarning, vm,
             "leak repair due: " + std::to_string(r.gc->approx_deletes) +
                 " approximate deletes since the last repair, ~" +
                 std::to_string(
                     static_cast<uint64_t>(r.gc->EstimatedLeakChunks() + 0.5)) +
                 " chunks leaked (R > tau/eps)",
             "vcsnap gc --vm " + vm));
  }
  if (r.live_chunks > 0 && r.deleted_fraction() >= o.compact_threshold) {
    out->push_back(
        Make(S::kWarning, vm,
             FormatPercent(r.deleted_fraction()) +
                 " of its stored chunks are deleted but not reclaimed",
             "vcsnap compact --vm " + vm));
  }
}

// Fills the repository-wide figures; `objects` gets the object listing.
Status CollectRepository(Repository& repo, FleetReport* f,
                         std::vector<ObjectInfo>* objects_out) {
  const RepoConfig& c = repo.config();
  f->repo_id = c.RepoIdHex();
  f->location = repo.location();
  f->encrypted = c.encrypted();
  f->compression = std::string(CompressionName(c.compression));
  f->segment_size = c.segment_size;
  f->chunk_avg = c.chunk_avg;
  VCSNAP_ASSIGN_OR_RETURN(*objects_out, repo.backend().List(""));
  const std::vector<ObjectInfo>& objects = *objects_out;
  for (const ObjectInfo& o : objects) {
    AreaUsage& a = f->areas[o.name.substr(0, o.name.find('/'))];
    a.objects++;
    a.bytes += o.size;
    f->total.objects++;
    f->total.bytes += o.size;
  }
  if (c.encrypted()) {
    VCSNAP_ASSIGN_OR_RETURN(f->tenants, repo.ListTenants());
  }
  Result<uint32_t> current = ReadCurrentPds(repo.backend());
  if (!current.ok() && current.status().IsUnreadable()) {
    f->findings.push_back(
        Make(Finding::Severity::kProblem, "",
             "the PDS pointer is damaged: " + current.status().message(),
             "vcsnap check"));
  } else if (!current.ok() && !current.status().IsNotFound()) {
    return current.status();
  }
  if (current.ok()) {
    f->pds_generation = *current;
    PdsStore pds(&repo.backend(), c.keys.get());
    Result<PdsGenerationInfo> g = pds.GetGenerationInfo(*current);
    if (g.ok()) {
      f->pds_chunks = g->chunks;
      f->pds_chunk_bytes = g->chunk_bytes;
    } else {
      f->findings.push_back(
          Make(Finding::Severity::kProblem, "",
               "the PDS in force cannot be read: " + g.status().message(),
               "vcsnap check"));
    }
  }
  return Status::Ok();
}

// What the recorded checks say: damage they found, data not verified.
void CheckFindings(Backend& backend, const ReportOptions& o, uint64_t now,
                   bool any_snapshots, FleetReport* f) {
  using S = Finding::Severity;
  Result<CheckRecords> records = LoadCheckRecords(backend);
  if (!records.ok()) {
    f->findings.push_back(Make(S::kWarning, "",
                               "the record of the last check is unreadable (" +
                                   records.status().message() + ")",
                               "vcsnap check --read-data"));
    return;
  }
  f->last_check = records->last;
  f->last_read_data_check = records->last_read_data;
  const auto damage = [&](const CheckRecord& r) {
    const std::string flag = r.read_data ? " --read-data" : "";
    std::string what = "the last check" + flag + " (" +
                       FormatUtc(r.finished_unix) + ") found " +
                       std::to_string(r.problems) + " problems";
    if (!r.first_problems.empty()) what += ", first: " + r.first_problems[0];
    f->findings.push_back(
        Make(S::kProblem, "", what,
             "vcsnap check" + flag + " (after repairs: docs/reliability.md)"));
  };
  if (records->last && records->last->problems > 0) damage(*records->last);
  const std::optional<CheckRecord>& data = records->last_read_data;
  if (data && data->problems > 0 && data != records->last) damage(*data);
  if (!any_snapshots) return;
  if (!data) {
    f->findings.push_back(Make(S::kWarning, "",
                               "the stored data was never verified (no "
                               "`check --read-data` recorded)",
                               "vcsnap check --read-data"));
  } else if (now > data->finished_unix &&
             now - data->finished_unix > o.verify_after_seconds) {
    f->findings.push_back(Make(S::kWarning, "",
                               "the stored data was last verified " +
                                   FormatAge(now - data->finished_unix) +
                                   " ago",
                               "vcsnap check --read-data"));
  }
}

void AddIsolation(Repository& repo, FleetReport* f) {
  IsolationOptions io;
  Result<IsolationReport> iso = AnalyzeIsolation(repo, io);
  if (!iso.ok()) {
    f->findings.push_back(
        Make(Finding::Severity::kWarning, "",
             "fault-isolation analysis failed: " + iso.status().message(),
             "vcsnap isolation"));
    return;
  }
  for (const VmDependencies& d : iso->vms) {
    for (VmReport& r : f->vms) {
      if (r.vm == d.vm) r.dependencies = d;
    }
  }
}

}  // namespace

void AddToDays(const std::vector<CatalogEntry>& snapshots,
               std::vector<DayTotals>* days) {
  if (days->empty()) return;
  const uint64_t first = days->front().day_unix;
  for (const CatalogEntry& e : snapshots) {
    if (e.time_unix < first) continue;
    uint64_t i = (e.time_unix - first) / kDay;
    if (i >= days->size()) continue;  // a clock ahead of ours
    DayTotals& d = (*days)[i];
    d.backups++;
    d.logical_bytes += e.logical_bytes;
    d.stored_bytes += e.stored_bytes;
    if (e.backup_ms == 0) continue;
    const uint64_t start =
        e.time_unix -
        std::min<uint64_t>(e.time_unix, (e.backup_ms + 999) / 1000);
    d.first_start_unix =
        d.timed_backups == 0 ? start : std::min(d.first_start_unix, start);
    d.last_commit_unix = std::max(d.last_commit_unix, e.time_unix);
    d.timed_backups++;
    d.backup_seconds += e.backup_ms / 1000.0;
  }
}

uint64_t VmReport::live_logical_bytes() const {
  uint64_t sum = 0;
  for (const CatalogEntry& e : snapshots) sum += e.logical_bytes;
  return sum;
}

double VmReport::deleted_fraction() const {
  return live_chunks == 0 ? 0.0
                          : static_cast<double>(deleted_chunks) /
                                static_cast<double>(live_chunks);
}

std::vector<const CheckRecord*> FleetReport::checks_to_show() const {
  std::vector<const CheckRecord*> out;
  if (last_check) out.push_back(&*last_check);
  if (last_read_data_check && last_read_data_check != last_check) {
    out.push_back(&*last_read_data_check);
  }
  return out;
}

uint64_t FleetReport::snapshot_count() const {
  uint64_t n = 0;
  for (const VmReport& v : vms) n += v.snapshots.size();
  return n;
}

uint64_t FleetReport::live_logical_bytes() const {
  uint64_t n = 0;
  for (const VmReport& v : vms) n += v.live_logical_bytes();
  return n;
}

size_t FleetReport::problems() const {
  return static_cast<size_t>(
      std::count_if(findings.begin(), findings.end(), [](const Finding& x) {
        return x.severity == Finding::Severity::kProblem;
      }));
}

Result<FleetReport> CollectReport(Repository& repo,
                                  const ReportOptions& options) {
  FleetReport f;
  const uint64_t now = options.now_unix != 0
                           ? options.now_unix
                           : static_cast<uint64_t>(std::time(nullptr));
  f.generated_unix = now;
  f.stale_after_seconds = options.stale_after_seconds;
  std::vector<ObjectInfo> objects;  // one listing (on RADOS: a pool scan)
  VCSNAP_RETURN_IF_ERROR(CollectRepository(repo, &f, &objects));
  if (!options.tenant.empty() &&
      !std::binary_search(f.tenants.begin(), f.tenants.end(), options.tenant)) {
    return f.encrypted ? Status::NotFound("no tenant " + options.tenant +
                                          " (see `vcsnap tenant list`)")
                       : Status::InvalidArgument(
                             "tenants need an encrypted repository");
  }
  const uint64_t today = now - now % kDay;
  const uint32_t days = std::max<uint32_t>(options.history_days, 1);
  for (uint32_t i = 0; i < days; ++i) {
    DayTotals d;
    d.day_unix = today - static_cast<uint64_t>(days - 1 - i) * kDay;
    f.days.push_back(d);
  }
  // Also VMs that lost their marker (as check finds them).
  const AllVms all = AllVmsIn(objects);
  const std::vector<std::string>& names = all.vms;
  size_t with_snapshots = 0;
  f.vms = CollectVms(repo, names, options);
  if (!options.tenant.empty()) ScopeToTenant(options.tenant, objects, &f);
  for (const VmReport& r : f.vms) {
    if (std::binary_search(all.unmarked.begin(), all.unmarked.end(), r.vm)) {
      f.findings.push_back(Make(Finding::Severity::kProblem, r.vm,
                                "its marker " + VmMarkerName(r.vm) +
                                    " is missing (commands that list VMs "
                                    "skip it)",
                                "vcsnap recover --vm " + r.vm));
    }
    VmFindings(r, options, now, &f.findings);
    AddToDays(r.snapshots, &f.days);
    if (!r.snapshots.empty()) with_snapshots++;
  }
  if (f.tenant.empty()) {  // a tenant's report has nothing repository-wide
    CheckFindings(repo.backend(), options, now, with_snapshots > 0, &f);
    if (f.pds_generation == 0 && with_snapshots >= 2) {
      f.findings.push_back(
          Make(Finding::Severity::kWarning, "",
               "no PDS is published: level 3 (dedup across VMs) is off",
               "vcsnap pds update"));
    }
    if (options.isolation) AddIsolation(repo, &f);
  }
  std::stable_sort(f.findings.begin(), f.findings.end(),
                   [](const Finding& a, const Finding& b) {
                     return a.severity < b.severity;
                   });
  return f;
}

}  // namespace vcsnap
