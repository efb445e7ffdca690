// File: format/envelope.h
//
// The envelope: the common frame of every whole-object metadata format of
// vcsnap (repository config, and the metadata objects of later layers). It
// gives each object a type (magic), a format version, an exact body length
// and a checksum bound to the object's name. Byte layout in
// docs/format/envelope.md:
//
//   magic[4] | version u16 | flags u16 (0) | body_len u64 | body | xxh3 u64
//
// The checksum covers everything before it and is seeded with
// IdentitySeed(identity), where identity is the object name, so an envelope
// copied to another name fails verification.
//
// Thread safety: pure functions.

#ifndef VCSNAP_FORMAT_ENVELOPE_H_
#define VCSNAP_FORMAT_ENVELOPE_H_

#include <array>
#include <cstdint>
#include <functional>
#include <span>
#include <string_view>

#include "util/bytes.h"
#include "util/coding.h"
#include "util/result.h"

namespace vcsnap {

inline constexpr size_t kEnvelopeHeaderSize = 16;
inline constexpr size_t kEnvelopeTrailerSize = 8;
inline constexpr size_t kEnvelopeOverhead =
    kEnvelopeHeaderSize + kEnvelopeTrailerSize;

using Magic = std::array<char, 4>;

struct EnvelopeSpec {
  Magic magic;
  std::string_view type_name;  // for messages: "repository config"
  uint16_t min_version;        // oldest version this reader understands
  uint16_t max_version;        // newest version this reader understands
  uint64_t max_body;           // larger bodies are rejected as corrupt
};

// Frames `body` with `version`, binding the checksum to `identity`.
Bytes EncodeEnvelope(const EnvelopeSpec& spec, uint16_t version,
                     std::string_view identity, ByteView body);

// The same envelope, with the body written by `write_body` straight into
// the result (no copy of a large body). `size_hint`: the body's expected
// size, to allocate once.
Bytes EncodeEnvelopeWith(const EnvelopeSpec& spec, uint16_t version,
                         std::string_view identity, size_t size_hint,
                         const std::function<void(ByteWriter&)>& write_body);

// Frames a body already in place: writes the header into the first
// kEnvelopeHeaderSize bytes of `object` and the checksum into its last
// kEnvelopeTrailerSize; everything between is the body. Gives the bytes
// EncodeEnvelope would for that body, without copying it (a body of
// megabytes kept in a buffer with room around it).
// REQUIRES: object.size() >= kEnvelopeOverhead.
void SealEnvelope(const EnvelopeSpec& spec, uint16_t version,
                  std::string_view identity, std::span<uint8_t> object);

struct DecodedEnvelope {
  uint16_t version = 0;
  ByteView body;  // points into the decoded bytes
};

// Checks and unwraps an envelope read from `identity`. Corruption (bad magic,
// bad length, checksum mismatch, nonzero flags) or NotSupported (a version
// outside [min_version, max_version]); every message names `identity`.
Result<DecodedEnvelope> DecodeEnvelope(const EnvelopeSpec& spec,
                                       std::string_view identity,
                                       ByteView bytes);

}  // namespace vcsnap

#endif  // VCSNAP_FORMAT_ENVELOPE_H_
