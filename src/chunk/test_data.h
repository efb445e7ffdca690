// File: chunk/test_data.h
//
// Deterministic test inputs for the chunk tests: the same bytes on every
// machine and compiler (own arithmetic on splitmix64, no <random>
// distributions, no system files), so golden files stay valid.
//
// Thread safety: pure functions.

#ifndef VCSNAP_CHUNK_TEST_DATA_H_
#define VCSNAP_CHUNK_TEST_DATA_H_

#include <cstddef>
#include <cstdint>

#include "util/bytes.h"

namespace vcsnap::testdata {

// `size` bytes mixing pseudo-text (words, lines), pseudo-binary records
// (little-endian counters and pointers, like executables and databases),
// random bytes and runs of zeros, in blocks of varying length, from `seed`.
Bytes MixedContent(size_t size, uint64_t seed);

}  // namespace vcsnap::testdata

#endif  // VCSNAP_CHUNK_TEST_DATA_H_
