#include "fleet/fleet.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>

#include "fleet/image_file.h"
#include "fleet/source.h"
#include "fleet/vm_disk.h"
#include "util/units.h"

namespace vcsnap::fleet {
namespace {

constexpr uint64_t kMinSourceBytes = 16ull << 20;

}  // namespace

// Splits the catalog's packages into roles, each in a seed-shuffled order:
// 12 % core (every OS family), 38 % family-specific, 30 % optional software
// (ranked by popularity), 20 % reserved for fleet-wide updates. With
// source_families, family f is the f-th top-level directory of the source
// (sorted): its packages in the first two roles are that family's OS, and
// there are no core packages.
Result<FleetPlan> MakeFleetPlan(const SourceCatalog& catalog,
                                const FleetOptions& o) {
  FleetPlan plan;
  plan.seed = o.seed;
  plan.families = o.families;
  plan.change_rate = o.change_rate;
  plan.growth_probability = o.growth_probability;
  plan.scatter = o.scatter;
  plan.dirty_target = o.dirty_target;
  plan.segment_size = o.segment_size;
  plan.update_period = o.update_period;
  const auto& packages = catalog.packages();
  std::vector<std::string> tops;  // top-level directories, sorted
  std::vector<int32_t> top_of;    // per package; -1 = at the root
  if (o.source_families) {
    for (const SourcePackage& p : packages) {
      const std::string& path = catalog.files()[p.first].path;
      const size_t slash = path.find('/');
      if (slash == std::string::npos) {
        top_of.push_back(-1);
        continue;
      }
      const std::string top = path.substr(0, slash);
      if (tops.empty() || tops.back() != top) tops.push_back(top);  // sorted
      top_of.push_back(static_cast<int32_t>(tops.size() - 1));
    }
    if (tops.empty() || tops.size() > 64) {
      return Status::InvalidArgument(
          "--source-families: " + catalog.root() + " has " +
          std::to_string(tops.size()) +
          " top-level directories with files; need 1 to 64");
    }
    plan.families = static_cast<uint32_t>(tops.size());
  }
  plan.family.resize(plan.families);
  std::vector<std::pair<uint64_t, uint32_t>> order;
  for (uint32_t p = 0; p < packages.size(); ++p) {
    order.emplace_back(MixSeed(o.seed, 22, p), p);
  }
  std::sort(order.begin(), order.end());
  for (const auto& [key, p] : order) {
    const uint64_t role = MixSeed(o.seed, 20, p) % 100;
    if (o.source_families && role < 50 && top_of[p] >= 0) {
      plan.family[top_of[p]].push_back(p);
    } else if (o.source_families && role < 50) {
      plan.optional.push_back(p);
    } else if (role < 12) {
      plan.core.push_back(p);
    } else if (role < 50) {
      plan.family[MixSeed(o.seed, 21, p) % o.families].push_back(p);
    } else if (role < 80) {
      plan.optional.push_back(p);
    } else {
      plan.updates.push_back(p);
    }
  }
  for (uint32_t f = 0; f < plan.families && o.source_families; ++f) {
    if (plan.family[f].empty()) {
      return Status::InvalidArgument("--source-families: " + catalog.root() +
                                     "/" + tops[f] +
                                     " has too few files to be an OS family");
    }
  }
  return plan;
}

namespace {

std::string Two(uint32_t v) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%02u", v);
  return buf;
}

}  // namespace

std::string VmName(uint32_t vm) { return "vm-" + Two(vm); }
std::string ImagePath(uint32_t vm, uint32_t day) {
  return VmName(vm) + "/day-" + Two(day) + ".img";
}
std::string BitmapPath(uint32_t vm, uint32_t day) {
  return VmName(vm) + "/day-" + Two(day) + ".bitmap";
}

FleetOptions TinyFleetOptions(const std::string& out_dir) {
  FleetOptions o;
  o.out_dir = out_dir;
  o.vms = 4;
  o.days = 3;
  o.image_size = 16ull << 20;
  o.seed = 1;
  return o;
}

