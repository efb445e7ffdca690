// File: repo/roots.h
//
// Repository roots: the few small objects that every snapshot of the
// repository, or of one tenant, depends on -- the config, the key slots
// `keys/<id>` and the tenant keys `tenants/<t>` -- are each stored twice, as
// `<name>` and as its ditto copy `ditto/<name>` (after ZFS's ditto blocks,
// extra copies of the metadata whatever the pool's redundancy). Both hold
// the same bytes, bound to `<name>`; docs/format/ditto.md. On RADOS the
// copies live in the PDS pool when the repository has one
// (backend/rados_location.h), so they do not share placement groups with
// their primaries.
//
// Order, so that neither a crash nor a concurrent reader sees a wrong root:
//  - CreateRoot makes the copy, then the primary (exclusive creates). A copy
//    without its primary is a root being made, or a primary lost: either
//    way the copy is the root.
//  - DeleteRoot deletes the copy, then the primary: a deletion (a removed
//    key slot, a shredded tenant) never leaves a copy behind, so ReadRoot
//    never brings a deleted root back.
//  - ReadRoot reads the primary and, when that fails or `verify` finds it
//    damaged, the copy.
// A RootVerifier returns Ok for good bytes and Corruption for damaged ones;
// any other error (NotSupported for a newer version, InvalidArgument for a
// key file that opens no slot) says the same of both copies and is returned
// as it is.
//
// Thread safety: free functions over a thread-safe Backend.

#ifndef VCSNAP_REPO_ROOTS_H_
#define VCSNAP_REPO_ROOTS_H_

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "backend/backend.h"
#include "util/result.h"

namespace vcsnap {

inline constexpr std::string_view kDittoPrefix = "ditto/";

std::string DittoName(std::string_view name);  // "ditto/" + name

using RootVerifier = std::function<Status(ByteView bytes)>;

// Creates both copies of `name`. AlreadyExists when either exists (an old
// primary without a copy included; a copy this call made for it is deleted
// again, so a copy never differs from its primary).
Status CreateRoot(Backend& backend, std::string_view name, ByteView bytes);

// The bytes of root `name` that `verify` accepts: the primary's, else the
// copy's. NotFound when neither exists; otherwise, when neither verifies,
// the primary's error with the copy's appended.
Result<Bytes> ReadRoot(Backend& backend, std::string_view name,
                       const RootVerifier& verify);

// Whether either copy of `name` exists (a Stat each at most).
Result<bool> RootExists(Backend& backend, std::string_view name);

// Deletes the copy, then the primary. NotFound when neither existed.
Status DeleteRoot(Backend& backend, std::string_view name);

// The roots under `prefix` (e.g. "keys/"): primary names of the objects
// under `prefix` and under "ditto/" + `prefix`, sorted, each once.
Result<std::vector<std::string>> ListRoots(Backend& backend,
                                           std::string_view prefix);

// What InspectRoot found wrong with one root.
struct RootProblem {
  std::string name;     // the primary's name
  std::string problem;  // "ditto/config is missing", "keys/ab..: checksum ..."
  bool repairable = false;  // one copy verifies
  bool repaired = false;    // ... and was written over the other
  std::string Describe() const;
};

// Reads and verifies both copies of `name`. Nothing when both are good (the
// same bytes), when neither exists, or when both fail verification with
// other errors than damage (a newer version: nothing this vcsnap can judge).
// Otherwise the problem; with `repair`, the good copy is written (Put) over
// the damaged, missing or differing one (two copies that verify but differ:
// the primary, which readers use, wins). Errors other than NotFound from
// reading are returned.
Result<std::optional<RootProblem>> InspectRoot(Backend& backend,
                                               std::string_view name,
                                               const RootVerifier& verify,
                                               bool repair);

}  // namespace vcsnap

#endif  // VCSNAP_REPO_ROOTS_H_
