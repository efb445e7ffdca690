#include "util/checksum.h"

#include <xxhash.h>

namespace vcsnap {

uint64_t Checksum64(ByteView data, uint64_t seed) {
  return XXH3_64bits_withSeed(data.data(), data.size(), seed);
}

uint64_t IdentitySeed(std::string_view identity) {
  return XXH3_64bits(identity.data(), identity.size());
}

}  // namespace vcsnap
