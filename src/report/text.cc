#include "report/text.h"

#include <cstdio>

#include "util/units.h"

namespace vcsnap {

std::string FormatAge(uint64_t s) {
  const auto n = [](uint64_t v, const char* unit) {
    return std::to_string(v) + " " + unit;
  };
  if (s < 120) return n(s, "s");
  if (s < 2 * 3600) return n(s / 60, "min");
  if (s < 2 * 86400) return n(s / 3600, "h");
  return n(s / 86400, "days");
}

std::string FormatAgo(uint64_t now, uint64_t then) {
  return FormatAge(now > then ? now - then : 0) + " ago";
}

std::string FormatDuration(double s) {
  char buf[32];
  if (s < 1) {
    std::snprintf(buf, sizeof(buf), "%.2f s", s);
  } else if (s < 10) {
    std::snprintf(buf, sizeof(buf), "%.1f s", s);
  } else if (s < 120) {
    std::snprintf(buf, sizeof(buf), "%.0f s", s);
  } else if (s < 2 * 3600) {
    std::snprintf(buf, sizeof(buf), "%.0f min", s / 60);
  } else {
    std::snprintf(buf, sizeof(buf), "%.1f h", s / 3600);
  }
  return buf;
}

std::string FormatPercent(double fraction) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.1f%%", 100 * fraction);
  return buf;
}

std::string FormatUtc(uint64_t unix_seconds) {
  return FormatUnixTime(unix_seconds, "%Y-%m-%d %H:%M UTC");
}

std::string FormatRatio(uint64_t logical, uint64_t stored) {
  if (stored == 0) return "-";
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.1fx",
                static_cast<double>(logical) / static_cast<double>(stored));
  return buf;
}

std::string ReportScope(const FleetReport& f) {
  return f.tenant.empty()
             ? "repository " + f.repo_id + " at " + f.location
             : "tenant " + f.tenant + " in repository " + f.repo_id;
}

std::string CheckLine(const CheckRecord& r) {
  std::string s =
      std::string("last check") + (r.read_data ? " --read-data " : " ") +
      FormatUtc(r.finished_unix) + (r.host.empty() ? "" : " on " + r.host) +
      ": " + std::to_string(r.vms) + " VMs, " + std::to_string(r.snapshots) +
      " snapshots, ";
  if (r.read_data) s += FormatByteSize(r.bytes_read) + " read ";
  return s + "in " + FormatDuration(r.seconds) + ", " +
         std::to_string(r.problems) + " problems";
}

std::string RenderText(const FleetReport& f) {
  std::string out;
  char line[1024];  // names are short (VM, tenant: 64 bytes at most)
  out += ReportScope(f) + ", " + FormatUtc(f.generated_unix) + "\n";
  std::snprintf(line, sizeof(line),
                "  %zu VMs, %llu snapshots: %s logical in %s stored (%s)\n",
                f.vms.size(),
                static_cast<unsigned long long>(f.snapshot_count()),
                FormatByteSize(f.live_logical_bytes()).c_str(),
                FormatByteSize(f.total.bytes).c_str(),
                FormatRatio(f.live_logical_bytes(), f.total.bytes).c_str());
  out += line;
  if (f.pds_generation != 0) {
    std::snprintf(line, sizeof(line), "  PDS generation %u: %llu chunks, %s\n",
                  f.pds_generation,
                  static_cast<unsigned long long>(f.pds_chunks),
                  FormatByteSize(f.pds_chunk_bytes).c_str());
    out += line;
  }
  for (const CheckRecord* r : f.checks_to_show()) {
    out += "  " + CheckLine(*r) + "\n";
  }
  if (f.findings.empty()) {
    out += "nothing needs attention\n";
  } else {
    std::snprintf(line, sizeof(line), "%zu need attention (%zu problems):\n",
                  f.findings.size(), f.problems());
    out += line;
  }
  for (const Finding& x : f.findings) {
    out +=
        x.severity == Finding::Severity::kProblem ? "  PROBLEM " : "  warning ";
    out += (x.vm.empty() ? std::string("repository") : x.vm) + ": " + x.what;
    if (!x.action.empty()) out += "\n          -> " + x.action;
    out += "\n";
  }
  for (const VmReport& v : f.vms) {
    std::string state;
    if (v.shredded) {
      state = "tenant shredded";
    } else if (!v.error.empty()) {
      state = "cannot be read";
    } else if (v.snapshots.empty()) {
      state = "no snapshot";
    } else {
      const CatalogEntry& e = v.snapshots.back();
      state = "last " + FormatAgo(f.generated_unix, e.time_unix);
      if (e.backup_ms != 0) {
        state += ", took " + FormatDuration(e.backup_ms / 1000.0);
      }
    }
    std::snprintf(line, sizeof(line),
                  "  %-20s %4zu snapshot%s  %-30s %10s logical %10s "
                  "stored%s%s\n",
                  v.vm.c_str(), v.snapshots.size(),
                  v.snapshots.size() == 1 ? " " : "s", state.c_str(),
                  FormatByteSize(v.live_logical_bytes()).c_str(),
                  FormatByteSize(v.stored_chunk_bytes).c_str(),
                  v.tenant.empty() ? "" : "  tenant ", v.tenant.c_str());
    out += line;
  }
  return out;
}

}  // namespace vcsnap
