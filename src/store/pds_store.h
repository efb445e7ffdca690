// File: store/pds_store.h
//
// PdsStore: the store of popular-data-set chunks (paper §4.3, §5.2), shared
// by all VMs and addressed by (generation, offset, size) -- a PdsRef. It takes
// its own Backend so its placement (e.g. more replicas) can differ from the
// VM stores'. Layout and formats: docs/format/store-pds.md (version 1).
//
// A generation is written once by a Writer (records appended to blocks of at
// most backend->max_object_size() bytes; no record straddles a block), then
// published by Seal(): every block is synced, then the manifest is created.
// A generation without a manifest does not exist for readers; its debris is
// deleted when the generation is begun again. Each record is the chunk
// followed by an XXH3-64 checksum seeded with the block name and offset, so a
// wrong offset or size in a reference is detected, never served. In an
// encrypted repository (keys given) the chunk is sealed first: nonce |
// AES-256-GCM(chunk) | tag, the block name and offset as associated data.
//
// Thread safety: Get and the listing calls are thread-safe and use a small
// LRU cache of chunks. One Writer per generation at a time (the caller's
// lease); a Writer itself is single-threaded.

#ifndef VCSNAP_STORE_PDS_STORE_H_
#define VCSNAP_STORE_PDS_STORE_H_

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "backend/backend.h"
#include "format/crypto.h"
#include "store/refs.h"
#include "util/bytes.h"
#include "util/lru_cache.h"
#include "util/result.h"

namespace vcsnap {

inline constexpr size_t kPdsRecordTrailer = 8;

struct PdsGenerationInfo {
  uint32_t generation = 0;
  uint64_t block_size = 0;  // logical offset = block * block_size + in-block
  uint32_t blocks = 0;
  uint64_t end_offset = 0;  // logical end of the last record
  uint64_t chunks = 0;
  uint64_t chunk_bytes = 0;
};

std::string PdsBlockName(uint32_t gen, uint32_t block);
std::string PdsManifestName(uint32_t gen);

class PdsStore {
 public:
  class Writer {
   public:
    // Appends a chunk; the ref is valid once Seal() returns OK.
    Result<PdsRef> Append(ByteView chunk);
    // Syncs the blocks and publishes the generation (manifest Create).
    Status Seal();
    const PdsGenerationInfo& info() const { return info_; }

   private:
    friend class PdsStore;
    Writer(PdsStore* store, uint32_t gen, uint64_t block_size);
    PdsStore* const store_;
    PdsGenerationInfo info_;
    uint64_t in_block_ = 0;
    bool sealed_ = false;
  };

  // `keys`: the repository's keys when it is encrypted (records sealed),
  // else null. Not owned; must outlive the store.
  PdsStore(Backend* backend, const RepoKeys* keys,
           size_t cache_bytes = 4u << 20)
      : backend_(backend), keys_(keys), cache_(cache_bytes) {}

  // Starts writing `generation` (>= 1). AlreadyExists if it is published;
  // deletes the debris of an unpublished attempt first.
  Result<std::unique_ptr<Writer>> BeginGeneration(uint32_t generation);

  // NotFound for an unpublished generation; Corruption for a reference
  // outside the generation or bytes that fail their checksum.
  Result<Bytes> Get(const PdsRef& ref);

  Result<std::vector<uint32_t>> ListGenerations();  // published, ascending
  const RepoKeys* keys() const { return keys_; }
  Result<PdsGenerationInfo> GetGenerationInfo(uint32_t generation);
  // Unpublishes (manifest first), then deletes the blocks.
  Status DeleteGeneration(uint32_t generation);

 private:
  Result<PdsGenerationInfo> Manifest(uint32_t generation);

  // Bytes a record of a `size`-byte chunk takes.
  uint64_t RecordSize(uint64_t size) const {
    return size + kPdsRecordTrailer + (keys_ != nullptr ? kSealOverhead : 0);
  }

  Backend* const backend_;
  const RepoKeys* const keys_;
  std::mutex mu_;
  std::map<uint32_t, PdsGenerationInfo> manifests_;  // guarded by mu_
  struct KeyHash {                                   // (generation, offset)
    size_t operator()(const std::pair<uint32_t, uint64_t>& k) const {
      return std::hash<uint64_t>()(k.second * 0x9E3779B97F4A7C15ull ^ k.first);
    }
  };
  // Chunks by (generation, offset), bounded by bytes; guarded by mu_.
  LruCache<std::pair<uint32_t, uint64_t>, Bytes, KeyHash> cache_;
};

}  // namespace vcsnap

#endif  // VCSNAP_STORE_PDS_STORE_H_
