// The RADOS backend as a loadable module, vcsnap-rados.so: the vcsnap
// program loads it (UseRadosModule, rados_location.h) only when it opens a
// rados:// location, so Ceph's libraries are not loaded at every start.
// The module carries its own copy of the backend's code; only this entry
// point is visible. The Backend it returns is used through its virtual
// interface, built from the same sources as the program's.

#include "backend/rados_backend.h"

// Returns a pointer to the module's RadosOpener (util/module.h).
extern "C" __attribute__((visibility("default"))) const void*
vcsnap_rados_opener() {
  static const vcsnap::RadosOpener kOpener = &vcsnap::OpenRadosBackendHere;
  return &kOpener;
}
