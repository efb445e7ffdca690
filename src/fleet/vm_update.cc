// VmDisk::ApplyUpdates: fleet-wide package updates (see vm_disk.h).
//
// Update u is released on day 1 + u * period and reaches each VM on that
// day or the next (a rollout). It targets every VM (u % (families+1) == 0)
// or one OS family. Its new files are whole catalog packages that no base
// image holds, so every VM that installs it stores the same files, each at
// its own offsets; it replaces as many of the family's installed packages,
// whose blocks are freed but not wiped (stale data stays on disk).

#include <algorithm>

#include "fleet/vm_disk.h"

namespace vcsnap::fleet {
namespace {

constexpr double kUpdateShare = 0.25;

}  // namespace

Result<uint64_t> VmDisk::ApplyUpdates(uint32_t day, ImageFile* image,
                                      DayEvents* events) {
  if (plan_.update_period == 0 || plan_.updates.empty() || day == 0) return 0;
  const auto& packages = catalog_.packages();
  const uint64_t update_bytes = std::max<uint64_t>(
      64 << 10, static_cast<uint64_t>(kUpdateShare * plan_.change_rate *
                                      static_cast<double>(base_size_) *
                                      plan_.update_period));
  uint64_t written = 0;
  size_t cursor = 0;
  for (uint32_t u = 0;; ++u) {
    const uint32_t release = 1 + u * plan_.update_period;
    if (release > day) break;
    // The packages of update u: the same for every VM.
    std::vector<uint32_t> pkgs;
    uint64_t bytes = 0;
    for (size_t scanned = 0;
         bytes < update_bytes && scanned < plan_.updates.size(); ++scanned) {
      const uint32_t p = plan_.updates[cursor++ % plan_.updates.size()];
      if (!pkgs.empty() && bytes + packages[p].bytes > update_bytes) continue;
      if (packages[p].bytes > update_bytes) continue;
      pkgs.push_back(p);
      bytes += packages[p].bytes;
    }
    const uint32_t lag =
        static_cast<uint32_t>(MixSeed(plan_.seed, 7, vm_, u) % 2);
    if (release + lag != day) continue;
    const uint32_t target = u % (plan_.families + 1);
    if (target != 0 && target - 1 != family_) continue;

    // Replace installed packages of the targeted set (stale, not wiped).
    const std::vector<uint32_t>& old_set =
        target == 0 ? plan_.core : plan_.family[family_ % plan_.family.size()];
    for (size_t k = 0; k < pkgs.size() && !old_set.empty(); ++k) {
      const uint32_t old =
          old_set[MixSeed(plan_.seed, 8, u, k) % old_set.size()];
      if (installed_.erase(old) == 0) continue;
      for (uint32_t f : package_files_[old]) DeleteFile(f);
      package_files_.erase(old);
      events->Add("replaced_packages");
    }
    Rng rng(MixSeed(plan_.seed, 11, vm_, u));
    const uint64_t goal = RandomGoal(rng);  // one place for the whole update
    for (uint32_t p : pkgs) {
      VCSNAP_RETURN_IF_ERROR(InstallPackage(p, goal, day, image, events));
      written += packages[p].bytes;
    }
    events->Add("updates");
    events->Add("update_bytes", bytes);
  }
  return written;
}

}  // namespace vcsnap::fleet
