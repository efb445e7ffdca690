// File: fleet/rng.h
//
// Rng: the deterministic pseudo-random generator of the fleet generator
// (SplitMix64 for seeding, xoshiro256** for the stream). Every decision the
// generator makes comes from an Rng derived from the fleet seed and a stable
// label (VM index, day, purpose), so one seed gives one fleet, byte for byte,
// on every machine with the same source files. Never std::random_device,
// never std::uniform_*_distribution (their output differs between standard
// libraries).
//
// Thread safety: none; one Rng per thread of use.

#ifndef VCSNAP_FLEET_RNG_H_
#define VCSNAP_FLEET_RNG_H_

#include <cmath>
#include <cstdint>
#include <string_view>

namespace vcsnap::fleet {

inline uint64_t SplitMix64(uint64_t* state) {
  uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

// A 64-bit mix of a seed and up to three labels (stable across versions).
inline uint64_t MixSeed(uint64_t seed, uint64_t a, uint64_t b = 0,
                        uint64_t c = 0) {
  uint64_t s = seed;
  uint64_t h = SplitMix64(&s);
  for (uint64_t v : {a, b, c}) {
    s ^= v + 0x632be59bd9b4e019ull + h;
    h = SplitMix64(&s);
  }
  return h;
}

// FNV-1a of a string, for labels that are names.
inline uint64_t HashLabel(std::string_view s) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (char c : s) {
    h ^= static_cast<uint8_t>(c);
    h *= 0x100000001b3ull;
  }
  return h;
}

class Rng {
 public:
  explicit Rng(uint64_t seed) {
    uint64_t s = seed;
    for (uint64_t& w : s_) w = SplitMix64(&s);
  }
  uint64_t Next() {
    const uint64_t result = Rotl(s_[1] * 5, 7) * 9;
    const uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = Rotl(s_[3], 45);
    return result;
  }
  // Uniform in [0, n); n > 0. (Lemire's multiply-shift; bias < 2^-64 * n.)
  uint64_t Uniform(uint64_t n) {
    return static_cast<uint64_t>((static_cast<unsigned __int128>(Next()) * n) >>
                                 64);
  }
  // Uniform in [lo, hi].
  uint64_t Range(uint64_t lo, uint64_t hi) { return lo + Uniform(hi - lo + 1); }
  // Uniform in [0, 1).
  double Real() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }
  bool Chance(double p) { return Real() < p; }
  // An index in [0, n) skewed toward 0: P(i) ~ 1/(i+1)^s (bounded Pareto by
  // inverse transform of the continuous density; cheap and deterministic).
  uint64_t Skewed(uint64_t n, double s) {
    if (n <= 1) return 0;
    const double u = Real();
    double x;
    if (std::fabs(s - 1.0) < 1e-9) {
      x = std::exp(u * std::log(static_cast<double>(n) + 1.0)) - 1.0;
    } else {
      const double a = 1.0 - s;
      const double top = std::pow(static_cast<double>(n) + 1.0, a);
      x = std::pow(1.0 + u * (top - 1.0), 1.0 / a) - 1.0;
    }
    const uint64_t i = static_cast<uint64_t>(x);
    return i < n ? i : n - 1;
  }
  // Log-normal with the given median and sigma (of the log), clamped.
  uint64_t LogNormal(double median, double sigma, uint64_t lo, uint64_t hi) {
    // Box-Muller from two uniforms.
    const double u1 = Real() + 1e-300;
    const double u2 = Real();
    const double z =
        std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
    double v = median * std::exp(sigma * z);
    if (v < static_cast<double>(lo)) return lo;
    if (v > static_cast<double>(hi)) return hi;
    return static_cast<uint64_t>(v);
  }

 private:
  static uint64_t Rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  uint64_t s_[4];
};

}  // namespace vcsnap::fleet

#endif  // VCSNAP_FLEET_RNG_H_
