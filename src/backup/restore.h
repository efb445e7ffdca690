// File: backup/restore.h
//
// RunRestore: rebuilds a snapshot's raw image, byte-exact. Zero segments and
// zero chunks are not written (the output is sparse); every other chunk is
// fetched by reference -- VM chunks from the VM's store (whose groups carry
// location-bound checksums, read with cache and sequential prefetch), PDS
// chunks through `pds` -- its length checked against the recipe and, with
// `verify`, its SHA-256 against the fingerprint. Several workers take
// segments in order, so groups are decompressed in parallel while reads stay
// near-sequential.
//
// The image is written to "<output>.vcsnap-partial" and renamed to <output>
// only when complete and synced: a failed restore never leaves a plausible
// but wrong file at <output>. An existing <output> is replaced only with
// `force`. Every error names the VM, snapshot, segment and image offset.
//
// Thread safety: concurrent restores are independent; a restore may run
// while a backup of the same VM writes (it reads only committed objects).

#ifndef VCSNAP_BACKUP_RESTORE_H_
#define VCSNAP_BACKUP_RESTORE_H_

#include <cstdint>
#include <functional>
#include <string>

#include "repo/repository.h"
#include "store/refs.h"

namespace vcsnap {

struct RestoreOptions {
  std::string vm;
  std::string snapshot;  // an ID or "latest"
  std::string output;
  bool verify = false;
  bool force = false;
  unsigned threads = 0;  // 0: all cores
  bool progress = false;
  // Fetches a PDS chunk; null when no PDS store is available.
  std::function<Result<Bytes>(const PdsRef&)> pds;
};

struct RestoreResult {
  std::string vm;
  uint32_t snapshot = 0;
  uint64_t image_size = 0;
  uint64_t bytes_written = 0;  // non-hole bytes
  uint64_t chunks = 0;
  uint64_t chunks_verified = 0;
  double seconds = 0;
  uint64_t peak_rss_bytes = 0;
};

Result<RestoreResult> RunRestore(Repository& repo,
                                 const RestoreOptions& options);

}  // namespace vcsnap

#endif  // VCSNAP_BACKUP_RESTORE_H_
