#include "format/repo_config.h"

#include <chrono>
#include <cstdio>
#include <random>

#include "format/envelope.h"
#include "util/coding.h"
#include "util/units.h"

namespace vcsnap {
namespace {

// Version 1: unencrypted repositories (written by every vcsnap). Version 2
// adds the encryption byte; it is written only for encrypted repositories,
// so that a vcsnap that does not know encryption refuses them.
constexpr uint16_t kConfigVersion = 2;
constexpr size_t kConfigBodySizeV1 =
    16 + 8 + 4 + 1 + 4 * 3 + 1 + 1 + 1 + 4 + 8 + 8;
constexpr size_t kConfigBodySizeV2 = kConfigBodySizeV1 + 1;

const EnvelopeSpec kConfigSpec{
    {'V', 'C', 'C', 'F'}, "repository config", 1, kConfigVersion, 4096};

Status Bad(const std::string& what) { return Status::InvalidArgument(what); }

}  // namespace

std::string_view CompressionName(CompressionKind kind) {
  switch (kind) {
    case CompressionKind::kNone:
      return "none";
    case CompressionKind::kLz4:
      return "lz4";
    case CompressionKind::kZstd:
      return "zstd";
  }
  return "unknown";
}

Result<CompressionKind> ParseCompression(std::string_view name) {
  if (name == "none") return CompressionKind::kNone;
  if (name == "lz4") return CompressionKind::kLz4;
  if (name == "zstd") return CompressionKind::kZstd;
  return Status::InvalidArgument("unknown compression '" + std::string(name) +
                                 "' (expected zstd, lz4 or none)");
}

RepoConfig RepoConfig::NewDefault() {
  RepoConfig c;
  std::random_device rd;
  for (auto& b : c.repo_id) b = static_cast<uint8_t>(rd());
  c.created_unix = static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::seconds>(
          std::chrono::system_clock::now().time_since_epoch())
          .count());
  return c;
}

RepoConfig RepoConfig::NewEncrypted() {
  RepoConfig c = NewDefault();
  c.UseEncryption();
  return c;
}

Status RepoConfig::Validate() const {
  if (!IsPowerOfTwo(segment_size) || segment_size < (64u << 10) ||
      segment_size > (64u << 20)) {
    return Bad("segment size " + std::to_string(segment_size) +
               " must be a power of two from 64KiB to 64MiB");
  }
  if (chunker != ChunkerKind::kGear && chunker != ChunkerKind::kFixed) {
    return Bad("unknown chunker " + std::to_string(static_cast<int>(chunker)));
  }
  if (!IsPowerOfTwo(chunk_avg) || chunk_avg < 256 || chunk_avg > (1u << 20)) {
    return Bad("average chunk size " + std::to_string(chunk_avg) +
               " must be a power of two from 256B to 1MiB");
  }
  if (chunk_min == 0 || chunk_min > chunk_avg || chunk_max < chunk_avg ||
      chunk_max > segment_size) {
    return Bad(
        "chunk sizes must satisfy 0 < min <= avg <= max <= segment "
        "size (got " +
        std::to_string(chunk_min) + "/" + std::to_string(chunk_avg) + "/" +
        std::to_string(chunk_max) + ")");
  }
  if (hash != HashKind::kSha256 && hash != HashKind::kHmacSha256) {
    return Bad("unknown hash " + std::to_string(static_cast<int>(hash)));
  }
  if (encryption != EncryptionKind::kNone &&
      encryption != EncryptionKind::kAes256Gcm) {
    return Bad("unknown encryption " +
               std::to_string(static_cast<int>(encryption)));
  }
  if ((hash == HashKind::kHmacSha256) != encrypted()) {
    return Bad(
        "keyed fingerprints (HMAC-SHA256) go with encryption, and only with "
        "it");
  }
  if (compression != CompressionKind::kNone &&
      compression != CompressionKind::kLz4 &&
      compression != CompressionKind::kZstd) {
    return Bad("unknown compression " +
               std::to_string(static_cast<int>(compression)));
  }
  if (compression_level < -7 || compression_level > 19) {
    return Bad("compression level " + std::to_string(compression_level) +
               " must be from -7 to 19");
  }
  if (group_chunks == 0 || group_chunks > 65535) {
    return Bad("chunks per group must be from 1 to 65535");
  }
  if (max_object_size < (1u << 20) || max_object_size > (128ull << 20)) {
    return Bad("object size limit must be from 1MiB to 128MiB");
  }
  if (container_size < max_object_size || container_size > (1ull << 40)) {
    return Bad("container size " + std::to_string(container_size) +
               " must be from the object size limit (" +
               std::to_string(max_object_size) + ") to 1TiB");
  }
  return Status::Ok();
}

