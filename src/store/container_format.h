// File: store/container_format.h
//
// Object names of a VM store and the byte formats of a container's metadata
// objects: the container index, the deletion log and the head (current
// generation). Layout in docs/format/store-layout.md; formats in
// store-index.md, store-dlog.md and store-head.md (all version 1).
//
//   vm/<vm>/store/c<XXXX>/head                   generation pointer (optional)
//   vm/<vm>/store/c<XXXX>/g<GGGGGGGG>/b<BBBBBB>  data blocks (groups)
//   vm/<vm>/store/c<XXXX>/g<GGGGGGGG>/index      container index (appended)
//   vm/<vm>/store/c<XXXX>/g<GGGGGGGG>/dlog       deletion log (appended)
//
// Appended objects (index, dlog) are a checksummed header followed by
// fixed-size checksummed records; each checksum is seeded by the object name
// and the record's offset. A partial record at the end is a torn tail from a
// crash (the backend keeps a prefix of unsynced appends) and is ignored; a
// whole record that fails its checksum is corruption.
//
// Thread safety: pure functions.

#ifndef VCSNAP_STORE_CONTAINER_FORMAT_H_
#define VCSNAP_STORE_CONTAINER_FORMAT_H_

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/bytes.h"
#include "util/result.h"

namespace vcsnap {

// --- names ---
std::string StorePrefix(std::string_view vm);  // "vm/<vm>/store/"
std::string ContainerPrefix(std::string_view vm, uint16_t c);
std::string HeadName(std::string_view vm, uint16_t c);
std::string GenPrefix(std::string_view vm, uint16_t c, uint32_t gen);
std::string BlockName(std::string_view vm, uint16_t c, uint32_t gen,
                      uint32_t block);
std::string IndexName(std::string_view vm, uint16_t c, uint32_t gen);
std::string DlogName(std::string_view vm, uint16_t c, uint32_t gen);
// The container ID of a name under StorePrefix(vm) ("c0001/..." -> 1).
std::optional<uint16_t> ParseContainerId(std::string_view rest);
// The generation of a name under ContainerPrefix ("g00000002/..." -> 2).
std::optional<uint32_t> ParseGeneration(std::string_view rest);
// The block number of a name under GenPrefix ("b000003" -> 3).
std::optional<uint32_t> ParseBlock(std::string_view rest);

// --- container index ---
inline constexpr uint16_t kIndexVersion = 1;
inline constexpr size_t kIndexHeaderSize = 32;
inline constexpr size_t kIndexEntrySize = 40;

struct IndexEntry {
  uint64_t first_cid = 0;
  uint32_t count = 0;  // CIDs covered, present or absent
  uint32_t live = 0;   // present CIDs
  uint32_t block = 0;
  uint32_t length = 0;  // bytes of the whole group
  uint64_t offset = 0;  // in the block
  uint64_t end_cid() const { return first_cid + count; }
};

struct ParsedIndex {
  bool has_header = false;  // false: empty or torn header (no container)
  uint32_t generation = 0;
  uint64_t base_cid = 0;  // CIDs below it were issued (kept by compaction)
  std::vector<IndexEntry> entries;
  uint64_t valid_bytes = 0;  // header + whole records
  uint64_t next_cid() const {
    return entries.empty() ? base_cid
                           : std::max(base_cid, entries.back().end_cid());
  }
};

Bytes EncodeIndexHeader(std::string_view index_name, uint16_t container,
                        uint32_t gen, uint64_t base_cid);
// Appends one record that will sit at byte `at` of the index object.
void AppendIndexEntry(std::string_view index_name, uint64_t at,
                      const IndexEntry& e, Bytes* out);
// `where` prefixes errors ("vm web1 container 0001"). `block_limit` bounds
// offset + length of every entry.
Result<ParsedIndex> ParseIndex(ByteView bytes, std::string_view index_name,
                               std::string_view where, uint16_t container,
                               uint32_t gen, uint64_t block_limit);

// --- deletion log ---
inline constexpr uint16_t kDlogVersion = 1;
inline constexpr size_t kDlogHeaderSize = 24;
inline constexpr size_t kDlogRecordSize = 16;

struct ParsedDlog {
  bool has_header = false;
  std::vector<uint64_t> cids;  // in log order, may repeat
  uint64_t valid_bytes = 0;
};

Bytes EncodeDlogHeader(std::string_view dlog_name, uint16_t container,
                       uint32_t gen);
void AppendDlogRecord(std::string_view dlog_name, uint64_t at, uint64_t cid,
                      Bytes* out);
Result<ParsedDlog> ParseDlog(ByteView bytes, std::string_view dlog_name,
                             std::string_view where, uint16_t container,
                             uint32_t gen);

// What a damaged deletion log still says: the CID of every whole record whose
// checksum holds. The checksum binds a record to the log's name and offset,
// so each one is a deletion this log's writer made; the header is not needed.
struct SalvagedDlog {
  std::vector<uint64_t> cids;  // in log order, may repeat
  uint64_t bad_records = 0;    // whole records failing their checksum
};
SalvagedDlog SalvageDlog(ByteView bytes, std::string_view dlog_name);

// --- head ---
inline constexpr uint16_t kHeadVersion = 1;
Bytes EncodeHead(std::string_view head_name, uint16_t container, uint32_t gen);
Result<uint32_t> DecodeHead(ByteView bytes, std::string_view head_name,
                            uint16_t container);

}  // namespace vcsnap

#endif  // VCSNAP_STORE_CONTAINER_FORMAT_H_
