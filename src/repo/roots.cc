#include "repo/roots.h"

#include <algorithm>

namespace vcsnap {
namespace {

// One copy read and verified: Ok, NotFound (missing), or what is wrong.
Status ReadCopy(Backend& backend, const std::string& object,
                const RootVerifier& verify, Bytes* out) {
  Result<Bytes> bytes = backend.Get(object);
  if (!bytes.ok()) return bytes.status();
  VCSNAP_RETURN_IF_ERROR(verify(*bytes));
  *out = std::move(*bytes);
  return Status::Ok();
}

}  // namespace

std::string DittoName(std::string_view name) {
  return std::string(kDittoPrefix) + std::string(name);
}

Status CreateRoot(Backend& backend, std::string_view name, ByteView bytes) {
  Result<ObjectInfo> primary = backend.Stat(name);
  if (primary.ok()) return Status::AlreadyExists(std::string(name) + " exists");
  if (!primary.status().IsNotFound()) return primary.status();
  const std::string copy = DittoName(name);
  VCSNAP_RETURN_IF_ERROR(backend.Create(copy, bytes));
  Status s = backend.Create(name, bytes);
  if (s.IsAlreadyExists()) {
    // A primary made meanwhile without a copy (an older vcsnap): ours must
    // not stand beside it with other bytes.
    (void)backend.Delete(copy);
  }
  return s;
}

Result<Bytes> ReadRoot(Backend& backend, std::string_view name,
                       const RootVerifier& verify) {
  Bytes out;
  const Status primary = ReadCopy(backend, std::string(name), verify, &out);
  if (primary.ok()) return out;
  if (!primary.IsNotFound() && primary.code() != StatusCode::kCorruption &&
      primary.code() != StatusCode::kIOError) {
    return primary;  // the copy would say the same (see the header)
  }
  const Status copy = ReadCopy(backend, DittoName(name), verify, &out);
  if (copy.ok()) return out;
  if (primary.IsNotFound()) return copy;
  if (copy.IsNotFound()) return primary;
  return copy.WithContext(primary.message() + "; its copy " + DittoName(name));
}

Result<bool> RootExists(Backend& backend, std::string_view name) {
  for (const std::string& object : {std::string(name), DittoName(name)}) {
    Result<ObjectInfo> info = backend.Stat(object);
    if (info.ok()) return true;
    if (!info.status().IsNotFound()) return info.status();
  }
  return false;
}

Status DeleteRoot(Backend& backend, std::string_view name) {
  Status copy = backend.Delete(DittoName(name));
  if (!copy.ok() && !copy.IsNotFound()) return copy;
  Status primary = backend.Delete(name);
  if (primary.IsNotFound() && copy.ok()) return Status::Ok();
  return primary;
}

Result<std::vector<std::string>> ListRoots(Backend& backend,
                                           std::string_view prefix) {
  std::vector<std::string> out;
  VCSNAP_ASSIGN_OR_RETURN(std::vector<ObjectInfo> primaries,
                          backend.List(prefix));
  VCSNAP_ASSIGN_OR_RETURN(std::vector<ObjectInfo> copies,
                          backend.List(DittoName(prefix)));
  for (const ObjectInfo& o : primaries) out.push_back(o.name);
  for (const ObjectInfo& o : copies) {
    out.push_back(o.name.substr(kDittoPrefix.size()));
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

std::string RootProblem::Describe() const {
  if (repaired) return problem + " (rewritten from the other copy)";
  if (repairable) return problem;
  return problem + " (no good copy is left)";
}

Result<std::optional<RootProblem>> InspectRoot(Backend& backend,
                                               std::string_view name,
                                               const RootVerifier& verify,
                                               bool repair) {
  const std::string objects[2] = {std::string(name), DittoName(name)};
  Bytes bytes[2];
  Status state[2];
  for (int i = 0; i < 2; ++i) {
    Result<Bytes> got = backend.Get(objects[i]);
    if (!got.ok() && !got.status().IsNotFound()) return got.status();
    state[i] = got.ok() ? verify(*got) : got.status();
    if (got.ok()) bytes[i] = std::move(*got);
  }
  if (state[0].IsNotFound() && state[1].IsNotFound()) {
    return std::optional<RootProblem>();
  }
  // Both present, neither damaged nor good (a newer version): nothing this
  // vcsnap can judge.
  auto unknown = [](const Status& s) {
    return !s.ok() && !s.IsNotFound() && s.code() != StatusCode::kCorruption;
  };
  if (unknown(state[0]) && unknown(state[1])) {
    return std::optional<RootProblem>();
  }
  if (state[0].ok() && state[1].ok()) {
    if (bytes[0] == bytes[1]) return std::optional<RootProblem>();
    // Both verify but differ: each is a valid root of its own (e.g. a key
    // slot rewritten by hand). The primary is the one readers use.
    state[1] = Status::Corruption(objects[1] + " differs from " + objects[0]);
  }
  RootProblem p;
  p.name = std::string(name);
  for (int i = 0; i < 2; ++i) {
    if (state[i].ok()) continue;
    const std::string what =
        state[i].IsNotFound() ? objects[i] + " is missing"
        : i == 0              ? state[i].message()
                 : "the copy " + objects[i] + ": " + state[i].message();
    p.problem += (p.problem.empty() ? "" : "; ") + what;
  }
  const int good = state[0].ok() ? 0 : state[1].ok() ? 1 : -1;
  p.repairable = good >= 0;
  if (repair && p.repairable) {
    VCSNAP_RETURN_IF_ERROR(backend.Put(objects[1 - good], bytes[good]));
    p.repaired = true;
  }
  return std::optional<RootProblem>(std::move(p));
}

}  // namespace vcsnap
