// File: chunk/reuse.h
//
// Sub-segment CBT: chunking a dirty segment of which only some bytes were
// written since its parent was chunked. A CBT bitmap finer than a segment
// (QEMU's granule is 64 KiB) says which bytes those are; every other byte
// equals the parent's. ChunkSegmentReusing() returns exactly what
// ChunkSegment() would -- the same ends, zero flags and fingerprints, so
// recipes and dedup do not depend on the bitmap's granule -- but rolls the
// gear hash and hashes only around the written ranges, and copies the
// parent's chunks elsewhere.
//
// Why the result is exact. Both chunkings start at offset 0 in the same
// state. From a restartable end b (chunk/chunker.h) chunking depends only on
// the bytes from b on, and each end e depends on the bytes up to e +
// lookahead(). So on bytes equal to the parent's, the parent's ends are ours
// up to the last one at least a margin (lookahead + 64) before the next
// written range; from the last restartable one of them (r) we chunk the
// segment's own bytes, through the written range, until one of our ends is
// past it, restartable for us and a restartable end of the parent's chunking
// too. From there both chunkings are again the same function of the same
// bytes, and the parent's chunks are ours until the next written range.
// A parent end is taken as restartable unless a zero chunk lies on both of
// its sides (it may be inside a cut-out run of zeros): conservative, since a
// restart at an earlier end, or a later resynchronisation, is always exact.
//
// The trust is the bitmap's, as for level 1 (clean segments): a byte the
// bitmap calls clean must equal the parent's.
//
// Reading only what is needed. ChunkSegmentLoading() starts from a buffer
// whose bytes are not valid yet and asks a loader for the ranges it chunks:
// each round's start r is known from the parent's chunks alone; the round
// needs [r, its resynchronisation end + lookahead()), which depends on the
// data, so a window past the written range is loaded and doubled while an
// end found is not at least lookahead() inside it (that end could depend on
// bytes not loaded; the round is then chunked again). Copied chunks' bytes
// are never loaded: callers must not read them (they are in the parent).
//
// Thread safety: a pure function; safe from any number of threads.

#ifndef VCSNAP_CHUNK_REUSE_H_
#define VCSNAP_CHUNK_REUSE_H_

#include <cstdint>
#include <functional>
#include <vector>

#include "chunk/chunker.h"
#include "chunk/segment.h"
#include "source/dirty_bitmap.h"
#include "util/bytes.h"
#include "util/status.h"

namespace vcsnap {

// Replaces *out with ChunkSegment(chunker, segment, out)'s result, given that
// `parent` is ChunkSegment()'s result on the parent's bytes of this segment
// (as read back from its recipe: offsets, lengths, zero flags, fingerprints)
// and that every byte outside `dirty` (ascending, disjoint ranges) equals the
// parent's. Chunks copied from `parent` have `reused` set. Falls back to
// ChunkSegment() when `parent` does not tile the segment exactly, or when the
// segment is all zero (then no pass over it is needed anyway).
void ChunkSegmentReusing(const Chunker& chunker, ByteView segment,
                         const std::vector<ChunkInfo>& parent,
                         const std::vector<DirtyRange>& dirty,
                         std::vector<ChunkInfo>* out);

// Puts bytes [begin, end) of the segment into the buffer being chunked;
// begin and end are multiples of 4 KiB or the segment's end.
using SegmentLoader = std::function<Status(uint32_t begin, uint32_t end)>;

// The ranges ChunkSegmentLoading() will most likely load (each round's
// first window; 4 KiB-aligned, ascending, disjoint), for a caller that wants
// to read them ahead, in one batch. Only a hint: the rounds may start later
// or need more.
std::vector<DirtyRange> LoadPlan(const Chunker& chunker, uint32_t size,
                                 const std::vector<ChunkInfo>& parent,
                                 const std::vector<DirtyRange>& dirty);

// ChunkSegmentReusing() on a buffer that holds valid bytes only in
// `preloaded` (ascending, 4 KiB-aligned ranges) and where `load` puts them:
// every byte chunked, hashed or looked at is loaded first, each at most once.
// Adds the bytes loaded to *loaded_bytes. Without a parent that tiles the
// segment, loads it whole and chunks it fully. Returns the loader's first
// error (then *out is unspecified).
Status ChunkSegmentLoading(const Chunker& chunker, ByteView segment,
                           const std::vector<ChunkInfo>& parent,
                           const std::vector<DirtyRange>& dirty,
                           const std::vector<DirtyRange>& preloaded,
                           const SegmentLoader& load,
                           std::vector<ChunkInfo>* out, uint64_t* loaded_bytes);

}  // namespace vcsnap

#endif  // VCSNAP_CHUNK_REUSE_H_
