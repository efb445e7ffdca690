#include "cli/print.h"

#include <cstdio>

#include "util/units.h"

namespace vcsnap::cli {
namespace {

std::string Pct(uint64_t part, uint64_t whole) {
  char buf[16];
  std::snprintf(buf, sizeof(buf), "%5.1f%%",
                whole == 0 ? 0.0
                           : 100.0 * static_cast<double>(part) /
                                 static_cast<double>(whole));
  return buf;
}

std::string Rate(uint64_t bytes, double seconds) {
  if (seconds <= 0) return "-";
  return FormatByteSize(
             static_cast<uint64_t>(static_cast<double>(bytes) / seconds)) +
         "/s";
}

}  // namespace

std::string IsoTime(uint64_t unix_seconds) {
  return FormatUnixTime(unix_seconds, "%Y-%m-%dT%H:%M:%SZ");
}

nlohmann::json BackupJson(const BackupResult& r) {
  const BackupStats& s = r.stats;
  nlohmann::json j;
  j["vm"] = r.vm;
  j["snapshot"] = std::to_string(r.snapshot);
  j["parent"] = r.parent == 0 ? nlohmann::json(nullptr)
                              : nlohmann::json(std::to_string(r.parent));
  j["image_size"] = r.image_size;
  j["source"] = r.source;
  j["logical_bytes"] = s.logical;
  j["stored_bytes"] = s.stored_bytes;
  j["metadata_bytes"] = r.metadata_bytes;
  j["seconds"] = r.seconds;
  j["bytes"] = {{"level1", s.level1},
                {"level2", s.level2},
                {"level3", s.level3},
                {"zero", s.zero},
                {"new", s.new_bytes}};
  j["chunks"] = {{"level2", s.chunks_level2},
                 {"level3", s.chunks_level3},
                 {"new", s.chunks_new}};
  j["segments"] = {{"total", r.segments}, {"dirty", r.segments_dirty}};
  j["sub_segment"] = {{"chunks_reused", r.chunks_reused},
                      {"bytes_reused", r.bytes_reused}};
  j["read_bytes"] = r.bytes_read;
  j["phases"] = {{"dedup_seconds", r.seconds_dedup},
                 {"commit_seconds", r.seconds_commit},
                 {"queued_seconds", r.seconds_queued}};
  j["peak_rss_bytes"] = r.peak_rss_bytes;
  if (r.level3_batches > 0) {
    j["level3_batches"] = {{"batches", r.level3_batches},
                           {"lookups", r.level3_lookups},
                           {"lookup_seconds", r.seconds_level3}};
  }
  if (!r.note.empty()) j["note"] = r.note;
  return j;
}

std::string BackupText(const BackupResult& r) {
  const BackupStats& s = r.stats;
  std::string out = "snapshot " + std::to_string(r.snapshot) + " of " + r.vm;
  out += r.parent == 0 ? " (no parent)"
                       : " (parent " + std::to_string(r.parent) + ")";
  out += ": " + FormatByteSize(s.logical) + " in " +
         std::to_string(r.seconds).substr(0, 5) + " s (" +
         Rate(s.logical, r.seconds) + "), " + std::to_string(r.segments_dirty) +
         " of " + std::to_string(r.segments) + " segments dirty\n";
  auto row = [&](const char* what, uint64_t v) {
    char buf[128];
    std::snprintf(buf, sizeof(buf), "  %-28s %12s %s\n", what,
                  FormatByteSize(v).c_str(), Pct(v, s.logical).c_str());
    out += buf;
  };
  row("level 1 (clean segments)", s.level1);
  row("level 2 (VM's own data)", s.level2);
  row("level 3 (PDS)", s.level3);
  row("zero", s.zero);
  row("new", s.new_bytes);
  // Inside levels 2 and zero above: dirty segments' clean granules.
  if (r.bytes_reused > 0) row("unhashed (sub-segment CBT)", r.bytes_reused);
  out += "  stored " + FormatByteSize(s.stored_bytes) + " of chunk data, " +
         FormatByteSize(r.metadata_bytes) + " of recipes\n";
  if (!r.note.empty()) out += "  note: " + r.note + "\n";
  return out;
}

nlohmann::json RestoreJson(const RestoreResult& r) {
  return {{"vm", r.vm},
          {"snapshot", std::to_string(r.snapshot)},
          {"image_size", r.image_size},
          {"bytes_written", r.bytes_written},
          {"chunks", r.chunks},
          {"chunks_verified", r.chunks_verified},
          {"seconds", r.seconds},
          {"peak_rss_bytes", r.peak_rss_bytes}};
}

nlohmann::json SnapshotJson(const std::string& vm, const CatalogEntry& e) {
  return {{"vm", vm},
          {"snapshot", std::to_string(e.id)},
          {"parent", e.parent == 0 ? nlohmann::json(nullptr)
                                   : nlohmann::json(std::to_string(e.parent))},
          {"time", IsoTime(e.time_unix)},
          {"image_size", e.image_size},
          {"logical_bytes", e.logical_bytes},
          {"stored_bytes", e.stored_bytes},
          {"pds_generation", e.pds_generation},
          {"backup_seconds", e.backup_ms == 0
                                 ? nlohmann::json(nullptr)
                                 : nlohmann::json(e.backup_ms / 1000.0)},
          {"protected", (e.flags & 1) != 0}};
}

}  // namespace vcsnap::cli
