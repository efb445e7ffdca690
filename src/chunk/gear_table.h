// File: chunk/gear_table.h
//
// The gear table of the content-defined chunker: 256 pseudo-random 64-bit
// values, one per byte value, generated at compile time by splitmix64 from a
// fixed seed. The table, the seed and the generator are PART OF THE STORED
// FORMAT (docs/format/chunking.md): changing any of them moves every chunk
// boundary and breaks deduplication against every existing repository.
// DO NOT CHANGE. A new table would need a new chunker kind in RepoConfig.
//
// Thread safety: constants.

#ifndef VCSNAP_CHUNK_GEAR_TABLE_H_
#define VCSNAP_CHUNK_GEAR_TABLE_H_

#include <array>
#include <cstdint>

namespace vcsnap {

// Version of the chunking algorithm (docs/format/chunking.md). DO NOT CHANGE.
inline constexpr uint32_t kChunkingFormatVersion = 1;

// DO NOT CHANGE: "vcsnapG1" as a little-endian 64-bit integer.
inline constexpr uint64_t kGearSeed = 0x314770616e736376ull;

// One step of splitmix64 (Steele, Lea, Flood 2014): advances *state and
// returns the next output. DO NOT CHANGE (it generates the gear table).
constexpr uint64_t SplitMix64(uint64_t* state) {
  uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

constexpr std::array<uint64_t, 256> MakeGearTable() {
  std::array<uint64_t, 256> table{};
  uint64_t state = kGearSeed;
  for (uint64_t& v : table) v = SplitMix64(&state);
  return table;
}

// gear[b] = the b-th output of splitmix64 seeded with kGearSeed.
inline constexpr std::array<uint64_t, 256> kGearTable = MakeGearTable();

}  // namespace vcsnap

#endif  // VCSNAP_CHUNK_GEAR_TABLE_H_
