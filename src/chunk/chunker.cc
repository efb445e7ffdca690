// File: chunk/chunker.cc
//
// The gear chunker's cut-point search is the hot loop of a backup: every
// byte of a dirty segment after the minimum size of its chunk passes through
// Scan(). See docs/format/chunking.md for the definition this implements and
// docs/benchmarks/chunking.md for the measurements behind the choices.

#include "chunk/chunker.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <string>

#include "chunk/gear_table.h"

namespace vcsnap {
namespace {

// The gear hash of the window ending just before offset e is
//   H(e) = sum over i = 1 .. min(64, e - chunk_start) of
//          gear[data[e - i]] << (i - 1)            (mod 2^64),
// computed by rolling h = 2h + gear[byte]. End offset e is a cut point when
// the top bits of H(e) selected by `mask` are all zero.
//
// Scan() rolls the bytes p[e - 1] for e = from, from + 1, ... and returns the
// first e < to whose H(e) passes the mask test, or `to` when none does; on
// `to`, *h holds H(to - 1) so that the next region continues the roll.
//
// One byte per step, walking a pointer, unrolled by four: the compiler turns
// 2h + gear[b] into one LEA, so the dependency chain is one cycle per byte
// and the loop runs near the machine's instruction throughput. An index-based
// loop (32-bit offsets) measured up to 2x slower, and FastCDC 2020's
// "two bytes per step" and a variant with the chain split measured no faster
// (docs/benchmarks/chunking.md, BM_Kernel*).
inline uint32_t Scan(const uint8_t* p, uint32_t from, uint32_t to,
                     uint64_t* h_io, uint64_t mask) {
  const uint64_t* gear = kGearTable.data();
  uint64_t h = *h_io;
  const uint8_t* q = p + from - 1;  // the byte rolled in for end offset e
  const uint8_t* const last = p + to - 1;
  auto end_of = [p](const uint8_t* byte) {
    return static_cast<uint32_t>(byte - p) + 1;
  };
  for (; q + 4 <= last; q += 4) {
    h = (h << 1) + gear[q[0]];
    if ((h & mask) == 0) return end_of(q);
    h = (h << 1) + gear[q[1]];
    if ((h & mask) == 0) return end_of(q + 1);
    h = (h << 1) + gear[q[2]];
    if ((h & mask) == 0) return end_of(q + 2);
    h = (h << 1) + gear[q[3]];
    if ((h & mask) == 0) return end_of(q + 3);
  }
  for (; q < last; ++q) {
    h = (h << 1) + gear[*q];
    if ((h & mask) == 0) return end_of(q);
  }
  *h_io = h;
  return to;
}

inline bool Block64IsZero(const uint8_t* p) {
  uint64_t acc = 0;
  for (int i = 0; i < 64; i += 8) {
    uint64_t w;
    std::memcpy(&w, p + i, 8);
    acc |= w;
  }
  return acc == 0;
}

// Finds the first maximal run of >= min_run (>= 128) zero bytes within
// p[from, n); the caller passes 0 or the end of the previous run, which is a
// non-zero byte or n, so runs found are maximal in the buffer. Every such run
// contains a whole 64-byte block at an offset that is a multiple of 64 (a run
// [a, a + 128) contains [ceil64(a), ceil64(a) + 64)), so only those blocks are
// tested and a hit is extended byte-exact both ways. Testing a block's first
// word before the whole block makes the search cost one load per 64 bytes of
// ordinary data.
bool FindZeroRun(const uint8_t* p, uint32_t from, uint32_t n, uint32_t min_run,
                 uint32_t* zs, uint32_t* ze) {
  uint32_t b = (from + 63) & ~uint32_t{63};
  while (b + 64 <= n) {
    uint64_t first;
    std::memcpy(&first, p + b, 8);
    if (first != 0 || !Block64IsZero(p + b)) {
      b += 64;
      continue;
    }
    uint32_t s = b;
    while (s > from && p[s - 1] == 0) --s;
    uint32_t e = b + 64;
    while (e + 64 <= n && Block64IsZero(p + e)) e += 64;
    while (e < n && p[e] == 0) ++e;
    if (e - s >= min_run) {
      *zs = s;
      *ze = e;
      return true;
    }
    b = (e + 63) & ~uint32_t{63};
  }
  return false;
}

class GearChunker final : public Chunker {
 public:
  explicit GearChunker(const GearParams& params)
      : min_(params.min),
        avg_(params.avg),
        max_(params.max),
        zero_run_min_(params.zero_run_min) {
    const int bits = std::countr_zero(avg_);  // log2(avg)
    // Normalized chunking, level 2: two more mask bits than log2(avg) before
    // the normal point, two fewer after it. Masks select the TOP bits, which
    // depend on the whole 64-byte window.
    mask_s_ = ~uint64_t{0} << (64 - (bits + 2));
    mask_l_ = ~uint64_t{0} << (64 - (bits - 2));
    // ZeroRunChunkLength() promises what Split() does on zeros of any length;
    // check it rather than assume it of the table (it holds for min >= 64).
    zero_run_ = max_;
    std::vector<uint32_t> ends;
    for (uint32_t len : {uint32_t{1}, uint32_t{63}, uint32_t{64}, uint32_t{127},
                         uint32_t{128}, max_, 2 * max_ + 5}) {
      if (len > max_ && len > 2 * max_ + 5) continue;
      ends.clear();
      const std::vector<uint8_t> zeros(len, 0);
      Split(zeros, &ends);
      for (size_t i = 0; i < ends.size(); ++i) {
        const uint32_t want = std::min<uint32_t>(len, (i + 1) * max_);
        if (ends[i] != want) zero_run_ = 0;
      }
    }
  }

