// File: source/dirty_bitmap.h
//
// The changed-block-tracking bitmap of SPEC §2: a raw bit array, bit i (least
// significant bit first within each byte) set when granule i of the image was
// written since the previous backup. The granule is the segment size unless
// given (any power of two from 512 B). A bitmap shorter than the image means
// the rest is dirty; a segment is dirty if any of its granules is.
//
// DirtyBitmap turns such a file into one dirty bit per segment. Parsing checks
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

 private:
  std::vector<uint8_t> dirty_;  // one entry per segment, 0 or 1
};

}  // namespace vcsnap

#endif  // VCSNAP_SOURCE_DIRTY_BITMAP_H_
