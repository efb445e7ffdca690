// File: report/fleet_report.h
//
// The operator's morning view of a repository, collected in one read-only
// pass: per VM its snapshots, the last backup's dedup by level, its store and
// deletion bookkeeping, its lease; the PDS in force; storage per area; and
// the findings that need someone (a stale or missing backup, damage met on
// the way, a repair or compaction due, a lease left by a dead process), each
// with the command that acts on it. html.h and json.h render it.
//
// Fault isolation: what cannot be read about one VM (a damaged binding,
// catalog or recipe, a storage error) becomes a finding naming that VM, and
// the rest is still reported. Only a repository that cannot be listed fails.
//
// Cost per VM: its catalog, binding, latest snapshot recipe, container
// heads, gc state and lease -- independent of how many snapshots it keeps
// (the daily history comes from the catalog). Once: the object list, the
// tenants, the PDS manifest and the record of the last checks. With
// `isolation`, also the analysis of analysis/isolation.h, which reads every
// live recipe.
//
// No lease is taken and nothing is written: a report racing a backup shows
// the VM's snapshots before or after that backup's commit; its container
// figures (read after the catalog) may already count the backup's chunks.
//
// Thread safety: CollectReport reads VMs from `threads` threads of its own
// (Repository and Backend are thread-safe); call it from one thread.

#ifndef VCSNAP_REPORT_FLEET_REPORT_H_
#define VCSNAP_REPORT_FLEET_REPORT_H_

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "analysis/isolation.h"
#include "gc/check_record.h"
#include "gc/gc_state.h"
#include "recipe/catalog.h"
#include "recipe/lease.h"
#include "recipe/snapshot_recipe.h"
#include "repo/repository.h"
#include "util/result.h"

namespace vcsnap {

struct ReportOptions {
  uint64_t now_unix = 0;  // 0: the clock
  // A VM whose newest snapshot is older than this needs attention (a nightly
  // schedule plus two hours of slack); a lease older than this too.
  uint64_t stale_after_seconds = 26 * 3600;
  // Deleted fraction of a VM's stored chunks from which `compact` is due
  // (the default threshold of `vcsnap compact`).
  double compact_threshold = 0.2;
  // Data not re-read by a `check --read-data` for this long (or never, once
  // there are snapshots) needs attention.
  uint64_t verify_after_seconds = 31 * 86400;
  uint32_t history_days = 30;  // days of the daily totals, today included
  bool isolation = false;      // add N1/N2 per VM (reads every live recipe)
  unsigned threads = 8;        // VMs read at once (small, latency-bound reads)
  // Only the VMs of this tenant, and nothing repository-wide (storage areas,
  // PDS, checks, location, isolation): a report to hand to that tenant.
  // NotFound for an unknown tenant. Empty: the whole repository.
  std::string tenant = {};
  // Called before each VM (index from 0, count, name), from the reading
  // threads one at a time: progress.
  std::function<void(size_t, size_t, const std::string&)> on_vm;
};

struct Finding {
  enum class Severity { kProblem, kWarning };
  Severity severity = Severity::kWarning;
  std::string vm = {};      // "" for the repository as a whole
  std::string what = {};    // one line: what is wrong
  std::string action = {};  // the command that acts on it ("" if none)
};

struct VmReport {
  std::string vm;
  std::string tenant = {};
  bool shredded = false;
  std::string error = {};  // non-empty: what could not be read (a finding)
  std::vector<CatalogEntry> snapshots;     // oldest first
  std::optional<BackupStats> last_backup;  // of the newest snapshot
  uint32_t protected_snapshots = 0;
  uint64_t containers = 0;
  uint64_t stored_chunk_bytes = 0;  // bytes of groups in its containers
  uint64_t live_chunks = 0;
  uint64_t deleted_chunks = 0;  // logged for deletion, not yet compacted
  // Damaged deletion logs ("" none): what is wrong with the first, and how
  // many there are. The VM reads and backs up as usual (a warning).
  std::string dlog_problem = {};
  std::optional<GcState> gc;  // nullopt: unreadable or not read
  std::optional<LeaseHolder> lease;
  std::string lease_error = {};  // the lease object is there but unreadable
  std::optional<VmDependencies> dependencies;  // with options.isolation

  uint64_t live_logical_bytes() const;
  double deleted_fraction() const;
};

struct AreaUsage {
  uint64_t objects = 0;
  uint64_t bytes = 0;
};

// Backups committed on one UTC day (by their snapshot time), of the VMs'
// live snapshots: forgotten ones are not counted.
struct DayTotals {
  uint64_t day_unix = 0;  // 00:00 UTC
  uint64_t backups = 0;
  uint64_t logical_bytes = 0;
  uint64_t stored_bytes = 0;
  // Of the backups with a known duration (catalog version 2): how many, the
  // sum of their durations, and the earliest start and latest commit.
  uint64_t timed_backups = 0;
  double backup_seconds = 0;
  uint64_t first_start_unix = 0, last_commit_unix = 0;
  // The backup window: first start to last commit (0 without timed backups).
  uint64_t window_seconds() const {
    return timed_backups == 0 ? 0 : last_commit_unix - first_start_unix;
  }
};

struct FleetReport {
  std::string tenant;  // ReportOptions::tenant
  uint64_t generated_unix = 0;
  uint64_t stale_after_seconds = 0;
  std::string repo_id, location;
  bool encrypted = false;
  std::string compression;
  uint32_t segment_size = 0, chunk_avg = 0;
  std::map<std::string, AreaUsage> areas;  // by first name component
  AreaUsage total;              // every object; for a tenant, those of its VMs
  uint32_t pds_generation = 0;  // 0: none published
  uint64_t pds_chunks = 0, pds_chunk_bytes = 0;
  std::vector<std::string> tenants;
  // The last whole-repository checks (gc/check_record.h), when recorded.
  std::optional<CheckRecord> last_check, last_read_data_check;
  std::vector<VmReport> vms;      // by name
  std::vector<DayTotals> days;    // oldest first, history_days of them
  std::vector<Finding> findings;  // problems first, then by VM

  // The recorded checks to show: the last one, and the last --read-data one
  // when that is another.
  std::vector<const CheckRecord*> checks_to_show() const;
  uint64_t snapshot_count() const;
  uint64_t live_logical_bytes() const;
  size_t problems() const;
};

// Adds `snapshots` to the day of `days` each was committed on (by
// time_unix; days[i].day_unix must be set, one day apart, ascending);
// snapshots outside the days are left out.
void AddToDays(const std::vector<CatalogEntry>& snapshots,
               std::vector<DayTotals>* days);

// Reads `repo` as described above. Fails only when the repository's object
// list or tenant list cannot be read or the storage fails reading the PDS
// pointer (a damaged one is a finding); NotFound for an unknown tenant.
Result<FleetReport> CollectReport(Repository& repo,
                                  const ReportOptions& options);

}  // namespace vcsnap

#endif  // VCSNAP_REPORT_FLEET_REPORT_H_