  void Split(ByteView data, std::vector<uint32_t>* ends) const override {
    Run(data, 0, [ends](uint32_t end, bool) {
      ends->push_back(end);
      return true;
    });
  }

  void SplitFrom(ByteView data, uint32_t from,
                 const EndVisitor& visit) const override {
    Run(data, from, visit);
  }

  // A run of zeros is cut out only once it reaches zero_run_min_ bytes, so
  // whether one starts before a chunk's end is decided by at most that many
  // bytes past the end.
  uint32_t lookahead() const override { return zero_run_min_; }

  uint32_t ZeroRunChunkLength() const override { return zero_run_; }
  uint32_t max_chunk() const override { return max_; }

 private:
  // Split() and SplitFrom(): visit(end, restartable) for each end of the
  // chunks of data[from, size), stopping when it returns false. Every end is
  // restartable but those strictly inside a cut-out run of zeros: a fresh
  // start there would see a shorter run (possibly too short to cut out).
  template <typename Visit>
  void Run(ByteView data, uint32_t from, const Visit& visit) const {
    const uint8_t* p = data.data();
    const uint32_t n = static_cast<uint32_t>(data.size());
    uint32_t pos = from;
    while (pos < n) {
      uint32_t zs = n, ze = n;
      if (zero_run_min_ == 0 ||
          !FindZeroRun(p, pos, n, zero_run_min_, &zs, &ze)) {
        zs = ze = n;
      }
      for (uint32_t start = pos; start < zs;) {
        start += CutPoint(p + start, zs - start);
        if (!visit(start, true)) return;
      }
      for (uint32_t start = zs; start < ze;) {
        start += std::min(max_, ze - start);
        if (!visit(start, start == ze)) return;
      }
      pos = ze;
    }
  }