Status ValidateFleetOptions(const FleetOptions& o) {
  if (o.out_dir.empty()) return Status::InvalidArgument("--out is required");
  if (o.vms == 0 || o.vms > 10000) {
    return Status::InvalidArgument("--vms must be in [1, 10000]");
  }
  if (o.days == 0 || o.days > 1000) {
    return Status::InvalidArgument("--days must be in [1, 1000]");
  }
  if (o.image_size < (8ull << 20) || o.image_size % (1ull << 20) != 0 ||
      o.image_size > (1ull << 44)) {
    return Status::InvalidArgument(
        "--size must be a multiple of 1 MiB between 8 MiB and 16 TiB");
  }
  if (!IsPowerOfTwo(o.segment_size) || o.segment_size < 4096 ||
      o.segment_size > (1ull << 30)) {
    return Status::InvalidArgument(
        "--segment-size must be a power of two in [4 KiB, 1 GiB]");
  }
  const uint64_t g = o.granularity == 0 ? o.segment_size : o.granularity;
  if (!IsPowerOfTwo(g) || g < 512 || g > o.segment_size) {
    return Status::InvalidArgument(
        "--granularity must be a power of two in [512, segment size]");
  }
  if (!(o.change_rate > 0 && o.change_rate <= 0.5)) {
    return Status::InvalidArgument("--change-rate must be in (0, 0.5]");
  }
  if (o.families == 0 || o.families > 64) {
    return Status::InvalidArgument("--families must be in [1, 64]");
  }
  if (!(o.growth_probability >= 0 && o.growth_probability <= 1)) {
    return Status::InvalidArgument("--growth must be in [0, 1]");
  }
  if (!(o.scatter >= 0 && o.scatter <= 10)) {
    return Status::InvalidArgument("--scatter must be in [0, 10]");
  }
  if (!(o.dirty_target >= 0 && o.dirty_target <= 1)) {
    return Status::InvalidArgument("--dirty-target must be in [0, 1]");
  }
  return Status::Ok();
}

namespace {

// The first directory of `dir` and its ancestors that does not exist (the
// one create_directories would create first), or "" when `dir` exists.
std::filesystem::path FirstMissing(const std::string& dir) {
  std::error_code ec;
  std::filesystem::path p = std::filesystem::absolute(dir, ec);
  if (ec || std::filesystem::exists(p, ec)) return {};
  while (p.has_parent_path() && p.parent_path() != p &&
         !std::filesystem::exists(p.parent_path(), ec)) {
    p = p.parent_path();
  }
  return p;
}

// Removes what a failed GenerateFleet wrote: the directories it created,
// or everything inside an output directory that was empty before.
void RemoveOutput(const std::string& dir,
                  const std::filesystem::path& created) {
  std::error_code ec;
  if (!created.empty()) {
    std::filesystem::remove_all(created, ec);
    return;
  }
  if (!std::filesystem::is_directory(dir, ec)) return;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
    std::filesystem::remove_all(e.path(), ec);
  }
}

