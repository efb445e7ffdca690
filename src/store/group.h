// File: store/group.h
//
// The chunk group: the unit of compression, checksumming and reading of a VM
// store (paper §5.2). Byte layout in docs/format/store-group.md (version 1):
//
//   magic "VCSG" | version u16 | codec u8 | flags u8 (0) | container u16 |
//   reserved u16 (0) | first_cid u64 | count u32 | raw_len u32 |
//   payload_len u32 | lens[count] u32 | payload | checksum u64
//
// A group covers the CID range [first_cid, first_cid + count). lens[i] is the
// length of chunk first_cid + i, or has bit 31 set when that CID is absent
// (dropped by compaction). The payload is the concatenation of the present
// chunks, compressed with `codec` or stored raw (codec 0). The checksum is
// XXH3-64 of every byte before it, seeded with GroupSeed(block object name,
// offset in block): a group copied to another place, or a stale group of an
// older container generation, fails verification.
//
// Encrypted repositories seal each group (flags bit 0): lens[] and payload
// become nonce | AES-256-GCM(lens ‖ payload) | tag, with the 32-byte header
// and the VM name as associated data, so a group opens only in its own VM,
// container and CID range (it may move between generations, as compaction
// moves it). Whether groups must be sealed follows GroupPlace::keys: a
// sealed group without keys, or an unsealed one with keys, is Corruption.
//
// Decoding never trusts a length before checking it against the bytes held
// and against GroupLimits; every error names the place (VM, container,
// generation, block, offset).
//
// Thread safety: pure functions; DecodedGroup is immutable once built.

#ifndef VCSNAP_STORE_GROUP_H_
#define VCSNAP_STORE_GROUP_H_

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "format/crypto.h"
#include "format/repo_config.h"
#include "util/bytes.h"
#include "util/result.h"