std::string RepoConfig::RepoIdHex() const {
  std::string out;
  char buf[3];
  for (uint8_t b : repo_id) {
    std::snprintf(buf, sizeof(buf), "%02x", b);
    out += buf;
  }
  return out;
}

Bytes EncodeRepoConfig(const RepoConfig& c) {
  Bytes body;
  ByteWriter w(&body);
  w.Raw(ByteView(c.repo_id.data(), c.repo_id.size()));
  w.U64(c.created_unix);
  w.U32(c.segment_size);
  w.U8(static_cast<uint8_t>(c.chunker));
  w.U32(c.chunk_min);
  w.U32(c.chunk_avg);
  w.U32(c.chunk_max);
  w.U8(static_cast<uint8_t>(c.hash));
  w.U8(static_cast<uint8_t>(c.compression));
  w.U8(static_cast<uint8_t>(c.compression_level));
  w.U32(c.group_chunks);
  w.U64(c.container_size);
  w.U64(c.max_object_size);
  if (!c.encrypted()) {
    return EncodeEnvelope(kConfigSpec, 1, kConfigObjectName, body);
  }
  w.U8(static_cast<uint8_t>(c.encryption));
  return EncodeEnvelope(kConfigSpec, kConfigVersion, kConfigObjectName, body);
}

Result<RepoConfig> DecodeRepoConfig(ByteView bytes) {
  VCSNAP_ASSIGN_OR_RETURN(
      DecodedEnvelope env,
      DecodeEnvelope(kConfigSpec, kConfigObjectName, bytes));
  const size_t want = env.version == 1 ? kConfigBodySizeV1 : kConfigBodySizeV2;
  if (env.body.size() != want) {
    return Status::Corruption("repository config: version " +
                              std::to_string(env.version) + " body is " +
                              std::to_string(env.body.size()) +
                              " bytes, expected " + std::to_string(want));
  }
  ByteReader r(env.body, "repository config");
  RepoConfig c;
  VCSNAP_ASSIGN_OR_RETURN(ByteView id, r.Raw(16, "repo id"));
  std::copy(id.begin(), id.end(), c.repo_id.begin());
  VCSNAP_ASSIGN_OR_RETURN(c.created_unix, r.U64("created"));
  VCSNAP_ASSIGN_OR_RETURN(c.segment_size, r.U32("segment size"));
  VCSNAP_ASSIGN_OR_RETURN(uint8_t chunker, r.U8("chunker"));
  c.chunker = static_cast<ChunkerKind>(chunker);
  VCSNAP_ASSIGN_OR_RETURN(c.chunk_min, r.U32("chunk min"));
  VCSNAP_ASSIGN_OR_RETURN(c.chunk_avg, r.U32("chunk avg"));
  VCSNAP_ASSIGN_OR_RETURN(c.chunk_max, r.U32("chunk max"));
  VCSNAP_ASSIGN_OR_RETURN(uint8_t hash, r.U8("hash"));
  c.hash = static_cast<HashKind>(hash);
  VCSNAP_ASSIGN_OR_RETURN(uint8_t comp, r.U8("compression"));
  c.compression = static_cast<CompressionKind>(comp);
  VCSNAP_ASSIGN_OR_RETURN(uint8_t level, r.U8("compression level"));
  c.compression_level = static_cast<int8_t>(level);
  VCSNAP_ASSIGN_OR_RETURN(c.group_chunks, r.U32("group chunks"));
  VCSNAP_ASSIGN_OR_RETURN(c.container_size, r.U64("container size"));
  VCSNAP_ASSIGN_OR_RETURN(c.max_object_size, r.U64("object size limit"));
  if (env.version >= 2) {
    VCSNAP_ASSIGN_OR_RETURN(uint8_t enc, r.U8("encryption"));
    c.encryption = static_cast<EncryptionKind>(enc);
    if (!c.encrypted()) {
      return Status::Corruption(
          "repository config: version 2 is only written for encrypted "
          "repositories, but says encryption none");
    }
  }
  Status valid = c.Validate();
  if (!valid.ok()) {
    return Status::Corruption("repository config: " + valid.message());
  }
  return c;
}

}  // namespace vcsnap
