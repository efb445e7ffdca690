// File: format/repo_config.h
//
// RepoConfig: the parameters fixed for the life of a repository, so that one
// repository always chunks, hashes, compresses and packs the same way. Written
// once by `vcsnap init` as the object "config" inside an envelope (magic
// "VCCF"); byte layout in docs/format/repo-config.md.
//
// Thread safety: a plain value type.

#ifndef VCSNAP_FORMAT_REPO_CONFIG_H_
#define VCSNAP_FORMAT_REPO_CONFIG_H_

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "format/crypto.h"
#include "util/bytes.h"
#include "util/result.h"

namespace vcsnap {

inline constexpr std::string_view kConfigObjectName = "config";

// DO NOT CHANGE the numeric values: they are stored.
enum class ChunkerKind : uint8_t { kGear = 1, kFixed = 2 };
enum class HashKind : uint8_t { kSha256 = 1, kHmacSha256 = 2 };
enum class EncryptionKind : uint8_t { kNone = 0, kAes256Gcm = 1 };
enum class CompressionKind : uint8_t { kNone = 0, kLz4 = 1, kZstd = 2 };

std::string_view CompressionName(CompressionKind kind);
// "none", "lz4", "zstd" -> kind; InvalidArgument otherwise.
Result<CompressionKind> ParseCompression(std::string_view name);

struct RepoConfig {
  std::array<uint8_t, 16> repo_id{};  // random, names the repository
  uint64_t created_unix = 0;          // seconds since the epoch
  uint32_t segment_size = 2u << 20;   // power of two
  ChunkerKind chunker = ChunkerKind::kGear;
  // Chosen by measurement (docs/benchmarks/chunking.md): min 3/4 of the
  // average is 15-40 % faster than 1/2 for ~0.2 % more stored bytes; max
  // 16x the average makes no dedup difference against 4x-8x and forces the
  // fewest cuts.
  uint32_t chunk_min = 3u << 10;
  uint32_t chunk_avg = 4u << 10;  // power of two
  uint32_t chunk_max = 64u << 10;
  HashKind hash = HashKind::kSha256;
  CompressionKind compression = CompressionKind::kZstd;
  int8_t compression_level = 1;  // zstd level; ignored otherwise
  uint32_t group_chunks = 256;   // target chunks per chunk group
  uint64_t container_size = 1ull << 30;
  uint64_t max_object_size = 64ull << 20;
  // kAes256Gcm: chunk data sealed with AES-256-GCM and fingerprints keyed
  // (hash must then be kHmacSha256, and only then). Stored from version 2.
  EncryptionKind encryption = EncryptionKind::kNone;
  // NOT stored: the keys of an encrypted repository, set by Repository once
  // a key slot opened (repo/repository.h). Null for an unencrypted one.
  std::shared_ptr<const RepoKeys> keys;

  bool encrypted() const { return encryption != EncryptionKind::kNone; }

  // A config with these defaults, a fresh random repo_id and the current time.
  static RepoConfig NewDefault();
  // NewDefault() set up for encryption (UseEncryption()).
  static RepoConfig NewEncrypted();
  // Encrypts with AES-256-GCM, and so fingerprints with HMAC-SHA256: the
  // two go together (Validate() refuses one without the other).
  void UseEncryption() {
    encryption = EncryptionKind::kAes256Gcm;
    hash = HashKind::kHmacSha256;
  }

  // InvalidArgument naming the first parameter out of range (see the doc for
  // the ranges). Decode() applies it too, as Corruption.
  Status Validate() const;

  std::string RepoIdHex() const;
};

// The stored object (envelope included), bound to kConfigObjectName.
Bytes EncodeRepoConfig(const RepoConfig& config);
Result<RepoConfig> DecodeRepoConfig(ByteView bytes);

}  // namespace vcsnap

#endif  // VCSNAP_FORMAT_REPO_CONFIG_H_
