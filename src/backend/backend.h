// File: backend/backend.h
//
// Backend: the object-store-shaped seam between vcsnap and storage. It is the
// only way any other module touches stored bytes. Implementations: a local
// directory (the embedded default), an in-memory store (tests), a
// fault-injecting wrapper (tests), and Ceph RADOS (rados_backend.h) --
// callers never know which.
//
// Model. A backend is one flat namespace of named objects. A name is 1..255
// bytes of [A-Za-z0-9._-] in components separated by '/', no component empty
// or starting with '.'; '/' has no meaning to the interface beyond being a
// character that prefixes can end with (the local backend happens to map it
// to directories). There is no rename and there are no directories. No object
// may exceed max_object_size() (64 MiB by default; RADOS refuses writes past
// 128 MiB): writes that would make one larger fail with InvalidArgument and
// change nothing. Placement policy (e.g. more replicas for the PDS) is a
// property of the backend instance; a repository may open several.
//
// Durability. After these calls return OK their effect is durable (survives a
// crash of the process or machine): Put, Create, Delete. Append is NOT durable
// until a later Sync of the same object returns OK; a crash may drop any
// suffix of the bytes appended since the last Sync (the object may even end up
// with only part of one Append), so readers of appended objects must find
// their own record boundaries (vcsnap's appended formats are checksummed
// records). A failed call may or may not have taken effect, except that Put
// and Create are atomic: a reader sees the old object or the whole new one.
//
// Errors. NotFound when the named object is absent, AlreadyExists for Create
// on an existing name, InvalidArgument for bad names and sizes, IOError
// (retryable() for transient causes) for everything the storage reports.
// Every message names the operation and the object.
//
// Thread safety. Every method may be called concurrently from any number of
// threads. Concurrent calls on distinct objects are independent. On one
// object, Put/Create/Delete are atomic with respect to each other and to
// reads; concurrent Appends to one object from several threads or processes
// are NOT supported (vcsnap guarantees one writer per object by design).

#ifndef VCSNAP_BACKEND_BACKEND_H_
#define VCSNAP_BACKEND_BACKEND_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "util/bytes.h"
#include "util/result.h"
#include "util/status.h"

namespace vcsnap {

inline constexpr uint64_t kDefaultMaxObjectSize = 64ull << 20;
// No backend accepts objects above this (RADOS refuses writes past 128 MiB).
inline constexpr uint64_t kMaxObjectSizeCeiling = 128ull << 20;

struct ObjectInfo {
  std::string name;
  uint64_t size = 0;
};

class Backend {
 public:
  Backend() = default;
  Backend(const Backend&) = delete;
  Backend& operator=(const Backend&) = delete;
  virtual ~Backend() = default;

  // The largest object this backend accepts, in bytes.
  virtual uint64_t max_object_size() const = 0;
  // Lowers max_object_size() to `limit` (never raises it), so that
  // Repository::Open, which reads the config under the ceiling, applies the
  // repository's own limit without connecting again. Not thread-safe: call
  // before the backend is shared. NotSupported where not implemented (the
  // caller opens the backend again).
  virtual Status LowerObjectSizeLimit(uint64_t limit) {
    (void)limit;
    return Status::NotSupported(Describe() + " keeps its object size limit");
  }

  // A short description for messages: "local:/srv/repo", "mem", ...
  virtual std::string Describe() const = 0;

  // Creates or atomically replaces `name` with `data`. Durable on OK.
  virtual Status Put(std::string_view name, ByteView data) = 0;

  // Creates `name` with `data` iff no object of that name exists; otherwise
  // AlreadyExists and nothing changes. Atomic and durable on OK. The building
  // block of leases and of write-once objects.
  virtual Status Create(std::string_view name, ByteView data) = 0;

  // The whole object.
  virtual Result<Bytes> Get(std::string_view name) = 0;

