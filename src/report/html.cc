#include "report/html.h"

#include <algorithm>
#include <cstdio>

#include "report/svg.h"
#include "report/text.h"
#include "util/units.h"

namespace vcsnap {
namespace {

constexpr const char* kStyle = R"(
body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#222;max-width:1200px}
h1{margin:0 0 4px}h2{margin:28px 0 8px;border-bottom:1px solid #ddd}
.sub{color:#666;margin:0}
.cards{display:flex;flex-wrap:wrap;gap:12px;margin-top:16px}
.card{border:1px solid #ddd;border-radius:6px;padding:8px 14px;min-width:110px}
.card b{display:block;font-size:20px}.card span{color:#666;font-size:12px}
table{border-collapse:collapse}td,th{padding:3px 10px;text-align:right;
border-bottom:1px solid #eee}td:first-child,th:first-child{text-align:left}
td.l,th.l{text-align:left}tr.problem td{background:#fde8e8}
tr.warning td{background:#fff6dc}.ok{color:#1a7f37}
.sev{font-weight:bold}.problem .sev{color:#b42318}.warning .sev{color:#9a6700}
code{background:#f4f4f4;padding:1px 4px;border-radius:3px}
svg.chart text{font-size:11px;fill:#444}
.legend span{margin-right:12px}.legend i{display:inline-block;width:10px;
height:10px;margin-right:4px}footer{margin-top:32px;color:#888;font-size:12px}
)";

const std::vector<std::string> kLevelNames = {"level 1 (clean segments)",
                                              "level 2 (own VM)",
                                              "level 3 (PDS)", "zeros", "new"};
const std::vector<std::string> kLevelColors = {"#4c78a8", "#72b7b2", "#54a24b",
                                               "#bab0ac", "#e45756"};

std::string E(std::string_view s) { return HtmlEscape(s); }

std::string Card(const std::string& value, const std::string& label) {
  return "<div class=\"card\"><b>" + E(value) + "</b><span>" + E(label) +
         "</span></div>";
}

std::string Cell(const std::string& v, bool left = false) {
  return std::string(left ? "<td class=\"l\">" : "<td>") + E(v) + "</td>";
}

std::string Header(const FleetReport& f) {
  const std::string where = ReportScope(f);
  std::string s =
      "<h1>vcsnap report</h1><p class=\"sub\">" + E(where) + " &middot; " +
      E(FormatUtc(f.generated_unix)) + "</p><p class=\"sub\">" +
      (f.encrypted ? "AES-256-GCM" : "not encrypted") +
      " &middot; compression " + E(f.compression) + " &middot; segments " +
      E(FormatByteSize(f.segment_size)) + " &middot; chunks ~" +
      E(FormatByteSize(f.chunk_avg)) + "</p><div class=\"cards\">";
  s += Card(std::to_string(f.vms.size()), "VMs");
  s += Card(std::to_string(f.snapshot_count()), "snapshots");
  s += Card(FormatByteSize(f.live_logical_bytes()), "logical, live snapshots");
  s += Card(FormatByteSize(f.total.bytes), f.tenant.empty()
                                               ? "stored, all objects"
                                               : "stored, its VMs' objects");
  s += Card(FormatRatio(f.live_logical_bytes(), f.total.bytes),
            "logical / stored");
  if (f.tenant.empty()) {
    s += Card(f.pds_generation == 0 ? std::string("none")
                                    : std::to_string(f.pds_chunks) + " chunks",
              f.pds_generation == 0
                  ? std::string("PDS")
                  : "PDS generation " + std::to_string(f.pds_generation));
    if (!f.tenants.empty()) {
      s += Card(std::to_string(f.tenants.size()), "tenants");
    }
    s += Card(
        f.last_read_data_check
            ? FormatAgo(f.generated_unix, f.last_read_data_check->finished_unix)
            : std::string("never"),
        "data last verified");
  }
  s += Card(std::to_string(f.findings.size()), "need attention");
  return s + "</div>";
}

std::string Findings(const FleetReport& f) {
  std::string s = "<h2>Needs attention</h2>";
  for (const CheckRecord* r : f.checks_to_show()) {
    s += "<p>" + E(CheckLine(*r)) + "</p>";
  }
  if (f.findings.empty()) {
    return s + "<p class=\"ok\">Nothing needs attention.</p>";
  }
  s += "<table><tr><th></th><th class=\"l\">VM</th><th class=\"l\">what</th>"
       "<th class=\"l\">to do</th></tr>";
  for (const Finding& x : f.findings) {
    const bool p = x.severity == Finding::Severity::kProblem;
    s += std::string("<tr class=\"") + (p ? "problem" : "warning") +
         "\"><td class=\"sev\">" + (p ? "problem" : "warning") + "</td>" +
         Cell(x.vm.empty() ? "(repository)" : x.vm, true) + Cell(x.what, true) +
         "<td class=\"l\">" +
         (x.action.empty() ? "" : "<code>" + E(x.action) + "</code>") +
         "</td></tr>";
  }
  return s + "</table>";
}

std::string Nightly(const FleetReport& f) {
  std::vector<std::string> labels;
  std::vector<double> logical, stored, window;
  for (const DayTotals& d : f.days) {
    labels.push_back(FormatUnixTime(d.day_unix, "%m-%d"));
    logical.push_back(static_cast<double>(d.logical_bytes));
    stored.push_back(static_cast<double>(d.stored_bytes));
    window.push_back(static_cast<double>(d.window_seconds()));
  }
  const auto bytes = [](double v) {
    return FormatByteSize(static_cast<uint64_t>(v));
  };
  return "<h2>Nightly backups, last " + std::to_string(f.days.size()) +
         " days (live snapshots)</h2><p>Logical bytes backed up per day</p>" +
         SvgBars(labels, logical, "#4c78a8", bytes) +
         "<p>Bytes written per day (new data, compressed)</p>" +
         SvgBars(labels, stored, "#e45756", bytes) +
         "<p>Backup window per day: first start to last commit (backups "
         "that recorded their duration)</p>" +
         SvgBars(labels, window, "#72b7b2", FormatDuration);
}

std::string Levels(const FleetReport& f) {
  std::vector<const VmReport*> vms;
  for (const VmReport& v : f.vms) {
    if (v.last_backup) vms.push_back(&v);
  }
  if (vms.empty()) return "";
  std::stable_sort(vms.begin(), vms.end(), [](auto* a, auto* b) {
    return a->last_backup->new_bytes > b->last_backup->new_bytes;
  });
  std::string title = "<h2>Last backup of each VM, by dedup level</h2>";
  if (vms.size() > kChartVms) {
    title += "<p>The " + std::to_string(kChartVms) + " of " +
             std::to_string(vms.size()) +
             " VMs with the most new data; the table below lists all.</p>";
    vms.resize(kChartVms);
  }
  std::vector<StackRow> rows;
  for (const VmReport* v : vms) {
    const BackupStats& b = *v->last_backup;
    rows.push_back(
        {v->vm,
         {static_cast<double>(b.level1), static_cast<double>(b.level2),
          static_cast<double>(b.level3), static_cast<double>(b.zero),
          static_cast<double>(b.new_bytes)}});
  }
  return title + HtmlLegend(kLevelNames, kLevelColors) +
         SvgStacked(rows, kLevelNames, kLevelColors);
}

std::string VmRow(const FleetReport& f, const VmReport& v, bool deps) {
  std::string cls;
  for (const Finding& x : f.findings) {
    if (x.vm != v.vm) continue;
    if (x.severity == Finding::Severity::kProblem) cls = "problem";
    if (cls.empty()) cls = "warning";
  }
  std::string s =
      "<tr class=\"" + cls + "\">" + Cell(v.vm, true) + Cell(v.tenant, true);
  if (v.shredded || !v.error.empty()) {  // the figures would be wrong
    return s + "<td class=\"l\" colspan=\"" + (deps ? "11" : "9") + "\">" +
           (v.shredded ? "tenant shredded (see above)"
                       : "cannot be read (see above)") +
           "</td></tr>";
  }
  std::string last = "never";
  if (!v.snapshots.empty()) {
    const uint64_t t = v.snapshots.back().time_unix;
    last = FormatAgo(f.generated_unix, t);
  }
  s += Cell(std::to_string(v.snapshots.size()) +
            (v.protected_snapshots
                 ? " (" + std::to_string(v.protected_snapshots) + " protected)"
                 : ""));
  const uint32_t ms = v.snapshots.empty() ? 0 : v.snapshots.back().backup_ms;
  s += Cell(last) + Cell(ms == 0 ? "-" : FormatDuration(ms / 1000.0)) +
       Cell(FormatByteSize(v.live_logical_bytes()));
  s += Cell(v.last_backup ? FormatByteSize(v.last_backup->new_bytes) : "-");
  s += Cell(FormatByteSize(v.stored_chunk_bytes));
  s += Cell(v.live_chunks ? FormatPercent(v.deleted_fraction()) : "-");
  s += Cell(v.gc ? std::to_string(
                       static_cast<uint64_t>(v.gc->EstimatedLeakChunks() + 0.5))
                 : "?");
  s += Cell(
      v.lease ? v.lease->command + " since " + FormatUtc(v.lease->started_unix)
              : "",
      true);
  if (v.dependencies) {
    s += Cell(std::to_string(v.dependencies->vm_blocks)) +
         Cell(std::to_string(v.dependencies->pds_blocks));
  }
  return s + "</tr>";
}

std::string VmTable(const FleetReport& f) {
  bool deps = std::any_of(f.vms.begin(), f.vms.end(),
                          [](const VmReport& v) { return v.dependencies; });
  std::string s =
      "<h2>VMs</h2><table><tr><th>VM</th><th class=\"l\">tenant</th>"
      "<th>snapshots</th><th>last backup</th><th>took</th><th>logical</th>"
      "<th>new in last</th><th>stored</th><th>deleted</th>"
      "<th>leak (chunks)</th><th class=\"l\">lease</th>";
  if (deps) s += "<th>N1 blocks</th><th>N2 PDS blocks</th>";
  s += "</tr>";
  for (const VmReport& v : f.vms) s += VmRow(f, v, deps);
  return s + "</table>";
}

std::string Areas(const FleetReport& f) {
  if (f.areas.empty()) return "";  // a tenant's report
  std::string s =
      "<h2>Storage by area</h2><table><tr><th>area</th><th>objects</th>"
      "<th>bytes</th></tr>";
  for (const auto& [name, a] : f.areas) {
    s += "<tr>" + Cell(name, true) + Cell(std::to_string(a.objects)) +
         Cell(FormatByteSize(a.bytes)) + "</tr>";
  }
  return s + "<tr>" + Cell("total", true) +
         Cell(std::to_string(f.total.objects)) +
         Cell(FormatByteSize(f.total.bytes)) + "</tr></table>";
}

}  // namespace

std::string RenderHtml(const FleetReport& f) {
  return "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
         "<title>vcsnap report " +
         E(f.repo_id) + "</title><style>" + kStyle + "</style></head><body>" +
         Header(f) + Findings(f) + Nightly(f) + Levels(f) + VmTable(f) +
         Areas(f) + "<footer>Made by <code>vcsnap report</code>; " +
         "a backup is stale after " + E(FormatAge(f.stale_after_seconds)) +
         ". Read-only: nothing was changed.</footer></body></html>\n";
}

}  // namespace vcsnap
