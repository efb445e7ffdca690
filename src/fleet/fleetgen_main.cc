// vcsnap-fleetgen: generates a VM fleet (docs/fleet.md) and computes its
// dedup ground truth. Exit codes as for vcsnap (SPEC §2): 0 success, 2 bad
// usage, 1 any other failure, with one line "vcsnap-fleetgen: error: ..." on
// stderr. Progress goes to stderr when it is a terminal (or --progress).

#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <iostream>
#include <optional>
#include <string>
#include <tuple>

#include "fleet/fleet.h"
#include "fleet/truth.h"
#include "util/cli_exit.h"
#include "util/units.h"

namespace {

using vcsnap::kExitFailure;
using vcsnap::kExitUsage;

int Fail(int code, const std::string& message) {
  return vcsnap::ExitWith("vcsnap-fleetgen", code, message);
}

void Progress(const std::string& line) {
  std::fprintf(stderr, "\r\033[K%s", line.c_str());
  std::fflush(stderr);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "vcsnap-fleetgen: generate VM disk fleets with daily changes "
      "and CBT bitmaps, and compute their dedup ground truth"};
  app.set_version_flag("--version",
                       std::string("vcsnap-fleetgen ") + VCSNAP_VERSION);
  app.require_subcommand(1);
  bool progress_flag = false;
  app.add_flag("--progress", progress_flag, "progress on stderr always");

  vcsnap::fleet::FleetOptions o;
  std::string size = "32MiB", segment = "2MiB", granularity = "0";
  CLI::App* gen = app.add_subcommand("generate", "write a fleet directory");
  gen->add_option("--out", o.out_dir, "output directory (new or empty)")
      ->required();
  gen->add_option("--vms", o.vms, "number of VMs")->capture_default_str();
  gen->add_option("--days", o.days, "days (snapshots) per VM")
      ->capture_default_str();
  gen->add_option("--size", size, "image size at day 0")->capture_default_str();
  gen->add_option("--seed", o.seed, "seed")->capture_default_str();
  gen->add_option("--change-rate", o.change_rate,
                  "mean bytes written per day / image size")
      ->capture_default_str();
  gen->add_option("--source", o.source_root, "directory tree of real OS files")
      ->capture_default_str();
  gen->add_option("--source-max-files", o.source_max_files,
                  "use only the first N files of the tree (0 = all)");
  gen->add_option("--families", o.families, "OS families")
      ->capture_default_str();
  gen->add_flag("--source-families", o.source_families,
                "each top-level directory of --source is one OS family's "
                "tree (e.g. make-os-bases.sh output); overrides --families");
  gen->add_option("--segment-size", segment, "segment size")
      ->capture_default_str();
  gen->add_option("--granularity", granularity,
                  "bitmap granularity (0 = segment size)");
  gen->add_option("--growth", o.growth_probability,
                  "probability a disk grows on a day")
      ->capture_default_str();
  gen->add_option("--update-period", o.update_period,
                  "days between fleet-wide package updates (0 = none)")
      ->capture_default_str();
  gen->add_option("--scatter", o.scatter,
                  "small in-place writes per segment per day")
      ->capture_default_str();
  gen->add_option("--dirty-target", o.dirty_target,
                  "share of segments a day's writes aim to dirty: database "
                  "regions, edited and moved files are added until it is "
                  "reached (small disks exceed it)")
      ->capture_default_str();
  gen->add_option("--keep-days", o.keep_days,
                  "keep only the last K images of each VM (0 = all)");

  std::string fleet_dir;
  bool json = false;
  vcsnap::fleet::TruthOptions t;
  CLI::App* truth =
      app.add_subcommand("truth", "dedup ground truth of a fleet");
  truth->add_option("--fleet", fleet_dir, "fleet directory")->required();
  truth->add_flag("--json", json, "print one JSON object");
  std::string chunk_min = std::to_string(t.chunk_min),
              chunk_avg = std::to_string(t.chunk_avg),
              chunk_max = std::to_string(t.chunk_max);
  truth
      ->add_option("--chunk-min", chunk_min,
                   "gear chunker minimum (default: a new repository's)")
      ->capture_default_str();
  truth->add_option("--chunk-avg", chunk_avg, "gear chunker average")
      ->capture_default_str();
  truth->add_option("--chunk-max", chunk_max, "gear chunker maximum")
      ->capture_default_str();
  truth
      ->add_option("--fit-min-popularity", t.fit_min_popularity,
                   "lowest popularity level in the Zipf fit")
      ->capture_default_str();

  if (std::optional<int> done =
          vcsnap::ParseCommandLine(app, argc, argv, "vcsnap-fleetgen")) {
    return *done;
  }
  const bool show = progress_flag || ::isatty(STDERR_FILENO);

  if (gen->parsed()) {
    auto s = vcsnap::ParseByteSize(size);
    auto seg = vcsnap::ParseByteSize(segment);
    auto gran = vcsnap::ParseByteSize(granularity);
    if (!s.ok()) return Fail(kExitUsage, "--size: " + s.status().message());
    if (!seg.ok()) {
      return Fail(kExitUsage, "--segment-size: " + seg.status().message());
    }
    if (!gran.ok()) {
      return Fail(kExitUsage, "--granularity: " + gran.status().message());
    }
    o.image_size = *s;
    o.segment_size = *seg;
    o.granularity = *gran;
    vcsnap::Status valid = vcsnap::fleet::ValidateFleetOptions(o);
    if (!valid.ok()) return Fail(kExitUsage, valid.message());
    if (show) o.progress = Progress;
    auto m = vcsnap::fleet::GenerateFleet(o);
    if (show) std::fprintf(stderr, "\n");
    if (!m.ok()) return Fail(kExitFailure, m.status().message());
    uint64_t allocated = 0;
    for (const auto& vm : m->vms) {
      for (const auto& d : vm.days)
        allocated += d.image_present ? d.allocated : 0;
    }
    std::printf("wrote %zu VMs x %u days to %s (%s allocated)\n", m->vms.size(),
                o.days, o.out_dir.c_str(),
                vcsnap::FormatByteSize(allocated).c_str());
    return 0;
  }
  for (auto [name, text, field] :
       {std::tuple{"--chunk-min", &chunk_min, &t.chunk_min},
        std::tuple{"--chunk-avg", &chunk_avg, &t.chunk_avg},
        std::tuple{"--chunk-max", &chunk_max, &t.chunk_max}}) {
    auto v = vcsnap::ParseByteSize(*text);
    if (!v.ok()) {
      return Fail(kExitUsage, std::string(name) + ": " + v.status().message());
    }
    if (*v == 0 || *v > (64u << 20)) {
      return Fail(kExitUsage, std::string(name) + " must be in [1, 64 MiB]");
    }
    *field = static_cast<uint32_t>(*v);
  }
  if (show) t.progress = Progress;
  auto r = vcsnap::fleet::ComputeTruth(fleet_dir, t);
  if (show) std::fprintf(stderr, "\n");
  if (!r.ok()) return Fail(kExitFailure, r.status().message());
  std::fputs(json ? vcsnap::fleet::TruthToJson(*r).c_str()
                  : vcsnap::fleet::TruthToText(*r).c_str(),
             stdout);
  return 0;
}
