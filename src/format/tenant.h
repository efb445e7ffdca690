// File: format/tenant.h
//
// Tenants of an encrypted repository (docs/format/encryption.md, "Tenants").
// A tenant has its own random 32-byte master key, stored wrapped under the
// repository master key in the object `tenants/<name>` (envelope "VCTK" v1).
// A VM joins a tenant at its first backup and stays in it: the binding object
// `vm/<vm>/tenant` (envelope "VCTB" v1) names the tenant, authenticated by an
// HMAC under a repository key. The VM's chunk groups and segment recipes are
// then sealed with keys derived from the tenant master; its fingerprints keep
// the repository's fingerprint key, so dedup against the PDS (which stays
// under the repository keys) works unchanged. Deleting the tenant key object
// makes every byte sealed for the tenant unreadable ("shredding").
//
// Thread safety: pure functions.

#ifndef VCSNAP_FORMAT_TENANT_H_
#define VCSNAP_FORMAT_TENANT_H_

#include <string>
#include <string_view>

#include "format/crypto.h"
#include "util/bytes.h"
#include "util/result.h"

namespace vcsnap {

inline constexpr std::string_view kTenantKeyPrefix = "tenants/";
inline constexpr size_t kMaxTenantName = 64;

// 1..64 bytes of [A-Za-z0-9._-], not starting with '.' or '-'.
// InvalidArgument otherwise.
Status ValidateTenantName(std::string_view tenant);

std::string TenantKeyName(std::string_view tenant);  // tenants/<tenant>
std::string TenantBindingName(std::string_view vm);  // vm/<vm>/tenant

// The keys under which a tenant's VMs are sealed: data and metadata derived
// from the tenant master key, the fingerprint key the repository's own.
RepoKeys DeriveTenantKeys(const Key256& tenant_master, ByteView repo_id,
                          const Key256& repo_fingerprint_key);

// The key that wraps tenant master keys and the one that authenticates
// bindings, both derived from the repository master key.
Key256 TenantWrapKey(const Key256& repo_master, ByteView repo_id);
Key256 TenantBindingKey(const Key256& repo_master, ByteView repo_id);

// The tenant key object of `tenant`, wrapping `tenant_master`.
Bytes EncodeTenantKey(std::string_view tenant, ByteView repo_id,
                      const Key256& wrap_key, const Key256& tenant_master);
// The tenant master key. Corruption for a damaged object or one that does
// not open with `wrap_key` (the object is authenticated: a damaged or
// swapped key object never yields a wrong key).
Result<Key256> OpenTenantKey(std::string_view tenant, ByteView repo_id,
                             ByteView bytes, const Key256& wrap_key);

// The binding object of `vm` to `tenant`.
Bytes EncodeTenantBinding(std::string_view vm, ByteView repo_id,
                          const Key256& binding_key, std::string_view tenant);
// The tenant `vm` is bound to. Corruption for a damaged or forged binding.
Result<std::string> DecodeTenantBinding(std::string_view vm, ByteView repo_id,
                                        ByteView bytes,
                                        const Key256& binding_key);

}  // namespace vcsnap

#endif  // VCSNAP_FORMAT_TENANT_H_
