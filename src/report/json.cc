#include "report/json.h"

namespace vcsnap {
namespace {

nlohmann::json VmJson(const VmReport& v) {
  nlohmann::json j = {{"vm", v.vm},
                      {"tenant", v.tenant},
                      {"shredded", v.shredded},
                      {"snapshots", v.snapshots.size()},
                      {"protected_snapshots", v.protected_snapshots},
                      {"logical_bytes", v.live_logical_bytes()},
                      {"containers", v.containers},
                      {"stored_chunk_bytes", v.stored_chunk_bytes},
                      {"live_chunks", v.live_chunks},
                      {"deleted_chunks", v.deleted_chunks}};
  if (!v.error.empty()) j["error"] = v.error;
  if (!v.dlog_problem.empty()) j["deletion_log_problem"] = v.dlog_problem;
  if (!v.snapshots.empty()) {
    const CatalogEntry& e = v.snapshots.back();
    j["last_snapshot"] = {{"snapshot", e.id},
                          {"time", e.time_unix},
                          {"logical_bytes", e.logical_bytes},
                          {"stored_bytes", e.stored_bytes}};
    if (e.backup_ms != 0) {
      j["last_snapshot"]["backup_seconds"] = e.backup_ms / 1000.0;
    }
  }
  if (v.last_backup) {
    const BackupStats& b = *v.last_backup;
    j["last_snapshot"]["bytes"] = {{"level1", b.level1},
                                   {"level2", b.level2},
                                   {"level3", b.level3},
                                   {"zero", b.zero},
                                   {"new", b.new_bytes}};
  }
  if (v.gc) {
    j["gc"] = {{"approx_deletes_since_repair", v.gc->approx_deletes},
               {"fp_rate", v.gc->last_fp_rate},
               {"estimated_leak_chunks", v.gc->EstimatedLeakChunks()},
               {"repair_due", v.gc->RepairDue()}};
  }
  if (v.lease) {
    j["lease"] = {{"command", v.lease->command},
                  {"host", v.lease->host},
                  {"pid", v.lease->pid},
                  {"since", v.lease->started_unix}};
  }
  if (!v.lease_error.empty()) j["lease_error"] = v.lease_error;
  if (v.dependencies) {
    j["n1_vm_blocks"] = v.dependencies->vm_blocks;
    j["n2_pds_blocks"] = v.dependencies->pds_blocks;
  }
  return j;
}

}  // namespace

nlohmann::json ReportJson(const FleetReport& f) {
  nlohmann::json j;
  j["repository"] = f.repo_id;
  j["tenant"] =
      f.tenant.empty() ? nlohmann::json(nullptr) : nlohmann::json(f.tenant);
  j["location"] = f.location;
  j["generated"] = f.generated_unix;
  j["stale_after_seconds"] = f.stale_after_seconds;
  j["encrypted"] = f.encrypted;
  j["vms"] = nlohmann::json::array();
  for (const VmReport& v : f.vms) j["vms"].push_back(VmJson(v));
  j["snapshots"] = f.snapshot_count();
  j["logical_bytes"] = f.live_logical_bytes();
  j["stored_bytes"] = f.total.bytes;
  j["objects"] = f.total.objects;
  for (const auto& [name, a] : f.areas) {
    j["areas"][name] = {{"objects", a.objects}, {"bytes", a.bytes}};
  }
  j["pds"] = {{"generation", f.pds_generation},
              {"chunks", f.pds_chunks},
              {"chunk_bytes", f.pds_chunk_bytes}};
  j["tenants"] = f.tenants;
  const auto check = [](const std::optional<CheckRecord>& r) {
    if (!r) return nlohmann::json(nullptr);
    return nlohmann::json{{"finished", r->finished_unix},
                          {"read_data", r->read_data},
                          {"seconds", r->seconds},
                          {"vms", r->vms},
                          {"snapshots", r->snapshots},
                          {"bytes_read", r->bytes_read},
                          {"problems", r->problems},
                          {"first_problems", r->first_problems},
                          {"host", r->host}};
  };
  j["last_check"] = check(f.last_check);
  j["last_read_data_check"] = check(f.last_read_data_check);
  j["days"] = nlohmann::json::array();
  for (const DayTotals& d : f.days) {
    j["days"].push_back({{"day", d.day_unix},
                         {"backups", d.backups},
                         {"logical_bytes", d.logical_bytes},
                         {"stored_bytes", d.stored_bytes},
                         {"timed_backups", d.timed_backups},
                         {"backup_seconds", d.backup_seconds},
                         {"window_seconds", d.window_seconds()}});
  }
  j["findings"] = nlohmann::json::array();
  for (const Finding& x : f.findings) {
    j["findings"].push_back(
        {{"severity",
          x.severity == Finding::Severity::kProblem ? "problem" : "warning"},
         {"vm", x.vm},
         {"what", x.what},
         {"action", x.action}});
  }
  j["problems"] = f.problems();
  return j;
}

}  // namespace vcsnap
