// File: backup/snapshot_reader.h
//
// SnapshotReader: random access to the image of one committed snapshot, for
// restore (segment by segment) and for serving a snapshot over NBD (any byte
// range, any order, from many threads).
//
// Every chunk is fetched by reference -- VM chunks from the VM's store, whose
// groups carry location-bound checksums; PDS chunks through `pds` -- and its
// length is checked against the recipe; with `verify`, its SHA-256 against the
// fingerprint too. Zero segments and zero chunks are never fetched. Every
// error names the VM, snapshot, segment and image offset. A compaction that
// runs meanwhile is harmless: the store reloads a container's head and
// retries once when its generation is gone.
//
// ReadAt keeps the last `cache_segments` assembled segments (2 MiB each by
// default) in an LRU cache, so the small sequential reads of an NBD client
// assemble each segment once.
//
// Thread safety: all const methods and ReadAt may be called from any number
// of threads at once.

#ifndef VCSNAP_BACKUP_SNAPSHOT_READER_H_
#define VCSNAP_BACKUP_SNAPSHOT_READER_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <future>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "recipe/recipe_pack.h"
#include "recipe/snapshot_recipe.h"
#include "repo/repository.h"
#include "store/refs.h"
#include "store/vm_store.h"

namespace vcsnap {

struct SnapshotReaderOptions {
  std::string vm;
  std::string snapshot;  // an ID or "latest"
  bool verify = false;   // re-hash every chunk against its fingerprint
  size_t cache_segments = 8;
  // Fetches a PDS chunk; null when no PDS store is available.
  std::function<Result<Bytes>(const PdsRef&)> pds;
};

// A byte range [from, to) within one segment.
struct SegmentRange {
  uint32_t from = 0, to = 0;
};

class SnapshotReader {
 public:
  // Loads the catalog entry, the snapshot recipe and opens the VM's store.
  // NotFound for an unknown VM or snapshot.
  static Result<std::unique_ptr<SnapshotReader>> Open(
      Repository& repo, const SnapshotReaderOptions& options);

  const std::string& vm() const { return options_.vm; }
  uint32_t id() const { return recipe_.id; }
  uint64_t image_size() const { return recipe_.image_size; }
  uint32_t segment_size() const { return recipe_.segment_size; }
  uint64_t segment_count() const { return recipe_.segments.size(); }
  bool IsZeroSegment(uint64_t index) const {
    return recipe_.segments[index].zero;
  }

  // Assembles segment `index` into *buf (resized to the segment's length)
  // and replaces *zeros with its zero chunks' ranges, ascending and merged
  // (bytes there are zero in *buf too). Errors carry the place.
  // REQUIRES: index < segment_count().
  Status ReadSegment(uint64_t index, Bytes* buf,
                     std::vector<SegmentRange>* zeros) const;

  // The zero ranges of segment `index` from its recipe alone (no chunk is
  // fetched): the whole segment for a zero segment. The last 4096 segments'
  // answers are kept (NBD clients ask block status again and again).
  Status ZeroRanges(uint64_t index, std::vector<SegmentRange>* zeros) const;

  // Copies image bytes [offset, offset + out.size()) into `out` through the
  // segment cache. InvalidArgument past the end of the image.
  Status ReadAt(uint64_t offset, std::span<uint8_t> out);

  uint64_t chunks_read() const { return chunks_; }
  uint64_t chunks_verified() const { return verified_; }

 private:
  explicit SnapshotReader(const SnapshotReaderOptions& options)
      : options_(options) {}
  Status Where(uint64_t index, const Status& s) const;
  Status Assemble(uint64_t index, Bytes* buf,
                  std::vector<SegmentRange>* zeros) const;
  Status ZeroRangesFromRecipe(uint64_t index,
                              std::vector<SegmentRange>* zeros) const;
  Result<std::shared_ptr<const Bytes>> Cached(uint64_t index);

  const SnapshotReaderOptions options_;
  SnapshotRecipe recipe_;
  std::unique_ptr<VmStore> store_;
  std::unique_ptr<RecipeReader> recipes_;
  mutable std::atomic<uint64_t> chunks_{0}, verified_{0};

  std::mutex mu_;            // guards the cache
  std::list<uint64_t> lru_;  // most recent first
  std::map<uint64_t,
           std::pair<std::shared_ptr<Bytes>, std::list<uint64_t>::iterator>>
      cache_;
  std::vector<std::shared_ptr<Bytes>> spares_;  // evicted, for reuse
  struct Loaded {
    Status status;
    std::shared_ptr<Bytes> buf;  // null unless status is OK
  };
  std::map<uint64_t, std::shared_future<Loaded>> inflight_;  // being read

  mutable std::mutex zero_mu_;  // guards the zero-range cache
  mutable std::map<uint64_t, std::vector<SegmentRange>> zero_cache_;
  mutable std::list<uint64_t> zero_order_;  // oldest first
};

}  // namespace vcsnap

#endif  // VCSNAP_BACKUP_SNAPSHOT_READER_H_
