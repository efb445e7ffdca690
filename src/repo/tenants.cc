// Repository: tenants -- tenant keys, VM bindings and the per-VM keys
// (format/tenant.h).
#include <algorithm>

#include "format/tenant.h"
#include "repo/repository.h"
#include "repo/roots.h"

namespace vcsnap {
namespace {

ByteView IdOf(const RepoConfig& c) {
  return ByteView(c.repo_id.data(), c.repo_id.size());
}

Status RequireEncrypted(const RepoConfig& c) {
  if (c.encrypted()) return Status::Ok();
  return Status::InvalidArgument(
      "tenants need an encrypted repository (vcsnap init --key-file F)");
}

Status OtherTenant(const std::string& vm, const std::string& bound,
                   const std::string& tenant) {
  return Status::InvalidArgument("vm " + vm + " belongs to tenant " + bound +
                                 ", not " + tenant);
}

}  // namespace

Result<std::shared_ptr<const RepoKeys>> Repository::TenantKeys(
    const std::string& tenant) {
  VCSNAP_RETURN_IF_ERROR(RequireEncrypted(config_));
  Key256 wrap = TenantWrapKey(master_, IdOf(config_));
  Key256 master{};
  auto opens = [&](ByteView b) {
    Result<Key256> m = OpenTenantKey(tenant, IdOf(config_), b, wrap);
    if (!m.ok()) return m.status();
    master = *m;
    Wipe(&*m);
    return Status::Ok();
  };
  Result<Bytes> bytes = ReadRoot(*backend_, TenantKeyName(tenant), opens);
  Wipe(&wrap);
  std::shared_ptr<const RepoKeys> keys;
  if (bytes.ok()) {
    keys = std::make_shared<const RepoKeys>(
        DeriveTenantKeys(master, IdOf(config_), config_.keys->fingerprint));
  } else if (!bytes.status().IsNotFound()) {
    Wipe(&master);
    return bytes.status();
  }
  Wipe(&master);
  return keys;
}

Result<std::string> Repository::TenantOf(const std::string& vm) {
  if (!config_.encrypted()) return std::string();
  Result<Bytes> bytes = backend_->Get(TenantBindingName(vm));
  if (!bytes.ok()) {
    if (bytes.status().IsNotFound()) return std::string();
    return bytes.status();
  }
  Key256 key = TenantBindingKey(master_, IdOf(config_));
  Result<std::string> tenant =
      DecodeTenantBinding(vm, IdOf(config_), *bytes, key);
  Wipe(&key);
  return tenant;
}

Result<VmKeys> Repository::KeysOf(const std::string& vm) {
  if (!config_.encrypted()) return VmKeys{};
  VmKeys out;
  VCSNAP_ASSIGN_OR_RETURN(out.tenant, TenantOf(vm));
  if (out.tenant.empty()) {
    out.keys = config_.keys;
    return out;
  }
  VCSNAP_ASSIGN_OR_RETURN(out.keys, TenantKeys(out.tenant));
  out.shredded = out.keys == nullptr;
  return out;
}

Result<RepoConfig> Repository::ConfigFor(const std::string& vm) {
  VCSNAP_ASSIGN_OR_RETURN(VmKeys k, KeysOf(vm));
  if (k.shredded) {
    return Status::InvalidArgument("vm " + vm + " belongs to tenant " +
                                   k.tenant +
                                   ", which was shredded (its key is "
                                   "deleted); `vcsnap tenant shred --tenant " +
                                   k.tenant + "` removes what is left");
  }
  RepoConfig c = config_;
  c.keys = std::move(k.keys);
  return c;
}

Status Repository::AddTenant(const std::string& tenant) {
  VCSNAP_RETURN_IF_ERROR(RequireEncrypted(config_));
  VCSNAP_RETURN_IF_ERROR(ValidateTenantName(tenant));
  Key256 tenant_master, wrap = TenantWrapKey(master_, IdOf(config_));
  RandomFill(tenant_master);
  Status s =
      CreateRoot(*backend_, TenantKeyName(tenant),
                 EncodeTenantKey(tenant, IdOf(config_), wrap, tenant_master));
  Wipe(&tenant_master);
  Wipe(&wrap);
  if (s.IsAlreadyExists()) {
    return Status::AlreadyExists("tenant " + tenant + " exists");
  }
  return s;
}

Result<std::vector<std::string>> Repository::ListTenants() {
  VCSNAP_ASSIGN_OR_RETURN(std::vector<std::string> names,
                          ListRoots(*backend_, kTenantKeyPrefix));
  std::vector<std::string> out;
  for (const std::string& name : names) {
    out.push_back(name.substr(kTenantKeyPrefix.size()));
  }
  return out;  // ListRoots is sorted
}

Status Repository::BindVm(const std::string& vm, const std::string& tenant) {
  VCSNAP_RETURN_IF_ERROR(ValidateTenantName(tenant));
  VCSNAP_RETURN_IF_ERROR(RequireEncrypted(config_));
  VCSNAP_ASSIGN_OR_RETURN(std::string now, TenantOf(vm));
  if (now == tenant) return Status::Ok();
  if (!now.empty()) {
    return OtherTenant(vm, now, tenant);
  }
  const std::string prefix = "vm/" + vm + "/";
  VCSNAP_ASSIGN_OR_RETURN(std::vector<ObjectInfo> objects,
                          backend_->List(prefix));
  for (const ObjectInfo& o : objects) {
    const std::string rest = o.name.substr(prefix.size());
    if (rest != "lease" && rest != "catalog" && rest != "tenant" &&
        !rest.starts_with("pins/")) {
      return Status::InvalidArgument(
          "vm " + vm + " holds data under the repository's keys already (" +
          o.name + "); a VM joins a tenant at its first backup");
    }
  }
  VCSNAP_ASSIGN_OR_RETURN(Bytes binding, BindingTo(vm, tenant));
  Status s = backend_->Create(TenantBindingName(vm), binding);
  if (!s.IsAlreadyExists()) VCSNAP_RETURN_IF_ERROR(s);
  // Bound meanwhile by someone else: fine only to the same tenant.
  VCSNAP_ASSIGN_OR_RETURN(std::string bound, TenantOf(vm));
  if (bound != tenant) {
    return OtherTenant(vm, bound, tenant);
  }
  return Status::Ok();
}

Result<Bytes> Repository::BindingTo(const std::string& vm,
                                    const std::string& tenant) {
  VCSNAP_RETURN_IF_ERROR(ValidateTenantName(tenant));
  VCSNAP_ASSIGN_OR_RETURN(std::shared_ptr<const RepoKeys> keys,
                          TenantKeys(tenant));
  if (keys == nullptr) {
    return Status::NotFound("no tenant " + tenant +
                            " (create it with `vcsnap tenant add`)");
  }
  Key256 key = TenantBindingKey(master_, IdOf(config_));
  Bytes out = EncodeTenantBinding(vm, IdOf(config_), key, tenant);
  Wipe(&key);
  return out;
}

Status Repository::RewriteBinding(const std::string& vm,
                                  const std::string& tenant) {
  VCSNAP_ASSIGN_OR_RETURN(Bytes binding, BindingTo(vm, tenant));
  return backend_->Put(TenantBindingName(vm), binding);
}

Status Repository::DeleteTenantKey(const std::string& tenant) {
  VCSNAP_RETURN_IF_ERROR(ValidateTenantName(tenant));
  Status s = DeleteRoot(*backend_, TenantKeyName(tenant));
  if (s.IsNotFound()) return Status::NotFound("no tenant " + tenant);
  return s;
}

Result<bool> Repository::HasTenantKey(const std::string& tenant) {
  VCSNAP_RETURN_IF_ERROR(ValidateTenantName(tenant));
  return RootExists(*backend_, TenantKeyName(tenant));
}

}  // namespace vcsnap
