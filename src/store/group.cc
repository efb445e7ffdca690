#include "store/group.h"

#include <algorithm>
#include <cstdio>
#include <cstring>

#include "store/compressor.h"
#include "util/checksum.h"
#include "util/coding.h"

namespace vcsnap {
namespace {

constexpr const char* kMagic = kGroupMagic.data();
constexpr uint8_t kFlagSealed = 1;  // DO NOT CHANGE: stored

// Associated data of a sealed group: its header and its VM.
Bytes GroupAad(ByteView header, std::string_view vm) {
  Bytes aad;
  ByteWriter w(&aad);
  w.Raw(header.first(kGroupHeaderSize));
  w.Raw(vm);
  return aad;
}

Status Bad(const GroupPlace& place, const std::string& what) {
  return Status::Corruption(place.Describe() + ": " + what);
}

bool ValidCodec(uint8_t c) {
  return c == static_cast<uint8_t>(CompressionKind::kNone) ||
         c == static_cast<uint8_t>(CompressionKind::kLz4) ||
         c == static_cast<uint8_t>(CompressionKind::kZstd);
}

// Parses the fixed header; `bytes` holds at least kGroupHeaderSize bytes.
// Checks magic, and (after the caller's checksum, if any) the rest.
GroupHeader ParseFixed(ByteView b) {
  GroupHeader h;
  h.version = DecodeFixed16(b.data() + 4);
  h.codec = static_cast<CompressionKind>(b[6]);
  h.container = DecodeFixed16(b.data() + 8);
  h.first_cid = DecodeFixed64(b.data() + 12);
  h.count = DecodeFixed32(b.data() + 20);
  h.raw_len = DecodeFixed32(b.data() + 24);
  h.payload_len = DecodeFixed32(b.data() + 28);
  h.sealed = (b[7] & kFlagSealed) != 0;
  return h;
}

// Field checks shared by PeekGroupHeader and DecodeGroup.
Status CheckHeader(ByteView b, const GroupHeader& h, const GroupPlace& place,
                   const GroupLimits& limits) {
  if (h.version != kGroupVersion) {
    return Status::NotSupported(place.Describe() + ": group format version " +
                                std::to_string(h.version) +
                                " (this vcsnap reads version 1)");
  }
  if (!ValidCodec(b[6]) || (b[7] & ~kFlagSealed) != 0 ||
      DecodeFixed16(b.data() + 10) != 0) {
    return Bad(place, "unknown codec or flags in group header");
  }
  if (h.sealed != (place.keys != nullptr)) {
    return Bad(place, h.sealed ? "sealed (encrypted) group, but the "
                                 "repository is not encrypted"
                               : "unsealed group in an encrypted repository");
  }
  if (h.container != place.container) {
    return Bad(place, "misplaced group: header names container " +
                          std::to_string(h.container));
  }
  if (h.count == 0 || h.count > limits.max_count) {
    return Bad(place, "group chunk count " + std::to_string(h.count) +
                          " outside 1.." + std::to_string(limits.max_count));
  }
  if (h.raw_len > limits.max_raw) {
    return Bad(place, "group raw size " + std::to_string(h.raw_len) +
                          " over the limit " + std::to_string(limits.max_raw));
  }
  if (h.first_cid > (uint64_t{1} << 48) - h.count) {
    return Bad(place, "group CID range past 2^48");
  }
  return Status::Ok();
}

}  // namespace

std::string GroupPlace::Describe() const {
  char buf[96];
  std::snprintf(buf, sizeof(buf), " container %04x gen %u (%.*s) offset %llu",
                container, generation, static_cast<int>(block_name.size()),
                block_name.data(), static_cast<unsigned long long>(offset));
  return "vm " + std::string(vm) + buf;
}

uint64_t GroupSeed(std::string_view block_name, uint64_t offset) {
  return IdentitySeed(block_name) ^ (offset * 0x9E3779B97F4A7C15ull);
}

namespace {

// The fixed header (kGroupHeaderSize bytes) at dst.
void PutGroupHeader(uint8_t* dst, CompressionKind stored_codec, bool sealed,
                    uint16_t container, uint64_t first_cid, uint32_t count,
                    uint32_t raw_len, uint32_t payload_len) {
  std::memcpy(dst, kMagic, 4);
  EncodeFixed16(dst + 4, kGroupVersion);
  dst[6] = static_cast<uint8_t>(stored_codec);
  dst[7] = sealed ? kFlagSealed : 0;
  EncodeFixed16(dst + 8, container);
  EncodeFixed16(dst + 10, 0);
  EncodeFixed64(dst + 12, first_cid);
  EncodeFixed32(dst + 20, count);
  EncodeFixed32(dst + 24, raw_len);
  EncodeFixed32(dst + 28, payload_len);
}

}  // namespace

Bytes EncodeGroup(CompressionKind codec, int level, uint16_t container,
                  uint64_t first_cid, std::span<const uint32_t> lens,
                  ByteView raw, const GroupPlace& place, Bytes* scratch) {
  const uint32_t count = static_cast<uint32_t>(lens.size());
  const uint32_t raw_len = static_cast<uint32_t>(raw.size());
  Bytes out;
  if (place.keys == nullptr) {
    // Compressed straight into place: header, lengths, payload, checksum.
    const size_t at = kGroupHeaderSize + 4 * lens.size();
    const size_t bound = CompressBound(codec, raw.size());
    out.resize(at + std::max(bound, raw.size()) + kGroupTrailerSize);
    size_t n = bound == 0 ? 0
                          : CompressInto(codec, level, raw, out.data() + at,
                                         out.size() - at);
    const bool packed = n != 0;
    if (!packed) {
      if (!raw.empty()) std::memcpy(out.data() + at, raw.data(), raw.size());
      n = raw.size();
    }
    PutGroupHeader(out.data(), packed ? codec : CompressionKind::kNone, false,
                   container, first_cid, count, raw_len,
                   static_cast<uint32_t>(n));
    for (size_t i = 0; i < lens.size(); ++i) {
      EncodeFixed32(out.data() + kGroupHeaderSize + 4 * i, lens[i]);
    }
    const size_t covered = at + n;
    out.resize(covered + kGroupTrailerSize);
    EncodeFixed64(out.data() + covered,
                  Checksum64(ByteView(out).first(covered),
                             GroupSeed(place.block_name, place.offset)));
    return out;
  }
  const bool packed = Compress(codec, level, raw, scratch);
  ByteView payload = packed ? ByteView(*scratch) : raw;
  out.resize(kGroupHeaderSize);
  PutGroupHeader(out.data(), packed ? codec : CompressionKind::kNone, true,
                 container, first_cid, count, raw_len,
                 static_cast<uint32_t>(payload.size()));
  Bytes plain;
  plain.reserve(4 * lens.size() + payload.size());
  ByteWriter pw(&plain);
  for (uint32_t len : lens) pw.U32(len);
  pw.Raw(payload);
  const Bytes aad = GroupAad(out, place.vm);
  out.resize(kGroupHeaderSize + plain.size() + kSealOverhead);
  Seal(place.keys->data, aad, plain, out.data() + kGroupHeaderSize);
  ByteWriter w(&out);
  w.U64(Checksum64(out, GroupSeed(place.block_name, place.offset)));
  return out;
}

Result<GroupHeader> PeekGroupHeader(ByteView bytes, const GroupPlace& place,
                                    const GroupLimits& limits) {
  if (bytes.size() < kGroupHeaderSize) {
    return Bad(place, "truncated group: " + std::to_string(bytes.size()) +
                          " bytes, shorter than a group header");
  }
  if (std::memcmp(bytes.data(), kMagic, 4) != 0) {
    return Bad(place, "bad magic (not a chunk group)");
  }
  GroupHeader h = ParseFixed(bytes);
  VCSNAP_RETURN_IF_ERROR(CheckHeader(bytes, h, place, limits));
  return h;
}

namespace {

// Verifies a whole group and parses its header and lengths into lens/offs;
// *body is set to the lens-and-payload region (inside `bytes`, or inside
// *opened for a sealed group); the caller decodes the payload
// (DecodePayload).
Result<GroupHeader> VerifyAndParse(ByteView bytes, const GroupPlace& place,
                                   const GroupLimits& limits,
                                   std::vector<uint32_t>* lens,
                                   std::vector<uint32_t>* offs, Bytes* opened,
                                   ByteView* body) {
  if (bytes.size() < kGroupHeaderSize + kGroupTrailerSize) {
    return Bad(place, "truncated group: " + std::to_string(bytes.size()) +
                          " bytes, shorter than an empty group");
  }
  if (std::memcmp(bytes.data(), kMagic, 4) != 0) {
    return Bad(place, "bad magic (not a chunk group)");
  }
  const size_t covered = bytes.size() - kGroupTrailerSize;
  uint64_t stored = DecodeFixed64(bytes.data() + covered);
  if (stored != Checksum64(bytes.first(covered),
                           GroupSeed(place.block_name, place.offset))) {
    return Bad(place, "group checksum mismatch (damaged, misplaced or stale)");
  }
  GroupHeader h = ParseFixed(bytes);
  VCSNAP_RETURN_IF_ERROR(CheckHeader(bytes, h, place, limits));
  if (h.total_len() != bytes.size()) {
    return Bad(place,
               std::string(h.total_len() > bytes.size() ? "length past the end"
                                                        : "trailing bytes") +
                   ": group declares " + std::to_string(h.total_len()) +
                   " bytes, holds " + std::to_string(bytes.size()));
  }
  const size_t body_len = 4 * size_t{h.count} + h.payload_len;
  if (h.sealed) {
    opened->resize(body_len);
    VCSNAP_RETURN_IF_ERROR(
        Open(place.keys->data, GroupAad(bytes, place.vm),
             bytes.subspan(kGroupHeaderSize, body_len + kSealOverhead),
             opened->data(), place.Describe()));
    *body = ByteView(*opened);
  } else {
    *body = bytes.subspan(kGroupHeaderSize, body_len);
  }
  lens->resize(h.count);
  offs->resize(h.count);
  const uint8_t* lp = body->data();
  uint64_t sum = 0;
  for (uint32_t i = 0; i < h.count; ++i) {
    uint32_t len = DecodeFixed32(lp + 4 * i);
    (*lens)[i] = len;
    (*offs)[i] = static_cast<uint32_t>(sum);
    if ((len & kAbsentBit) == 0) sum += len;
    if (sum > h.raw_len) {
      return Bad(place, "chunk lengths exceed the group raw size " +
                            std::to_string(h.raw_len));
    }
  }
  if (sum != h.raw_len) {
    return Bad(place, "chunk lengths sum to " + std::to_string(sum) +
                          ", group raw size is " + std::to_string(h.raw_len));
  }
  return h;
}

// Checks of the payload that a header-only decode skips.
Status CheckRawPayload(const GroupHeader& h, const GroupPlace& place) {
  if (h.codec == CompressionKind::kNone && h.payload_len != h.raw_len) {
    return Bad(place, "raw group payload is " + std::to_string(h.payload_len) +
                          " bytes, expected " + std::to_string(h.raw_len));
  }
  return Status::Ok();
}

// The payload inside the body VerifyAndParse found.
ByteView Payload(ByteView body, const GroupHeader& h) {
  return body.subspan(4 * size_t{h.count}, h.payload_len);
}

// Decompresses a verified group's payload into out[0, h.raw_len).
// REQUIRES: h.codec != kNone.
Status DecodePayload(ByteView body, const GroupHeader& h,
                     const GroupPlace& place, uint8_t* out) {
  Status s = Decompress(h.codec, Payload(body, h), out, h.raw_len);
  if (!s.ok()) return Bad(place, s.message());
  return Status::Ok();
}

}  // namespace

Result<std::shared_ptr<DecodedGroup>> DecodeGroup(ByteView bytes,
                                                  const GroupPlace& place,
                                                  const GroupLimits& limits,
                                                  bool header_only) {
  auto g = std::make_shared<DecodedGroup>();
  Bytes opened;
  ByteView body;
  VCSNAP_ASSIGN_OR_RETURN(
      GroupHeader h,
      VerifyAndParse(bytes, place, limits, &g->lens, &g->offs, &opened, &body));
  g->first_cid = h.first_cid;
  if (header_only) return g;
  VCSNAP_RETURN_IF_ERROR(CheckRawPayload(h, place));
  g->data = std::make_unique_for_overwrite<uint8_t[]>(h.raw_len);
  g->raw_len = h.raw_len;
  if (h.codec == CompressionKind::kNone) {
    if (h.raw_len > 0) {
      std::memcpy(g->data.get(), Payload(body, h).data(), h.raw_len);
    }
    return g;
  }
  VCSNAP_RETURN_IF_ERROR(DecodePayload(body, h, place, g->data.get()));
  return g;
}

uint32_t GroupView::live() const {
  uint32_t n = 0;
  for (uint32_t len : lens) n += (len & kAbsentBit) ? 0 : 1;
  return n;
}

Status DecodeGroupView(ByteView bytes, const GroupPlace& place,
                       const GroupLimits& limits, GroupView* view) {
  ByteView body;
  VCSNAP_ASSIGN_OR_RETURN(GroupHeader h,
                          VerifyAndParse(bytes, place, limits, &view->lens,
                                         &view->offs, &view->opened_, &body));
  view->first_cid = h.first_cid;
  VCSNAP_RETURN_IF_ERROR(CheckRawPayload(h, place));
  if (h.codec == CompressionKind::kNone) {
    view->data = Payload(body, h);
    return Status::Ok();
  }
  if (view->capacity_ < h.raw_len) {
    view->buffer_ = std::make_unique_for_overwrite<uint8_t[]>(h.raw_len);
    view->capacity_ = h.raw_len;
  }
  view->data = ByteView(view->buffer_.get(), h.raw_len);
  return DecodePayload(body, h, place, view->buffer_.get());
}

Bytes RebindGroup(ByteView group, const GroupPlace& to) {
  Bytes out(group.begin(), group.end());
  RebindGroupInPlace(out, to);
  return out;
}

void RebindGroupInPlace(std::span<uint8_t> group, const GroupPlace& to) {
  const size_t covered = group.size() - kGroupTrailerSize;
  EncodeFixed64(group.data() + covered,
                Checksum64(ByteView(group).first(covered),
                           GroupSeed(to.block_name, to.offset)));
}

}  // namespace vcsnap
