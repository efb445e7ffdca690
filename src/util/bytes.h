// File: util/bytes.h
//
// Bytes: the owned byte buffer used everywhere (object contents, chunk data,
// encoded formats), a plain std::vector<uint8_t>. Hot paths reuse buffers
// rather than allocate per call. ByteView is a borrowed, read-only view; it
// must not outlive the bytes it points to.

#ifndef VCSNAP_UTIL_BYTES_H_
#define VCSNAP_UTIL_BYTES_H_

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace vcsnap {

using Bytes = std::vector<uint8_t>;
using ByteView = std::span<const uint8_t>;

inline ByteView AsBytes(std::string_view s) {
  return ByteView(reinterpret_cast<const uint8_t*>(s.data()), s.size());
}
inline std::string_view AsChars(ByteView b) {
  return std::string_view(reinterpret_cast<const char*>(b.data()), b.size());
}
inline Bytes ToBytes(std::string_view s) {
  ByteView v = AsBytes(s);
  return Bytes(v.begin(), v.end());
}

}  // namespace vcsnap

#endif  // VCSNAP_UTIL_BYTES_H_
