// File: format/crypto.h
//
// The cryptographic primitives of encrypted repositories, all from OpenSSL 3
// (EVP): AES-256-GCM sealing with a random 96-bit nonce, HKDF-SHA256 key
// derivation, HMAC-SHA256 keyed fingerprints, and the operating system's
// random generator. Which objects are sealed and with what associated data
// is each format's business (docs/format/encryption.md gives the whole
// picture); this file only guarantees the primitives:
//
//   sealed = nonce[12] | ciphertext[len(plain)] | tag[16]
//
// Opening checks the tag over the ciphertext and the associated data (AAD);
// any difference -- a flipped bit, another key, other AAD (a record moved to
// another place) -- is Corruption, and no plaintext is released.
//
// Thread safety: every function may be called from any thread. Seal/Open and
// KeyedFingerprint keep per-thread reusable OpenSSL contexts.

#ifndef VCSNAP_FORMAT_CRYPTO_H_
#define VCSNAP_FORMAT_CRYPTO_H_

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "util/bytes.h"
#include "util/result.h"

namespace vcsnap {

inline constexpr size_t kKeySize = 32;
inline constexpr size_t kNonceSize = 12;
inline constexpr size_t kTagSize = 16;
inline constexpr size_t kSealOverhead = kNonceSize + kTagSize;

using Key256 = std::array<uint8_t, kKeySize>;

// Fills `out` from the OS random generator (RAND_bytes). Aborts when OpenSSL
// cannot produce randomness: continuing would reuse nonces.
void RandomFill(std::span<uint8_t> out);

// HKDF-SHA256(ikm, salt, info) -> 32 bytes.
Key256 DeriveKey(ByteView ikm, ByteView salt, std::string_view info);

// Seals `plain` into out[0, plain.size() + kSealOverhead) with a fresh random
// nonce. `out` must not overlap `plain`.
void Seal(const Key256& key, ByteView aad, ByteView plain, uint8_t* out);
inline Bytes Seal(const Key256& key, ByteView aad, ByteView plain) {
  Bytes out(plain.size() + kSealOverhead);
  Seal(key, aad, plain, out.data());
  return out;
}

// Opens `sealed` into out[0, sealed.size() - kSealOverhead). Corruption
// "<what>: authentication failed ..." when the tag does not verify (damage,
// another key or other AAD) or `sealed` is shorter than the overhead; `out`
// then holds nothing meaningful. `out` must not overlap `sealed`.
Status Open(const Key256& key, ByteView aad, ByteView sealed, uint8_t* out,
            std::string_view what);

// HMAC-SHA256(key, data): the chunk fingerprint of an encrypted repository,
// so stored and indexed fingerprints (recipes, the PDS index, memcached)
// cannot confirm that someone holds a known chunk.
std::array<uint8_t, 32> KeyedFingerprint(const Key256& key, ByteView data);

// The keys of one encrypted repository, derived from its 32-byte master key
// (HKDF, salt = repository ID, one label per use; docs/format/encryption.md).
// Immutable once built.
struct RepoKeys {
  Key256 data{};         // AES-256-GCM: chunk groups and PDS records
  Key256 fingerprint{};  // HMAC-SHA256: chunk fingerprints
  Key256 metadata{};     // AES-256-GCM: segment recipe records
  static RepoKeys FromMaster(const Key256& master, ByteView repo_id);
};

// Overwrites a key that is no longer needed (OPENSSL_cleanse: not optimised
// away).
void Wipe(Key256* key);

}  // namespace vcsnap

#endif  // VCSNAP_FORMAT_CRYPTO_H_
