// File: source/nbd_maps.h
//
// NbdMapBuilder turns the extents of NBD block status replies into the bit
// maps NbdImage keeps (source/nbd_image.h): granules that read as zeros
// ("base:allocation", NBD_STATE_ZERO; rounded in: a granule counts only when
// zero extents cover all of it) and granules written ("qemu:dirty-bitmap:*",
// bit 0; rounded out). The extents come from a server and are checked: an
// odd entry count, an empty extent or a reply that starts past what its
// context already covered is an error, never a wrong map. Extents past the
// export's size are clipped. Replies to consecutive requests may overlap (a
// request restarts where the context that answered least ended); parts
// already covered are skipped.
//
// Thread safety: one builder is used by one thread.

#ifndef VCSNAP_SOURCE_NBD_MAPS_H_
#define VCSNAP_SOURCE_NBD_MAPS_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace vcsnap {

inline constexpr char kNbdAllocationContext[] = "base:allocation";
inline constexpr char kNbdDirtyBitmapPrefix[] = "qemu:dirty-bitmap:";

class NbdMapBuilder {
 public:
  // Maps of an export of `size` bytes at `granule` bytes per bit, resized
  // and cleared here (LSB first). An empty `dirty_context` means no dirty
  // map; `allocation` false means no zero map (both then count as covered).
  NbdMapBuilder(uint64_t size, uint64_t granule, bool allocation,
                std::string dirty_context, std::vector<uint8_t>* zero_bits,
                std::vector<uint8_t>* dirty_bits);

  // One reply of `context`: `n` uint32 entries, (length, flags) pairs, the
  // first extent starting at `offset`. Contexts not asked for are ignored.
  // False on a malformed reply (error() says what).
  bool Add(const char* context, uint64_t offset, const uint32_t* entries,
           size_t n);

  // Where the next request must start: the least coverage of the contexts.
  uint64_t covered() const;
  // Completes the zero map; call once everything is covered.
  void Finish() { FlushZeros(); }
  const std::string& error() const { return error_; }

 private:
  void FlushZeros();
  void Zero(uint64_t begin, uint64_t end);
  void Dirty(uint64_t begin, uint64_t end);

  const uint64_t size_;
  const uint64_t granule_;
  const std::string dirty_context_;
  std::vector<uint8_t>* const zero_bits_;
  std::vector<uint8_t>* const dirty_bits_;
  uint64_t alloc_end_ = 0;  // covered by base:allocation so far
  uint64_t dirty_end_ = 0;  // covered by the dirty bitmap so far
  uint64_t zero_begin_ = 0, zero_end_ = 0;  // pending run of zero extents
  bool zero_pending_ = false;
  std::string error_;
};

}  // namespace vcsnap

#endif  // VCSNAP_SOURCE_NBD_MAPS_H_
