#include "format/envelope.h"

#include <cstring>
#include <string>

#include "util/checksum.h"
#include "util/coding.h"

namespace vcsnap {

Bytes EncodeEnvelope(const EnvelopeSpec& spec, uint16_t version,
                     std::string_view identity, ByteView body) {
  return EncodeEnvelopeWith(spec, version, identity, body.size(),
                            [&](ByteWriter& w) { w.Raw(body); });
}

Bytes EncodeEnvelopeWith(const EnvelopeSpec& spec, uint16_t version,
                         std::string_view identity, size_t size_hint,
                         const std::function<void(ByteWriter&)>& write_body) {
  Bytes out;
  out.reserve(size_hint + kEnvelopeOverhead);
  ByteWriter w(&out);
  w.Raw(std::string_view(spec.magic.data(), spec.magic.size()));
  w.U16(version);
  w.U16(0);
  const size_t length_at = w.size();
  w.U64(0);  // the body length, known once it is written
  write_body(w);
  w.PatchU64(length_at, out.size() - kEnvelopeHeaderSize);
  w.U64(Checksum64(out, IdentitySeed(identity)));
  return out;
}

void SealEnvelope(const EnvelopeSpec& spec, uint16_t version,
                  std::string_view identity, std::span<uint8_t> object) {
  uint8_t* p = object.data();
  std::memcpy(p, spec.magic.data(), spec.magic.size());
  EncodeFixed16(p + 4, version);
  EncodeFixed16(p + 6, 0);
  EncodeFixed64(p + 8, object.size() - kEnvelopeOverhead);
  const size_t covered = object.size() - kEnvelopeTrailerSize;
  EncodeFixed64(p + covered,
                Checksum64(ByteView(p, covered), IdentitySeed(identity)));
}

Result<DecodedEnvelope> DecodeEnvelope(const EnvelopeSpec& spec,
                                       std::string_view identity,
                                       ByteView bytes) {
  const std::string where =
      std::string(spec.type_name) + " " + std::string(identity);
  if (bytes.size() < kEnvelopeOverhead) {
    return Status::Corruption(where + ": " + std::to_string(bytes.size()) +
                              " bytes, shorter than any valid object");
  }
  if (std::memcmp(bytes.data(), spec.magic.data(), spec.magic.size()) != 0) {
    return Status::Corruption(where + ": bad magic (not a " +
                              std::string(spec.type_name) + ")");
  }
  ByteReader r(bytes.subspan(4), where);
  VCSNAP_ASSIGN_OR_RETURN(uint16_t version, r.U16("version"));
  VCSNAP_ASSIGN_OR_RETURN(uint16_t flags, r.U16("flags"));
  VCSNAP_ASSIGN_OR_RETURN(uint64_t body_len, r.U64("body length"));
  if (body_len > spec.max_body ||
      body_len != bytes.size() - kEnvelopeOverhead) {
    return Status::Corruption(where + ": body length " +
                              std::to_string(body_len) + " does not fit the " +
                              std::to_string(bytes.size()) + "-byte object");
  }
  const size_t covered = kEnvelopeHeaderSize + body_len;
  uint64_t stored = DecodeFixed64(bytes.data() + covered);
  if (stored != Checksum64(bytes.first(covered), IdentitySeed(identity))) {
    return Status::Corruption(where + ": checksum mismatch");
  }
  // Version and flags are judged only once the checksum says they are real.
  if (version < spec.min_version || version > spec.max_version) {
    return Status::NotSupported(
        where + ": format version " + std::to_string(version) +
        " (this vcsnap reads versions " + std::to_string(spec.min_version) +
        " to " + std::to_string(spec.max_version) + ")");
  }
  if (flags != 0) {
    return Status::Corruption(where + ": unknown flags " +
                              std::to_string(flags));
  }
  return DecodedEnvelope{version, bytes.subspan(kEnvelopeHeaderSize, body_len)};
}

}  // namespace vcsnap
