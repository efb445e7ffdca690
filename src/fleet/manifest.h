// File: fleet/manifest.h
//
// FleetManifest: what a generated fleet directory holds, as the JSON file
// <fleet>/manifest.json (format and version: docs/format/fleet-manifest.md).
// For each VM and day: the raw image and its dirty bitmap (paths relative to
// the fleet directory), the image's size, allocated bytes and SHA-256, the
// bytes the generator wrote that day and the dirty segments (ranges of
// segment indices at the manifest's segment size).
//
// DecodeManifest checks everything it reads: the format name, the version
// (newer ones are NotSupported), types, sizes and paths (relative, no
// "..": a manifest cannot point outside its directory), segment ranges
// inside the image. Errors are Corruption naming the VM and day.
//
// Thread safety: plain values and pure functions.

#ifndef VCSNAP_FLEET_MANIFEST_H_
#define VCSNAP_FLEET_MANIFEST_H_

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "util/result.h"

namespace vcsnap::fleet {

// 2 added dirty_target and source_families; version 1 still reads.
inline constexpr uint32_t kManifestVersion = 2;
inline constexpr std::string_view kManifestFormat = "vcsnap-fleet-manifest";
inline constexpr std::string_view kManifestName = "manifest.json";

struct FleetDay {
  uint32_t day = 0;
  std::string image;          // relative path, e.g. "vm-03/day-02.img"
  std::string bitmap;         // relative path of the dirty bitmap
  bool image_present = true;  // false once --keep-days removed it
  uint64_t size = 0;
  uint64_t allocated = 0;
  std::string sha256;  // 64 lowercase hex digits
  uint64_t written_bytes = 0;
  uint64_t dirty_segments = 0;
  std::vector<std::pair<uint64_t, uint64_t>> dirty_ranges;  // first, count
  std::map<std::string, uint64_t> events;

  // The dirty segment indices, ascending.
  std::vector<uint64_t> DirtySegmentList() const;
};

struct FleetVm {
  std::string name;  // "vm-03"
  uint32_t family = 0;
  bool clone = false;  // laid out from its family's golden image
  std::vector<FleetDay> days;
};

struct FleetManifest {
  uint32_t version = kManifestVersion;
  std::string generator;
  uint64_t seed = 0;
  uint64_t image_size = 0;  // day-0 size
  uint64_t segment_size = 0;
  uint64_t granularity = 0;  // of the bitmap files
  double change_rate = 0;
  uint32_t families = 0;
  double growth_probability = 0;
  uint32_t update_period = 0;
  double scatter = 0;
  double dirty_target = 0;       // 0 in a version-1 manifest (not recorded)
  bool source_families = false;  // false in a version-1 manifest
  std::string source_root;
  std::string source_digest;
  uint64_t source_files = 0;
  uint64_t source_bytes = 0;
  std::vector<FleetVm> vms;
};

std::string EncodeManifest(const FleetManifest& m);
// `where` names the source in errors (a path).
Result<FleetManifest> DecodeManifest(std::string_view json,
                                     std::string_view where);
Result<FleetManifest> ReadFleetManifest(const std::string& fleet_dir);
// Writes <dir>/manifest.json atomically (temporary file, then rename).
Status WriteFleetManifest(const std::string& fleet_dir, const FleetManifest& m);

// Ranges of consecutive values of a sorted list.
std::vector<std::pair<uint64_t, uint64_t>> ToRanges(
    const std::vector<uint64_t>& sorted);

}  // namespace vcsnap::fleet

#endif  // VCSNAP_FLEET_MANIFEST_H_
