// File: util/coding.h
//
// Fixed-width little-endian encoding, the only integer encoding of vcsnap's
// on-disk formats (see docs/format/README.md). ByteWriter appends to a Bytes
// buffer; ByteReader consumes a ByteView and never reads past its end: every
// Read* returns Corruption naming the field when the bytes run out, so a
// parser can never be tricked into reading or allocating past what it holds.
//
// Thread safety: none; a writer or reader is used by one thread.

#ifndef VCSNAP_UTIL_CODING_H_
#define VCSNAP_UTIL_CODING_H_

#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>

#include "util/bytes.h"
#include "util/result.h"
#include "util/status.h"

namespace vcsnap {

inline void EncodeFixed16(uint8_t* dst, uint16_t v) {
  dst[0] = static_cast<uint8_t>(v);
  dst[1] = static_cast<uint8_t>(v >> 8);
}
inline void EncodeFixed32(uint8_t* dst, uint32_t v) {
  for (int i = 0; i < 4; ++i) dst[i] = static_cast<uint8_t>(v >> (8 * i));
}
inline void EncodeFixed64(uint8_t* dst, uint64_t v) {
  for (int i = 0; i < 8; ++i) dst[i] = static_cast<uint8_t>(v >> (8 * i));
}
inline uint16_t DecodeFixed16(const uint8_t* p) {
  return static_cast<uint16_t>(p[0] | (p[1] << 8));
}
inline uint32_t DecodeFixed32(const uint8_t* p) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}
inline uint64_t DecodeFixed64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

class ByteWriter {
 public:
  explicit ByteWriter(Bytes* out) : out_(out) {}

  void U8(uint8_t v) { out_->push_back(v); }
  void U16(uint16_t v) {
    Grow(2, [&](uint8_t* p) { EncodeFixed16(p, v); });
  }
  void U32(uint32_t v) {
    Grow(4, [&](uint8_t* p) { EncodeFixed32(p, v); });
  }
  void U64(uint64_t v) {
    Grow(8, [&](uint8_t* p) { EncodeFixed64(p, v); });
  }
  // A range insert: no zero-fill before the copy (this carries payloads of
  // megabytes).
  void Raw(ByteView b) { out_->insert(out_->end(), b.begin(), b.end()); }
  void Raw(std::string_view s) { Raw(AsBytes(s)); }
  // Many U64s at once: one resize instead of one per value.
  void U64s(std::span<const uint64_t> values) {
    Grow(8 * values.size(), [&](uint8_t* p) {
      for (uint64_t v : values) {
        EncodeFixed64(p, v);
        p += 8;
      }
    });
  }
  // Makes room for `n` more bytes without writing them.
  void Reserve(size_t n) { out_->reserve(out_->size() + n); }
  // Overwrites 8 bytes already written at `offset`.
  void PatchU64(size_t offset, uint64_t v) {
    EncodeFixed64(out_->data() + offset, v);
  }
  size_t size() const { return out_->size(); }

 private:
  template <typename F>
  void Grow(size_t n, F&& f) {
    size_t at = out_->size();
    out_->resize(at + n);
    f(out_->data() + at);
  }
  Bytes* out_;
};

class ByteReader {
 public:
  // `what` names the structure being parsed, for error messages.
  ByteReader(ByteView in, std::string_view what) : in_(in), what_(what) {}

  // Inline: decoders call these once per field of every record (a segment
  // recipe has up to 2^20 entries), so only the error path is out of line.
  Result<uint8_t> U8(std::string_view field) {
    if (remaining() < 1) return Truncated(field, 1);
    return in_[pos_++];
  }
  Result<uint16_t> U16(std::string_view field) { return Fixed<2>(field); }
  Result<uint32_t> U32(std::string_view field) { return Fixed<4>(field); }
  Result<uint64_t> U64(std::string_view field) { return Fixed<8>(field); }
  // A view of the next n bytes (no copy); fails if fewer remain.
  Result<ByteView> Raw(size_t n, std::string_view field) {
    if (n > remaining()) return Truncated(field, n);
    ByteView v = in_.subspan(pos_, n);
    pos_ += n;
    return v;
  }

  size_t offset() const { return pos_; }
  size_t remaining() const { return in_.size() - pos_; }
  bool done() const { return pos_ == in_.size(); }

  // Corruption "<what>: <field> at offset N needs K bytes, M remain".
  Status Truncated(std::string_view field, size_t need) const;

 private:
  template <size_t N>
  Result<std::conditional_t<N == 2, uint16_t,
                            std::conditional_t<N == 4, uint32_t, uint64_t>>>
  Fixed(std::string_view field) {
    if (remaining() < N) return Truncated(field, N);
    const uint8_t* p = in_.data() + pos_;
    pos_ += N;
    if constexpr (N == 2) return DecodeFixed16(p);
    if constexpr (N == 4) return DecodeFixed32(p);
    if constexpr (N == 8) return DecodeFixed64(p);
  }

  ByteView in_;
  std::string what_;
  size_t pos_ = 0;
};

}  // namespace vcsnap

#endif  // VCSNAP_UTIL_CODING_H_
