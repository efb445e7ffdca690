// NBD sources as a loadable module, vcsnap-nbd.so: the vcsnap program loads
// it (UseNbdModule, source/image_source.h) only when it opens an NBD URI or
// a qcow2 image, so libnbd and what it links (GnuTLS, libxml2, ICU) are not
// loaded at every start. The module carries its own copy of the source
// code; only this entry point is visible.

#include "source/nbd_image.h"

// Returns a pointer to the module's NbdOpeners (util/module.h).
extern "C" __attribute__((visibility("default"))) const void*
vcsnap_nbd_openers() {
  return &vcsnap::NbdOpenersHere();
}
