// File: recipe/lease.h
//
// The per-VM writer lease, "vm/<vm>/lease": one process at a time may change
// a VM's data (backup, forget, gc of that VM). Acquired with the backend's
// exclusive Create, so of two contenders exactly one wins; the loser gets
// Busy naming the holder (command, pid, host, start time, and whether that
// process still runs when it is on this host). The lease holds a random token;
// the holder re-checks it (Verify) right before committing, so a lease broken
// under a running writer stops that writer from committing.
//
// A lease left by a crashed process stays until broken explicitly
// (`vcsnap unlock --vm V`): BreakLease removes it when its process is gone
// from this host or it is older than `stale_after`, and with `force` always.
// Envelope magic "VLSE", JSON body; docs/format/recipes.md.
//
// Thread safety: a Lease object is used by one thread.

#ifndef VCSNAP_RECIPE_LEASE_H_
#define VCSNAP_RECIPE_LEASE_H_

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "backend/backend.h"
#include "util/result.h"

namespace vcsnap {

struct LeaseHolder {
  std::string host;
  int64_t pid = 0;
  std::string command;
  uint64_t started_unix = 0;
  std::string token;

  // "backup (pid 42 on host h1 since 2026-11-21 10:00:00 UTC)".
  std::string Describe() const;
  // True when the holder is on this host and its process no longer exists.
  bool DeadOnThisHost() const;
};

class Lease {
 public:
  // Takes the lease of `vm` for `command`. Busy if someone holds it.
  static Result<std::unique_ptr<Lease>> Acquire(Backend* backend,
                                                const std::string& vm,
                                                const std::string& command);
  // The same for any lease object: `label` names what it protects in
  // messages ("the PDS"), `unlock_hint` says how to break it.
  static Result<std::unique_ptr<Lease>> AcquireObject(
      Backend* backend, const std::string& object, const std::string& label,
      const std::string& unlock_hint, const std::string& command);
  ~Lease();  // releases (best effort) unless already released
  Lease(const Lease&) = delete;
  Lease& operator=(const Lease&) = delete;

  // OK iff the stored lease is still this one. Busy otherwise.
  Status Verify();
  // Deletes the lease object. Idempotent.
  Status Release();

 private:
  Lease(Backend* backend, std::string object, std::string label,
        LeaseHolder holder)
      : backend_(backend),
        object_(std::move(object)),
        label_(std::move(label)),
        holder_(std::move(holder)) {}

  Backend* const backend_;
  const std::string object_;
  const std::string label_;
  const LeaseHolder holder_;
  bool released_ = false;
};

// `digits` random lowercase hex digits (lease tokens, pin tags).
std::string RandomHex(size_t digits);

// The current holder of `vm`'s lease; NotFound if none.
Result<LeaseHolder> ReadLease(Backend& backend, const std::string& vm);
// The same for any lease object.
Result<LeaseHolder> ReadLeaseObject(Backend& backend,
                                    const std::string& object);

// Removes a stale lease (see the file comment); Busy when the holder still
// looks alive and `force` is false; NotFound when there is no lease. Returns
// the holder that was removed.
Result<LeaseHolder> BreakLease(
    Backend& backend, const std::string& vm, bool force,
    std::chrono::seconds stale_after = std::chrono::hours(24));

// The same for any lease object; `what` names it in messages.
Result<LeaseHolder> BreakLeaseObject(
    Backend& backend, const std::string& object, const std::string& what,
    bool force, std::chrono::seconds stale_after = std::chrono::hours(24));

}  // namespace vcsnap

#endif  // VCSNAP_RECIPE_LEASE_H_
