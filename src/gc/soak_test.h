// File: gc/soak_test.h (tests only)
//
// SoakTest: the fixture of the deletion soaks (soak_crash_test.cc,
// soak_concurrent_test.cc). Three VMs that share content, a model of what
// each VM's disk is now and which snapshots committed, and Intact(): the
// catalogs hold exactly the model's snapshots, every one restores
// byte-exact, and check passes.
//
// CI runs a few seeds; VCSNAP_SOAK_SEEDS=N (and VCSNAP_SOAK_STEPS=M) run a
// longer soak by hand (VCSNAP_SOAK_FIRST_SEED=S starts at seed S), e.g.
//   VCSNAP_SOAK_SEEDS=200 build/release/src/gc/gc_test --gtest_filter='Soak*'

#ifndef VCSNAP_GC_SOAK_TEST_H_
#define VCSNAP_GC_SOAK_TEST_H_

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <iterator>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "gc/gc_test.h"
#include "pds/pds_table.h"
#include "recipe/catalog.h"
#include "recipe/lease.h"
#include "testing/status_matchers.h"

namespace vcsnap {

inline uint64_t EnvOr(const char* name, uint64_t fallback) {
  const char* v = std::getenv(name);
  return v != nullptr ? std::strtoull(v, nullptr, 10) : fallback;
}

inline constexpr int kVms = 3;
inline constexpr size_t kSegs = 16;  // 12 shared with the other VMs, 4 its own
// The model tracks dirty 4 KiB granules. VM 0's bitmaps have one bit per
// segment; the other VMs' keep the granules (sub-segment CBT).
inline constexpr size_t kGranule = 4096;
inline constexpr size_t kGranules = kSegs * (kSeg / kGranule);

class SoakTest : public GcTest {
 protected:
  struct VmModel {
    Bytes image;                     // the disk now
    std::vector<bool> dirty;         // granules, since the last commit
    std::map<uint32_t, Bytes> live;  // committed snapshots
  };

  // Segments 0..11 start as one shared "OS" (so that `pds update` finds
  // chunks held by several VMs), the rest are the VM's own.
  Bytes InitialImage(uint64_t seed, int vm) {
    std::mt19937_64 shared(seed), own(seed * 31 + vm);
    Bytes b(kSegs * kSeg);
    for (size_t i = 0; i < b.size(); ++i) {
      b[i] = static_cast<uint8_t>((i < 12 * kSeg ? shared() : own()) & 0x3f);
    }
    return b;
  }

  // Restarts the machine after a crash and does what an operator does
  // then: reopen the repository and break the dead process's leases.
  void Recover() {
    fault_->ClearFaults();
    fault_->Restart();
    for (int v = 0; v < kVms; ++v) (void)BreakLease(*mem_, Vm(v), true);
    (void)BreakLeaseObject(*mem_, "pds/lease", "the PDS", true);
    auto repo = Repository::OpenOn(
        std::make_unique<::vcsnap::testing::ForwardingBackend>(fault_.get()),
        key());
    ASSERT_OK(repo);
    repo_ = std::move(*repo);
    LoadPds();
  }

  void LoadPds() {
    auto pds = LoadCurrentPdsIndex(*mem_, /*file_index=*/pds_file_index_);
    ASSERT_OK(pds);
    pds_ = std::move(*pds);
  }

  static std::string Vm(int v) { return "vm" + std::to_string(v); }

  // The day's edits to VM v's disk, remembered as dirty until a backup of
  // it commits.
  void ChangeDisk(int v, std::mt19937_64& rng) {
    VmModel& m = model_[v];
    const Bytes before = m.image;
    std::vector<bool> segments;
    Mutate(&m.image, rng, &segments);
    for (size_t g = 0; g < kGranules; ++g) {
      const size_t at = g * kGranule;
      if (std::memcmp(before.data() + at, m.image.data() + at, kGranule)) {
        m.dirty[g] = true;
      }
    }
  }

  // A committed snapshot of VM v, chosen at random. REQUIRES: one exists.
  std::map<uint32_t, Bytes>::iterator PickLive(int v, std::mt19937_64& rng) {
    auto it = model_[v].live.begin();
    std::advance(it, rng() % model_[v].live.size());
    return it;
  }

