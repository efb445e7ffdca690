// Tenants: per-tenant keys, the cross-tenant PDS rule, shredding (also
// crashed at every backend operation), and the binding rules.
#include "format/tenant.h"

#include <algorithm>
#include <iterator>

#include "gc/forget.h"
#include "gc/gc_test.h"
#include "gc/recover.h"
#include "gc/shred.h"
#include "gc/sweep.h"
#include "pds/pds_table.h"
#include "pds/pds_update.h"
#include "recipe/lease.h"
#include "testing/backend_copy.h"

namespace vcsnap {
namespace {

using FpSet = std::set<std::array<uint8_t, 32>>;

class TenantTest : public GcTest {
 protected:
  void SetUp() override {
    encrypted_ = true;
    GcTest::SetUp();
    ASSERT_OK(repo_->AddTenant("acme"));
    ASSERT_OK(repo_->AddTenant("globex"));
    tenant_of_ = {{"a1", "acme"}, {"a2", "acme"}, {"g1", "globex"}};
  }

  // `parts` seeds, 8 segments each: the same seed is the same bytes.
  Bytes Image(std::initializer_list<uint64_t> parts) {
    Bytes out;
    for (uint64_t seed : parts) {
      Bytes b = Initial(seed);
      out.insert(out.end(), b.begin(), b.begin() + 8 * kSeg);
    }
    return out;
  }

  // Shared by every VM (an OS), by acme's two VMs only, and each VM's own.
  void BackUpFleet() {
    images_ = {{"a1", Image({100, 200, 301})},
               {"a2", Image({100, 200, 302})},
               {"g1", Image({100, 303, 304})},
               {"u1", Image({100, 305, 306})}};
    for (const auto& [vm, img] : images_) ASSERT_OK(Backup(vm, img, nullptr));
  }

  // The fingerprints of every chunk the VM's snapshots use.
  FpSet FpsOf(const std::string& vm) {
    FpSet out;
    Backend& b = repo_->backend();
    auto keys = repo_->KeysOf(vm);
    EXPECT_OK(keys);
    RecipeReader reader(&b, vm, kSeg, keys->keys.get());
    auto catalog = LoadCatalog(b, vm);
    EXPECT_OK(catalog);
    for (const CatalogEntry& ce : catalog->entries) {
      auto snap = LoadSnapshotRecipe(b, vm, ce.id);
      EXPECT_OK(snap);
      for (const SegmentSlot& slot : snap->segments) {
        if (slot.zero) continue;
        auto entries = reader.Read(slot.ref);
        EXPECT_OK(entries);
        for (const RecipeEntry& e : *entries) out.insert(e.fp);
      }
    }
    return out;
  }

  FpSet PdsFps() {
    FpSet out;
    Backend& b = repo_->backend();
    auto meta = ReadPdsIndexMeta(b, *ReadCurrentPds(b));
    EXPECT_OK(meta);
    for (uint32_t p = 0; p < meta->fences.size(); ++p) {
      auto part = ReadPdsIndexPart(b, meta->generation, p);
      EXPECT_OK(part);
      for (const PdsIndexEntry& e : *part) out.insert(e.fp);
    }
    return out;
  }

  static FpSet Both(const FpSet& x, const FpSet& y) {
    FpSet out;
    std::set_intersection(x.begin(), x.end(), y.begin(), y.end(),
                          std::inserter(out, out.end()));
    return out;
  }

  uint64_t ObjectsUnder(const std::string& prefix) {
    return mem_->List(prefix)->size();
  }

