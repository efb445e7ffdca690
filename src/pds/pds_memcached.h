// File: pds/pds_memcached.h
//
// The PDS index shared across a cluster in memcached (SPEC §1: "the PDS index
// lives in process, or in memcached across the cluster"): every agent looks
// its level-3 fingerprints up in the same memcached servers instead of
// holding the index in its own memory. Servers are chosen per key by
// consistent hashing (ketama), so adding or losing a server moves or loses
// only that server's share.
//
// A cache, never the truth. The index of a generation lives in the
// repository (pds_table.h); LoadPdsIndexIntoMemcached copies it into
// memcached, marker last. A key memcached evicted, or a server that is down,
// is a miss: the chunk is then stored in the VM's own store -- dedup lost,
// never correctness. A value is accepted only if its keyed check (XXH3-64 of
// key and value, seeded by the repository ID) holds: a damaged value, one of
// another repository or generation, or one some other memcached user wrote
// is a miss too, so a lookup never returns a wrong reference.
//
// Layout in memcached (docs/format/pds.md, "memcached index"):
//   key   "vcsnap:" repo_id[0..8) hex ":" generation ":" fingerprint hex
//   value u64 offset | u32 size | u64 check                  (20 bytes)
//   marker key "vcsnap:" repo_id[0..8) hex ":" generation ":loaded"
//   marker value u64 entries | u64 check                      (16 bytes)
//
// Location syntax: "memcached://HOST:PORT[,HOST:PORT...]" (1..64 servers).
//
// Thread safety: MemcachedPdsIndex::Lookup may be called concurrently (one
// connection set, used under a mutex). LoadPdsIndexIntoMemcached is for one
// caller at a time.

#ifndef VCSNAP_PDS_PDS_MEMCACHED_H_
#define VCSNAP_PDS_PDS_MEMCACHED_H_

#include <array>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "backend/backend.h"
#include "pds/pds_index.h"

namespace vcsnap {

inline constexpr std::string_view kMemcachedScheme = "memcached://";

struct MemcachedServer {
  std::string host;
  uint16_t port = 0;
};

bool IsMemcachedLocation(std::string_view location);
// InvalidArgument naming what is wrong.
Result<std::vector<MemcachedServer>> ParseMemcachedLocation(
    std::string_view location);

using RepoId = std::array<uint8_t, 16>;

struct MemcachedLoadResult {
  uint32_t generation = 0;
  uint64_t entries = 0;
  double seconds = 0;
};

// Copies the index of `generation` into memcached, then sets the marker.
// IOError when a server refuses writes or the marker cannot be set.
Result<MemcachedLoadResult> LoadPdsIndexIntoMemcached(
    Backend& backend, const RepoId& repo_id, uint32_t generation,
    const std::vector<MemcachedServer>& servers);

struct MemcachedConn;  // one libmemcached connection set (pds_memcached.cc)

class MemcachedPdsIndex final : public PdsIndex {
 public:
  // An index of `generation` over `servers`. NotFound when the generation's
  // marker is not in memcached (never loaded, or evicted/restarted): load it
  // first. IOError when no server answers.
  static Result<std::unique_ptr<MemcachedPdsIndex>> Open(
      const RepoId& repo_id, uint32_t generation,
      const std::vector<MemcachedServer>& servers);
  ~MemcachedPdsIndex() override;

  uint32_t generation() const override { return generation_; }
  // One multi-get per batch: gather a few thousand lookups.
  size_t batch_hint() const override { return 4096; }
  void Lookup(std::span<const Fingerprint> fps,
              std::vector<std::optional<PdsRef>>* out) const override;

  uint64_t entries() const { return entries_; }
  // Values refused by their check so far (damaged or foreign).
  uint64_t rejected() const;

 private:
  MemcachedPdsIndex(std::unique_ptr<MemcachedConn> conn, const RepoId& repo_id,
                    uint32_t generation, uint64_t entries);

  mutable std::mutex mu_;
  std::unique_ptr<MemcachedConn> conn_;  // guarded by mu_
  const RepoId repo_id_;
  const uint32_t generation_;
  const uint64_t entries_;
  mutable uint64_t rejected_ = 0;  // guarded by mu_
};

}  // namespace vcsnap

#endif  // VCSNAP_PDS_PDS_MEMCACHED_H_
