// File: gc/gc_test.h (tests only)
//
// GcTest: a repository over an in-memory, fault-injecting backend, with
// helpers to make daily images, back them up with bitmaps, restore and
// check. Shared by the gc tests.

#ifndef VCSNAP_GC_GC_TEST_H_
#define VCSNAP_GC_GC_TEST_H_

#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "backend/fault_backend.h"
#include "backend/mem_backend.h"
#include "backup/backup.h"
#include "backup/restore.h"
#include "gc/check.h"
#include "recipe/catalog.h"
#include "recipe/recipe_pack.h"
#include "recipe/snapshot_recipe.h"
#include "repo/repository.h"
#include "store/pds_store.h"
#include "store/vm_store.h"
#include "testing/forwarding_backend.h"
#include "testing/small_repo.h"
#include "testing/temp_dir.h"

namespace vcsnap {

inline constexpr uint32_t kSeg = 64 << 10;

class GcTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = ::vcsnap::testing::NewTempDir("gc");
    mem_ = std::make_unique<MemBackend>(1 << 20);
    fault_ = std::make_unique<FaultBackend>(mem_.get());
    RepoConfig config = ::vcsnap::testing::SmallRepoConfig();
    if (encrypted_) {
      config.UseEncryption();
      key_.material.assign(48, 0);
      RandomFill(key_.material);
      key_.source = "the test's key";
    }
    repo_ = std::move(*Repository::InitOn(
        std::make_unique<::vcsnap::testing::ForwardingBackend>(fault_.get()),
        config, key()));
  }

  // The key to open the repository with: null unless encrypted_.
  const RepoKey* key() const { return encrypted_ ? &key_ : nullptr; }

  // Day 0 content, then daily edits: rewrites, new data, zeroing, moves.
  void Mutate(Bytes* img, std::mt19937_64& rng, std::vector<bool>* dirty) {
    const size_t segs = img->size() / kSeg;
    dirty->assign(segs, false);
    for (int n = 0; n < 3; ++n) {
      size_t s = rng() % segs;
      size_t off = s * kSeg + rng() % (kSeg - 5000);
      switch (rng() % 3) {
        case 0:  // fresh data
          for (size_t i = 0; i < 4000; ++i) (*img)[off + i] = rng() & 0x3f;
          break;
        case 1:  // zeroed range
          std::memset(img->data() + off, 0, 3000);
          break;
        default: {  // a copy of another segment's bytes
          size_t src = (rng() % segs) * kSeg;
          std::memmove(img->data() + off, img->data() + src, 4000);
        }
      }
      (*dirty)[s] = true;
    }
  }
  Bytes Initial(uint64_t seed) {
    std::mt19937_64 rng(seed);
    Bytes b(24 * kSeg);
    for (auto& x : b) x = static_cast<uint8_t>(rng() & 0x3f);
    return b;
  }
  std::string Write(const std::string& name, const Bytes& data) {
    std::string path = dir_ + "/" + name;
    std::ofstream(path, std::ios::binary | std::ios::trunc)
        .write(reinterpret_cast<const char*>(data.data()), data.size());
    return path;
  }
  // Without `dirty`, every segment is read; with `pds`, level 3 is on.
  Result<BackupResult> Backup(const std::string& vm, const Bytes& img,
                              const std::vector<bool>* dirty,
                              const PdsIndex* pds = nullptr) {
    BackupOptions o;
    o.vm = vm;
    o.pds = pds;
    if (tenant_of_.count(vm)) o.tenant = tenant_of_[vm];
    o.image_path = Write(vm + ".img", img);
    if (dirty != nullptr) {
      Bytes bits((dirty->size() + 7) / 8, 0);
      for (size_t i = 0; i < dirty->size(); ++i) {
        if ((*dirty)[i]) bits[i / 8] |= static_cast<uint8_t>(1 << (i % 8));
      }
      o.bitmap_path = Write(vm + ".bitmap", bits);
    }
    o.threads = 2;
    return RunBackup(*repo_, o);
  }
  // A first backup of Initial(seed), then `days` daily incremental backups
  // (Mutate with an rng seeded with `seed`, with bitmaps). Returns each
  // snapshot's image, oldest first; fails the test on a backup error.
  std::vector<Bytes> DailyBackups(const std::string& vm, uint64_t seed,
                                  int days) {
    std::mt19937_64 rng(seed);
    Bytes img = Initial(seed);
    std::vector<Bytes> out;
    std::vector<bool> dirty;
    for (int day = 0; day <= days; ++day) {
      if (day > 0) Mutate(&img, rng, &dirty);
      Result<BackupResult> r = Backup(vm, img, day > 0 ? &dirty : nullptr);
      if (!r.ok()) {
        ADD_FAILURE() << vm << " day " << day << ": " << r.status();
        break;
      }
      out.push_back(img);
    }
    return out;
  }
  ::testing::AssertionResult Restores(const std::string& vm, uint32_t id,
                                      const Bytes& want) {
    RestoreOptions o;
    o.vm = vm;
    o.snapshot = std::to_string(id);
    o.output = dir_ + "/out.img";
    o.force = true;
    o.verify = true;
    PdsStore pds(&repo_->backend(), repo_->config().keys.get());
    o.pds = [&pds](const PdsRef& ref) { return pds.Get(ref); };
    Result<RestoreResult> r = RunRestore(*repo_, o);
    if (!r.ok()) return ::testing::AssertionFailure() << r.status();
    if (::vcsnap::testing::ReadTestFile(o.output) != want) {
      return ::testing::AssertionFailure() << "snapshot " << id << " differs";
    }
    return ::testing::AssertionSuccess();
  }
  // Check finds no problem, and checked each distinct reference once: as
  // many as a plain walk of every recipe finds (per VM; a PDS chunk's bytes
  // once per check).
  ::testing::AssertionResult CheckPasses(bool read_data) {
    Result<CheckResult> c = RunCheck(*repo_, {read_data, 2});
    if (!c.ok()) return ::testing::AssertionFailure() << c.status();
    if (!c->problems.empty()) {
      return ::testing::AssertionFailure() << c->problems[0];
    }
    uint64_t references = 0, bytes = 0;
    std::set<std::tuple<uint32_t, uint64_t, uint32_t>> pds;
    Backend& b = repo_->backend();
    for (const std::string& vm : *ListVmNames(b)) {
      std::map<uint64_t, uint32_t> vm_refs;
      std::set<std::tuple<uint32_t, uint64_t, uint32_t>> vm_pds;
      Result<VmKeys> keys = repo_->KeysOf(vm);
      if (!keys.ok()) return ::testing::AssertionFailure() << keys.status();
      RecipeReader reader(&b, vm, repo_->config().segment_size,
                          keys->keys.get());
      Result<Catalog> catalog = LoadCatalog(b, vm);
      if (!catalog.ok()) return ::testing::AssertionFailure() << vm;
      for (const CatalogEntry& ce : catalog->entries) {
        Result<SnapshotRecipe> snap = LoadSnapshotRecipe(b, vm, ce.id);
        if (!snap.ok()) return ::testing::AssertionFailure() << ce.id;
        for (const SegmentSlot& slot : snap->segments) {
          if (slot.zero) continue;
          Result<std::vector<RecipeEntry>> entries = reader.Read(slot.ref);
          if (!entries.ok()) return ::testing::AssertionFailure() << ce.id;
          for (const RecipeEntry& e : *entries) {
            if (e.kind == ChunkKind::kVm) vm_refs[e.vm_ref] = e.length;
            if (e.kind != ChunkKind::kPds) continue;
            const auto key =
                std::make_tuple(e.pds_generation, e.pds_offset, e.pds_size);
            vm_pds.insert(key);
            if (pds.insert(key).second) bytes += e.pds_size;
          }
        }
      }
      references += vm_refs.size() + vm_pds.size();
      for (const auto& [ref, length] : vm_refs) bytes += length;
    }
    if (c->references != references) {
      return ::testing::AssertionFailure() << "check counted " << c->references
                                           << " references, not " << references;
    }
    if (read_data && c->bytes_read != bytes) {
      return ::testing::AssertionFailure()
             << "check re-hashed " << c->bytes_read << " bytes, not " << bytes;
    }
    return ::testing::AssertionSuccess();
  }
  uint64_t LiveStoredChunks(const std::string& vm) {
    auto store = VmStore::Open(mem_.get(), vm, repo_->config());
    uint64_t n = 0;
    for (const ContainerInfo& c : *(*store)->ListContainers()) {
      n += c.live_chunks - c.deleted_chunks;
    }
    return n;
  }

  std::string dir_;
  std::unique_ptr<MemBackend> mem_;
  std::unique_ptr<FaultBackend> fault_;
  std::unique_ptr<Repository> repo_;
  bool encrypted_ = false;  // set before SetUp(): an encrypted repository
  RepoKey key_;
  std::map<std::string, std::string> tenant_of_;  // VM -> backup --tenant
};

}  // namespace vcsnap

#endif  // VCSNAP_GC_GC_TEST_H_
