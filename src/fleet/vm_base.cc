// VmDisk::BuildBase: day 0 of one VM (see vm_disk.h).

#include <algorithm>
#include <cmath>
#include <cstring>

#include "fleet/content.h"
#include "fleet/vm_disk.h"
#include "util/coding.h"

namespace vcsnap::fleet {
namespace {

// Shares of the disk at day 0 (the rest is free space, i.e. holes).
constexpr double kOsShare = 0.18;
constexpr double kSoftwareShare = 0.18;
constexpr double kDbShare = 0.10;
constexpr double kLogShare = 0.03;
constexpr double kDocShare = 0.04;
constexpr double kBlobShare = 0.08;
constexpr double kSecretShare = 0.01;
// Probability that a VM installs optional package of rank j:
// (1 + j / kSoftwareRank0)^-kSoftwareSkew (a Zipf-like popularity).
constexpr double kSoftwareSkew = 0.7;
constexpr double kSoftwareRank0 = 16;
const double kLogWeights[4] = {0.35, 0.10, 0.40, 0.15};

}  // namespace

Status VmDisk::BuildBase(ImageFile* image, DayEvents* events) {
  InitLayout(base_size_ / kBlockSize);
  // Clones of a family's golden image share this generator, so their OS
  // part is laid out identically; the others get their own.
  Rng layout(MixSeed(plan_.seed, 1, family_, clone_ ? 0 : 1000 + vm_));
  Rng vrng(MixSeed(plan_.seed, 3, vm_));

  // Boot area: a per-VM header (disk GUID) and a family boot loader taken
  // from a real binary.
  {
    const uint64_t boot = boot_blocks_ * kBlockSize;
    Bytes buf(boot, 0);
    std::memcpy(buf.data(), "VCSNAP-GPT-DISK\0", 16);
    EncodeFixed32(buf.data() + 16, vm_);
    EncodeFixed64(buf.data() + 24, vrng.Next());
    EncodeFixed64(buf.data() + 32, vrng.Next());
    const auto& files = catalog_.files();
    uint32_t src =
        static_cast<uint32_t>(MixSeed(plan_.seed, 2, family_) % files.size());
    if (boot > kBlockSize) {
      VCSNAP_RETURN_IF_ERROR(
          catalog_
              .ReadAt(src, 0,
                      std::span<uint8_t>(buf.data() + kBlockSize,
                                         boot - kBlockSize))
              .status());
    }
    VCSNAP_RETURN_IF_ERROR(image->Write(0, buf));
  }

  // OS family: core packages and the family's own.
  {
    // Core packages in the fleet's order; the family's own in an order of
    // the VM's own unless it is a clone.
    std::vector<uint32_t> pkgs = plan_.core;
    std::vector<uint32_t> fam = plan_.family[family_ % plan_.family.size()];
    if (!clone_) {
      for (size_t i = fam.size(); i > 1; --i) {
        std::swap(fam[i - 1], fam[layout.Uniform(i)]);
      }
    }
    pkgs.insert(pkgs.end(), fam.begin(), fam.end());
    const double budget = kOsShare * static_cast<double>(base_size_);
    uint64_t done = 0;
    uint64_t goal = boot_blocks_;
    for (uint32_t p : pkgs) {
      if (done >= budget) break;
      const uint64_t bytes = catalog_.packages()[p].bytes;
      if (static_cast<double>(bytes) > budget / 3) continue;
      // Directories spread over the groups (like ext4's Orlov allocator).
      if (layout.Chance(0.3)) goal = RandomGoal(layout);
      VCSNAP_RETURN_IF_ERROR(InstallPackage(p, goal, 0, image, events));
      done += bytes;
    }
  }

  // Per-VM software: package j of the optional ranking with prob (1+j)^-s.
  {
    const double budget = kSoftwareShare * static_cast<double>(base_size_);
    uint64_t done = 0;
    uint64_t goal = RandomGoal(vrng);
    for (size_t j = 0; j < plan_.optional.size() && done < budget; ++j) {
      const double p = std::pow(1.0 + static_cast<double>(j) / kSoftwareRank0,
                                -kSoftwareSkew);
      if (!vrng.Chance(p)) continue;
      const uint32_t pkg = plan_.optional[j];
      const uint64_t bytes = catalog_.packages()[pkg].bytes;
      if (static_cast<double>(bytes) > budget / 3) continue;
      VCSNAP_RETURN_IF_ERROR(InstallPackage(pkg, goal, 0, image, events));
      events->Add("software_packages");
      done += bytes;
    }
  }

  // Database: 8 KiB pages, 70 % holding rows, the rest empty.
  {
    db_pages_ = static_cast<uint32_t>(
        kDbShare * static_cast<double>(base_size_) / kDbPageSize);
    db_pages_ = std::max<uint32_t>(db_pages_, 16);
    db_ = NewFile(Kind::kDb, uint64_t{db_pages_} * kDbPageSize,
                  RandomGoal(vrng), 0);
    if (db_ == ~0u) return Status::InvalidArgument("image too small for a VM");
    db_pages_used_ = db_pages_ * 7 / 10;
    db_versions_.assign(db_pages_, 0);
    for (uint32_t p = 0; p < db_pages_; p += 128) {
      VCSNAP_RETURN_IF_ERROR(
          WriteDbRange(p, std::min<uint32_t>(128, db_pages_ - p), 0, image));
    }
  }

  // Logs: syslog, auth.log, web access log, application log.
  for (uint32_t i = 0; i < 4; ++i) {
    const uint64_t bytes = static_cast<uint64_t>(
        kLogShare * kLogWeights[i] * static_cast<double>(base_size_));
    const uint32_t f = NewFile(Kind::kLog, 0, RandomGoal(vrng), 0);
    if (f == ~0u) return Status::InvalidArgument("image too small for a VM");
    logs_.push_back(f);
    archives_.push_back(~0u);
    Rng text(MixSeed(plan_.seed, 6, vm_ * 16 + i, 0));
    std::string chunk;
    for (uint64_t off = 0; off < bytes; off += chunk.size()) {
      chunk.clear();
      AppendLogText(text, i, 0, host_, std::min<uint64_t>(bytes - off, 1 << 20),
                    &chunk);
      if (!Extend(f, off + chunk.size())) break;
      VCSNAP_RETURN_IF_ERROR(WriteFileBytes(f, off, AsBytes(chunk), image));
    }
    events->Add("log_bytes", bytes);
  }

  // User files: documents (real text files), archives and media (real
  // compressed files), a little encrypted data.
  VCSNAP_ASSIGN_OR_RETURN(
      uint64_t user, AddUserFiles(0,
                                  static_cast<uint64_t>(
                                      (kDocShare + kBlobShare + kSecretShare) *
                                      static_cast<double>(base_size_)),
                                  vrng, image, events));
  (void)user;
  VCSNAP_RETURN_IF_ERROR(FlushMetadata(0, image, events));
  image->bitmap().MarkAll();  // day 0: everything is new
  return Status::Ok();
}

Status VmDisk::WriteDbRange(uint32_t first_page, uint32_t count, uint32_t day,
                            ImageFile* image) {
  (void)day;
  Bytes buf(uint64_t{count} * kDbPageSize);
  const uint64_t seed = MixSeed(plan_.seed, 9, vm_);
  for (uint32_t i = 0; i < count; ++i) {
    const uint32_t p = first_page + i;
    const double fill =
        p < db_pages_used_
            ? 0.55 + 0.4 * static_cast<double>(MixSeed(seed, p) % 100) / 100.0
            : 0.0;
    MakeDbPage(seed, p, db_versions_[p], fill,
               buf.data() + uint64_t{i} * kDbPageSize);
  }
  return WriteFileBytes(db_, uint64_t{first_page} * kDbPageSize, buf, image);
}

}  // namespace vcsnap::fleet
