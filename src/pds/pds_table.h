// File: pds/pds_table.h
//
// The PDS index of one generation: fingerprint -> (offset, size) in that
// generation of the PDS store. Stored as sorted parts
//   pds/index/<g>/p<n>   envelope "VPDX": u64 count, count x {fp, u64 off, u32
//   size} pds/index/<g>/meta   envelope "VPDM": generation, entries, parts, and
//   the
//                        first fingerprint of every part (the fences)
// and published by pds/current (envelope "VPDC": the generation in force),
// written last with an atomic Put. Layout: docs/format/pds.md.
//
// Two readers implement PdsIndex:
//  - PdsTable: the whole index in process memory, 44 bytes per entry
//    (40-byte entry + a 4-byte bucket offset), O(1) lookups;
//  - PdsFileIndex: the low-memory mode -- only the fences in memory (32 bytes
//    per part of 4096 entries); a batch of lookups is sorted and merged
//    against the parts it touches, read on demand (a few cached).
//
// Thread safety: both readers are safe for concurrent Lookup calls.

#ifndef VCSNAP_PDS_PDS_TABLE_H_
#define VCSNAP_PDS_PDS_TABLE_H_

#include <algorithm>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "backend/backend.h"
#include "pds/pds_index.h"
#include "util/lru_cache.h"

namespace vcsnap {

inline constexpr size_t kPdsIndexPartEntries = 4096;

struct PdsIndexEntry {
  Fingerprint fp{};
  uint64_t offset = 0;
  uint32_t size = 0;
};

// Writes the index of `generation` from entries sorted by fingerprint
// (parts, then meta). Does not publish it.
Status WritePdsIndex(Backend& backend, uint32_t generation,
                     const std::vector<PdsIndexEntry>& sorted);

// Deletes the index of `generation`: the meta first (so no reader opens it
// half-deleted), then every part. Absent objects are fine.
Status DeletePdsIndex(Backend& backend, uint32_t generation);

// The generation in force; NotFound when no PDS was ever published.
Result<uint32_t> ReadCurrentPds(Backend& backend);
// Publishes `generation` (atomic Put of pds/current).
Status PublishPds(Backend& backend, uint32_t generation);

struct PdsIndexMeta {
  uint32_t generation = 0;
  uint64_t entries = 0;
  std::vector<Fingerprint> fences;  // first fp of each part
};
Result<PdsIndexMeta> ReadPdsIndexMeta(Backend& backend, uint32_t generation);
// Part `part` (< meta.fences.size()) of the index of `generation`, checked
// (sorted, count within bounds).
Result<std::vector<PdsIndexEntry>> ReadPdsIndexPart(Backend& backend,
                                                    uint32_t generation,
                                                    uint32_t part);

class PdsTable final : public PdsIndex {
 public:
  static Result<std::unique_ptr<PdsTable>> Load(Backend& backend,
                                                uint32_t generation);
  // Built directly (tests, benchmarks). REQUIRES: sorted by fingerprint.
  static Result<std::unique_ptr<PdsTable>> FromSorted(
      uint32_t generation, const std::vector<PdsIndexEntry>& sorted);

  uint32_t generation() const override { return generation_; }
  void Lookup(std::span<const Fingerprint> fps,
              std::vector<std::optional<PdsRef>>* out) const override;
  std::optional<PdsRef> Find(const Fingerprint& fp) const;
  size_t size() const { return entries_.size(); }
  size_t memory_bytes() const;

 private:
  struct Packed {  // 40 bytes
    Fingerprint fp;
    uint64_t offset_size;  // offset << 26 | size  (offset < 2^38, size < 2^26)
  };
  uint32_t generation_ = 0;
  int bucket_bits_ = 0;
  std::vector<Packed> entries_;    // sorted by fp
  std::vector<uint32_t> buckets_;  // first entry of each top-bits bucket, +1
};

class PdsFileIndex final : public PdsIndex {
 public:
  static Result<std::unique_ptr<PdsFileIndex>> Open(Backend* backend,
                                                    uint32_t generation,
                                                    size_t cached_parts = 4);
  uint32_t generation() const override { return meta_.generation; }
  // Every batch reads the parts it touches: gather many lookups per batch.
  size_t batch_hint() const override { return 1u << 17; }
  // Lookups whose part cannot be read count as misses (the chunk is then
  // stored in the VM, which is safe); the error is kept for last_error().
  void Lookup(std::span<const Fingerprint> fps,
              std::vector<std::optional<PdsRef>>* out) const override;
  Status last_error() const;

 private:
  using Part = std::shared_ptr<const std::vector<PdsIndexEntry>>;
  explicit PdsFileIndex(size_t cached_parts)
      : cache_(std::max<size_t>(cached_parts, 1)) {}
  Result<Part> LoadPart(uint32_t part) const;

  Backend* backend_ = nullptr;
  PdsIndexMeta meta_;
  mutable std::mutex mu_;
  mutable LruCache<uint32_t, Part> cache_;  // guarded by mu_
  mutable Status last_error_;               // guarded by mu_
};

// The index of the generation in force: a PdsFileIndex (`file_index`: reads
// parts on demand, little memory) or a PdsTable (all in memory); null when
// no PDS was ever published. A `pds update` may publish a newer generation
// and retire this one while it loads: when the load fails with NotFound and
// pds/current has moved on, it loads the new one (up to 3 tries).
Result<std::unique_ptr<PdsIndex>> LoadCurrentPdsIndex(Backend& backend,
                                                      bool file_index);

}  // namespace vcsnap

#endif  // VCSNAP_PDS_PDS_TABLE_H_
