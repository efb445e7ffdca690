// Reliability: damage to every stored object.
//
// Bit rot, a torn or truncated write, an object lost with its OSD: for every
// object of the fixture's repository (config, catalogs, snapshot and segment
// recipes, summaries, dropped lists, counting filters, gc state, fingerprint
// runs, container blocks, indexes and deletion logs, the PDS's blocks,
// manifest, index and pointer) the suite damages the stored bytes -- a bit
// flipped at several places, the object cut to half, the object deleted --
// and on that repository, opened afresh:
//  - restores every snapshot (without --verify): each one is byte-exact or
//    an error, never wrong bytes;
//  - runs `check` and `check --read-data`: when check --read-data finds
//    nothing wrong, every snapshot restored byte-exact;
//  - when a check found it, runs `recover` on the damaged object's VM, as
//    the operator would: every snapshot that restored still does (the tally
//    counts the trials it made every snapshot restore again); for a root
//    (config, key slot, tenant key, or the ditto copy of one: repo/roots.h)
//    `recover --roots`, which must leave both copies good -- and one
//    damaged copy of a root must cost nothing: the repository opens and
//    every snapshot restores;
//  - runs the next backup of that VM;
//  - runs the deletion commands (forget of vm0's oldest snapshot, gc and
//    compact of each VM, pds update), any of which may refuse: afterwards
//    every snapshot that restored before still restores byte-exact (damage
//    never makes vcsnap delete what a live snapshot needs).
// The tally per kind of object shows what noticed each damage.

#include <algorithm>
#include <cstdio>
#include <optional>
#include <regex>
#include <set>
#include <vector>

#include "format/key_slot.h"
#include "format/repo_config.h"
#include "format/tenant.h"
#include "gc/recover.h"
#include "gc/reliability_test.h"
#include "gc/sweep.h"
#include "pds/pds_table.h"
#include "recipe/names.h"
#include "repo/roots.h"
#include "store/pds_store.h"

namespace vcsnap {
namespace {

struct Damage {
  std::string what;            // "flip@17", "cut to 20", "delete"
  std::optional<Bytes> bytes;  // nullopt: the object is gone
};

// The damages tried on one object: bit flips at the first, middle and last
// byte and at two seeded places (more in large objects, whose bytes are mostly
// chunk data), the object cut to half its size, and the object deleted.
std::vector<Damage> DamagesOf(const std::string& name, const Bytes& b) {
  std::vector<Damage> out;
  std::set<uint64_t> at;
  if (!b.empty()) {
    at = {0, b.size() / 2, b.size() - 1};
    std::mt19937_64 rng(std::hash<std::string>()(name));
    const int extra = b.size() > (64 << 10) ? 6 : 2;
    for (int i = 0; i < extra; ++i) at.insert(rng() % b.size());
  }
  for (uint64_t i : at) {
    Bytes d = b;
    d[i] ^= 0x10;
    out.push_back({"flip@" + std::to_string(i), d});
  }
  if (b.size() > 1) {
    out.push_back({"cut to " + std::to_string(b.size() / 2),
                   Bytes(b.begin(), b.begin() + b.size() / 2)});
  }
  out.push_back({"delete", std::nullopt});
  return out;
}

// "vm/vm0/store/c0001/g00000001/b000000" -> "vm/vmN/store/cN/gN/bN".
// A key slot "keys/<16 hex>" -> "keys/*".
std::string KindOf(const std::string& name) {
  static const std::regex slot("keys/[0-9a-f]+");
  static const std::regex digits("[0-9]+");
  return std::regex_replace(std::regex_replace(name, slot, "keys/*"), digits,
                            "N");
}

// A root or its copy (repo/roots.h): each has a second copy, so damage to
// one must cost nothing, and `recover --roots` repairs it.
bool Root(const std::string& name) {
  const std::string_view n =
      std::string_view(name).starts_with(kDittoPrefix)
          ? std::string_view(name).substr(kDittoPrefix.size())
          : std::string_view(name);
  return n == kConfigObjectName || n.starts_with(kKeySlotPrefix) ||
         n.starts_with(kTenantKeyPrefix);
}

// Derived metadata: rebuilt, reset, only advisory, or (a deletion log)
// rewritten from its readable records by the deletion commands themselves.
// Damage to it must not stop the next backup nor a forget of the VM.
bool Derived(const std::string& kind) {
  for (const char* d : {"/cbf", "/gcstate", "/fps/", "/summary/", "/dropped/",
                        "/dlog", "pds/index/", "pds/current", "vms/"}) {
    if (kind.find(d) != std::string::npos) return true;
  }
  return false;
}

struct DamageTally {
  uint64_t trials = 0;
  uint64_t backup_refused = 0;
  uint64_t forget_refused = 0;
  uint64_t check = 0;      // check (structure) reported it
  uint64_t read_data = 0;  // only check --read-data did
  uint64_t restore = 0;    // some restore failed
  uint64_t recovered = 0;  // ... and every one restored after `recover`
  uint64_t unnoticed = 0;  // nothing noticed; every restore was exact
};

enum class RestoreOutcome { kExact, kError, kWrong };

class ReliabilityDamageTest : public ReliabilityTest {
 protected:
  RestoreOutcome Restore(int v, uint32_t id, const Bytes& want) {
    RestoreOptions o;
    o.vm = Vm(v);
    o.snapshot = std::to_string(id);
    o.output = dir_ + "/out.img";
    o.force = true;
    o.threads = 2;
    PdsStore pds(&repo_->backend(), repo_->config().keys.get());
    o.pds = [&pds](const PdsRef& ref) { return pds.Get(ref); };
    if (!RunRestore(*repo_, o).ok()) return RestoreOutcome::kError;
    return ::vcsnap::testing::ReadTestFile(o.output) == want
               ? RestoreOutcome::kExact
               : RestoreOutcome::kWrong;
  }

