#include "format/tenant.h"

#include <vector>

#include "testing/status_matchers.h"

namespace vcsnap {
namespace {

using ::vcsnap::testing::StatusIs;
using ::vcsnap::testing::StatusIsWith;

const Bytes kTenantRepo = ToBytes("0123456789abcdef");

Key256 RandomKey() {
  Key256 k;
  RandomFill(k);
  return k;
}

TEST(TenantName, Rules) {
  EXPECT_OK(ValidateTenantName("acme"));
  EXPECT_OK(ValidateTenantName("Acme_Corp.eu-1"));
  EXPECT_OK(ValidateTenantName(std::string(64, 'a')));
  for (const std::string& bad : std::vector<std::string>{
           "", ".x", "-x", "a/b", "a b", "ä", std::string(65, 'a')}) {
    EXPECT_THAT(ValidateTenantName(bad),
                StatusIsWith(StatusCode::kInvalidArgument, "bad tenant name"))
        << bad;
  }
  EXPECT_EQ(TenantKeyName("acme"), "tenants/acme");
  EXPECT_EQ(TenantBindingName("vm-1"), "vm/vm-1/tenant");
}

TEST(TenantKey, OpensWithTheRepositoryKeyOnly) {
  const Key256 repo_master = RandomKey(), tenant_master = RandomKey();
  const Key256 wrap = TenantWrapKey(repo_master, kTenantRepo);
  const Bytes obj = EncodeTenantKey("acme", kTenantRepo, wrap, tenant_master);
  auto got = OpenTenantKey("acme", kTenantRepo, obj, wrap);
  ASSERT_OK(got);
  EXPECT_EQ(*got, tenant_master);
  EXPECT_THAT(OpenTenantKey("acme", kTenantRepo, obj,
                            TenantWrapKey(RandomKey(), kTenantRepo)),
              StatusIsWith(StatusCode::kCorruption, "authentication failed"));
  // Bound to the repository and to the tenant's name.
  EXPECT_THAT(OpenTenantKey("acme", ToBytes("fedcba9876543210"), obj, wrap),
              StatusIs(StatusCode::kCorruption));
  EXPECT_THAT(OpenTenantKey("other", kTenantRepo, obj, wrap),
              StatusIs(StatusCode::kCorruption));
  for (size_t i = 0; i < obj.size(); ++i) {
    Bytes bad = obj;
    bad[i] ^= 0x10;
    ASSERT_FALSE(OpenTenantKey("acme", kTenantRepo, bad, wrap).ok()) << i;
  }
  EXPECT_THAT(OpenTenantKey("acme", kTenantRepo, ByteView(obj).first(30), wrap),
              StatusIs(StatusCode::kCorruption));
}

TEST(TenantKey, KeysAreTheTenantsButTheFingerprintKeyIsShared) {
  const Key256 a = RandomKey(), b = RandomKey(), fp = RandomKey();
  const RepoKeys ka = DeriveTenantKeys(a, kTenantRepo, fp);
  const RepoKeys kb = DeriveTenantKeys(b, kTenantRepo, fp);
  EXPECT_EQ(ka.fingerprint, fp);
  EXPECT_EQ(kb.fingerprint, fp);
  EXPECT_NE(ka.data, kb.data);
  EXPECT_NE(ka.metadata, kb.metadata);
  EXPECT_NE(ka.data, ka.metadata);
  // Not the repository's own derivation from the same master.
  EXPECT_NE(ka.data, RepoKeys::FromMaster(a, kTenantRepo).data);
  EXPECT_NE(TenantWrapKey(a, kTenantRepo), TenantBindingKey(a, kTenantRepo));
}

TEST(TenantBinding, RoundTripAndForgery) {
  const Key256 key = TenantBindingKey(RandomKey(), kTenantRepo);
  const Bytes b = EncodeTenantBinding("vm-1", kTenantRepo, key, "acme");
  auto got = DecodeTenantBinding("vm-1", kTenantRepo, b, key);
  ASSERT_OK(got);
  EXPECT_EQ(*got, "acme");
  // Written without the repository key: not accepted.
  const Bytes forged = EncodeTenantBinding(
      "vm-1", kTenantRepo, TenantBindingKey(RandomKey(), kTenantRepo), "acme");
  EXPECT_THAT(DecodeTenantBinding("vm-1", kTenantRepo, forged, key),
              StatusIsWith(StatusCode::kCorruption, "authentication failed"));
  // Another VM's binding under this VM's name.
  EXPECT_THAT(DecodeTenantBinding("vm-2", kTenantRepo, b, key),
              StatusIs(StatusCode::kCorruption));
  for (size_t i = 0; i < b.size(); ++i) {
    Bytes bad = b;
    bad[i] ^= 0x04;
    ASSERT_FALSE(DecodeTenantBinding("vm-1", kTenantRepo, bad, key).ok()) << i;
  }
}

}  // namespace
}  // namespace vcsnap
