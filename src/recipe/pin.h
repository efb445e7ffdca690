// File: recipe/pin.h
//
// Snapshot pins, "vm/<vm>/pins/<id>.<tag>": a process that reads a snapshot
// for a long time (`vcsnap serve`) pins it, and forget treats a pinned
// snapshot like a protected one -- an explicit forget is refused, retention
// keeps it -- so no chunk it reads is deleted under it. A pin is a lease
// record (recipe/lease.h: host, pid, command, start, token; envelope bound to
// the pin's name, so the snapshot ID in the name is authenticated), created
// with an exclusive Create under a random tag.
//
// Ordering: PinSnapshot writes the pin while it holds the VM's writer lease
// and has just re-read the catalog; forget reads the pins while it holds the
// same lease. So a forget either finishes before the pin exists (and the pin
// then refuses a snapshot the catalog no longer has) or sees the pin.
//
// Stale pins: a pin whose process is gone from this host is ignored by forget
// and deleted (forget holds the lease); one left on another host is removed
// with UnpinAll(force) (`vcsnap unlock --vm V --pins --force`).
//
// Thread safety: functions over a backend; a returned Lease is used by one
// thread.

#ifndef VCSNAP_RECIPE_PIN_H_
#define VCSNAP_RECIPE_PIN_H_

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "backend/backend.h"
#include "recipe/lease.h"
#include "util/result.h"

namespace vcsnap {

std::string PinPrefix(std::string_view vm);  // "vm/<vm>/pins/"

// Takes the VM's lease (retrying every 0.5 s for up to `wait` while a backup,
// forget or gc holds it), resolves `snapshot` (an ID or "latest") in the
// catalog, creates a pin for it and releases the VM's lease. The returned
// Lease is the pin: releasing it (or destroying it) deletes the pin.
Result<std::unique_ptr<Lease>> PinSnapshot(
    Backend* backend, const std::string& vm, const std::string& snapshot,
    const std::string& command, std::chrono::milliseconds wait, uint32_t* id);

struct PinRecord {
  std::string object;
  uint32_t snapshot = 0;
  bool readable = false;  // false: the record is damaged (counts as held)
  LeaseHolder holder;     // valid iff readable
  // Left by a process that is gone from this host: holds nothing.
  bool stale() const { return readable && holder.DeadOnThisHost(); }
};

// Every pin of `vm`, sorted by name. Corruption for a name that is not a pin
// name.
Result<std::vector<PinRecord>> ListPins(Backend& backend,
                                        const std::string& vm);

// The pins that hold: every pin but those whose process is gone from this
// host, which are deleted when `remove_stale` (callers then hold the VM's
// lease: forget; not its dry run).
Result<std::vector<PinRecord>> LivePins(Backend& backend, const std::string& vm,
                                        bool remove_stale);

// Deletes `vm`'s stale pins (as LivePins), and with `force` every pin.
// Returns the pins deleted. Callers hold the VM's lease.
Result<std::vector<PinRecord>> Unpin(Backend& backend, const std::string& vm,
                                     bool force);

}  // namespace vcsnap

#endif  // VCSNAP_RECIPE_PIN_H_
