// File: chunk/reuse.cc

#include "chunk/reuse.h"

#include <cstddef>

namespace vcsnap {
namespace {

// True when `parent` tiles [0, size) in order.
bool Tiles(const std::vector<ChunkInfo>& parent, size_t size) {
  uint64_t at = 0;
  for (const ChunkInfo& c : parent) {
    if (c.offset != at || c.length == 0) return false;
    at += c.length;
  }
  return at == size;
}

}  // namespace

void ChunkSegmentReusing(const Chunker& chunker, ByteView segment,
                         const std::vector<ChunkInfo>& parent,
                         const std::vector<DirtyRange>& dirty,
                         std::vector<ChunkInfo>* out) {
  if (!Tiles(parent, segment.size()) || IsAllZero(segment)) {
    ChunkSegment(chunker, segment, out);
    return;
  }
  out->clear();
  const size_t m = parent.size();
  // The parent's end after chunk t, and whether chunking can restart there.
  auto end_of = [&](size_t t) { return parent[t].offset + parent[t].length; };
  auto restartable = [&](size_t t) {
    return t + 1 == m || !(parent[t].zero && parent[t + 1].zero);
  };
  auto reuse = [&](size_t t) {
    out->push_back(parent[t]);
    out->back().reused = true;
  };
  const uint64_t margin = uint64_t{chunker.lookahead()} + 64;
  const uint32_t n = static_cast<uint32_t>(segment.size());
  uint32_t cur = 0;  // an end of both chunkings, restartable in both
  size_t j = 0;      // the parent's chunk that starts at cur
  size_t k = 0;      // the first written range that ends after cur
  while (cur < n) {
    while (k < dirty.size() && dirty[k].end <= cur) ++k;
    if (k == dirty.size()) {
      for (; j < m; ++j) reuse(j);
      return;
    }
    // Copy the parent's chunks up to its last restartable end r with
    // r + margin <= the start of the next written range.
    const uint64_t d0 = dirty[k].begin;
    uint32_t r = cur;
    size_t rj = j;
    for (size_t t = j; t < m && end_of(t) + margin <= d0; ++t) {
      if (restartable(t)) {
        r = end_of(t);
        rj = t + 1;
      }
    }
    for (; j < rj; ++j) reuse(j);
    // Chunk our own bytes from r until an end past written range k that
    // restarts both chunkings. (If it lies inside a later written range, the
    // next round copies nothing before chunking on from it: still exact.)
    uint32_t start = r;
    bool synced = false;
    chunker.SplitFrom(segment, r, [&](uint32_t end, bool ours_restartable) {
      out->push_back(DescribeChunk(segment, start, end - start));
      start = end;
      if (!ours_restartable || end < dirty[k].end) return true;
      while (j < m && end_of(j) < end) ++j;
      if (j == m || end_of(j) != end || !restartable(j)) return true;
      ++j;  // the parent's next chunk starts at end
      synced = true;
      return false;
    });
    cur = synced ? start : n;
  }
}

}  // namespace vcsnap