  // Length of the chunk starting at p, of n >= 1 remaining bytes.
  uint32_t CutPoint(const uint8_t* p, uint32_t n) const {
    if (n <= min_) return n;
    const uint32_t limit = std::min(n, max_);
    const uint32_t normal = std::min(avg_, limit);
    // Cut-point skipping: ends below min are never tested, and only the 64
    // bytes before the first tested end are rolled (the window's length).
    uint64_t h = 0;
    const uint32_t warm = min_ > 64 ? min_ - 64 : 0;
    for (const uint8_t* q = p + warm; q + 1 < p + min_; ++q) {
      h = (h << 1) + kGearTable[*q];
    }
    uint32_t e = Scan(p, min_, normal, &h, mask_s_);
    if (e < normal) return e;
    e = Scan(p, std::max(normal, min_), limit, &h, mask_l_);
    return e;  // == limit when no cut point was found
  }

  const uint32_t min_, avg_, max_;
  const uint32_t zero_run_min_;  // 0: off
  uint64_t mask_s_ = 0, mask_l_ = 0;
  uint32_t zero_run_ = 0;
};

class FixedChunker final : public Chunker {
 public:
  explicit FixedChunker(uint32_t size) : size_(size) {}

  void Split(ByteView data, std::vector<uint32_t>* ends) const override {
    const uint64_t n = data.size();
    for (uint64_t end = size_; end < n + size_; end += size_) {
      ends->push_back(static_cast<uint32_t>(std::min(end, n)));
    }
  }
  void SplitFrom(ByteView data, uint32_t from,
                 const EndVisitor& visit) const override {
    const uint64_t n = data.size();
    for (uint64_t end = uint64_t{from} + size_; end < n + size_; end += size_) {
      if (!visit(static_cast<uint32_t>(std::min(end, n)), true)) return;
    }
  }

  uint32_t ZeroRunChunkLength() const override { return size_; }
  uint32_t max_chunk() const override { return size_; }

 private:
  const uint32_t size_;
};

}  // namespace

Result<std::unique_ptr<Chunker>> MakeGearChunker(uint32_t min, uint32_t avg,
                                                 uint32_t max) {
  return MakeGearChunker(GearParams{min, avg, max});
}

Result<std::unique_ptr<Chunker>> MakeGearChunker(const GearParams& params) {
  const uint32_t min = params.min, avg = params.avg, max = params.max;
  if (avg < 256 || avg > (1u << 24) || !std::has_single_bit(avg)) {
    return Status::InvalidArgument("gear chunker: average " +
                                   std::to_string(avg) +
                                   " must be a power of two from 256 to 16MiB");
  }
  if (params.zero_run_min != 0 && params.zero_run_min < 128) {
    return Status::InvalidArgument("gear chunker: zero-run threshold " +
                                   std::to_string(params.zero_run_min) +
                                   " must be 0 or at least 128");
  }
  if (min == 0 || min > avg || max < avg || max >= (1u << 31)) {
    return Status::InvalidArgument(
        "gear chunker: sizes must satisfy 0 < min <= avg <= max < 2GiB (got " +
        std::to_string(min) + "/" + std::to_string(avg) + "/" +
        std::to_string(max) + ")");
  }
  return std::unique_ptr<Chunker>(new GearChunker(params));
}

Result<std::unique_ptr<Chunker>> MakeFixedChunker(uint32_t size) {
  if (size == 0 || size >= (1u << 31)) {
    return Status::InvalidArgument("fixed chunker: size " +
                                   std::to_string(size) +
                                   " must be from 1 to 2GiB-1");
  }
  return std::unique_ptr<Chunker>(new FixedChunker(size));
}

Result<std::unique_ptr<Chunker>> MakeChunker(const RepoConfig& config) {
  Status s = config.Validate();
  if (!s.ok()) return s;
  if (config.encrypted() && config.keys == nullptr) {
    return Status::InvalidArgument(
        "the repository is encrypted and its key was not given");
  }
  Result<std::unique_ptr<Chunker>> c =
      config.chunker == ChunkerKind::kGear
          ? MakeGearChunker(config.chunk_min, config.chunk_avg,
                            config.chunk_max)
          : MakeFixedChunker(config.chunk_avg);
  if (c.ok()) (*c)->set_fingerprint_keys(config.keys);
  return c;
}

}  // namespace vcsnap
