// File: repo/repository.h
//
// Repository: an opened vcsnap repository -- its backend(s) and its fixed
// config. The coordinator that higher layers (backup, restore, gc, pds) are
// handed; it owns no policy of its own yet.
//
// Locations. `--repo` takes a local directory path (the embedded default)
// or a Ceph RADOS location "rados://POOL[/NAMESPACE][?...]"
// (backend/rados_location.h); other schemes are NotSupported.
//
// Encryption. An encrypted repository (config.encryption != kNone) opens
// only with a key: the material of a key file that opens one of its key
// slots (format/key_slot.h). Open then puts the derived keys into
// config().keys, from where the stores and the chunker take them. A key given
// for an unencrypted repository is ignored.
//
// Tenants (encrypted repositories; format/tenant.h). A VM bound to a tenant
// is sealed under the tenant's keys: everything that opens a VM's store or
// recipes takes ConfigFor(vm) / KeysOf(vm), never config() directly. The
// PDS stays under the repository keys (config().keys).
//
// Roots. The config, the key slots and the tenant keys are each stored
// twice (repo/roots.h): every read here falls back to the second copy, every
// create and delete goes through CreateRoot/DeleteRoot.
//
// Thread safety: after Open/Init returns, config() is immutable and backend()
// is thread-safe (see backend.h); the Repository may be shared by threads.
// KeysOf/ConfigFor are thread-safe and read the binding and the tenant key
// every time (two small reads; nothing cached, so a tenant shredded by
// another process is never written to from a stale cache). AddKey,
// AddTenant and DeleteTenantKey are not thread-safe against themselves.

#ifndef VCSNAP_REPO_REPOSITORY_H_
#define VCSNAP_REPO_REPOSITORY_H_

#include <memory>
#include <string>
#include <vector>

#include "backend/backend.h"
#include "format/repo_config.h"
#include "repo/roots.h"
#include "util/result.h"

namespace vcsnap {

// A key for an encrypted repository: key material (KeyMaterialFromFile) and
// where it came from ("key file /etc/vcsnap/key"), for messages.
struct RepoKey {
  Bytes material;
  std::string source;
};

// Which keys seal one VM's data and recipes.
struct VmKeys {
  std::string tenant;     // "" when the VM belongs to no tenant
  bool shredded = false;  // its tenant's key was deleted: nothing opens
  std::shared_ptr<const RepoKeys> keys;  // nullptr: unencrypted or shredded
};

class Repository {
 public:
  // Creates a repository at `location` with `config` (validated first).
  // AlreadyExists if one is there; InvalidArgument if the location holds
  // other objects. Exclusive: of two concurrent inits exactly one succeeds.
  // An encrypted config needs `key` (InvalidArgument without): a new random
  // master key is made and wrapped in the first key slot for it.
  static Result<std::unique_ptr<Repository>> Init(const std::string& location,
                                                  const RepoConfig& config,
                                                  const RepoKey* key = nullptr);

  // Opens an existing repository. NotFound "... is not a vcsnap repository"
  // when there is none; Corruption/NotSupported for a damaged or newer config.
  // Encrypted: InvalidArgument without `key` or when it opens no key slot;
  // Corruption when the repository has no key slot at all.
  static Result<std::unique_ptr<Repository>> Open(const std::string& location,
                                                  const RepoKey* key = nullptr);

  // Same, over an already opened backend (tests: MemBackend, FaultBackend).
  static Result<std::unique_ptr<Repository>> InitOn(
      std::unique_ptr<Backend> backend, const RepoConfig& config,
      const RepoKey* key = nullptr);
  static Result<std::unique_ptr<Repository>> OpenOn(
      std::unique_ptr<Backend> backend, const RepoKey* key = nullptr);