  // The whole object into *out, which a backend may reuse: a caller reading
  // many objects of similar size through one buffer avoids allocating,
  // zero-filling and page-faulting a fresh one each time. On error *out is
  // unspecified. The default calls Get().
  virtual Status GetInto(std::string_view name, Bytes* out) {
    Result<Bytes> r = Get(name);
    if (!r.ok()) return r.status();
    *out = std::move(*r);
    return Status::Ok();
  }

  // Bytes [offset, offset + length) of the object, cut short at its end: the
  // result has min(length, size - offset) bytes, and is empty when offset >=
  // size. Callers that need exactly `length` bytes check the size.
  virtual Result<Bytes> Read(std::string_view name, uint64_t offset,
                             uint64_t length) = 0;

  // Read() into *out, which a backend may reuse as GetInto does (a reader
  // of many ranges through one buffer allocates and zero-fills it once). On
  // error *out is unspecified. The default calls Read().
  virtual Status ReadInto(std::string_view name, uint64_t offset,
                          uint64_t length, Bytes* out) {
    Result<Bytes> r = Read(name, offset, length);
    if (!r.ok()) return r.status();
    *out = std::move(*r);
    return Status::Ok();
  }

  // Appends `data` to `name`, creating it empty first if absent. Not durable
  // until Sync(name); see the file comment for what a crash may leave.
  virtual Status Append(std::string_view name, ByteView data) = 0;

  // Makes every byte appended to `name` so far durable. NotFound if absent.
  virtual Status Sync(std::string_view name) = 0;

  // Removes `name`. NotFound if absent. Durable on OK.
  virtual Status Delete(std::string_view name) = 0;

  virtual Result<ObjectInfo> Stat(std::string_view name) = 0;

  // Every object whose name starts with `prefix` (which need not end at a
  // '/'), sorted by name. Objects created or deleted concurrently may or may
  // not appear.
  virtual Result<std::vector<ObjectInfo>> List(std::string_view prefix) = 0;

  // How many copies of the object `name` (existing or not) the store keeps,
  // for the fault-isolation analysis. NotSupported when the backend cannot
  // tell (a local directory: whatever the file system below does).
  virtual Result<uint32_t> CopiesOf(std::string_view name) {
    return Status::NotSupported(Describe() + " does not report its copies of " +
                                std::string(name));
  }
  // The placement group of the object `name` (existing or not): objects of
  // one group are stored, and lost, together. A number unique in the store
  // (on Ceph: pool ID << 32 | PG). NotSupported when the backend places each
  // object on its own. For the fault-isolation analysis.
  virtual Result<uint64_t> PlacementGroupOf(std::string_view name) {
    return Status::NotSupported(Describe() + " has no placement groups (" +
                                std::string(name) + ")");
  }
};

// True for the bytes an object name component may hold: [A-Za-z0-9._-].
bool IsNameChar(char c);

// OK iff `name` is a valid object name (see the file comment); otherwise
// InvalidArgument saying why.
Status ValidateObjectName(std::string_view name);

// InvalidArgument unless `prefix` is empty or a prefix of some valid name.
Status ValidateObjectPrefix(std::string_view prefix);

// InvalidArgument "<op> <name>: object would be N bytes, over the limit M"
// when new_size > limit.
Status CheckObjectSize(std::string_view op, std::string_view name,
                       uint64_t new_size, uint64_t limit);

// The one errno -> Status mapping of the backends (local, RADOS): ENOENT ->
// NotFound, EEXIST -> AlreadyExists, EAGAIN/EINTR/EBUSY/ETIMEDOUT -> retryable
// IOError, ENAMETOOLONG/EINVAL -> InvalidArgument, everything else (EIO,
// ENOSPC, EDQUOT, EACCES, EROFS, ...) -> IOError. Message: "<op> <what>:
// <strerror>".
Status ErrnoToStatus(std::string_view op, std::string_view what, int err);

}  // namespace vcsnap

#endif  // VCSNAP_BACKEND_BACKEND_H_
