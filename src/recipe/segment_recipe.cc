#include "recipe/segment_recipe.h"

#include <cstring>
#include <string>

#include "util/checksum.h"
#include "util/coding.h"

namespace vcsnap {
namespace {

constexpr char kMagic[4] = {'V', 'S', 'E', 'G'};
constexpr uint16_t kVersion = 1;
constexpr size_t kHeader = 16;  // magic, version, reserved, body_len, count

size_t EntrySize(ChunkKind kind) {
  switch (kind) {
    case ChunkKind::kZero:
      return 1 + 4;
    case ChunkKind::kVm:
      return 1 + 4 + 32 + 8;
    case ChunkKind::kPds:
      return 1 + 4 + 32 + 4 + 8 + 4;
  }
  return 0;
}

}  // namespace

Bytes EncodeSegmentRecipe(const std::vector<RecipeEntry>& entries,
                          std::string_view identity) {
  size_t body = 0;
  for (const RecipeEntry& e : entries) body += EntrySize(e.kind);
  Bytes out;
  out.reserve(kHeader + body + 8);
  ByteWriter w(&out);
  w.Raw(std::string_view(kMagic, 4));
  w.U16(kVersion);
  w.U16(0);
  w.U32(static_cast<uint32_t>(body));
  w.U32(static_cast<uint32_t>(entries.size()));
  for (const RecipeEntry& e : entries) {
    w.U8(static_cast<uint8_t>(e.kind));
    w.U32(e.length);
    if (e.kind == ChunkKind::kZero) continue;
    w.Raw(ByteView(e.fp.data(), e.fp.size()));
    if (e.kind == ChunkKind::kVm) {
      w.U64(e.vm_ref);
    } else {
      w.U32(e.pds_generation);
      w.U64(e.pds_offset);
      w.U32(e.pds_size);
    }
  }
  w.U64(Checksum64(out, IdentitySeed(identity)));
  return out;
}

Result<std::vector<RecipeEntry>> DecodeSegmentRecipe(ByteView record,
                                                     std::string_view identity,
                                                     uint64_t max_segment) {
  const std::string where = "segment recipe " + std::string(identity);
  if (record.size() < kHeader + 8) {
    return Status::Corruption(where + ": truncated (" +
                              std::to_string(record.size()) + " bytes)");
  }
  if (std::memcmp(record.data(), kMagic, 4) != 0) {
    return Status::Corruption(where + ": bad magic");
  }
  const uint32_t body = DecodeFixed32(record.data() + 8);
  if (static_cast<uint64_t>(body) + kHeader + 8 != record.size()) {
    return Status::Corruption(where + ": body length " + std::to_string(body) +
                              " does not fit the " +
                              std::to_string(record.size()) + "-byte record");
  }
  const size_t covered = kHeader + body;
  if (DecodeFixed64(record.data() + covered) !=
      Checksum64(record.first(covered), IdentitySeed(identity))) {
    return Status::Corruption(where + ": checksum mismatch");
  }
  const uint16_t version = DecodeFixed16(record.data() + 4);
  if (version != kVersion) {
    return Status::NotSupported(where + ": format version " +
                                std::to_string(version));
  }
  const uint32_t count = DecodeFixed32(record.data() + 12);
  // Every entry takes at least 5 bytes: a count the body cannot hold is
  // rejected before anything is allocated.
  if (count > kMaxRecipeEntries || static_cast<uint64_t>(count) * 5 > body) {
    return Status::Corruption(where + ": " + std::to_string(count) +
                              " entries cannot fit in " + std::to_string(body) +
                              " bytes");
  }
  std::vector<RecipeEntry> out(count);
  ByteReader r(record.subspan(kHeader, body), where);
  uint64_t total = 0;
  for (RecipeEntry& e : out) {
    VCSNAP_ASSIGN_OR_RETURN(uint8_t kind, r.U8("chunk kind"));
    if (kind > static_cast<uint8_t>(ChunkKind::kPds)) {
      return Status::Corruption(where + ": unknown chunk kind " +
                                std::to_string(kind));
    }
    e.kind = static_cast<ChunkKind>(kind);
    VCSNAP_ASSIGN_OR_RETURN(e.length, r.U32("chunk length"));
    total += e.length;
    if (e.length == 0 || total > max_segment) {
      return Status::Corruption(where + ": chunk lengths exceed the segment");
    }
    if (e.kind == ChunkKind::kZero) continue;
    VCSNAP_ASSIGN_OR_RETURN(ByteView fp, r.Raw(32, "fingerprint"));
    std::memcpy(e.fp.data(), fp.data(), 32);
    if (e.kind == ChunkKind::kVm) {
      VCSNAP_ASSIGN_OR_RETURN(e.vm_ref, r.U64("chunk reference"));
    } else {
      VCSNAP_ASSIGN_OR_RETURN(e.pds_generation, r.U32("pds generation"));
      VCSNAP_ASSIGN_OR_RETURN(e.pds_offset, r.U64("pds offset"));
      VCSNAP_ASSIGN_OR_RETURN(e.pds_size, r.U32("pds size"));
    }
  }
  if (!r.done()) {
    return Status::Corruption(where + ": " + std::to_string(r.remaining()) +
                              " trailing bytes");
  }
  return out;
}

}  // namespace vcsnap