  // Encrypted repositories: wraps the master key for `key` in a new slot and
  // returns the slot's object name. InvalidArgument when unencrypted.
  Result<std::string> AddKey(const RepoKey& key);
  // The key slot objects ("keys/..."), sorted.
  Result<std::vector<std::string>> ListKeySlots();
  // The slot the key given to Open/Init opened ("" when unencrypted).
  const std::string& opened_slot() const { return opened_slot_; }
  // Deletes key slot `slot` (revoking its key file). InvalidArgument for the
  // slot this process opened with (open with another key to remove it) and
  // for the last slot; NotFound when there is no such slot.
  Status RemoveKey(const std::string& slot);

  // The tenant `vm` is bound to ("" for none, or when unencrypted).
  // Corruption for a damaged or forged binding.
  Result<std::string> TenantOf(const std::string& vm);
  // The keys of `vm`: the repository's, or its tenant's when it is bound
  // to one. Corruption for a damaged binding or tenant key object.
  Result<VmKeys> KeysOf(const std::string& vm);
  // config() with `vm`'s keys: what VmStore::Open and recipe readers take.
  // InvalidArgument when the VM's tenant was shredded.
  Result<RepoConfig> ConfigFor(const std::string& vm);

  // Creates tenant `tenant` (a new random tenant key). InvalidArgument when
  // unencrypted or for a bad name; AlreadyExists when it exists.
  Status AddTenant(const std::string& tenant);
  // The tenants (names), sorted.
  Result<std::vector<std::string>> ListTenants();
  // Binds `vm` to `tenant` (which must exist; NotFound otherwise).
  // Idempotent for the same tenant; InvalidArgument when the VM is bound to
  // another, or holds data already (objects under vm/<vm>/ other than its
  // lease, catalog and pins: they are sealed under the repository keys). The
  // caller holds the VM's lease.
  Status BindVm(const std::string& vm, const std::string& tenant);
  // Deletes the tenant's key object: every VM bound to it becomes
  // unreadable, for good. NotFound when there is no such tenant.
  Status DeleteTenantKey(const std::string& tenant);
  // Whether the tenant's key object (either copy, repo/roots.h) exists.
  Result<bool> HasTenantKey(const std::string& tenant);
  // The tenant's keys; nullptr when its key object is gone (shredded).
  // Corruption when it does not open.
  Result<std::shared_ptr<const RepoKeys>> TenantKeys(const std::string& tenant);
  // Writes (replaces) `vm`'s binding to existing tenant `tenant`: the repair
  // of a damaged or lost binding (gc/recover.h checks the tenant first).
  Status RewriteBinding(const std::string& vm, const std::string& tenant);

  // The roots (repo/roots.h: config, key slots, tenant keys) whose two
  // copies are not both good, each with what is wrong; with `repair`, a good
  // copy is written over the other. Key slots are checked by their frame
  // (the key files of the other slots are not at hand), tenant keys by
  // opening them. Not thread-safe against AddKey/AddTenant/RemoveKey.
  Result<std::vector<RootProblem>> InspectRoots(bool repair);

  ~Repository() { Wipe(&master_); }

  const RepoConfig& config() const { return config_; }
  Backend& backend() const { return *backend_; }
  const std::string& location() const { return location_; }

 private:
  Repository(std::unique_ptr<Backend> backend, RepoConfig config,
             std::string location, const Key256& master, std::string slot)
      : backend_(std::move(backend)),
        config_(std::move(config)),
        location_(std::move(location)),
        master_(master),
        opened_slot_(std::move(slot)) {}

  // The binding object of `vm` to existing tenant `tenant`.
  Result<Bytes> BindingTo(const std::string& vm, const std::string& tenant);

  std::unique_ptr<Backend> backend_;
  RepoConfig config_;
  std::string location_;
  Key256 master_{};  // zero for an unencrypted repository
  std::string opened_slot_;
};

// Opens the backend a location names. `create` makes a missing local
// directory. NotSupported for schemes this build lacks.
Result<std::unique_ptr<Backend>> OpenBackend(const std::string& location,
                                             bool create,
                                             uint64_t max_object_size);

}  // namespace vcsnap

#endif  // VCSNAP_REPO_REPOSITORY_H_