  std::map<std::string, Bytes> images_;
};

TEST_F(TenantTest, ThePdsTakesOnlyChunksOfTwoTenants) {
  BackUpFleet();
  const FpSet a1 = FpsOf("a1"), a2 = FpsOf("a2"), g1 = FpsOf("g1"),
              u1 = FpsOf("u1");
  auto r = RunPdsUpdate(*repo_, {1.0, 0});
  ASSERT_OK(r);
  EXPECT_EQ(r->min_tenants, 2u);
  // Popular (2+ VMs) and held by two of {acme, globex, no tenant}: exactly
  // the chunks of the shared part, not those only acme's VMs share.
  FpSet acme;
  std::set_union(a1.begin(), a1.end(), a2.begin(), a2.end(),
                 std::inserter(acme, acme.end()));
  FpSet others;
  std::set_union(g1.begin(), g1.end(), u1.begin(), u1.end(),
                 std::inserter(others, others.end()));
  FpSet want = Both(acme, others);
  for (const auto& fp : Both(g1, u1)) want.insert(fp);
  const FpSet acme_only = Both(a1, a2);
  ASSERT_GT(want.size(), 50u);
  EXPECT_EQ(PdsFps(), want);
  uint64_t kept_out = 0;
  for (const auto& fp : acme_only) kept_out += !others.count(fp);
  ASSERT_GT(kept_out, 50u);
  EXPECT_EQ(r->report.single_tenant, kept_out);
  // Control: without the rule acme's shared chunks go in too.
  PdsUpdateOptions one{1.0, 0};
  one.min_tenants = 1;
  ASSERT_OK(RunPdsUpdate(*repo_, one));
  const FpSet pds = PdsFps();
  EXPECT_TRUE(std::includes(pds.begin(), pds.end(), acme_only.begin(),
                            acme_only.end()));
}

TEST_F(TenantTest, ATenantsVmsAreSealedUnderItsOwnKeys) {
  BackUpFleet();
  auto a1 = repo_->KeysOf("a1"), a2 = repo_->KeysOf("a2"),
       g1 = repo_->KeysOf("g1"), u1 = repo_->KeysOf("u1");
  ASSERT_OK(a1);
  ASSERT_OK(g1);
  EXPECT_EQ(a1->tenant, "acme");
  EXPECT_EQ(u1->tenant, "");
  EXPECT_EQ(a1->keys->data, a2->keys->data);
  EXPECT_NE(a1->keys->data, g1->keys->data);
  EXPECT_NE(a1->keys->data, repo_->config().keys->data);
  EXPECT_EQ(u1->keys->data, repo_->config().keys->data);
  EXPECT_EQ(a1->keys->fingerprint, repo_->config().keys->fingerprint);
  // acme's groups do not open under the repository's keys.
  auto wrong = VmStore::Open(&repo_->backend(), "a1", repo_->config());
  ASSERT_OK(wrong);
  auto list = (*wrong)->ListContainers();
  ASSERT_OK(list);
  ASSERT_FALSE(list->empty());
  auto got = (*wrong)->Get(ChunkRef{(*list)[0].id, (*list)[0].next_cid - 1});
  EXPECT_THAT(got.status(),
              ::vcsnap::testing::StatusIsWith(StatusCode::kCorruption,
                                              "authentication failed"));
  for (const auto& [vm, img] : images_) {
    ASSERT_TRUE(Restores(vm, 1, img)) << vm;
  }
  // A second repository key opens the tenants too (they hang off the
  // repository master key, not off one key file).
  RepoKey other{Bytes(40, 7), "second key"};
  ASSERT_OK(repo_->AddKey(other));
  repo_ = std::move(*Repository::OpenOn(
      std::make_unique<::vcsnap::testing::ForwardingBackend>(fault_.get()),
      &other));
  ASSERT_TRUE(Restores("a1", 1, images_["a1"]));
  ASSERT_TRUE(CheckPasses(true));
}

TEST_F(TenantTest, BindingRules) {
  BackUpFleet();
  const Bytes img = images_["a1"];
  tenant_of_["a1"] = "globex";
  EXPECT_THAT(Backup("a1", img, nullptr).status(),
              ::vcsnap::testing::StatusIsWith(StatusCode::kInvalidArgument,
                                              "belongs to tenant acme"));
  tenant_of_.erase("a1");  // no --tenant: the binding decides
  ASSERT_OK(Backup("a1", img, nullptr));
  EXPECT_EQ(repo_->KeysOf("a1")->tenant, "acme");
  // u1 holds data under the repository keys: it cannot join later.
  tenant_of_["u1"] = "acme";
  EXPECT_THAT(Backup("u1", images_["u1"], nullptr).status(),
              ::vcsnap::testing::StatusIsWith(StatusCode::kInvalidArgument,
                                              "joins a tenant at its first"));
  tenant_of_["n1"] = "initech";
  EXPECT_THAT(Backup("n1", img, nullptr).status(),
              ::vcsnap::testing::StatusIs(StatusCode::kNotFound));
  EXPECT_THAT(repo_->AddTenant("acme"),
              ::vcsnap::testing::StatusIs(StatusCode::kAlreadyExists));
  EXPECT_THAT(repo_->AddTenant("a/b"),
              ::vcsnap::testing::StatusIs(StatusCode::kInvalidArgument));
  EXPECT_EQ(*repo_->ListTenants(),
            (std::vector<std::string>{"acme", "globex"}));
  // A binding written without the repository key: refused, never used.
  ASSERT_OK(
      mem_->Put(TenantBindingName("g1"),
                EncodeTenantBinding("g1", ByteView(repo_->config().repo_id),
                                    Key256{}, "acme")));
  EXPECT_THAT(repo_->KeysOf("g1").status(),
              ::vcsnap::testing::StatusIsWith(StatusCode::kCorruption,
                                              "authentication failed"));
  auto check = RunCheck(*repo_, {false, 2});
  ASSERT_OK(check);
  ASSERT_EQ(check->problems.size(), 1u);
  EXPECT_NE(check->problems[0].find("VM g1"), std::string::npos);
}

TEST(TenantPlain, AnUnencryptedRepositoryHasNoTenants) {
  auto repo = Repository::InitOn(std::make_unique<MemBackend>(1 << 20),
                                 ::vcsnap::testing::SmallRepoConfig());
  ASSERT_OK(repo);
  EXPECT_THAT((*repo)->AddTenant("acme"),
              ::vcsnap::testing::StatusIsWith(StatusCode::kInvalidArgument,
                                              "encrypted"));
  EXPECT_THAT((*repo)->BindVm("vm", "acme"),
              ::vcsnap::testing::StatusIs(StatusCode::kInvalidArgument));
}

// Acme's VMs have two days of backups, the second against a PDS; then acme
// is shredded, crashed at every backend operation (before and after it
// applies), and run again.
TEST_F(TenantTest, ShreddingLeavesNothingOfTheTenantAndLosesNothingElse) {
  BackUpFleet();
  ASSERT_OK(RunPdsUpdate(*repo_, {1.0, 0}));
  auto pds = LoadCurrentPdsIndex(repo_->backend(), /*file_index=*/false);
  ASSERT_OK(pds);
  for (auto& [vm, img] : images_) {
    img[3 * kSeg + 17] ^= 0x55;  // one dirty segment
    std::vector<bool> dirty(img.size() / kSeg, false);
    dirty[3] = true;
    ASSERT_OK(Backup(vm, img, &dirty, pds->get()));
  }
  pds->reset();
  MemBackend saved(1 << 20);
  ::vcsnap::testing::CopyAll(*mem_, saved);
  const uint64_t before = fault_->op_count();
  auto dry = ShredTenant(*repo_, "acme", {true, {}});
  ASSERT_OK(dry);
  EXPECT_EQ(dry->vms, (std::vector<std::string>{"a1", "a2"}));
  EXPECT_GT(dry->objects, 10u);
  ASSERT_OK(repo_->KeysOf("a1"));  // a dry run deletes nothing
  const uint64_t dry_ops = fault_->op_count() - before;
  auto full = ShredTenant(*repo_, "acme");
  ASSERT_OK(full);
  EXPECT_TRUE(full->key_deleted);
  EXPECT_EQ(full->objects, dry->objects);
  const uint64_t ops = fault_->op_count() - before - dry_ops;
  ASSERT_GT(ops, 20u);
  auto reopen = [&] {
    repo_ = std::move(*Repository::OpenOn(
        std::make_unique<::vcsnap::testing::ForwardingBackend>(fault_.get()),
        key()));
  };
  // Every operation; under a sanitizer (5-10x slower) every third and the
  // last.
#if defined(__SANITIZE_ADDRESS__)
  constexpr uint64_t kStep = 3;
#else
  constexpr uint64_t kStep = 1;
#endif
  for (uint64_t i = 1; i <= ops;
       i = i + kStep > ops && i != ops ? ops : i + kStep) {
    for (bool apply : {false, true}) {
      SCOPED_TRACE("crash at operation " + std::to_string(i) +
                   (apply ? " (applied)" : ""));
      ::vcsnap::testing::CopyAll(saved, *mem_);
      reopen();
      fault_->CrashAtNth(i, apply);
      (void)ShredTenant(*repo_, "acme");
      fault_->Restart();
      reopen();
      const bool key_gone = !mem_->Stat(TenantKeyName("acme")).ok();
      // The copy goes first: never a copy that would bring the key back.
      ASSERT_FALSE(key_gone &&
                   mem_->Stat(DittoName(TenantKeyName("acme"))).ok());
      if (!key_gone) {  // nothing of acme is deleted before its key
        ASSERT_TRUE(Restores("a1", 2, images_["a1"]));
      }
      for (const char* vm : {"a1", "a2"}) {
        (void)BreakLease(*mem_, vm, /*force=*/true);  // may be absent
      }
      auto again = ShredTenant(*repo_, "acme");
      if (!again.ok()) {
        ASSERT_THAT(again.status(),
                    ::vcsnap::testing::StatusIs(StatusCode::kNotFound));
      }
      for (const char* vm : {"a1", "a2"}) {
        ASSERT_EQ(ObjectsUnder("vm/" + std::string(vm) + "/"), 0u) << vm;
        ASSERT_FALSE(mem_->Stat(VmMarkerName(vm)).ok());
      }
      ASSERT_FALSE(mem_->Stat(TenantKeyName("acme")).ok());
      ASSERT_FALSE(mem_->Stat(DittoName(TenantKeyName("acme"))).ok());
      for (const char* vm : {"g1", "u1"}) {
        ASSERT_TRUE(Restores(vm, 2, images_[vm]));
      }
      ASSERT_TRUE(CheckPasses(i == ops));
    }
  }
  // The other tenants' PDS use goes on: update, retire, back up.
  ASSERT_OK(RunPdsUpdate(*repo_, {1.0, 0}));
  EXPECT_EQ(*repo_->ListTenants(), (std::vector<std::string>{"globex"}));
  EXPECT_THAT(ShredTenant(*repo_, "acme").status(),
              ::vcsnap::testing::StatusIs(StatusCode::kNotFound));
  ASSERT_TRUE(Restores("g1", 2, images_["g1"]));
  ASSERT_TRUE(CheckPasses(true));
}

TEST_F(TenantTest, ForgetGcAndCompactWorkUnderTheTenantsKeys) {
  const std::vector<Bytes> a1 = DailyBackups("a1", 7, 4);
  const std::vector<Bytes> g1 = DailyBackups("g1", 7, 4);  // same content
  ASSERT_EQ(a1.size(), 5u);
  ASSERT_OK(RunForget(*repo_, {"a1", {"1", "2", "4"}, {}, false}));
  ASSERT_OK(RunForget(*repo_, {"g1", {"3"}, {}, false}));
  for (const char* vm : {"a1", "g1"}) {
    auto gc = RunGc(*repo_, vm);
    ASSERT_OK(gc);
    ASSERT_OK(RunCompact(*repo_, vm, 0.0));
  }
  for (uint32_t id : {3u, 5u}) ASSERT_TRUE(Restores("a1", id, a1[id - 1]));
  for (uint32_t id : {1u, 2u, 4u, 5u}) {
    ASSERT_TRUE(Restores("g1", id, g1[id - 1]));
  }
  ASSERT_TRUE(CheckPasses(true));
}

// A damaged tenant key costs that tenant's VMs only: they are reported and
// left out; the PDS update, the other tenants and shredding them go on.
TEST_F(TenantTest, ADamagedTenantKeyStopsOnlyItsTenant) {
  BackUpFleet();
  for (const std::string& name :
       {TenantKeyName("globex"), DittoName(TenantKeyName("globex"))}) {
    Bytes key = *mem_->Get(name);
    key[key.size() - 5] ^= 0x20;
    ASSERT_OK(mem_->Put(name, key));
  }
  EXPECT_THAT(repo_->KeysOf("g1").status(),
              ::vcsnap::testing::StatusIs(StatusCode::kCorruption));
  EXPECT_FALSE(Restores("g1", 1, images_["g1"]));
  auto check = RunCheck(*repo_, {false, 2});
  ASSERT_OK(check);
  ASSERT_EQ(check->problems.size(), 2u);
  EXPECT_NE(check->problems[0].find("root tenants/globex: "), std::string::npos)
      << check->problems[0];
  EXPECT_NE(check->problems[0].find("cannot be read"), std::string::npos);
  EXPECT_NE(check->problems[1].find("VM g1: "), std::string::npos);
  auto r = RunPdsUpdate(*repo_, {1.0, 0});
  ASSERT_OK(r);
  ASSERT_EQ(r->vms_left_out.size(), 1u);
  EXPECT_NE(r->vms_left_out[0].message().find("VM g1"), std::string::npos);
  EXPECT_EQ(r->report.vms, 3u);
  for (const char* vm : {"a1", "a2", "u1"}) {
    ASSERT_TRUE(Restores(vm, 1, images_[vm])) << vm;
  }
  auto shred = ShredTenant(*repo_, "acme");
  ASSERT_OK(shred);
  EXPECT_EQ(shred->vms.size(), 2u);
  ASSERT_TRUE(Restores("u1", 1, images_["u1"]));
}

// A tenant key with one good copy loses nothing: either copy damaged or
// lost, the tenant's VMs restore; check names the root and the command, and
// the repair writes the good copy over the other (repo/roots.h).
TEST_F(TenantTest, ATenantKeyWithOneGoodCopyLosesNothing) {
  BackUpFleet();
  const std::string primary = TenantKeyName("globex");
  const Bytes good = *mem_->Get(primary);
  for (const std::string& hit : {primary, DittoName(primary)}) {
    for (bool lose : {false, true}) {
      SCOPED_TRACE(hit + (lose ? " lost" : " damaged"));
      if (lose) {
        ASSERT_OK(mem_->Delete(hit));
      } else {
        Bytes bad = good;
        bad[bad.size() - 5] ^= 0x20;
        ASSERT_OK(mem_->Put(hit, bad));
      }
      ASSERT_TRUE(Restores("g1", 1, images_["g1"]));
      EXPECT_EQ(*repo_->ListTenants(),
                (std::vector<std::string>{"acme", "globex"}));
      auto check = RunCheck(*repo_, {false, 2});
      ASSERT_OK(check);
      ASSERT_EQ(check->problems.size(), 1u);
      EXPECT_NE(check->problems[0].find("root tenants/globex: "),
                std::string::npos)
          << check->problems[0];
      EXPECT_NE(check->problems[0].find("vcsnap recover --roots"),
                std::string::npos);
      auto dry = repo_->InspectRoots(/*repair=*/false);
      ASSERT_OK(dry);
      ASSERT_EQ(dry->size(), 1u);
      EXPECT_TRUE((*dry)[0].repairable);
      EXPECT_FALSE((*dry)[0].repaired);
      auto fixed = repo_->InspectRoots(/*repair=*/true);
      ASSERT_OK(fixed);
      ASSERT_EQ(fixed->size(), 1u);
      EXPECT_TRUE((*fixed)[0].repaired);
      EXPECT_EQ(*mem_->Get(primary), good);
      EXPECT_EQ(*mem_->Get(DittoName(primary)), good);
      ASSERT_TRUE(CheckPasses(false));
    }
  }
}

// A damaged or lost binding: recover --tenant writes it again, but only for
// the tenant whose keys open the VM's recipes, and never over an intact one.
TEST_F(TenantTest, RecoverRepairsABindingOnlyForTheRightTenant) {
  BackUpFleet();
  Bytes b = *mem_->Get(TenantBindingName("a1"));
  b[b.size() - 3] ^= 0x01;
  ASSERT_OK(mem_->Put(TenantBindingName("a1"), b));
  ASSERT_OK(mem_->Delete(TenantBindingName("a2")));
  EXPECT_FALSE(Restores("a1", 1, images_["a1"]));
  EXPECT_FALSE(Restores("a2", 1, images_["a2"]));  // read as no tenant
  for (const char* vm : {"a1", "a2"}) {
    EXPECT_THAT(RunRecover(*repo_, {vm, false, "globex"}).status(),
                ::vcsnap::testing::StatusIsWith(StatusCode::kInvalidArgument,
                                                "not its tenant"))
        << vm;
    auto dry = RunRecover(*repo_, {vm, true, "acme"});
    ASSERT_OK(dry);
    EXPECT_FALSE(dry->binding_problem.empty());
    EXPECT_FALSE(dry->binding_restored);
    auto r = RunRecover(*repo_, {vm, false, "acme"});
    ASSERT_OK(r);
    EXPECT_TRUE(r->binding_restored) << vm;
    ASSERT_TRUE(Restores(vm, 1, images_[vm])) << vm;
  }
  EXPECT_THAT(RunRecover(*repo_, {"g1", false, "acme"}).status(),
              ::vcsnap::testing::StatusIsWith(StatusCode::kInvalidArgument,
                                              "intact binding"));
  auto intact = RunRecover(*repo_, {"g1", false, "globex"});
  ASSERT_OK(intact);
  EXPECT_FALSE(intact->binding_restored);
  ASSERT_TRUE(CheckPasses(true));
}

TEST_F(TenantTest, ABusyVmStopsTheShredBeforeAnythingIsDeleted) {
  BackUpFleet();
  auto held = Lease::Acquire(mem_.get(), "a2", "backup");
  ASSERT_OK(held);
  EXPECT_THAT(ShredTenant(*repo_, "acme").status(),
              ::vcsnap::testing::StatusIsWith(StatusCode::kBusy,
                                              "nothing was deleted"));
  ASSERT_TRUE(Restores("a1", 1, images_["a1"]));
  ASSERT_OK((*held)->Release());
  ASSERT_OK(ShredTenant(*repo_, "acme"));
  EXPECT_THAT(Restores("a1", 1, images_["a1"]), ::testing::IsFalse());
}

}  // namespace
}  // namespace vcsnap
