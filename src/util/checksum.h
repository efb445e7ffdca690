// File: util/checksum.h
//
// Fast non-cryptographic checksums for integrity of stored bytes (XXH3-64
// from libxxhash). Content identity uses SHA-256 (chunk/), never these.
//
// Checksums in vcsnap formats are *bound to where the bytes live*: the seed
// is derived from an identity string (object name, container ID and offset),
// so bytes copied to the wrong place fail verification like random damage.
//
// Thread safety: pure functions.

#ifndef VCSNAP_UTIL_CHECKSUM_H_
#define VCSNAP_UTIL_CHECKSUM_H_

#include <cstdint>
#include <string_view>

#include "util/bytes.h"

namespace vcsnap {

// XXH3-64 of `data` with `seed`.
uint64_t Checksum64(ByteView data, uint64_t seed);

// The seed for an identity string: XXH3-64 of the string with seed 0.
uint64_t IdentitySeed(std::string_view identity);

}  // namespace vcsnap

#endif  // VCSNAP_UTIL_CHECKSUM_H_
