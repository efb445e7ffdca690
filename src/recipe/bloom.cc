#include "recipe/bloom.h"

#include <xxhash.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>

#include "util/coding.h"

namespace vcsnap {
namespace {

constexpr uint8_t kBitsKind = 1;
constexpr uint64_t kSeed1 = 0x76637370626c6f31ull;  // DO NOT CHANGE
constexpr uint64_t kSeed2 = 0x76637370626c6f32ull;  // DO NOT CHANGE
constexpr uint64_t kMaxCells = 1ull << 36;

// True when `f` holds for every cell of `key`; stops at the first that
// does not.
template <typename F>
bool AllCells(const BloomParams& p, uint64_t key, F&& f) {
  const uint64_t h1 = XXH3_64bits_withSeed(&key, sizeof(key), kSeed1);
  const uint64_t h2 = XXH3_64bits_withSeed(&key, sizeof(key), kSeed2) | 1;
  for (uint8_t i = 0; i < p.hashes; ++i) {
    if (!f((h1 + i * h2) % p.cells)) return false;
  }
  return true;
}

template <typename F>
void ForEachCell(const BloomParams& p, uint64_t key, F&& f) {
  AllCells(p, key, [&](uint64_t c) {
    f(c);
    return true;
  });
}

}  // namespace

BloomParams BloomParams::ForKeys(uint64_t keys) {
  return BloomParams{std::max<uint64_t>(1024, keys * 10), 7};
}

// --- BloomBits ---

BloomBits::BloomBits(BloomParams p)
    : params_(p), words_((p.cells + 63) / 64, 0) {}

BloomBits BloomBits::ContainsEverything() {
  BloomBits b;
  b.everything_ = true;
  return b;
}

void BloomBits::Add(uint64_t key) {
  if (everything_) return;
  ForEachCell(params_, key,
              [&](uint64_t c) { words_[c / 64] |= 1ull << (c % 64); });
}

bool BloomBits::MayContain(uint64_t key) const {
  if (everything_) return true;
  if (params_.cells == 0) return false;
  return AllCells(params_, key,
                  [&](uint64_t c) { return (words_[c / 64] >> (c % 64)) & 1; });
}

Bytes BloomBits::Encode() const {
  Bytes out;
  ByteWriter w(&out);
  EncodeTo(w);
  return out;
}

size_t BloomBits::EncodedSize() const { return 10 + 8 * words_.size(); }

void BloomBits::EncodeTo(ByteWriter& w) const {
  w.Reserve(EncodedSize());
  w.U8(everything_ ? 0xff : kBitsKind);
  w.U64(params_.cells);
  w.U8(params_.hashes);
  w.U64s(words_);
}

Result<BloomBits> BloomBits::Decode(ByteView bytes) {
  VCSNAP_ASSIGN_OR_RETURN(BloomView view, BloomView::Parse(bytes));
  if (view.contains_everything()) return ContainsEverything();
  BloomBits b(view.params());
  for (size_t i = 0; i < b.words_.size(); ++i) {
    b.words_[i] = DecodeFixed64(view.bits_.data() + 8 * i);
  }
  return b;
}

// --- BloomView ---

Result<BloomView> BloomView::Parse(ByteView bytes) {
  ByteReader r(bytes, "Bloom summary");
  VCSNAP_ASSIGN_OR_RETURN(uint8_t kind, r.U8("kind"));
  if (kind != kBitsKind) return ContainsEverything();  // unknown: keep all
  BloomView v;
  VCSNAP_ASSIGN_OR_RETURN(v.params_.cells, r.U64("cells"));
  VCSNAP_ASSIGN_OR_RETURN(v.params_.hashes, r.U8("hashes"));
  const BloomParams& p = v.params_;
  if (p.cells == 0 || p.cells > kMaxCells || p.hashes == 0 || p.hashes > 32 ||
      r.remaining() != (p.cells + 63) / 64 * 8) {
    return Status::Corruption("Bloom summary: sizes do not agree");
  }
  VCSNAP_ASSIGN_OR_RETURN(v.bits_, r.Raw(r.remaining(), "bits"));
  return v;
}

BloomView BloomView::ContainsEverything() {
  BloomView v;
  v.everything_ = true;
  return v;
}

bool BloomView::MayContain(uint64_t key) const {
  if (everything_) return true;
  if (params_.cells == 0) return false;  // default-constructed: empty
  // Cell c is bit c % 64 of little-endian word c / 64: bit c % 8 of byte
  // c / 8.
  return AllCells(params_, key,
                  [&](uint64_t c) { return (bits_[c / 8] >> (c % 8)) & 1; });
}

// --- FpEstimator ---

void FpEstimator::Add(const BloomView& f) {
  if (f.everything_) {
    everything_ = true;
    return;
  }
  if (f.params_.cells == 0) return;  // empty: no false positives
  auto g = std::find_if(groups_.begin(), groups_.end(),
                        [&](const Group& x) { return x.params == f.params_; });
  if (g == groups_.end()) {
    const size_t words = f.bits_.size() / 8;
    Group group{f.params_, 1, {}};
    if (words >= kSampleFrom) {
      // Only whole words are sampled: the last one may be partly padding.
      group.stride = kSampleStride;
      const size_t full = f.params_.cells / 64;
      group.words.assign((full + kSampleStride - 1) / kSampleStride, 0);
    } else {
      group.words.assign(words, 0);
    }
    groups_.push_back(std::move(group));
    g = groups_.end() - 1;
  }
  const uint8_t* bits = f.bits_.data();
  for (size_t i = 0; i < g->words.size(); ++i) {
    g->words[i] |= DecodeFixed64(bits + 8 * i * g->stride);
  }
}

double FpEstimator::Rate() const {
  if (everything_) return 1;
  double none = 1;  // chance that no group gives a false positive
  for (const Group& g : groups_) {
    uint64_t set = 0;
    for (uint64_t w : g.words) set += std::popcount(w);
    const uint64_t cells = g.stride == 1 ? g.params.cells : 64 * g.words.size();
    const double fill = static_cast<double>(set) / static_cast<double>(cells);
    none *= 1 - std::pow(fill, g.params.hashes);
  }
  return 1 - none;
}

// --- CountingBloom ---

CountingBloom::CountingBloom(BloomParams p) : CountingBloom(p, Frame{}) {}

CountingBloom::CountingBloom(BloomParams p, Frame frame)
    : params_(p),
      buffer_(frame.before + kHeaderSize + (p.cells + 1) / 2 + frame.after, 0),
      frame_(frame) {}

uint8_t CountingBloom::Get(uint64_t c) const {
  return (counters()[c / 2] >> ((c % 2) * 4)) & 0xf;
}

void CountingBloom::Set(uint64_t c, uint8_t v) {
  uint8_t& b = counters()[c / 2];
  const int shift = (c % 2) * 4;
  b = static_cast<uint8_t>((b & ~(0xf << shift)) | (v << shift));
}

void CountingBloom::Add(uint64_t key) {
  ++keys_;
  ForEachCell(params_, key, [&](uint64_t c) {
    uint8_t v = Get(c);
    if (v < 15) Set(c, v + 1);
  });
}

void CountingBloom::Remove(uint64_t key) {
  if (keys_ > 0) --keys_;
  ForEachCell(params_, key, [&](uint64_t c) {
    uint8_t v = Get(c);
    if (v > 0 && v < 15) Set(c, v - 1);  // 15 is sticky: never decremented
  });
}

bool CountingBloom::MayContain(uint64_t key) const {
  return AllCells(params_, key, [&](uint64_t c) { return Get(c) > 0; });
}

uint64_t CountingBloom::BitsWord(size_t w) const {
  // Word w holds cells [64w, 64w + 64): nibble bytes [32w, 32w + 32), two
  // cells each (low nibble first). Most bytes of a sparse filter are zero.
  const uint8_t* nibbles = counters();
  const size_t n = counter_bytes();
  uint64_t bits = 0;
  for (size_t j = 0, i = 32 * w; j < 32 && i < n; ++j, ++i) {
    const uint8_t v = nibbles[i];
    if (v == 0) continue;
    bits |= uint64_t{(v & 0x0f) != 0} << (2 * j);
    bits |= uint64_t{(v & 0xf0) != 0} << (2 * j + 1);
  }
  return bits;
}

BloomBits CountingBloom::ToBits() const {
  BloomBits b(params_);
  for (size_t w = 0; w < b.words_.size(); ++w) b.words_[w] = BitsWord(w);
  return b;
}

size_t CountingBloom::EncodedBitsSize() const { return 10 + 8 * bit_words(); }

void CountingBloom::EncodeBitsTo(ByteWriter& w) const {
  w.Reserve(EncodedBitsSize());
  w.U8(kBitsKind);
  w.U64(params_.cells);
  w.U8(params_.hashes);
  std::array<uint64_t, 256> batch;
  for (size_t from = 0; from < bit_words(); from += batch.size()) {
    const size_t n = std::min(batch.size(), bit_words() - from);
    for (size_t i = 0; i < n; ++i) batch[i] = BitsWord(from + i);
    w.U64s(std::span<const uint64_t>(batch.data(), n));
  }
}

Bytes CountingBloom::Encode() const {
  Bytes out;
  ByteWriter w(&out);
  EncodeTo(w);
  return out;
}

size_t CountingBloom::EncodedSize() const {
  return kHeaderSize + counter_bytes();
}

void CountingBloom::EncodeTo(ByteWriter& w) const {
  w.Reserve(EncodedSize());
  w.U64(params_.cells);
  w.U8(params_.hashes);
  w.U64(keys_);
  w.Raw(ByteView(counters(), counter_bytes()));
}

Result<CountingBloom> CountingBloom::Decode(ByteView bytes) {
  return DecodeInFrame(Bytes(bytes.begin(), bytes.end()), Frame{});
}

Result<CountingBloom> CountingBloom::DecodeInFrame(Bytes buffer, Frame frame) {
  if (frame.before > buffer.size() ||
      frame.after > buffer.size() - frame.before) {
    return Status::Corruption("counting Bloom filter: shorter than its frame");
  }
  ByteReader r(ByteView(buffer).subspan(
                   frame.before, buffer.size() - frame.before - frame.after),
               "counting Bloom filter");
  BloomParams p;
  VCSNAP_ASSIGN_OR_RETURN(p.cells, r.U64("cells"));
  VCSNAP_ASSIGN_OR_RETURN(p.hashes, r.U8("hashes"));
  VCSNAP_ASSIGN_OR_RETURN(uint64_t keys, r.U64("keys"));
  if (p.cells == 0 || p.cells > kMaxCells || p.hashes == 0 || p.hashes > 32 ||
      r.remaining() != (p.cells + 1) / 2) {
    return Status::Corruption("counting Bloom filter: sizes do not agree");
  }
  CountingBloom c;
  c.params_ = p;
  c.keys_ = keys;
  c.buffer_ = std::move(buffer);
  c.frame_ = frame;
  return c;
}

std::span<uint8_t> CountingBloom::EncodeInFrame() {
  uint8_t* h = buffer_.data() + frame_.before;
  EncodeFixed64(h, params_.cells);
  h[8] = params_.hashes;
  EncodeFixed64(h + 9, keys_);
  return buffer_;
}

}  // namespace vcsnap
