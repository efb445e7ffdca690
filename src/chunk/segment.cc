// File: chunk/segment.cc

#include "chunk/segment.h"

#include <algorithm>
#include <cstring>

namespace vcsnap {

uint64_t SegmentCount(uint64_t image_size, uint32_t segment_size) {
  return image_size / segment_size + (image_size % segment_size != 0 ? 1 : 0);
}

SegmentExtent SegmentAt(uint64_t image_size, uint32_t segment_size,
                        uint64_t index) {
  SegmentExtent e;
  e.offset = index * segment_size;
  e.length = static_cast<uint32_t>(
      std::min<uint64_t>(segment_size, image_size - e.offset));
  return e;
}

bool IsAllZero(ByteView data) {
  const uint8_t* p = data.data();
  size_t n = data.size();
  constexpr size_t kBlock = 256;
  while (n >= kBlock) {
    // OR-reduce a block: the compiler vectorizes this loop; one branch per
    // block keeps the early exit cheap.
    uint64_t acc = 0;
    for (size_t i = 0; i < kBlock; i += 8) {
      uint64_t w;
      std::memcpy(&w, p + i, 8);
      acc |= w;
    }
    if (acc != 0) return false;
    p += kBlock;
    n -= kBlock;
  }
  uint8_t acc = 0;
  for (size_t i = 0; i < n; ++i) acc |= p[i];
  return acc == 0;
}

ChunkInfo DescribeChunk(ByteView segment, uint32_t offset, uint32_t length,
                        const RepoKeys* keys) {
  ChunkInfo c;
  c.offset = offset;
  c.length = length;
  ByteView bytes = segment.subspan(offset, length);
  c.zero = IsAllZero(bytes);
  if (!c.zero) c.fp = ChunkFingerprint(keys, bytes);
  return c;
}

void ChunkSegment(const Chunker& chunker, ByteView segment,
                  std::vector<ChunkInfo>* out) {
  out->clear();
  if (segment.empty()) return;
  const uint32_t zero_len = chunker.ZeroRunChunkLength();
  if (zero_len != 0 && IsAllZero(segment)) {
    const uint64_t n = segment.size();
    for (uint64_t off = 0; off < n; off += zero_len) {
      ChunkInfo c;
      c.offset = static_cast<uint32_t>(off);
      c.length = static_cast<uint32_t>(std::min<uint64_t>(zero_len, n - off));
      c.zero = true;
      out->push_back(c);
    }
    return;
  }
  thread_local std::vector<uint32_t> ends;
  ends.clear();
  chunker.Split(segment, &ends);
  out->reserve(ends.size());
  uint32_t start = 0;
  for (uint32_t end : ends) {
    out->push_back(
        DescribeChunk(segment, start, end - start, chunker.fingerprint_keys()));
    start = end;
  }
}

}  // namespace vcsnap
