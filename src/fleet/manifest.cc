#include "fleet/manifest.h"

#include <cstdio>
#include <exception>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "fleet/image_file.h"
#include "util/bytes.h"
#include "util/units.h"

namespace vcsnap::fleet {
namespace {

using nlohmann::json;

constexpr uint64_t kMaxManifestBytes = 256ull << 20;
constexpr uint64_t kMaxImageSize = 1ull << 50;
constexpr size_t kMaxVms = 100000;
constexpr size_t kMaxDays = 100000;

bool SafeRelativePath(const std::string& p) {
  if (p.empty() || p.front() == '/' || p.size() > 4096) return false;
  std::filesystem::path path(p);
  for (const auto& part : path) {
    if (part == "..") return false;
  }
  return true;
}

bool IsHex64(const std::string& s) {
  if (s.size() != 64) return false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

// Throws std::runtime_error with a message naming the field; caught below.
struct Fail : std::runtime_error {
  using std::runtime_error::runtime_error;
};
void Require(bool ok, const std::string& what) {
  if (!ok) throw Fail(what);
}
uint64_t U64(const json& j, const char* key) {
  Require(j.contains(key) && j[key].is_number_unsigned(),
          std::string("field '") + key + "' missing or not an unsigned number");
  return j[key].get<uint64_t>();
}
double Real(const json& j, const char* key) {
  Require(j.contains(key) && j[key].is_number(),
          std::string("field '") + key + "' missing or not a number");
  return j[key].get<double>();
}
std::string Str(const json& j, const char* key) {
  Require(j.contains(key) && j[key].is_string(),
          std::string("field '") + key + "' missing or not a string");
  return j[key].get<std::string>();
}

FleetDay DecodeDay(const json& d, uint64_t segment_size, uint64_t expected) {
  Require(d.is_object(), "day entry is not an object");
  FleetDay day;
  day.day = static_cast<uint32_t>(U64(d, "day"));
  Require(day.day == expected,
          "days out of order (expected day " + std::to_string(expected) + ")");
  day.image = Str(d, "image");
  day.bitmap = Str(d, "bitmap");
  Require(SafeRelativePath(day.image) && SafeRelativePath(day.bitmap),
          "image or bitmap path is not a plain relative path");
  Require(d.contains("image_present") && d["image_present"].is_boolean(),
          "field 'image_present' missing or not a boolean");
  day.image_present = d["image_present"].get<bool>();
  day.size = U64(d, "size");
  Require(day.size > 0 && day.size <= kMaxImageSize, "image size out of range");
  day.allocated = U64(d, "allocated");
  day.sha256 = Str(d, "sha256");
  Require(IsHex64(day.sha256), "sha256 is not 64 lowercase hex digits");
  day.written_bytes = U64(d, "written_bytes");
  day.dirty_segments = U64(d, "dirty_segments");
  const uint64_t segments = (day.size + segment_size - 1) / segment_size;
  Require(d.contains("dirty_ranges") && d["dirty_ranges"].is_array(),
          "field 'dirty_ranges' missing or not an array");
  uint64_t total = 0, next = 0;
  for (const json& r : d["dirty_ranges"]) {
    Require(r.is_array() && r.size() == 2 && r[0].is_number_unsigned() &&
                r[1].is_number_unsigned(),
            "dirty range is not [first, count]");
    const uint64_t first = r[0].get<uint64_t>(), count = r[1].get<uint64_t>();
    Require(count > 0 && first >= next && first <= segments &&
                count <= segments - first,
            "dirty range [" + std::to_string(first) + ", " +
                std::to_string(count) + "] outside the image's " +
                std::to_string(segments) + " segments or out of order");
    next = first + count;
    total += count;
    day.dirty_ranges.emplace_back(first, count);
  }
  Require(total == day.dirty_segments,
          "dirty_segments does not match the ranges");
  if (d.contains("events")) {
    Require(d["events"].is_object(), "events is not an object");
    for (const auto& [k, v] : d["events"].items()) {
      Require(v.is_number_unsigned(), "event count is not a number");
      day.events[k] = v.get<uint64_t>();
    }
  }
  return day;
}

}  // namespace

std::vector<uint64_t> FleetDay::DirtySegmentList() const {
  std::vector<uint64_t> out;
  for (const auto& [first, count] : dirty_ranges) {
    for (uint64_t i = 0; i < count; ++i) out.push_back(first + i);
  }
  return out;
}

std::vector<std::pair<uint64_t, uint64_t>> ToRanges(
    const std::vector<uint64_t>& sorted) {
  std::vector<std::pair<uint64_t, uint64_t>> out;
  for (uint64_t v : sorted) {
    if (!out.empty() && out.back().first + out.back().second == v) {
      out.back().second++;
    } else {
      out.emplace_back(v, 1);
    }
  }
  return out;
}

std::string EncodeManifest(const FleetManifest& m) {
  json j;
  j["format"] = kManifestFormat;
  j["version"] = m.version;
  j["generator"] = m.generator;
  j["seed"] = m.seed;
  j["image_size"] = m.image_size;
  j["segment_size"] = m.segment_size;
  j["granularity"] = m.granularity;
  j["change_rate"] = m.change_rate;
  j["families"] = m.families;
  j["growth_probability"] = m.growth_probability;
  j["update_period"] = m.update_period;
  j["scatter"] = m.scatter;
  j["dirty_target"] = m.dirty_target;
  j["source_families"] = m.source_families;
  j["source"] = {{"root", m.source_root},
                 {"digest", m.source_digest},
                 {"files", m.source_files},
                 {"bytes", m.source_bytes}};
  json vms = json::array();
  for (const FleetVm& vm : m.vms) {
    json days = json::array();
    for (const FleetDay& d : vm.days) {
      json ranges = json::array();
      for (const auto& [first, count] : d.dirty_ranges) {
        ranges.push_back({first, count});
      }
      days.push_back({{"day", d.day},
                      {"image", d.image},
                      {"bitmap", d.bitmap},
                      {"image_present", d.image_present},
                      {"size", d.size},
                      {"allocated", d.allocated},
                      {"sha256", d.sha256},
                      {"written_bytes", d.written_bytes},
                      {"dirty_segments", d.dirty_segments},
                      {"dirty_ranges", ranges},
                      {"events", d.events}});
    }
    vms.push_back({{"name", vm.name},
                   {"family", vm.family},
                   {"clone", vm.clone},
                   {"days", days}});
  }
  j["vms"] = vms;
  return j.dump(1) + "\n";
}

Result<FleetManifest> DecodeManifest(std::string_view text,
                                     std::string_view where) {
  json j = json::parse(text.begin(), text.end(), nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return Status::Corruption(std::string(where) + ": not a JSON object");
  }
  FleetManifest m;
  std::string context(where);
  try {
    Require(j.contains("format") && j["format"] == kManifestFormat,
            "not a fleet manifest (format is not \"vcsnap-fleet-manifest\")");
    m.version = static_cast<uint32_t>(U64(j, "version"));
    if (m.version > kManifestVersion || m.version == 0) {
      return Status::NotSupported(context + ": fleet manifest version " +
                                  std::to_string(m.version) +
                                  " (this build reads version " +
                                  std::to_string(kManifestVersion) + ")");
    }
    m.generator = Str(j, "generator");
    m.seed = U64(j, "seed");
    m.image_size = U64(j, "image_size");
    m.segment_size = U64(j, "segment_size");
    m.granularity = U64(j, "granularity");
    Require(IsPowerOfTwo(m.segment_size) && m.segment_size >= 4096 &&
                m.segment_size <= (1ull << 30),
            "segment_size is not a power of two in [4 KiB, 1 GiB]");
    Require(IsPowerOfTwo(m.granularity) && m.granularity >= 512 &&
                m.granularity <= m.segment_size,
            "granularity is not a power of two in [512, segment_size]");
    m.change_rate = Real(j, "change_rate");
    m.families = static_cast<uint32_t>(U64(j, "families"));
    m.growth_probability = Real(j, "growth_probability");
    m.update_period = static_cast<uint32_t>(U64(j, "update_period"));
    m.scatter = Real(j, "scatter");
    if (m.version >= 2) {
      m.dirty_target = Real(j, "dirty_target");
      Require(m.dirty_target >= 0 && m.dirty_target <= 1,
              "dirty_target is not in [0, 1]");
      Require(
          j.contains("source_families") && j["source_families"].is_boolean(),
          "field 'source_families' missing or not a boolean");
      m.source_families = j["source_families"].get<bool>();
    }
    Require(j.contains("source") && j["source"].is_object(),
            "field 'source' missing");
    m.source_root = Str(j["source"], "root");
    m.source_digest = Str(j["source"], "digest");
    m.source_files = U64(j["source"], "files");
    m.source_bytes = U64(j["source"], "bytes");
    Require(
        j.contains("vms") && j["vms"].is_array() && j["vms"].size() <= kMaxVms,
        "field 'vms' missing or too long");
    for (const json& v : j["vms"]) {
      FleetVm vm;
      Require(v.is_object(), "vm entry is not an object");
      vm.name = Str(v, "name");
      context = std::string(where) + ": vm " + vm.name;
      Require(
          SafeRelativePath(vm.name) && vm.name.find('/') == std::string::npos,
          "vm name is not a plain name");
      vm.family = static_cast<uint32_t>(U64(v, "family"));
      Require(v.contains("clone") && v["clone"].is_boolean(),
              "field 'clone' missing");
      vm.clone = v["clone"].get<bool>();
      Require(v.contains("days") && v["days"].is_array() &&
                  v["days"].size() <= kMaxDays,
              "field 'days' missing or too long");
      for (const json& d : v["days"]) {
        context = std::string(where) + ": vm " + vm.name + " day " +
                  std::to_string(vm.days.size());
        vm.days.push_back(DecodeDay(d, m.segment_size, vm.days.size()));
      }
      m.vms.push_back(std::move(vm));
      context = std::string(where);
    }
  } catch (const std::exception& e) {
    return Status::Corruption(context + ": " + e.what());
  }
  return m;
}

Result<FleetManifest> ReadFleetManifest(const std::string& fleet_dir) {
  const std::string path = fleet_dir + "/" + std::string(kManifestName);
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) {
    return Status::NotFound("no fleet manifest at " + path);
  }
  VCSNAP_ASSIGN_OR_RETURN(Bytes bytes, ReadWholeFile(path, kMaxManifestBytes));
  return DecodeManifest(AsChars(bytes), path);
}

Status WriteFleetManifest(const std::string& fleet_dir,
                          const FleetManifest& m) {
  return WriteFileAtomically(fleet_dir + "/" + std::string(kManifestName),
                             AsBytes(EncodeManifest(m)));
}

}  // namespace vcsnap::fleet