  // The snapshots that restore byte-exact; fails the test on wrong bytes.
  std::set<std::pair<int, uint32_t>> Restorable() {
    std::set<std::pair<int, uint32_t>> ok;
    for (int v = 0; v < kVms; ++v) {
      for (const auto& [id, img] : model_[v].live) {
        const RestoreOutcome o = Restore(v, id, img);
        EXPECT_NE(o, RestoreOutcome::kWrong)
            << Vm(v) << " snapshot " << id << " restored wrong bytes";
        if (o == RestoreOutcome::kExact) ok.insert({v, id});
      }
    }
    return ok;
  }

  // True when check (with or without reading the data) reports a problem.
  bool CheckFinds(bool read_data) {
    Result<CheckResult> c = RunCheck(*repo_, {read_data, 2});
    return !c.ok() || !c->problems.empty();
  }

  // The next night's backup of VM v, with the PDS if its index loads (as
  // the CLI does). Never wrong bytes; false if it was refused.
  bool NextBackup(int v) {
    std::mt19937_64 rng(kSeed + 2);
    ChangeDisk(v, rng);
    auto pds = LoadCurrentPdsIndex(*mem_, /*file_index=*/false);
    BackupOptions o = Options(v);
    o.pds = pds.ok() ? pds->get() : nullptr;
    Result<BackupResult> r = RunBackup(*repo_, o);
    if (!r.ok()) return false;
    model_[v].live[r->snapshot] = model_[v].image;
    model_[v].dirty.assign(kGranules, false);
    EXPECT_NE(Restore(v, r->snapshot, model_[v].image), RestoreOutcome::kWrong)
        << "the new snapshot restored wrong bytes";
    return true;
  }

  // The deletion commands, each allowed to refuse. False if forget refused.
  bool Delete() {
    // A forget that commits the catalog and then fails has forgotten.
    Status forgot = RunForget(*repo_, {Vm(0), {"2"}, {}, false}).status();
    auto catalog = LoadCatalog(*mem_, Vm(0));
    if (catalog.ok() && catalog->Find(2) == nullptr) model_[0].live.erase(2);
    for (int v = 0; v < 2; ++v) {
      (void)RunGc(*repo_, Vm(v));
      (void)RunCompact(*repo_, Vm(v), 0.0);
    }
    (void)RunPdsUpdate(*repo_, {0.5, 0});
    return forgot.ok();
  }