  // Writes the VM's image and bitmap (dirty since its last committed backup)
  // and returns the options to back them up.
  BackupOptions Options(int v) {
    VmModel& m = model_[v];
    BackupOptions o;
    o.vm = Vm(v);
    if (tenant_of_.count(o.vm)) o.tenant = tenant_of_[o.vm];
    o.image_path = Write(o.vm + ".img", m.image);
    if (!m.live.empty()) {
      const size_t per_bit = v == 0 ? kSeg / kGranule : 1;
      const size_t nbits = kGranules / per_bit;
      Bytes bits((nbits + 7) / 8, 0);
      for (size_t g = 0; g < kGranules; ++g) {
        const size_t i = g / per_bit;
        if (m.dirty[g]) bits[i / 8] |= static_cast<uint8_t>(1 << (i % 8));
      }
      o.bitmap_path = Write(o.vm + ".bitmap", bits);
      o.bitmap_granularity = per_bit * kGranule;
    }
    o.threads = 2;
    return o;
  }

  Result<BackupResult> BackupVm(int v) {
    BackupOptions o = Options(v);
    o.pds = pds_.get();
    return RunBackup(*repo_, o);
  }

  // The snapshot IDs in the VM's catalog (none when it has no catalog yet).
  std::set<uint32_t> CatalogIds(int v) {
    std::set<uint32_t> ids;
    auto c = LoadCatalog(*mem_, Vm(v));
    if (c.ok()) {
      for (const CatalogEntry& e : c->entries) ids.insert(e.id);
    } else {
      EXPECT_EQ(c.status().code(), StatusCode::kNotFound) << c.status();
    }
    return ids;
  }

  std::set<uint32_t> ModelIds(int v) {
    std::set<uint32_t> ids;
    for (const auto& [id, img] : model_[v].live) ids.insert(id);
    return ids;
  }

  ::testing::AssertionResult Intact(bool read_data) {
    for (int v = 0; v < kVms; ++v) {
      if (CatalogIds(v) != ModelIds(v)) {
        return ::testing::AssertionFailure()
               << Vm(v) << ": the catalog and the model disagree";
      }
      for (const auto& [id, img] : model_[v].live) {
        auto ok = Restores(Vm(v), id, img);
        if (!ok) return ok << " (" << Vm(v) << ")";
      }
    }
    return CheckPasses(read_data);
  }

  // Runs `run` on a fresh repository for each of VCSNAP_SOAK_SEEDS seeds
  // (default `seeds`) from VCSNAP_SOAK_FIRST_SEED (default 1), stopping at
  // the first fatal failure. Returns the number of seeds.
  uint64_t ForEachSeed(uint64_t seeds,
                       const std::function<void(uint64_t)>& run) {
    seeds = EnvOr("VCSNAP_SOAK_SEEDS", seeds);
    const uint64_t first = EnvOr("VCSNAP_SOAK_FIRST_SEED", 1);
    for (uint64_t seed = first; seed < first + seeds; ++seed) {
      SCOPED_TRACE("seed " + std::to_string(seed));
      SetUp();
      run(seed);
      if (HasFatalFailure()) break;
    }
    return seeds;
  }

  void RunSeed(uint64_t seed, int steps);
  void RunConcurrentSeed(uint64_t seed, int rounds);

  struct {
    uint64_t level3_bytes = 0;    // found in the PDS
    uint64_t unhashed_bytes = 0;  // sub-segment CBT kept the parent's chunks
    uint64_t busy = 0;            // operations refused for a held lease
    uint64_t restores = 0;        // concurrent with the other operations
    uint64_t checks = 0;          // likewise
    uint64_t inconclusive_checks = 0;
    std::map<std::string, uint64_t> crashes;  // by operation
  } stats_;
  std::map<std::string, uint64_t> calls_;  // most backend calls, by kind
  VmModel model_[kVms];
  std::unique_ptr<PdsIndex> pds_;
  bool pds_file_index_ = false;
};

}  // namespace vcsnap

#endif  // VCSNAP_GC_SOAK_TEST_H_
