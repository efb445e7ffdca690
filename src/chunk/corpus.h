// File: chunk/corpus.h
//
// Benchmark inputs made of REAL content (this machine's own files), for
// chunk_bench: a plain concatenation for speed measurements, and a stand-in
// VM fleet for dedup-ratio measurements while src/fleet (a higher layer that
// chunk may not include) is being written. Not production code.
//
// The stand-in fleet: each VM image is a filesystem-like layout of real files
// (binaries from /usr/lib/x86_64-linux-gnu and /usr/bin, text from
// /usr/include and /usr/share/doc) at 4 KiB-aligned offsets with free space
// between them, and a free tail of zeros. VMs share most "OS" files (in a
// per-VM order) and each has files of its own. Each new version applies a
// daily change of about 2 % of the data: files rewritten with small
// unaligned inserts and deletes (content shifts inside the file), small
// in-place edits (database pages), log growth, new files written into free
// space, and a trimmed (zeroed) range.
//
// Thread safety: none needed (single-threaded benchmark setup).

#ifndef VCSNAP_CHUNK_CORPUS_H_
#define VCSNAP_CHUNK_CORPUS_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "util/bytes.h"

namespace vcsnap::corpus {

// Up to `bytes` of regular files from `dir` (sorted by name, so stable on one
// machine), concatenated. Shorter if the directory holds less.
Bytes ConcatFiles(const std::string& dir, size_t bytes);

struct FleetOptions {
  int vms = 3;
  int versions = 4;               // images per VM, version 0 = full
  size_t image_bytes = 96 << 20;  // per VM
  uint64_t seed = 1;
};

// Calls visit(vm, version, image) for every image of the fleet, VM by VM,
// versions in order. `image` is only valid during the call.
void ForEachFleetImage(
    const FleetOptions& options,
    const std::function<void(int vm, int version, ByteView image)>& visit);

}  // namespace vcsnap::corpus

#endif  // VCSNAP_CHUNK_CORPUS_H_
