// File: chunk/fingerprint.h
//
// Chunk fingerprints: SHA-256 (32 bytes) computed through OpenSSL's EVP
// interface, which uses the SHA-NI instructions when the CPU has them. The
// fingerprint is a chunk's identity for deduplication, stored in recipes and
// indexes: HashKind::kSha256 in the repository config. Encrypted
// repositories (HashKind::kHmacSha256) key it: ChunkFingerprint().
//
// Thread safety: all functions may be called from any thread. Sha256() keeps
// one reusable digest context per thread (thread_local).

#ifndef VCSNAP_CHUNK_FINGERPRINT_H_
#define VCSNAP_CHUNK_FINGERPRINT_H_

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "format/crypto.h"
#include "util/bytes.h"
#include "util/result.h"

namespace vcsnap {

using Fingerprint = std::array<uint8_t, 32>;

// SHA-256 of `data` via a per-thread reused EVP_MD_CTX and an explicitly
// fetched EVP_MD (measured faster than EVP_Digest for 4 KiB inputs; see
// docs/benchmarks/chunking.md). Aborts if OpenSSL fails, which it does only
// when out of memory or misinstalled.
Fingerprint Sha256(ByteView data);

// The same digest via one-shot EVP_Digest(EVP_sha256()); kept for the
// benchmark that compares the two ways of calling OpenSSL.
Fingerprint Sha256OneShot(ByteView data);

// A chunk's fingerprint in a repository: SHA-256, or HMAC-SHA256 under
// keys->fingerprint when the repository is encrypted (keys != null).
inline Fingerprint ChunkFingerprint(const RepoKeys* keys, ByteView data) {
  return keys == nullptr ? Sha256(data)
                         : KeyedFingerprint(keys->fingerprint, data);
}

// 64 lowercase hex digits.
std::string ToHex(const Fingerprint& fp);

// Inverse of ToHex (either case); InvalidArgument on anything else.
Result<Fingerprint> FingerprintFromHex(std::string_view hex);

}  // namespace vcsnap

#endif  // VCSNAP_CHUNK_FINGERPRINT_H_
