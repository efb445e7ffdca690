// File: recipe/recipe_pack.h
//
// The per-VM append-only recipe store. A backup writes the segment recipes of
// its dirty segments into *packs*: objects "vm/<vm>/recipes/<snapshot>.<n>"
// of at most a few MiB, each written whole, once, with an atomic Put. A
// segment recipe is then named by a SegmentRecipeRef (which snapshot's packs,
// which pack, offset, length); later snapshots whose segment is clean point
// at the same ref -- nothing is copied.
//
// Encrypted repositories (`keys` given): each record is sealed, nonce |
// AES-256-GCM(record) | tag under keys->metadata with the record's identity
// (RecipeIdentity) as associated data, so the fingerprints, lengths and
// references of a segment recipe are not readable from storage; a ref's
// length is the sealed length.
//
// Crash story: packs are written before the snapshot recipe and the catalog
// that refer to them, so a committed snapshot never names a missing pack; a
// crashed backup leaves packs no catalog entry names, which gc removes.
//
// Thread safety: RecipePackWriter is single-threaded. RecipeReader is
// thread-safe (an internal mutex guards its small cache of whole packs).

#ifndef VCSNAP_RECIPE_RECIPE_PACK_H_
#define VCSNAP_RECIPE_RECIPE_PACK_H_

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "backend/backend.h"
#include "format/crypto.h"
#include "recipe/segment_recipe.h"
#include "util/lru_cache.h"

namespace vcsnap {

struct SegmentRecipeRef {
  uint32_t snapshot_id = 0;  // the snapshot whose backup wrote the pack
  uint32_t pack = 0;
  uint32_t offset = 0;
  uint32_t length = 0;
  bool operator==(const SegmentRecipeRef&) const = default;
};

class RecipePackWriter {
 public:
  // `backend` (and `keys`, the repository's keys when it is encrypted, else
  // null) must outlive the writer. Packs are cut at `pack_bytes` (capped to
  // the backend's object limit).
  RecipePackWriter(Backend* backend, std::string vm, uint32_t snapshot_id,
                   const RepoKeys* keys, uint64_t pack_bytes = 4ull << 20);

  // Adds one segment recipe; the ref is valid once Finish returns OK.
  Result<SegmentRecipeRef> Add(const std::vector<RecipeEntry>& entries);
  // Writes the last, partly filled pack. Durable on OK.
  Status Finish();

  uint32_t packs_written() const { return packs_written_; }
  uint64_t bytes_written() const { return bytes_written_; }

 private:
  Status FlushPack();

  Backend* const backend_;
  const std::string vm_;
  const uint32_t snapshot_id_;
  const RepoKeys* const keys_;
  const uint64_t pack_bytes_;
  uint32_t pack_ = 0;
  Bytes buffer_;
  uint32_t packs_written_ = 0;
  uint64_t bytes_written_ = 0;
};

// Reads segment recipes. A recipe in a cached pack is cut from it; any other
// is read alone (a ranged read of its record), so random access -- restore
// and backup go segment by segment, through the packs of many snapshots --
// costs one small read per recipe, never a whole pack. Walks that read many
// recipes of one pack load it whole first (LoadPack; recipe/recipe_walk.h).
class RecipeReader {
 public:
  // `backend` and `keys` (null: unencrypted) must outlive the reader;
  // `segment_size` bounds every recipe.
  RecipeReader(Backend* backend, std::string vm, uint64_t segment_size,
               const RepoKeys* keys, size_t cached_packs = 4);

  Result<std::vector<RecipeEntry>> Read(const SegmentRecipeRef& ref);
  // Reads the whole pack holding `ref` into the cache.
  Status LoadPack(const SegmentRecipeRef& ref);

 private:
  Result<std::vector<RecipeEntry>> Decode(const std::string& name,
                                          const SegmentRecipeRef& ref,
                                          ByteView record, uint64_t available);

  Backend* const backend_;
  const std::string vm_;
  const uint64_t segment_size_;
  const RepoKeys* const keys_;
  std::mutex mu_;
  LruCache<std::string, std::shared_ptr<const Bytes>> cache_;  // by mu_
};

// The identity a record at `offset` of pack `pack_name` is bound to.
std::string RecipeIdentity(const std::string& pack_name, uint32_t offset);

}  // namespace vcsnap

#endif  // VCSNAP_RECIPE_RECIPE_PACK_H_
