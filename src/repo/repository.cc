#include "repo/repository.h"

#include <algorithm>
#include <cstdio>

#include "backend/local_backend.h"
#include "backend/rados_location.h"
#include "format/key_slot.h"
#include "repo/roots.h"

namespace vcsnap {
namespace {

std::string NewSlotName() {
  uint8_t id[8];
  RandomFill(id);
  char hex[17];
  for (int i = 0; i < 8; ++i) std::snprintf(hex + 2 * i, 3, "%02x", id[i]);
  return std::string(kKeySlotPrefix) + hex;
}

ByteView RepoIdOf(const RepoConfig& c) {
  return ByteView(c.repo_id.data(), c.repo_id.size());
}

Status VerifyConfig(ByteView bytes) { return DecodeRepoConfig(bytes).status(); }

// `config` with the keys derived from `master`.
RepoConfig WithKeys(RepoConfig config, const Key256& master) {
  config.keys = std::make_shared<const RepoKeys>(
      RepoKeys::FromMaster(master, RepoIdOf(config)));
  return config;
}

// The master key from the first slot `key` opens; *slot names it. A slot
// that cannot be read (an I/O error) does not stop the others from being
// tried; the error is returned only when no slot opens.
Result<Key256> Unlock(Backend& backend, const RepoConfig& config,
                      const RepoKey* key, std::string* slot) {
  if (key == nullptr) {
    return Status::InvalidArgument(
        "the repository is encrypted: give its key file with --key-file PATH "
        "or VCSNAP_KEY_FILE");
  }
  VCSNAP_ASSIGN_OR_RETURN(std::vector<std::string> slots,
                          ListRoots(backend, kKeySlotPrefix));
  std::string damaged;
  Status unreadable;
  for (const std::string& name : slots) {
    auto opens = [&](ByteView b) {
      return OpenKeySlot(name, RepoIdOf(config), b, key->material).status();
    };
    Result<Bytes> bytes = ReadRoot(backend, name, opens);
    if (bytes.ok()) {
      *slot = name;
      return OpenKeySlot(name, RepoIdOf(config), *bytes, key->material);
    }
    const Status& s = bytes.status();
    if (s.IsNotFound() || s.code() == StatusCode::kInvalidArgument) {
      continue;  // removed meanwhile, or not this key's slot
    }
    if (s.code() == StatusCode::kCorruption) {
      damaged += (damaged.empty() ? "" : ", ") + name;
    } else if (unreadable.ok()) {
      unreadable = s;
    }
  }
  if (!unreadable.ok()) return unreadable;
  if (slots.empty()) {
    return Status::Corruption(
        "the repository is encrypted but has no key slot (keys/ is empty): "
        "its data cannot be read");
  }
  return Status::InvalidArgument(
      key->source + " opens none of the " + std::to_string(slots.size()) +
      " key slots of this repository" +
      (damaged.empty() ? "" : " (damaged: " + damaged + ")"));
}

}  // namespace

Result<std::unique_ptr<Backend>> OpenBackend(const std::string& location,
                                             bool create,
                                             uint64_t max_object_size) {
  if (location.empty()) {
    return Status::InvalidArgument(
        "no repository given (use --repo PATH or set VCSNAP_REPO)");
  }
  if (IsRadosLocation(location)) {
    VCSNAP_ASSIGN_OR_RETURN(RadosLocation loc, ParseRadosLocation(location));
    return OpenRadosBackend(loc, create, max_object_size);
  }
  if (location.find("://") != std::string::npos) {
    return Status::NotSupported("repository '" + location +
                                "': unknown scheme (known: rados://, or a "
                                "local directory path)");
  }
  VCSNAP_ASSIGN_OR_RETURN(
      std::unique_ptr<LocalBackend> local,
      LocalBackend::Open(location, create, max_object_size));
  return std::unique_ptr<Backend>(std::move(local));
}

Result<std::unique_ptr<Repository>> Repository::Init(
    const std::string& location, const RepoConfig& config, const RepoKey* key) {
  VCSNAP_RETURN_IF_ERROR(config.Validate());
  VCSNAP_ASSIGN_OR_RETURN(
      std::unique_ptr<Backend> backend,
      OpenBackend(location, /*create=*/true, config.max_object_size));
  if (backend->max_object_size() < config.max_object_size) {
    return Status::InvalidArgument(location + " accepts objects of at most " +
                                   std::to_string(backend->max_object_size()) +
                                   " bytes; the config asks for " +
                                   std::to_string(config.max_object_size));
  }
  Result<std::unique_ptr<Repository>> r =
      InitOn(std::move(backend), config, key);
  if (!r.ok()) return r.status().WithContext(location);
  (*r)->location_ = location;
  return r;
}

Result<std::unique_ptr<Repository>> Repository::InitOn(
    std::unique_ptr<Backend> backend, const RepoConfig& config,
    const RepoKey* key) {
  VCSNAP_RETURN_IF_ERROR(config.Validate());
  if (config.encrypted() && key == nullptr) {
    return Status::InvalidArgument(
        "an encrypted repository needs a key file (--key-file PATH)");
  }
  VCSNAP_ASSIGN_OR_RETURN(bool existing,
                          RootExists(*backend, kConfigObjectName));
  if (existing) return Status::AlreadyExists("already a vcsnap repository");
  VCSNAP_ASSIGN_OR_RETURN(std::vector<ObjectInfo> objects, backend->List(""));
  if (!objects.empty()) {
    return Status::InvalidArgument(
        "not empty and not a vcsnap repository (holds " + objects[0].name +
        "); refusing to initialise it");
  }
  // The key slot goes first, so that a visible config always opens.
  Key256 master{};
  std::string slot;
  if (config.encrypted()) {
    RandomFill(master);
    slot = NewSlotName();
    VCSNAP_RETURN_IF_ERROR(CreateRoot(
        *backend, slot,
        EncodeKeySlot(slot, RepoIdOf(config), master, key->material)));
  }
  Status s = CreateRoot(*backend, kConfigObjectName, EncodeRepoConfig(config));
  if (!s.ok() && !slot.empty()) (void)DeleteRoot(*backend, slot);
  if (s.IsAlreadyExists()) {
    return Status::AlreadyExists("already a vcsnap repository");
  }
  VCSNAP_RETURN_IF_ERROR(s);
  std::string where = backend->Describe();
  return std::unique_ptr<Repository>(
      new Repository(std::move(backend),
                     config.encrypted() ? WithKeys(config, master) : config,
                     where, master, slot));
}

Result<std::unique_ptr<Repository>> Repository::Open(
    const std::string& location, const RepoKey* key) {
  Result<std::unique_ptr<Backend>> backend =
      OpenBackend(location, /*create=*/false, kMaxObjectSizeCeiling);
  if (!backend.ok()) {
    if (backend.status().IsNotFound() && !IsRadosLocation(location)) {
      return Status::NotFound(location +
                              " is not a vcsnap repository (no such "
                              "directory); run 'vcsnap init' first");
    }
    return backend.status();
  }
  Result<std::unique_ptr<Repository>> r = OpenOn(std::move(*backend), key);
  if (!r.ok()) {
    if (r.status().IsNotFound()) {
      return Status::NotFound(location +
                              " is not a vcsnap repository (no config "
                              "object); run 'vcsnap init' first");
    }
    return r.status().WithContext(location);
  }
  // The repository's own object size limit (the config was read under the
  // backend ceiling, which is never smaller): lowered in place, or by
  // opening the backend again.
  const RepoConfig config = (*r)->config();
  Status lowered = (*r)->backend_->LowerObjectSizeLimit(config.max_object_size);
  if (lowered.ok()) {
    (*r)->location_ = location;
    return r;
  }
  if (lowered.code() != StatusCode::kNotSupported) return lowered;
  VCSNAP_ASSIGN_OR_RETURN(
      std::unique_ptr<Backend> sized,
      OpenBackend(location, /*create=*/false, config.max_object_size));
  return std::unique_ptr<Repository>(new Repository(
      std::move(sized), config, location, (*r)->master_, (*r)->opened_slot_));
}

Result<std::unique_ptr<Repository>> Repository::OpenOn(
    std::unique_ptr<Backend> backend, const RepoKey* key) {
  VCSNAP_ASSIGN_OR_RETURN(Bytes raw,
                          ReadRoot(*backend, kConfigObjectName, VerifyConfig));
  VCSNAP_ASSIGN_OR_RETURN(RepoConfig config, DecodeRepoConfig(raw));
  Key256 master{};
  std::string slot;
  if (config.encrypted()) {
    VCSNAP_ASSIGN_OR_RETURN(master, Unlock(*backend, config, key, &slot));
    config = WithKeys(std::move(config), master);
  }
  std::string where = backend->Describe();
  return std::unique_ptr<Repository>(
      new Repository(std::move(backend), config, where, master, slot));
}

Result<std::string> Repository::AddKey(const RepoKey& key) {
  if (!config_.encrypted()) {
    return Status::InvalidArgument("the repository is not encrypted");
  }
  std::string slot = NewSlotName();
  VCSNAP_RETURN_IF_ERROR(CreateRoot(
      *backend_, slot,
      EncodeKeySlot(slot, RepoIdOf(config_), master_, key.material)));
  return slot;
}

Status Repository::RemoveKey(const std::string& slot) {
  if (!config_.encrypted()) {
    return Status::InvalidArgument("the repository is not encrypted");
  }
  VCSNAP_ASSIGN_OR_RETURN(std::vector<std::string> slots, ListKeySlots());
  if (std::find(slots.begin(), slots.end(), slot) == slots.end()) {
    return Status::NotFound("no key slot " + slot);
  }
  if (slot == opened_slot_) {
    return Status::InvalidArgument(
        slot +
        " is the slot of the key in use; open with another key to "
        "remove it");
  }
  if (slots.size() == 1) {
    return Status::InvalidArgument(slot + " is the last key slot");
  }
  return DeleteRoot(*backend_, slot);
}

Result<std::vector<std::string>> Repository::ListKeySlots() {
  return ListRoots(*backend_, kKeySlotPrefix);
}

}  // namespace vcsnap
