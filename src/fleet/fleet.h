// File: fleet/fleet.h
//
// The VM-fleet generator: N VMs x D days of raw sparse disk images built
// from real OS file content, each day with its dirty bitmap (SPEC §2 format)
// and a manifest (fleet/manifest.h). User guide: docs/fleet.md.
//
//   FleetOptions o;
//   o.out_dir = dir; o.vms = 4; o.days = 3; o.image_size = 32 << 20;
//   VCSNAP_ASSIGN_OR_RETURN(FleetManifest m, GenerateFleet(o));
//
// Deterministic: the same options and the same source files (the manifest's
// source digest) give the same images, bitmaps and manifest. Memory is
// bounded by the file-system model of one VM (O(files)), never an image.
// Day d is written as a sparse copy of day d-1 with the day's changes
// applied; disk use is the sum of the images' allocated bytes (a file
// system with reflinks shares them), or only the last `keep_days` images.
//
// Thread safety: GenerateFleet may run concurrently on distinct out_dirs.

#ifndef VCSNAP_FLEET_FLEET_H_
#define VCSNAP_FLEET_FLEET_H_

#include <cstdint>
#include <functional>
#include <string>

#include "fleet/manifest.h"
#include "util/result.h"

namespace vcsnap::fleet {

struct FleetOptions {
  std::string out_dir;  // created; must be empty or absent
  uint32_t vms = 4;
  uint32_t days = 3;
  uint64_t image_size = 32ull << 20;  // multiple of 1 MiB, >= 8 MiB
  uint64_t seed = 1;
  double change_rate = 0.02;  // bytes written per day / image size (mean)
  std::string source_root = "/usr";
  uint64_t source_max_files = 0;  // 0 = the whole tree
  uint32_t families = 3;
  // Each top-level directory of source_root is one OS family's tree (e.g.
  // the bookworm, trixie and bullseye trees of make-os-bases.sh); the
  // number of families is then theirs and `families` is ignored.
  bool source_families = false;
  uint64_t segment_size = 2ull << 20;
  uint64_t granularity = 0;          // of the bitmap files; 0 = segment_size
  double growth_probability = 0.02;  // per VM and day
  uint32_t update_period = 3;        // days between fleet-wide updates
  double scatter = 0.02;  // small in-place writes per day, per segment
  // Share of the segments a day's writes aim to dirty (times the day's
  // 0.5-1.5 factor): database regions, edited documents and moved files
  // are added until it is reached, so it holds at any disk size; small
  // disks exceed it (see docs/fleet.md). 0 = one place of each kind a day.
  double dirty_target = 0.15;
  uint32_t keep_days = 0;  // keep only the last K images per VM; 0 = all
  // Called after each VM-day with a one-line status (may be empty).
  std::function<void(const std::string&)> progress;
};

// Options for the tiny fleet that tests use: 4 VMs x 3 days x 16 MiB from
// /usr, seed 1; generated in about a second.
FleetOptions TinyFleetOptions(const std::string& out_dir);

// InvalidArgument naming the first bad option.
Status ValidateFleetOptions(const FleetOptions& options);

Result<FleetManifest> GenerateFleet(const FleetOptions& options);

// Relative paths inside a fleet directory.
std::string VmName(uint32_t vm);                    // "vm-03"
std::string ImagePath(uint32_t vm, uint32_t day);   // "vm-03/day-02.img"
std::string BitmapPath(uint32_t vm, uint32_t day);  // "vm-03/day-02.bitmap"

}  // namespace vcsnap::fleet

#endif  // VCSNAP_FLEET_FLEET_H_
