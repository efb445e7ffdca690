// File: source/dirty_bitmap.h
//
// The changed-block-tracking bitmap of SPEC §2: a raw bit array, bit i (least
// significant bit first within each byte) set when granule i of the image was
// written since the previous backup. The granule is the segment size unless
// given (any power of two from 512 B). A bitmap shorter than the image means
// the rest is dirty; a segment is dirty if any of its granules is.
//
// DirtyBitmap turns such a file into one dirty bit per segment and, when the
// granule is finer than a segment, keeps the granules too: DirtyRanges()
// tells which bytes of a dirty segment were written. Parsing checks
// every size before it reads or allocates: a bitmap file longer than the
// image needs is an error (a bitmap of another disk), not silently cut.
//
// Thread safety: a DirtyBitmap is immutable after construction.

#ifndef VCSNAP_SOURCE_DIRTY_BITMAP_H_
#define VCSNAP_SOURCE_DIRTY_BITMAP_H_

#include <cstdint>
#include <string>
#include <vector>

#include "util/bytes.h"
#include "util/result.h"

namespace vcsnap {

// Bytes [begin, end) of a segment, offsets within the segment.
struct DirtyRange {
  uint32_t begin = 0;
  uint32_t end = 0;
  bool operator==(const DirtyRange&) const = default;
};

class DirtyBitmap {
 public:
  // Every segment dirty (no bitmap, or no parent to compare with).
  static DirtyBitmap AllDirty(uint64_t segments);

  // Parses bitmap bytes for an image of `image_size` bytes cut into segments
  // of `segment_size` (a power of two), with granules of `granularity` bytes.
  // InvalidArgument when the granularity is not a power of two >= 512, or the
  // bitmap has more bytes than the image's granules need.
  static Result<DirtyBitmap> Parse(ByteView bits, uint64_t granularity,
                                   uint64_t image_size, uint64_t segment_size);

  // Reads `path` (refusing files larger than the image could need) and
  // parses it. Errors name the file.
  static Result<DirtyBitmap> Load(const std::string& path, uint64_t granularity,
                                  uint64_t image_size, uint64_t segment_size);

  uint64_t segments() const { return dirty_.size(); }
  bool dirty(uint64_t segment) const { return dirty_[segment] != 0; }
  uint64_t dirty_count() const;

  // True when the granule is finer than a segment (DirtyRanges() can be
  // narrower than the whole segment).
  bool fine() const { return !granules_.empty(); }

  // The written bytes of segment `index`, `length` bytes long (the segment's
  // length in the image): ascending, disjoint, non-adjacent ranges, clipped
  // to the segment. Empty for a clean segment; the whole segment when the
  // bitmap is not fine(). REQUIRES: index < segments().
  std::vector<DirtyRange> DirtyRanges(uint64_t index, uint32_t length) const;

 private:
  std::vector<uint8_t> dirty_;  // one entry per segment, 0 or 1
  // fine() only: one bit per granule (granules past the bitmap's end are
  // dirty), and the geometry to map them to segments.
  std::vector<bool> granules_;
  uint64_t granularity_ = 0;
  uint64_t segment_size_ = 0;
};

}  // namespace vcsnap

#endif  // VCSNAP_SOURCE_DIRTY_BITMAP_H_
