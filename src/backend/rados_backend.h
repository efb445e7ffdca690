// File: backend/rados_backend.h
//
// RadosBackend: the Backend over Ceph RADOS (librados), for clusters. One
// repository is one RADOS namespace of a pool; objects named "pds/..." go to
// a second pool when the location names one (pds_pool=, see
// rados_location.h), so the PDS can be stored with more replicas than the VM
// stores. A vcsnap object name is used unchanged as the RADOS object name.
//
// Contract (backend.h) and how it is met:
//  - Put:    write_full, one RADOS op: atomic, and acknowledged only once
//            every replica of the placement group has it (durable).
//  - Create: one compound op (exclusive create + write_full): atomic; EEXIST
//            -> AlreadyExists.
//  - Append: stat, check the size limit, append (one writer per object, as
//            the interface requires, so the check cannot race). Appends are
//            durable when acknowledged; Sync only checks existence.
//  - Get:    one compound op (stat + read of the whole object), so the size
//            and the bytes come from one version; a size above the limit is
//            refused before anything is allocated.
//  - List:   lists the namespace (RADOS listing is unordered and costs
//            O(objects in the pool), a known limit), keeps the prefix, stats
//            the survivors with up to 64 requests in flight, sorts. Objects
//            deleted in between are left out.
// The layout record `.vcsnap-layout` (rados_location.h) is written by Open
// with `create` and read by every other Open; it is never listed.
// Every librados error maps through ErrnoToStatus; EFBIG -> InvalidArgument.
// With the location's timeout (default 30 s), an operation on data whose
// placement group is inactive fails with a retryable IOError instead of
// blocking forever.
//
// Buffers: data is copied into librados bufferlists, never lent: an operation
// abandoned by the timeout may still be queued inside librados.
//
// Thread safety: fully thread-safe. librados' IoCtx is safe for concurrent
// I/O; its settings are fixed in Open and never changed afterwards.

#ifndef VCSNAP_BACKEND_RADOS_BACKEND_H_
#define VCSNAP_BACKEND_RADOS_BACKEND_H_

#include <algorithm>
#include <memory>
#include <string>

#include "backend/backend.h"
#include "backend/rados_location.h"

namespace vcsnap {

// Makes OpenRadosBackend (rados_location.h) open RadosBackends. Idempotent,
// thread-safe; call it before the first rados:// location is opened.
void EnableRadosBackend();

// RadosBackend::Open as a RadosOpener (what EnableRadosBackend installs, and
// what the module vcsnap-rados.so hands out, rados_module.cc).
Result<std::unique_ptr<Backend>> OpenRadosBackendHere(
    const RadosLocation& location, bool create, uint64_t max_object_size);

class RadosBackend final : public Backend {
 public:
  // Connects to the cluster and opens the pools. NotFound when a pool does
  // not exist, or (without `create`) when POOL/NAMESPACE holds no layout
  // record; InvalidArgument when the location's pds_pool contradicts the
  // recorded one; IOError (retryable) when the cluster cannot be reached
  // within the timeout. `max_object_size` is capped at 90 MiB, the most one
  // RADOS write may carry (osd_max_write_size).
  static Result<std::unique_ptr<RadosBackend>> Open(
      const RadosLocation& location, bool create, uint64_t max_object_size);

  ~RadosBackend() override;

  uint64_t max_object_size() const override { return max_object_size_; }
  Status LowerObjectSizeLimit(uint64_t limit) override {
    max_object_size_ = std::min(max_object_size_, limit);
    return Status::Ok();
  }
  std::string Describe() const override { return describe_; }
  Status Put(std::string_view name, ByteView data) override;
  Status Create(std::string_view name, ByteView data) override;
  Result<Bytes> Get(std::string_view name) override;
  Status GetInto(std::string_view name, Bytes* out) override;
  Result<Bytes> Read(std::string_view name, uint64_t offset,
                     uint64_t length) override;
  Status Append(std::string_view name, ByteView data) override;
  Status Sync(std::string_view name) override;
  Status Delete(std::string_view name) override;
  Result<ObjectInfo> Stat(std::string_view name) override;
  Result<std::vector<ObjectInfo>> List(std::string_view prefix) override;
  // The `size` of the pool holding `name` (a monitor command). NotSupported
  // for an erasure-coded pool (copies do not describe it).
  Result<uint32_t> CopiesOf(std::string_view name) override;
  // Pool ID << 32 | the PG librados computes for `name` in its pool and
  // namespace (no round trip: from the client's OSD map).
  Result<uint64_t> PlacementGroupOf(std::string_view name) override;

  // The pool holding `name`'s object (tests and fault analysis).
  const std::string& PoolOf(std::string_view name) const;

 private:
  struct Impl;
  RadosBackend(std::unique_ptr<Impl> impl, uint64_t max_object_size,
               std::string describe);

  std::unique_ptr<Impl> impl_;
  uint64_t max_object_size_;  // lowered only before the backend is shared
  const std::string describe_;
};

// The largest object RadosBackend accepts (osd_max_write_size's default).
inline constexpr uint64_t kRadosMaxObjectSize = 90ull << 20;

}  // namespace vcsnap

#endif  // VCSNAP_BACKEND_RADOS_BACKEND_H_