Result<FleetManifest> GenerateInto(const FleetOptions& o,
                                   const SourceCatalog& catalog) {
  std::error_code ec;
  VCSNAP_ASSIGN_OR_RETURN(const FleetPlan plan, MakeFleetPlan(catalog, o));
  const uint64_t granularity =
      o.granularity == 0 ? o.segment_size : o.granularity;

  FleetManifest m;
  m.generator = std::string("vcsnap-fleetgen ") + VCSNAP_VERSION;
  m.seed = o.seed;
  m.image_size = o.image_size;
  m.segment_size = o.segment_size;
  m.granularity = granularity;
  m.change_rate = o.change_rate;
  m.families = plan.families;
  m.growth_probability = o.growth_probability;
  m.update_period = o.update_period;
  m.scatter = o.scatter;
  m.dirty_target = o.dirty_target;
  m.source_families = o.source_families;
  m.source_root = catalog.root();
  m.source_digest = catalog.digest();
  m.source_files = catalog.files().size();
  m.source_bytes = catalog.total_bytes();

  const auto start = std::chrono::steady_clock::now();
  for (uint32_t v = 0; v < o.vms; ++v) {
    FleetVm vm;
    vm.name = VmName(v);
    vm.family = v % plan.families;
    vm.clone = (v / plan.families) % 2 == 0;
    std::filesystem::create_directories(o.out_dir + "/" + vm.name, ec);
    if (ec) return Status::IOError("create " + vm.name + ": " + ec.message());
    VmDisk disk(catalog, plan, v, vm.family, vm.clone, o.image_size);
    for (uint32_t d = 0; d < o.days; ++d) {
      FleetDay day;
      day.day = d;
      day.image = ImagePath(v, d);
      day.bitmap = BitmapPath(v, d);
      const std::string path = o.out_dir + "/" + day.image;
      DayEvents events;
      {
        std::unique_ptr<ImageFile> image;
        if (d == 0) {
          VCSNAP_ASSIGN_OR_RETURN(
              ImageFile f, ImageFile::Create(path, o.image_size, granularity));
          image = std::make_unique<ImageFile>(std::move(f));
          VCSNAP_RETURN_IF_ERROR(disk.BuildBase(image.get(), &events));
        } else {
          VCSNAP_ASSIGN_OR_RETURN(
              ImageFile f,
              ImageFile::CopyFrom(o.out_dir + "/" + ImagePath(v, d - 1), path,
                                  granularity));
          image = std::make_unique<ImageFile>(std::move(f));
          VCSNAP_RETURN_IF_ERROR(disk.ApplyDay(d, image.get(), &events));
        }
        VCSNAP_RETURN_IF_ERROR(WriteWholeFile(o.out_dir + "/" + day.bitmap,
                                              image->bitmap().bytes())
                                   .WithContext(vm.name));
        day.written_bytes = image->written_bytes();
        DirtyBitmap segs = image->bitmap();
        const auto dirty = segs.DirtySegments(o.segment_size);
        day.dirty_segments = dirty.size();
        day.dirty_ranges = ToRanges(dirty);
        VCSNAP_RETURN_IF_ERROR(image->Close());
      }
      VCSNAP_ASSIGN_OR_RETURN(FileDigest digest, DigestFile(path));
      day.size = digest.size;
      day.allocated = digest.allocated;
      day.sha256 = digest.sha256;
      day.events = std::move(events.counts);
      vm.days.push_back(std::move(day));
      if (o.keep_days > 0 && d >= o.keep_days) {
        FleetDay& old = vm.days[d - o.keep_days];
        std::filesystem::remove(o.out_dir + "/" + old.image, ec);
        old.image_present = false;
      }
      if (o.progress) {
        const double secs = std::chrono::duration<double>(
                                std::chrono::steady_clock::now() - start)
                                .count();
        char line[200];
        std::snprintf(
            line, sizeof line,
            "%s day %u/%u: %llu dirty segments, %.1f s elapsed",
            vm.name.c_str(), d + 1, o.days,
            static_cast<unsigned long long>(vm.days.back().dirty_segments),
            secs);
        o.progress(line);
      }
    }
    m.vms.push_back(std::move(vm));
  }
  VCSNAP_RETURN_IF_ERROR(WriteFleetManifest(o.out_dir, m));
  return m;
}

}  // namespace

Result<FleetManifest> GenerateFleet(const FleetOptions& o) {
  VCSNAP_RETURN_IF_ERROR(ValidateFleetOptions(o));
  std::error_code ec;
  if (std::filesystem::exists(o.out_dir, ec) &&
      !std::filesystem::is_empty(o.out_dir, ec)) {
    return Status::AlreadyExists("output directory " + o.out_dir +
                                 " exists and is not empty");
  }
  // The source first: a bad --source leaves no output directory behind.
  VCSNAP_ASSIGN_OR_RETURN(
      SourceCatalog catalog,
      SourceCatalog::Scan(o.source_root, kMinSourceBytes, o.source_max_files));
  const std::filesystem::path created = FirstMissing(o.out_dir);
  std::filesystem::create_directories(o.out_dir, ec);
  if (ec) {
    RemoveOutput(o.out_dir, created);
    return Status::IOError("create " + o.out_dir + ": " + ec.message());
  }
  Result<FleetManifest> m = GenerateInto(o, catalog);
  if (!m.ok()) RemoveOutput(o.out_dir, created);
  return m;
}

}  // namespace vcsnap::fleet
