// File: chunk/test_data.cc

#include "chunk/test_data.h"

#include <algorithm>
#include <string_view>

#include "chunk/gear_table.h"

namespace vcsnap::testdata {
namespace {

class Gen {
 public:
  explicit Gen(uint64_t seed) : state_(seed) {}
  uint64_t Next() { return SplitMix64(&state_); }
  // Uniform enough in [0, n) for test data; n > 0.
  uint64_t Below(uint64_t n) { return Next() % n; }

 private:
  uint64_t state_;
};

constexpr std::string_view kWords[] = {
    "the",     "segment",  "chunk",    "of",        "backup", "virtual",
    "machine", "disk",     "image",    "and",       "a",      "store",
    "recipe",  "index",    "to",       "is",        "in",     "kernel",
    "config",  "error",    "value",    "return",    "int",    "void",
    "static",  "const",    "if",       "for",       "while",  "struct",
    "=",       "{",        "}",        "(",         ");",     "0x1f",
    "42",      "/usr/lib", "#include", "--verbose", "INFO",   "WARN"};

void AppendText(Gen& g, size_t n, Bytes* out) {
  const size_t end = out->size() + n;
  while (out->size() < end) {
    std::string_view w = kWords[g.Below(std::size(kWords))];
    out->insert(out->end(), w.begin(), w.end());
    out->push_back(g.Below(9) == 0 ? '\n' : ' ');
  }
  out->resize(end);
}

void AppendRecords(Gen& g, size_t n, Bytes* out) {
  const size_t end = out->size() + n;
  uint64_t counter = g.Next() & 0xffff;
  const uint64_t base = 0x400000 + (g.Next() & 0xfff000);
  while (out->size() < end) {
    const uint64_t fields[2] = {counter++, base + 16 * g.Below(4096)};
    for (uint64_t f : fields) {
      for (int i = 0; i < 8; ++i)
        out->push_back(static_cast<uint8_t>(f >> 8 * i));
    }
  }
  out->resize(end);
}

void AppendRandom(Gen& g, size_t n, Bytes* out) {
  for (size_t i = 0; i < n; ++i) out->push_back(static_cast<uint8_t>(g.Next()));
}

}  // namespace

Bytes MixedContent(size_t size, uint64_t seed) {
  Gen g(seed);
  Bytes out;
  out.reserve(size);
  while (out.size() < size) {
    const size_t n =
        std::min<size_t>(size - out.size(), 512 + g.Below(48 << 10));
    switch (g.Below(8)) {
      case 0:
      case 1:
      case 2:
        AppendText(g, n, &out);
        break;
      case 3:
      case 4:
        AppendRecords(g, n, &out);
        break;
      case 5:
      case 6:
        AppendRandom(g, n, &out);
        break;
      default:
        out.insert(out.end(), n, 0);
        break;
    }
  }
  return out;
}

}  // namespace vcsnap::testdata
