#include "repo/repository.h"

#include "backend/local_backend.h"
#include "backend/rados_backend.h"

namespace vcsnap {

Result<std::unique_ptr<Backend>> OpenBackend(const std::string& location,
                                             bool create,
                                             uint64_t max_object_size) {
  if (location.empty()) {
    return Status::InvalidArgument(
        "no repository given (use --repo PATH or set VCSNAP_REPO)");
  }
  if (IsRadosLocation(location)) {
    VCSNAP_ASSIGN_OR_RETURN(RadosLocation loc, ParseRadosLocation(location));
    VCSNAP_ASSIGN_OR_RETURN(std::unique_ptr<RadosBackend> rados,
                            RadosBackend::Open(loc, create, max_object_size));
    return std::unique_ptr<Backend>(std::move(rados));
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
    const std::string& location, const RepoConfig& config) {
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
  Result<std::unique_ptr<Repository>> r = InitOn(std::move(backend), config);
  if (!r.ok()) return r.status().WithContext(location);
  (*r)->location_ = location;
  return r;
}

Result<std::unique_ptr<Repository>> Repository::InitOn(
    std::unique_ptr<Backend> backend, const RepoConfig& config) {
  VCSNAP_RETURN_IF_ERROR(config.Validate());
  Result<ObjectInfo> existing = backend->Stat(kConfigObjectName);
  if (existing.ok()) {
    return Status::AlreadyExists("already a vcsnap repository");
  }
  if (!existing.status().IsNotFound()) return existing.status();
  VCSNAP_ASSIGN_OR_RETURN(std::vector<ObjectInfo> objects, backend->List(""));
  if (!objects.empty()) {
    return Status::InvalidArgument(
        "not empty and not a vcsnap repository (holds " + objects[0].name +
        "); refusing to initialise it");
  }
  Status s = backend->Create(kConfigObjectName, EncodeRepoConfig(config));
  if (s.IsAlreadyExists()) {
    return Status::AlreadyExists("already a vcsnap repository");
  }
  VCSNAP_RETURN_IF_ERROR(s);
  std::string where = backend->Describe();
  return std::unique_ptr<Repository>(
      new Repository(std::move(backend), config, where));
}

Result<std::unique_ptr<Repository>> Repository::Open(
    const std::string& location) {
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
  Result<std::unique_ptr<Repository>> r = OpenOn(std::move(*backend));
  if (!r.ok()) {
    if (r.status().IsNotFound()) {
      return Status::NotFound(location +
                              " is not a vcsnap repository (no config "
                              "object); run 'vcsnap init' first");
    }
    return r.status().WithContext(location);
  }
  // Reopen with the repository's own object size limit (the config was read
  // under the backend ceiling, which is never smaller).
  const RepoConfig config = (*r)->config();
  VCSNAP_ASSIGN_OR_RETURN(
      std::unique_ptr<Backend> sized,
      OpenBackend(location, /*create=*/false, config.max_object_size));
  return std::unique_ptr<Repository>(
      new Repository(std::move(sized), config, location));
}

Result<std::unique_ptr<Repository>> Repository::OpenOn(
    std::unique_ptr<Backend> backend) {
  VCSNAP_ASSIGN_OR_RETURN(Bytes raw, backend->Get(kConfigObjectName));
  VCSNAP_ASSIGN_OR_RETURN(RepoConfig config, DecodeRepoConfig(raw));
  std::string where = backend->Describe();
  return std::unique_ptr<Repository>(
      new Repository(std::move(backend), config, where));
}

}  // namespace vcsnap
