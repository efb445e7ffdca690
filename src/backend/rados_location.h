// File: backend/rados_location.h
//
// The parts of the Ceph RADOS backend that need no cluster: the repository
// location syntax, the layout record, and the door to the backend itself.
// Thread-safe.
//
// The backend (rados_backend.h) is a library of its own, vcsnap_rados, the
// only one linked with librados: a program or test that never opens a
// rados:// location does not load Ceph's libraries (~140 MB of data that
// every process start maps and relocates, and that LeakSanitizer scans at
// every exit). A program that opens rados:// locations either links
// vcsnap_rados and calls EnableRadosBackend() once, before its first
// OpenRadosBackend, or -- the vcsnap program -- calls UseRadosModule() and
// loads the module vcsnap-rados.so on its first rados:// location.
//
// Location. `rados://POOL[/NAMESPACE][?KEY=VALUE&...]` names one repository:
// the objects of RADOS namespace NAMESPACE (default: none, i.e. "") of pool
// POOL. Several repositories can share a pool in different namespaces. Keys:
//   pds_pool=P   objects named "pds/..." (the PDS store and its index) and
//                "ditto/..." (copies of the roots) live in pool P, same
//                namespace, so the PDS can have more replicas than the VM
//                stores (SPEC §1). Recorded at init in the layout
//                record; later opens may omit it or must give the same.
//   conf=PATH    ceph.conf to read (default: librados' own search, which
//                honours $CEPH_CONF, then /etc/ceph/ceph.conf).
//   keyring=PATH overrides the conf's keyring.
//   user=ID      cephx client id, "admin" or "client.admin" (default admin).
//   cluster=NAME cluster name (default "ceph").
//   timeout=S    per-operation timeout in seconds, 1..3600 (default 30):
//                without it, I/O to an unavailable placement group blocks
//                forever; with it, the call fails with a retryable IOError.
// Pool and namespace names are 1..100 bytes of [A-Za-z0-9._-], not starting
// with '.'; values cannot contain '&'; no percent-decoding.
//
// Layout record. The RADOS object `.vcsnap-layout` in POOL/NAMESPACE (a name
// no vcsnap object can have, so it never collides and List hides it) records
// the repository's placement: which pool holds the PDS. Byte layout in
// docs/format/rados-layout.md: an envelope (magic "VRLY", version 1) around
// u16 length + pool name bytes (length 0: the PDS shares POOL).

#ifndef VCSNAP_BACKEND_RADOS_LOCATION_H_
#define VCSNAP_BACKEND_RADOS_LOCATION_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "util/bytes.h"
#include "util/result.h"

namespace vcsnap {

inline constexpr std::string_view kRadosScheme = "rados://";
inline constexpr std::string_view kRadosLayoutObject = ".vcsnap-layout";
// Object names under these prefixes go to the PDS pool: the PDS, and the
// ditto copies of the repository's roots (repo/roots.h), which thus never
// share a placement group with their primaries and get the PDS pool's
// replicas.
inline constexpr std::string_view kRadosPdsPoolPrefixes[] = {"pds/", "ditto/"};
bool InRadosPdsPool(std::string_view name);

struct RadosLocation {
  std::string pool;
  std::string ns;
  std::string pds_pool;  // empty: not given; == pool: no PDS pool of its own
  std::string conf;      // empty: librados default search
  std::string keyring;   // empty: from the conf
  std::string user = "client.admin";
  std::string cluster = "ceph";
  uint32_t timeout_seconds = 30;
};

bool IsRadosLocation(std::string_view location);

// InvalidArgument naming the location and what is wrong with it.
Result<RadosLocation> ParseRadosLocation(std::string_view location);

struct RadosLayout {
  std::string pds_pool;  // empty: the PDS lives in the main pool
};

Bytes EncodeRadosLayout(const RadosLayout& layout);
// Corruption for a damaged record, NotSupported for a newer version.
Result<RadosLayout> DecodeRadosLayout(ByteView bytes);

class Backend;
using RadosOpener = Result<std::unique_ptr<Backend>> (*)(
    const RadosLocation& location, bool create, uint64_t max_object_size);

// Installs the function OpenRadosBackend calls (EnableRadosBackend does).
void SetRadosOpener(RadosOpener opener);

// Makes OpenRadosBackend load the RADOS backend from the module at
// `module` (vcsnap-rados.so, built beside the vcsnap binary) when the first
// rados:// location is opened, so that a program run on a local repository
// never loads Ceph's libraries: with them every start of `vcsnap` took
// ~25 ms more and ~1,000 more page faults. An error (`module` not found),
// or a module that cannot be loaded, makes every open NotSupported with
// that reason.
void UseRadosModule(Result<std::string> module);

// RadosBackend::Open through the installed opener; NotSupported naming the
// location when the program was built without the RADOS backend.
Result<std::unique_ptr<Backend>> OpenRadosBackend(const RadosLocation& location,
                                                  bool create,
                                                  uint64_t max_object_size);

}  // namespace vcsnap

#endif  // VCSNAP_BACKEND_RADOS_LOCATION_H_
