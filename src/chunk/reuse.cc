// File: chunk/reuse.cc

#include "chunk/reuse.h"

#include <algorithm>
#include <cstddef>

namespace vcsnap {
namespace {

constexpr uint32_t kBlock = 4096;            // unit of loading
constexpr uint32_t kFirstWindow = 16 << 10;  // past a written range

// True when `parent` tiles [0, size) in order.
bool Tiles(const std::vector<ChunkInfo>& parent, size_t size) {
  uint64_t at = 0;
  for (const ChunkInfo& c : parent) {
    if (c.offset != at || c.length == 0) return false;
    at += c.length;
  }
  return at == size;
}

// Which 4 KiB blocks of the segment hold valid bytes; loads the others on
// demand. Without a loader, everything is valid.
class Window {
 public:
  Window(uint32_t n, const SegmentLoader* load, uint64_t* loaded)
      : n_(n), load_(load), loaded_(loaded) {
    if (load_ != nullptr) have_.assign((n + kBlock - 1) / kBlock, false);
  }
  // Blocks the caller loaded already.
  void Preloaded(const std::vector<DirtyRange>& ranges) {
    if (load_ == nullptr) return;
    for (const DirtyRange& r : ranges) {
      for (uint32_t b = r.begin / kBlock;
           b * kBlock < r.end && b < have_.size(); ++b) {
        have_[b] = true;
      }
    }
  }
  Status Ensure(uint32_t begin, uint32_t end) {
    if (load_ == nullptr) return Status::Ok();
    for (uint32_t b = begin / kBlock; b * kBlock < end;) {
      if (have_[b]) {
        ++b;
        continue;
      }
      uint32_t e = b;
      while (e * kBlock < end && !have_[e]) have_[e++] = true;
      const uint32_t from = b * kBlock, to = std::min(n_, e * kBlock);
      VCSNAP_RETURN_IF_ERROR((*load_)(from, to));
      *loaded_ += to - from;
      b = e;
    }
    return Status::Ok();
  }

 private:
  const uint32_t n_;
  const SegmentLoader* const load_;
  uint64_t* const loaded_;
  std::vector<bool> have_;
};

// The parent's last restartable end r >= *r (its chunk index in *rj) with
// r + margin <= d0, scanning from chunk j; *r and *rj stay when none.
void RestartBefore(const std::vector<ChunkInfo>& parent, size_t j, uint64_t d0,
                   uint64_t margin, uint32_t* r, size_t* rj) {
  const size_t m = parent.size();
  for (size_t t = j; t < m; ++t) {
    const uint64_t end = parent[t].offset + parent[t].length;
    if (end + margin > d0) break;
    if (t + 1 == m || !(parent[t].zero && parent[t + 1].zero)) {
      *r = static_cast<uint32_t>(end);
      *rj = t + 1;
    }
  }
}

uint32_t FirstWindowEnd(uint32_t n, const DirtyRange& d) {
  return static_cast<uint32_t>(
      std::min<uint64_t>(n, uint64_t{d.end} + kFirstWindow));
}

Status Reuse(const Chunker& chunker, ByteView segment,
             const std::vector<ChunkInfo>& parent,
             const std::vector<DirtyRange>& dirty, Window& window,
             std::vector<ChunkInfo>* out) {
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
  const uint32_t lookahead = chunker.lookahead();
  const uint64_t margin = uint64_t{lookahead} + 64;
  const uint32_t n = static_cast<uint32_t>(segment.size());
  uint32_t cur = 0;  // an end of both chunkings, restartable in both
  size_t j = 0;      // the parent's chunk that starts at cur
  size_t k = 0;      // the first written range that ends after cur
  while (cur < n) {
    while (k < dirty.size() && dirty[k].end <= cur) ++k;
    if (k == dirty.size()) {
      for (; j < m; ++j) reuse(j);
      return Status::Ok();
    }
    // Copy the parent's chunks up to its last restartable end r with
    // r + margin <= the start of the next written range.
    uint32_t r = cur;
    size_t rj = j;
    RestartBefore(parent, j, dirty[k].begin, margin, &r, &rj);
    for (; j < rj; ++j) reuse(j);
    // Chunk our own bytes from r until an end past written range k that
    // restarts both chunkings. (If it lies inside a later written range, the
    // next round copies nothing before chunking on from it: still exact.)
    // Only ends at least `lookahead` inside the loaded window [r, hi) are
    // known to be right; past that, the window doubles and the round reruns.
    uint32_t hi = FirstWindowEnd(n, dirty[k]);
    const size_t round_start = out->size();
    const size_t round_j = j;
    uint32_t start = r;
    bool synced = false;
    while (true) {
      VCSNAP_RETURN_IF_ERROR(window.Ensure(r, hi));
      bool short_window = false;
      start = r;
      chunker.SplitFrom(segment, r, [&](uint32_t end, bool ours_restartable) {
        if (hi < n && uint64_t{end} + lookahead > hi) {
          short_window = true;
          return false;
        }
        out->push_back(DescribeChunk(segment, start, end - start,
                                     chunker.fingerprint_keys()));
        start = end;
        if (!ours_restartable || end < dirty[k].end) return true;
        while (j < m && end_of(j) < end) ++j;
        if (j == m || end_of(j) != end || !restartable(j)) return true;
        ++j;  // the parent's next chunk starts at end
        synced = true;
        return false;
      });
      if (!short_window) break;
      out->resize(round_start);
      j = round_j;
      hi =
          static_cast<uint32_t>(std::min<uint64_t>(n, uint64_t{hi} + (hi - r)));
    }
    cur = synced ? start : n;
  }
  return Status::Ok();
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
  Window whole(static_cast<uint32_t>(segment.size()), nullptr, nullptr);
  (void)Reuse(chunker, segment, parent, dirty, whole, out);  // cannot fail
}

std::vector<DirtyRange> LoadPlan(const Chunker& chunker, uint32_t size,
                                 const std::vector<ChunkInfo>& parent,
                                 const std::vector<DirtyRange>& dirty) {
  if (!Tiles(parent, size)) return {{0, size}};
  std::vector<DirtyRange> plan;
  const uint64_t margin = uint64_t{chunker.lookahead()} + 64;
  uint32_t r = 0;
  size_t j = 0;
  for (const DirtyRange& d : dirty) {
    RestartBefore(parent, j, d.begin, margin, &r, &j);
    const uint32_t begin = r / kBlock * kBlock;
    const uint32_t end = static_cast<uint32_t>(std::min<uint64_t>(
        size,
        (uint64_t{FirstWindowEnd(size, d)} + kBlock - 1) / kBlock * kBlock));
    if (!plan.empty() && plan.back().end >= begin) {
      plan.back().end = std::max(plan.back().end, end);
    } else {
      plan.push_back({begin, end});
    }
  }
  return plan;
}

Status ChunkSegmentLoading(const Chunker& chunker, ByteView segment,
                           const std::vector<ChunkInfo>& parent,
                           const std::vector<DirtyRange>& dirty,
                           const std::vector<DirtyRange>& preloaded,
                           const SegmentLoader& load,
                           std::vector<ChunkInfo>* out,
                           uint64_t* loaded_bytes) {
  const uint32_t n = static_cast<uint32_t>(segment.size());
  Window window(n, &load, loaded_bytes);
  window.Preloaded(preloaded);
  if (!Tiles(parent, n)) {
    VCSNAP_RETURN_IF_ERROR(window.Ensure(0, n));
    ChunkSegment(chunker, segment, out);
    return Status::Ok();
  }
  return Reuse(chunker, segment, parent, dirty, window, out);
}

}  // namespace vcsnap
