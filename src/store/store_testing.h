// File: store/store_testing.h
//
// Test and benchmark helpers of the store layer (not part of the library):
// real (not random) content taken from this machine's shared libraries, cut
// into chunks, and small store configurations.

#ifndef VCSNAP_STORE_STORE_TESTING_H_
#define VCSNAP_STORE_STORE_TESTING_H_

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "format/repo_config.h"
#include "util/bytes.h"

namespace vcsnap::testing {

// `n` bytes of real binary content: regular files of /usr/lib/x86_64-linux-gnu
// (then /usr/bin), in name order, concatenated. Deterministic per machine.
inline Bytes RealContent(size_t n) {
  Bytes out;
  out.reserve(n);
  for (const char* dir : {"/usr/lib/x86_64-linux-gnu", "/usr/bin"}) {
    std::vector<std::filesystem::path> files;
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
      if (e.is_regular_file(ec) && !e.is_symlink(ec)) files.push_back(e.path());
    }
    std::sort(files.begin(), files.end());
    for (const auto& f : files) {
      if (out.size() >= n) return out;
      std::ifstream in(f, std::ios::binary);
      Bytes buf(std::min<size_t>(n - out.size(), 8u << 20));
      in.read(reinterpret_cast<char*>(buf.data()),
              static_cast<std::streamsize>(buf.size()));
      buf.resize(static_cast<size_t>(in.gcount()));
      out.insert(out.end(), buf.begin(), buf.end());
    }
  }
  return out;
}

// Cuts `data` into chunks of `avg` bytes on average (sizes vary between
// avg/2 and 3*avg/2, deterministically), like a content-defined chunker.
inline std::vector<Bytes> CutChunks(const Bytes& data, size_t avg) {
  std::vector<Bytes> out;
  size_t pos = 0;
  uint64_t x = 88172645463325252ull;
  while (pos < data.size()) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    size_t len = avg / 2 + x % (avg + 1);
    len = std::min(len, data.size() - pos);
    out.emplace_back(data.begin() + pos, data.begin() + pos + len);
    pos += len;
  }
  return out;
}

// Small limits so tests cross group, block and container boundaries fast.
inline RepoConfig SmallStoreConfig(
    CompressionKind kind = CompressionKind::kZstd) {
  RepoConfig c = RepoConfig::NewDefault();
  c.compression = kind;
  c.compression_level = 1;
  c.group_chunks = 16;
  c.max_object_size = 1u << 20;
  c.container_size = 2u << 20;
  return c;
}

}  // namespace vcsnap::testing

#endif  // VCSNAP_STORE_STORE_TESTING_H_
