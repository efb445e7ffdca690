#include "format/tenant.h"

#include <openssl/crypto.h>

#include <algorithm>

#include "format/envelope.h"
#include "util/coding.h"

namespace vcsnap {
namespace {

constexpr uint16_t kTenantKeyVersion = 1;
constexpr uint16_t kBindingVersion = 1;
constexpr uint8_t kWrappedByRepository = 1;  // DO NOT CHANGE: stored
constexpr size_t kTenantKeyBodySize = 1 + kKeySize + kSealOverhead;

const EnvelopeSpec kTenantKeySpec{
    {'V', 'C', 'T', 'K'}, "tenant key", 1, kTenantKeyVersion, 1024};
const EnvelopeSpec kBindingSpec{
    {'V', 'C', 'T', 'B'}, "tenant binding", 1, kBindingVersion, 1024};

Bytes Labelled(std::string_view label, ByteView repo_id,
               std::initializer_list<std::string_view> parts) {
  Bytes out;
  ByteWriter w(&out);
  w.Raw(label);
  w.Raw(repo_id);
  for (std::string_view p : parts) {
    w.U8(static_cast<uint8_t>(p.size()));  // names are < 256 bytes
    w.Raw(p);
  }
  return out;
}

std::array<uint8_t, 32> BindingTag(std::string_view vm, ByteView repo_id,
                                   const Key256& key, std::string_view tenant) {
  return KeyedFingerprint(
      key, Labelled("vcsnap tenant binding v1\n", repo_id, {vm, tenant}));
}

}  // namespace

Status ValidateTenantName(std::string_view tenant) {
  const bool chars_ok = std::all_of(tenant.begin(), tenant.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
  });
  if (tenant.empty() || tenant.size() > kMaxTenantName || !chars_ok ||
      tenant[0] == '.' || tenant[0] == '-') {
    return Status::InvalidArgument(
        "bad tenant name \"" + std::string(tenant) +
        "\": 1-64 of A-Z a-z 0-9 . _ -, not starting with . or -");
  }
  return Status::Ok();
}

std::string TenantKeyName(std::string_view tenant) {
  return std::string(kTenantKeyPrefix) + std::string(tenant);
}

std::string TenantBindingName(std::string_view vm) {
  return "vm/" + std::string(vm) + "/tenant";
}

RepoKeys DeriveTenantKeys(const Key256& tenant_master, ByteView repo_id,
                          const Key256& repo_fingerprint_key) {
  RepoKeys k;
  k.data = DeriveKey(tenant_master, repo_id, "vcsnap tenant data v1");
  k.metadata = DeriveKey(tenant_master, repo_id, "vcsnap tenant metadata v1");
  k.fingerprint = repo_fingerprint_key;
  return k;
}

Key256 TenantWrapKey(const Key256& repo_master, ByteView repo_id) {
  return DeriveKey(repo_master, repo_id, "vcsnap tenant wrap v1");
}

Key256 TenantBindingKey(const Key256& repo_master, ByteView repo_id) {
  return DeriveKey(repo_master, repo_id, "vcsnap tenant binding v1");
}

Bytes EncodeTenantKey(std::string_view tenant, ByteView repo_id,
                      const Key256& wrap_key, const Key256& tenant_master) {
  Bytes body;
  ByteWriter w(&body);
  w.U8(kWrappedByRepository);
  w.Raw(Seal(wrap_key, Labelled("vcsnap tenant key v1\n", repo_id, {tenant}),
             tenant_master));
  return EncodeEnvelope(kTenantKeySpec, kTenantKeyVersion,
                        TenantKeyName(tenant), body);
}

Result<Key256> OpenTenantKey(std::string_view tenant, ByteView repo_id,
                             ByteView bytes, const Key256& wrap_key) {
  const std::string name = TenantKeyName(tenant);
  VCSNAP_ASSIGN_OR_RETURN(DecodedEnvelope env,
                          DecodeEnvelope(kTenantKeySpec, name, bytes));
  if (env.body.size() != kTenantKeyBodySize) {
    return Status::Corruption(
        name + ": tenant key body is " + std::to_string(env.body.size()) +
        " bytes, expected " + std::to_string(kTenantKeyBodySize));
  }
  if (env.body[0] != kWrappedByRepository) {
    return Status::NotSupported(name + ": tenant key kind " +
                                std::to_string(env.body[0]) +
                                " (this vcsnap knows 1, wrapped by the "
                                "repository key)");
  }
  Key256 master{};
  VCSNAP_RETURN_IF_ERROR(
      Open(wrap_key, Labelled("vcsnap tenant key v1\n", repo_id, {tenant}),
           env.body.subspan(1), master.data(), name));
  return master;
}

Bytes EncodeTenantBinding(std::string_view vm, ByteView repo_id,
                          const Key256& binding_key, std::string_view tenant) {
  Bytes body;
  ByteWriter w(&body);
  w.U8(static_cast<uint8_t>(tenant.size()));
  w.Raw(tenant);
  w.Raw(BindingTag(vm, repo_id, binding_key, tenant));
  return EncodeEnvelope(kBindingSpec, kBindingVersion, TenantBindingName(vm),
                        body);
}

Result<std::string> DecodeTenantBinding(std::string_view vm, ByteView repo_id,
                                        ByteView bytes,
                                        const Key256& binding_key) {
  const std::string name = TenantBindingName(vm);
  VCSNAP_ASSIGN_OR_RETURN(DecodedEnvelope env,
                          DecodeEnvelope(kBindingSpec, name, bytes));
  if (env.body.empty() || env.body.size() != 1u + env.body[0] + 32) {
    return Status::Corruption(name + ": binding body of " +
                              std::to_string(env.body.size()) +
                              " bytes does not match its name length");
  }
  std::string tenant(reinterpret_cast<const char*>(env.body.data() + 1),
                     env.body[0]);
  if (!ValidateTenantName(tenant).ok()) {
    return Status::Corruption(name + ": bad tenant name in the binding");
  }
  const auto tag = BindingTag(vm, repo_id, binding_key, tenant);
  if (CRYPTO_memcmp(tag.data(), env.body.data() + 1 + env.body[0],
                    tag.size()) != 0) {
    return Status::Corruption(name +
                              ": authentication failed (a forged binding, "
                              "or one of another repository)");
  }
  return tenant;
}

}  // namespace vcsnap
