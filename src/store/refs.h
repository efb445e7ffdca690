// File: store/refs.h
//
// References to stored chunks, as recipes hold them. Byte layouts in
// docs/format/store-refs.md (version 1).
//
//  - ChunkRef names a chunk of one VM's store: container ID (16 bits) and
//    chunk ID (CID, 48 bits), CIDs increasing within a container (paper
//    §5.2). On disk it is one little-endian u64: container << 48 | cid.
//    Container IDs 0 and 0xFFFF are reserved: 0 so that an all-zero word is
//    never a valid reference, 0xFFFF as the tag of PDS references below. So a
//    valid raw ChunkRef is never 0 and never has 0xFFFF in its top 16 bits.
//  - PdsRef names a chunk of the popular data set: PDS generation (>= 1),
//    logical offset in that generation (< 2^48) and size. On disk it is 16
//    bytes: u64 (0xFFFF << 48 | offset), u64 (generation | size << 32). Its
//    first word is rejected by ChunkRef::FromRaw, so a PDS reference can never
//    be read as a VM reference (and vice versa: a ChunkRef word never has the
//    0xFFFF tag).
//
// Thread safety: plain value types and pure functions.

#ifndef VCSNAP_STORE_REFS_H_
#define VCSNAP_STORE_REFS_H_

#include <compare>
#include <cstdint>
#include <string>

#include "util/bytes.h"
#include "util/result.h"

namespace vcsnap {

inline constexpr uint16_t kFirstContainerId = 1;
inline constexpr uint16_t kLastContainerId = 0xFFFE;
inline constexpr uint16_t kPdsRefTag = 0xFFFF;
inline constexpr uint64_t kMaxCid = (uint64_t{1} << 48) - 1;
inline constexpr uint64_t kMaxPdsOffset = (uint64_t{1} << 48) - 1;
inline constexpr size_t kChunkRefSize = 8;
inline constexpr size_t kPdsRefSize = 16;

struct ChunkRef {
  uint16_t container = 0;
  uint64_t cid = 0;

  // REQUIRES: valid() (a CID above kMaxCid is masked to 48 bits).
  uint64_t raw() const { return (uint64_t{container} << 48) | (cid & kMaxCid); }
  bool valid() const {
    return container >= kFirstContainerId && container <= kLastContainerId &&
           cid <= kMaxCid;
  }
  // Corruption for 0, for a reserved container ID (0 or the PDS tag 0xFFFF).
  static Result<ChunkRef> FromRaw(uint64_t raw);

  std::string ToString() const;  // "c0001:42"
  auto operator<=>(const ChunkRef&) const = default;
};

struct PdsRef {
  uint32_t generation = 0;  // >= 1
  uint64_t offset = 0;      // < 2^48
  uint32_t size = 0;

  bool valid() const { return generation >= 1 && offset <= kMaxPdsOffset; }
  std::string ToString() const;  // "pds g1+4096:512"
  auto operator<=>(const PdsRef&) const = default;
};

// Appends the 8-byte encoding. REQUIRES: ref.valid().
void AppendChunkRef(ChunkRef ref, Bytes* out);
// Reads 8 bytes at p. Corruption as for FromRaw.
Result<ChunkRef> DecodeChunkRef(ByteView in);

// Appends the 16-byte encoding. REQUIRES: ref.valid().
void AppendPdsRef(const PdsRef& ref, Bytes* out);
// Corruption unless `in` holds exactly 16 bytes of a valid PdsRef.
Result<PdsRef> DecodePdsRef(ByteView in);

}  // namespace vcsnap

#endif  // VCSNAP_STORE_REFS_H_