  void Trial(const std::string& name, const Damage& d, DamageTally* t) {
    LoadBase();
    if (d.bytes) {
      ASSERT_OK(mem_->Put(name, *d.bytes));
    } else {
      ASSERT_OK(mem_->Delete(name));
    }
    ++t->trials;
    size_t snapshots = 0;
    for (int v = 0; v < kVms; ++v) snapshots += model_[v].live.size();
    // No single damaged object stops the repository from opening: the
    // config and the key slots have second copies.
    ASSERT_TRUE(TryOpen());
    const auto before = Restorable();
    const bool root = Root(name);
    if (root) {
      EXPECT_EQ(before.size(), snapshots)
          << "one damaged copy of a root made a snapshot unreadable";
    }
    const bool by_check = CheckFinds(false);
    const bool by_read = by_check || CheckFinds(true);
    if (by_check) {
      ++t->check;
    } else if (by_read) {
      ++t->read_data;
    }
    if (before.size() < snapshots) ++t->restore;
    if (!by_read) {
      ASSERT_EQ(before.size(), snapshots)
          << "check --read-data passed but a snapshot does not restore";
      ++t->unnoticed;
    }
    const bool derived = root || Derived(KindOf(name));
    // The damaged object's VM (vm1 for shared objects).
    const int vm = name.starts_with(VmPrefix(Vm(0))) ? 0 : 1;
    // What the operator does when check finds damage: recover the VM. It
    // must never make a snapshot that restored stop restoring.
    if (by_read && root) {  // `vcsnap recover --roots`
      ASSERT_OK(repo_->InspectRoots(/*repair=*/true));
      auto left = repo_->InspectRoots(/*repair=*/false);
      ASSERT_OK(left);
      EXPECT_TRUE(left->empty()) << left->front().Describe();
      if (left->empty()) ++t->recovered;
    } else if (by_read) {
      (void)RunRecover(*repo_, {Vm(vm), false});
      const auto repaired = Restorable();
      for (const auto& snapshot : before) {
        EXPECT_TRUE(repaired.count(snapshot))
            << Vm(snapshot.first) << " snapshot " << snapshot.second
            << " restored before recover, not after";
      }
      if (before.size() < snapshots && repaired.size() == snapshots) {
        ++t->recovered;
      }
    }
    if (!NextBackup(vm)) {
      ++t->backup_refused;
      EXPECT_FALSE(derived) << "damaged derived metadata stopped a backup";
    }
    if (!Delete()) {
      ++t->forget_refused;
      EXPECT_FALSE(derived) << "damaged derived metadata stopped a forget";
    }
    ASSERT_TRUE(TryOpen());
    const auto after = Restorable();
    for (const auto& [v, id] : before) {
      if (!model_[v].live.count(id)) continue;  // forgotten
      EXPECT_TRUE(after.count({v, id}))
          << Vm(v) << " snapshot " << id
          << " restored before the deletion commands, not after";
    }
  }

  // Every damage of every object (every `stride`-th of Plan()'s trials; of
  // the objects `only` accepts, when given), then the tally by kind of
  // object.
  void RunAll(uint64_t stride_factor,
              const std::function<bool(const std::string&)>& only = {}) {
    BuildBase();
    if (HasFatalFailure()) return;
    const uint64_t stride = Plan().stride * stride_factor;
    std::map<std::string, DamageTally> tallies;
    uint64_t trial = 0;
    for (const auto& [name, bytes] : Objects(base_)) {
      if (only && !only(name)) continue;
      for (const Damage& d : DamagesOf(name, bytes)) {
        if (trial++ % stride != 0) continue;
        SCOPED_TRACE(name + ": " + d.what);
        Trial(name, d, &tallies[KindOf(name)]);
        if (HasFatalFailure()) return;
      }
    }
    std::printf("%-30s %6s %6s %9s %7s %9s %9s %7s %7s\n", "object", "trials",
                "check", "read-data", "restore", "recovered", "unnoticed",
                "backup", "forget");
    for (const auto& [kind, t] : tallies) {
      std::printf("%-30s %6llu %6llu %9llu %7llu %9llu %9llu %7llu %7llu\n",
                  kind.c_str(), static_cast<unsigned long long>(t.trials),
                  static_cast<unsigned long long>(t.check),
                  static_cast<unsigned long long>(t.read_data),
                  static_cast<unsigned long long>(t.restore),
                  static_cast<unsigned long long>(t.recovered),
                  static_cast<unsigned long long>(t.unnoticed),
                  static_cast<unsigned long long>(t.backup_refused),
                  static_cast<unsigned long long>(t.forget_refused));
    }
  }
};

TEST_F(ReliabilityDamageTest, DamageIsNeverWrongDataNorADeletionOfLiveData) {
  RunAll(1);
}

// The same over an encrypted repository (every third trial): its key slot
// is one more object, and groups and PDS records are sealed.
class EncryptedReliabilityDamageTest : public ReliabilityDamageTest {
 protected:
  void SetUp() override {
    encrypted_ = true;
    ReliabilityDamageTest::SetUp();
  }
};

TEST_F(EncryptedReliabilityDamageTest, DamageIsNeverWrongDataNorLostLiveData) {
  RunAll(3);
}

// vm0 in tenant t0 (vm1 in none, t1 without VMs): every damage of the
// tenant keys and of vm0's binding.
class TenantReliabilityDamageTest : public EncryptedReliabilityDamageTest {
 protected:
  void SetUp() override {
    EncryptedReliabilityDamageTest::SetUp();
    ASSERT_OK(repo_->AddTenant("t0"));
    ASSERT_OK(repo_->AddTenant("t1"));
    tenant_of_[Vm(0)] = "t0";
  }
};

TEST_F(TenantReliabilityDamageTest, DamageIsNeverWrongDataNorLostLiveData) {
  RunAll(1, [](const std::string& name) {
    return name.starts_with("tenants/") || name.starts_with("ditto/tenants/") ||
           name.ends_with("/tenant");
  });
}

}  // namespace
}  // namespace vcsnap
