// File: recipe/bloom.h
//
// Bloom filters over 8-byte chunk references, for approximate deletion
// (paper §5.3). Cell i of key x is (h1 + i*h2) mod cells with h1, h2 two
// XXH3-64 hashes of x (Kirsch-Mitzenmacher double hashing).
//
//  - BloomBits: one bit per cell; a snapshot's summary of the VM chunks it
//    uses.
//  - BloomView: a BloomBits encoding tested in place, without decoding or
//    copying its bits (forget tests a few candidates against big summaries).
//  - CountingBloom: 4-bit counters, the per-VM state that lets a backup move
//    the summary from the parent to the new snapshot by removing the refs of
//    the old recipes of dirty segments and adding those of the new ones --
//    cost proportional to the dirty segments, not the image. A counter that
//    reaches 15 sticks there (never decremented): it can only make the filter
//    say "maybe present" for longer, never drop a live reference.
//
// Safety rule: these filters may only ever make data be KEPT. A summary whose
// encoding a reader does not know is treated as containing everything.
//
// Thread safety: value types; const methods may be called concurrently.

#ifndef VCSNAP_RECIPE_BLOOM_H_
#define VCSNAP_RECIPE_BLOOM_H_

#include <cstdint>
#include <span>
#include <vector>

#include "util/bytes.h"
#include "util/coding.h"
#include "util/result.h"

namespace vcsnap {

struct BloomParams {
  uint64_t cells = 0;
  uint8_t hashes = 0;
  bool operator==(const BloomParams&) const = default;
  // ~10 cells per expected key and 7 hashes: about 1 % false positives.
  static BloomParams ForKeys(uint64_t keys);
};

class BloomBits {
 public:
  BloomBits() = default;
  explicit BloomBits(BloomParams p);
  static BloomBits ContainsEverything();

  void Add(uint64_t key);
  bool MayContain(uint64_t key) const;

  const BloomParams& params() const { return params_; }
  bool contains_everything() const { return everything_; }

  Bytes Encode() const;  // kind u8 = 1, cells u64, hashes u8, bit bytes
  void EncodeTo(ByteWriter& w) const;  // appends what Encode() returns
  size_t EncodedSize() const;
  // A known encoding, or ContainsEverything() for an unknown kind; Corruption
  // for a known kind whose sizes do not agree.
  static Result<BloomBits> Decode(ByteView bytes);

 private:
  friend class CountingBloom;
  BloomParams params_;
  bool everything_ = false;
  std::vector<uint64_t> words_;
};

// Views the bytes it was parsed from, which must outlive it. A default-
// constructed view is empty (contains nothing).
class BloomView {
 public:
  // Accepts exactly what BloomBits::Decode accepts (an unknown kind is a
  // view that contains everything).
  static Result<BloomView> Parse(ByteView bytes);
  static BloomView ContainsEverything();

  bool MayContain(uint64_t key) const;
  const BloomParams& params() const { return params_; }
  bool contains_everything() const { return everything_; }

 private:
  friend class BloomBits;
  friend class FpEstimator;
  BloomParams params_;
  bool everything_ = false;
  ByteView bits_;  // ceil(cells / 64) little-endian u64 words
};

// The false-positive rate of asking "may any of these filters contain x?":
// same-sized filters are ORed (tight when they share most keys, as a VM's
// snapshots do: the OR is barely fuller than one of them), and groups of
// different sizes combine by the union bound. Filters of 2^16 words (512 KiB)
// or more are sampled, one word in kSampleStride (one cache line in eight):
// ORing every word of every live summary was a sixth of forget's time, and
// the sample still holds >= 2^16 bits (the rate is then an estimate within a
// few percent, not an upper bound).
class FpEstimator {
 public:
  static constexpr size_t kSampleFrom = size_t{1} << 16;  // words
  static constexpr size_t kSampleStride = 64;             // words

  void Add(const BloomView& filter);
  double Rate() const;

 private:
  struct Group {
    BloomParams params;
    size_t stride = 1;  // 1: every word; else every stride-th full word
    std::vector<uint64_t> words;  // the ORed words (sampled)
  };
  std::vector<Group> groups_;
  bool everything_ = false;
};

class CountingBloom {
 public:
  // Room kept in the filter's own buffer before and after its encoding, so
  // that a frame around it (the VM filter's envelope) is written in place:
  // a 4 GiB VM's filter is ~10 MB, and copying it to load or to save it cost
  // a backup that much more peak memory.
  struct Frame {
    size_t before = 0;
    size_t after = 0;
  };

  CountingBloom() = default;
  explicit CountingBloom(BloomParams p);
  CountingBloom(BloomParams p, Frame frame);

  void Add(uint64_t key);
  // REQUIRES: `key` was added (more often than removed).
  void Remove(uint64_t key);
  bool MayContain(uint64_t key) const;
  BloomBits ToBits() const;
  // Appends ToBits().Encode() without building the bits first (the summary
  // a backup writes is a quarter of the counters' size).
  void EncodeBitsTo(ByteWriter& w) const;
  size_t EncodedBitsSize() const;

  const BloomParams& params() const { return params_; }
  uint64_t keys() const { return keys_; }  // adds minus removes

  Bytes Encode() const;  // cells u64, hashes u8, keys u64, packed nibbles
  void EncodeTo(ByteWriter& w) const;  // appends what Encode() returns
  size_t EncodedSize() const;
  static Result<CountingBloom> Decode(ByteView bytes);

  // Decode() without copying the counters: adopts `buffer`, whose bytes
  // [frame.before, size - frame.after) must be an encoding.
  static Result<CountingBloom> DecodeInFrame(Bytes buffer, Frame frame);
  const Frame& frame() const { return frame_; }
  // Writes Encode()'s bytes into their place in the buffer and returns the
  // whole buffer, frame included, for the caller to fill the frame. The span
  // is valid until the filter is next changed or moved.
  std::span<uint8_t> EncodeInFrame();

 private:
  static constexpr size_t kHeaderSize = 17;  // cells, hashes, keys
  uint8_t* counters() { return buffer_.data() + frame_.before + kHeaderSize; }
  const uint8_t* counters() const {
    return buffer_.data() + frame_.before + kHeaderSize;
  }
  size_t counter_bytes() const { return (params_.cells + 1) / 2; }
  size_t bit_words() const { return (params_.cells + 63) / 64; }
  // Word w of ToBits(): a bit per cell of [64w, 64w + 64), set when the
  // cell's counter is not zero.
  uint64_t BitsWord(size_t w) const;
  uint8_t Get(uint64_t cell) const;
  void Set(uint64_t cell, uint8_t v);

  BloomParams params_;
  uint64_t keys_ = 0;
  // frame.before bytes, the encoding (header, then two 4-bit counters per
  // byte), frame.after bytes. The header is written by EncodeInFrame only.
  Bytes buffer_;
  Frame frame_;
};

}  // namespace vcsnap

#endif  // VCSNAP_RECIPE_BLOOM_H_