namespace vcsnap {

inline constexpr uint16_t kGroupVersion = 1;
inline constexpr size_t kGroupHeaderSize = 32;
// The first 4 bytes of every group (store-group.md).
inline constexpr std::string_view kGroupMagic = "VCSG";
inline constexpr size_t kGroupTrailerSize = 8;
inline constexpr uint32_t kAbsentBit = 0x80000000u;
inline constexpr uint32_t kMaxGroupCount = 65535;
// Absolute ceiling on a group's decoded size, whatever the config says.
inline constexpr uint32_t kMaxGroupRawCeiling = 128u << 20;

// Where a group lives: binds its checksum and names it in errors.
struct GroupPlace {
  std::string_view vm;
  uint16_t container = 0;
  uint32_t generation = 0;
  std::string_view block_name;  // object name of the data block
  uint64_t offset = 0;          // of the group inside the block
  // Encrypted repository: groups here are sealed with keys->data. Not part
  // of the identity in errors.
  const RepoKeys* keys = nullptr;
  std::string Describe() const;
};

struct GroupLimits {
  uint32_t max_count = kMaxGroupCount;
  uint32_t max_raw = kMaxGroupRawCeiling;
};

uint64_t GroupSeed(std::string_view block_name, uint64_t offset);

// Bytes a group of `count` CIDs takes besides its payload.
inline size_t GroupOverhead(size_t count) {
  return kGroupHeaderSize + 4 * count + kGroupTrailerSize;
}

// Encodes a group (sealed iff place.keys). `lens` has one entry per CID
// (bit 31 = absent); `raw` is
// the concatenation of the present chunks. Compresses with codec/level and
// falls back to raw storage when that does not shrink the payload. `scratch`
// is a reusable buffer. REQUIRES: 1 <= lens.size() <= kMaxGroupCount and the
// present lengths sum to raw.size().
Bytes EncodeGroup(CompressionKind codec, int level, uint16_t container,
                  uint64_t first_cid, std::span<const uint32_t> lens,
                  ByteView raw, const GroupPlace& place, Bytes* scratch);

struct GroupHeader {
  uint16_t version = 0;
  CompressionKind codec = CompressionKind::kNone;
  uint16_t container = 0;
  uint64_t first_cid = 0;
  uint32_t count = 0;
  uint32_t raw_len = 0;
  uint32_t payload_len = 0;
  bool sealed = false;
  uint64_t total_len() const {
    return GroupOverhead(count) + uint64_t{payload_len} +
           (sealed ? kSealOverhead : 0);
  }
};

// Parses and range-checks the fixed header at the start of `bytes` (which may
// hold more or fewer bytes than the group) without verifying the checksum:
// for scanning a block whose index is lost. Corruption / NotSupported.
Result<GroupHeader> PeekGroupHeader(ByteView bytes, const GroupPlace& place,
                                    const GroupLimits& limits);

struct DecodedGroup {
  uint64_t first_cid = 0;
  std::vector<uint32_t> lens;  // bit 31 = absent
  std::vector<uint32_t> offs;  // offs[i] = start of CID first_cid+i in data
  std::unique_ptr<uint8_t[]> data;  // raw_len bytes (not zero-filled first)
  size_t raw_len = 0;
  uint32_t count() const { return static_cast<uint32_t>(lens.size()); }
  bool Covers(uint64_t cid) const {
    return cid >= first_cid && cid - first_cid < lens.size();
  }
  bool Present(uint64_t cid) const {
    return Covers(cid) && (lens[cid - first_cid] & kAbsentBit) == 0;
  }
  // REQUIRES: Present(cid).
  ByteView Chunk(uint64_t cid) const {
    size_t i = cid - first_cid;
    return ByteView(data.get() + offs[i], lens[i]);
  }
  size_t memory() const { return raw_len + lens.size() * 8 + 64; }
};

// Verifies `bytes` -- exactly one whole group read from `place` -- and parses
// its header and lengths; decodes the payload too unless `header_only`.
// Corruption for: truncated group, bad magic, checksum mismatch (damaged,
// misplaced or stale), length past the end, bad lengths, wrong container,
// payload that does not decode; NotSupported for an unknown version.
Result<std::shared_ptr<DecodedGroup>> DecodeGroup(ByteView bytes,
                                                  const GroupPlace& place,
                                                  const GroupLimits& limits,
                                                  bool header_only = false);

// A decoded group whose chunk bytes are not copied when it is stored raw:
// `data` points into the bytes given to DecodeGroupView (codec none) or into
// the view's own buffers (decompressed or opened), reused from call to call.
// For streaming reads (VmStore::ScanGroups): once warm, decoding a group of
// no more chunks and bytes than before allocates nothing.
struct GroupView {
  uint64_t first_cid = 0;
  std::vector<uint32_t> lens;  // bit 31 = absent
  std::vector<uint32_t> offs;  // offs[i] = start of CID first_cid+i in data
  ByteView data;               // raw_len bytes
  uint32_t count() const { return static_cast<uint32_t>(lens.size()); }
  uint32_t live() const;  // present CIDs
  bool Present(uint64_t cid) const {
    return cid >= first_cid && cid - first_cid < lens.size() &&
           (lens[cid - first_cid] & kAbsentBit) == 0;
  }
  // REQUIRES: Present(cid).
  ByteView Chunk(uint64_t cid) const {
    size_t i = cid - first_cid;
    return data.subspan(offs[i], lens[i]);
  }

 private:
  friend Status DecodeGroupView(ByteView, const GroupPlace&, const GroupLimits&,
                                GroupView*);
  std::unique_ptr<uint8_t[]> buffer_;
  size_t capacity_ = 0;
  Bytes opened_;  // a sealed group's lens and payload, decrypted
};

// DecodeGroup's verification and decoding into `view`; the same errors.
// `view` then refers to `bytes` (when the group is stored raw and not
// sealed): keep them alive and unchanged while it is used. A sealed group is
// opened into the view's own buffer. On error `view` is unspecified.
Status DecodeGroupView(ByteView bytes, const GroupPlace& place,
                       const GroupLimits& limits, GroupView* view);

// A verified group's bytes re-bound to `to` (only the checksum changes; the
// payload is not decompressed). REQUIRES: `group` passed DecodeGroup.
Bytes RebindGroup(ByteView group, const GroupPlace& to);
// The same, in place (no copy of the group).
void RebindGroupInPlace(std::span<uint8_t> group, const GroupPlace& to);

}  // namespace vcsnap

#endif  // VCSNAP_STORE_GROUP_H_
