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
// Thread safety: after Open/Init returns, config() is immutable and backend()
// is thread-safe (see backend.h); the Repository may be shared by threads.

#ifndef VCSNAP_REPO_REPOSITORY_H_
#define VCSNAP_REPO_REPOSITORY_H_

#include <memory>
#include <string>

#include "backend/backend.h"
#include "format/repo_config.h"
#include "util/result.h"

namespace vcsnap {

class Repository {
 public:
  // Creates a repository at `location` with `config` (validated first).
  // AlreadyExists if one is there; InvalidArgument if the location holds
  // other objects. Exclusive: of two concurrent inits exactly one succeeds.
  static Result<std::unique_ptr<Repository>> Init(const std::string& location,
                                                  const RepoConfig& config);

  // Opens an existing repository. NotFound "... is not a vcsnap repository"
  // when there is none; Corruption/NotSupported for a damaged or newer config.
  static Result<std::unique_ptr<Repository>> Open(const std::string& location);

  // Same, over an already opened backend (tests: MemBackend, FaultBackend).
  static Result<std::unique_ptr<Repository>> InitOn(
      std::unique_ptr<Backend> backend, const RepoConfig& config);
  static Result<std::unique_ptr<Repository>> OpenOn(
      std::unique_ptr<Backend> backend);

  const RepoConfig& config() const { return config_; }
  Backend& backend() const { return *backend_; }
  const std::string& location() const { return location_; }

 private:
  Repository(std::unique_ptr<Backend> backend, RepoConfig config,
             std::string location)
      : backend_(std::move(backend)),
        config_(config),
        location_(std::move(location)) {}

  std::unique_ptr<Backend> backend_;
  RepoConfig config_;
  std::string location_;
};

// Opens the backend a location names. `create` makes a missing local
// directory. NotSupported for schemes this build lacks.
Result<std::unique_ptr<Backend>> OpenBackend(const std::string& location,
                                             bool create,
                                             uint64_t max_object_size);

}  // namespace vcsnap

#endif  // VCSNAP_REPO_REPOSITORY_H_
