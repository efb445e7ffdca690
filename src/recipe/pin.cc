#include "recipe/pin.h"

#include <charconv>
#include <thread>

#include "recipe/catalog.h"
#include "recipe/names.h"

namespace vcsnap {
namespace {

// "<id>.<tag>" -> id.
Result<uint32_t> ParsePinName(std::string_view rest, const std::string& name) {
  const size_t dot = rest.find('.');
  uint32_t id = 0;
  const char* end = rest.data() + (dot == std::string_view::npos ? 0 : dot);
  auto [p, ec] = std::from_chars(rest.data(), end, id);
  if (dot == std::string_view::npos || dot == 0 || ec != std::errc() ||
      p != end || dot + 1 >= rest.size()) {
    return Status::Corruption("object " + name + " is not a pin");
  }
  return id;
}

Status DeletePin(Backend& backend, const PinRecord& p) {
  Status s = backend.Delete(p.object);
  return s.IsNotFound() ? Status::Ok() : s;
}

}  // namespace

std::string PinPrefix(std::string_view vm) { return VmPrefix(vm) + "pins/"; }

Result<std::unique_ptr<Lease>> PinSnapshot(
    Backend* backend, const std::string& vm, const std::string& snapshot,
    const std::string& command, std::chrono::milliseconds wait, uint32_t* id) {
  VCSNAP_RETURN_IF_ERROR(ValidateVmName(vm));
  const auto deadline = std::chrono::steady_clock::now() + wait;
  Result<std::unique_ptr<Lease>> lease = Status::Busy("");
  while (true) {
    lease = Lease::Acquire(backend, vm, command);
    if (lease.ok() || lease.status().code() != StatusCode::kBusy ||
        std::chrono::steady_clock::now() >= deadline) {
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  if (!lease.ok()) return lease.status();
  VCSNAP_ASSIGN_OR_RETURN(Catalog catalog, LoadCatalog(*backend, vm));
  VCSNAP_ASSIGN_OR_RETURN(*id, ResolveSnapshotId(catalog, vm, snapshot));
  const std::string object =
      PinPrefix(vm) + std::to_string(*id) + "." + RandomHex(16);
  VCSNAP_ASSIGN_OR_RETURN(
      std::unique_ptr<Lease> pin,
      Lease::AcquireObject(backend, object,
                           "VM " + vm + " snapshot " + std::to_string(*id),
                           "vcsnap unlock --vm " + vm + " --pins", command));
  VCSNAP_RETURN_IF_ERROR((*lease)->Release());
  return pin;
}

Result<std::vector<PinRecord>> ListPins(Backend& backend,
                                        const std::string& vm) {
  const std::string prefix = PinPrefix(vm);
  VCSNAP_ASSIGN_OR_RETURN(std::vector<ObjectInfo> objects,
                          backend.List(prefix));
  std::vector<PinRecord> out;
  for (const ObjectInfo& o : objects) {
    PinRecord r;
    r.object = o.name;
    VCSNAP_ASSIGN_OR_RETURN(
        r.snapshot,
        ParsePinName(std::string_view(o.name).substr(prefix.size()), o.name));
    Result<LeaseHolder> h = ReadLeaseObject(backend, o.name);
    if (h.ok()) {
      r.readable = true;
      r.holder = *h;
    } else if (h.status().IsNotFound()) {
      continue;  // released meanwhile
    } else if (!h.status().IsCorruption()) {
      return h.status();
    }
    out.push_back(std::move(r));
  }
  return out;
}

Result<std::vector<PinRecord>> LivePins(Backend& backend, const std::string& vm,
                                        bool remove_stale) {
  VCSNAP_ASSIGN_OR_RETURN(std::vector<PinRecord> pins, ListPins(backend, vm));
  std::vector<PinRecord> live;
  for (PinRecord& p : pins) {
    if (!p.stale()) {
      live.push_back(std::move(p));
    } else if (remove_stale) {
      VCSNAP_RETURN_IF_ERROR(DeletePin(backend, p));
    }
  }
  return live;
}

Result<std::vector<PinRecord>> Unpin(Backend& backend, const std::string& vm,
                                     bool force) {
  VCSNAP_ASSIGN_OR_RETURN(std::vector<PinRecord> pins, ListPins(backend, vm));
  std::vector<PinRecord> removed;
  for (PinRecord& p : pins) {
    if (!force && !p.stale()) continue;
    VCSNAP_RETURN_IF_ERROR(DeletePin(backend, p));
    removed.push_back(std::move(p));
  }
  return removed;
}

}  // namespace vcsnap
