// File: chunk/segment.h
//
// Segments and their chunks. An image is cut into fixed segments of
// RepoConfig::segment_size bytes (a power of two, 2 MiB by default); the last
// segment may be short. Chunking restarts at every segment boundary, so a
// segment's chunks depend only on that segment's bytes.
//
// ChunkSegment() turns one segment into chunks with fingerprints. All-zero
// chunks (VM images are 20-45 % zeros) are recognised without hashing and
// marked `zero`: they are stored as holes, never as data. An all-zero
// segment is recognised in one pass and yields the same chunks Split() would
// give it -- chunks of Chunker::ZeroRunChunkLength() bytes, the last one
// short; for both chunkers that is max_chunk() (the gear chunker cuts runs of
// zeros into chunks of max) -- without running the chunker.
//
// Thread safety: pure functions; ChunkSegment() uses per-thread scratch space.

#ifndef VCSNAP_CHUNK_SEGMENT_H_
#define VCSNAP_CHUNK_SEGMENT_H_

#include <cstdint>
#include <vector>

#include "chunk/chunker.h"
#include "chunk/fingerprint.h"
#include "util/bytes.h"

namespace vcsnap {

// Where a segment lies in its image.
struct SegmentExtent {
  uint64_t offset = 0;
  uint32_t length = 0;  // segment_size except for a short last segment
};

// ceil(image_size / segment_size). REQUIRES: segment_size > 0.
uint64_t SegmentCount(uint64_t image_size, uint32_t segment_size);
// Extent of segment `index`. REQUIRES: index < SegmentCount(...).
SegmentExtent SegmentAt(uint64_t image_size, uint32_t segment_size,
                        uint64_t index);

struct ChunkInfo {
  uint32_t offset = 0;  // within the segment
  uint32_t length = 0;
  bool zero = false;    // every byte is zero: a hole, not hashed
  Fingerprint fp{};     // SHA-256 of the bytes; valid iff !zero
  bool reused = false;  // copied from the parent (chunk/reuse.h), not hashed
};

// True iff every byte of `data` is zero (true for empty data). Word-at-a-time
// with an early exit at the first non-zero 256-byte block: runs at memory
// speed on zeros and stops almost at once on ordinary data.
bool IsAllZero(ByteView data);

// The chunk of `segment` at [offset, offset + length): marked zero when all
// its bytes are, else fingerprinted (ChunkFingerprint with `keys`).
// REQUIRES: the range lies inside `segment`.
ChunkInfo DescribeChunk(ByteView segment, uint32_t offset, uint32_t length,
                        const RepoKeys* keys);

// Replaces *out with the chunks of `segment` (one whole segment or the short
// last one) in order: offsets ascending, contiguous, covering the segment.
// Zero chunks are marked and not hashed; every other chunk gets its
// fingerprint (keyed with chunker.fingerprint_keys() when set).
void ChunkSegment(const Chunker& chunker, ByteView segment,
                  std::vector<ChunkInfo>* out);

}  // namespace vcsnap

#endif  // VCSNAP_CHUNK_SEGMENT_H_
