// File: chunk/chunker.h
//
// Chunkers split one segment (docs/format/chunking.md) into chunks:
//  * the gear chunker: content-defined, FastCDC-style gear hash with
//    normalized chunking and cut-point skipping (the default);
//  * the fixed chunker: every chunk has the same size (for comparison, and
//    for users who want it).
// Both restart at the start of every buffer given to Split(), so a segment's
// chunks depend only on that segment's bytes and the parameters. The exact
// algorithm is part of the stored format: a change moves chunk boundaries and
// breaks deduplication with older snapshots (the golden test catches it).
//
// Thread safety: a Chunker is immutable after construction; all methods are
// const and may be called from any number of threads at once.

#ifndef VCSNAP_CHUNK_CHUNKER_H_
#define VCSNAP_CHUNK_CHUNKER_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "format/repo_config.h"
#include "util/bytes.h"
#include "util/result.h"

namespace vcsnap {

class Chunker {  // immutable after construction; thread-safe (const methods)
 public:
  virtual ~Chunker() = default;

  // Appends to *ends the exclusive end offset of each chunk of `data` (one
  // whole segment or the short last one). The last end == data.size();
  // nothing for empty data. Depends only on `data` and the parameters.
  // REQUIRES: data.size() < 2^32.
  virtual void Split(ByteView data, std::vector<uint32_t>* ends) const = 0;

  // Called by SplitFrom() with each chunk end (an offset into the whole
  // buffer) and whether the end is *restartable*; returns false to stop.
  using EndVisitor = std::function<bool(uint32_t end, bool restartable)>;

  // Chunks data[from, size) exactly as Split(data.subspan(from)) would, but
  // reports the ends as offsets into `data`, one at a time, and stops early
  // when `visit` returns false. An end e is restartable when chunking
  // data[e, size) afresh yields the same ends as this call goes on to yield:
  // every end of the gear chunker but those strictly inside a run of zeros it
  // cuts out; every end of the fixed chunker. REQUIRES: from <= data.size().
  virtual void SplitFrom(ByteView data, uint32_t from,
                         const EndVisitor& visit) const = 0;

  // How far past a chunk's end the bytes can still decide that end: the end
  // that follows a restartable end b depends only on data[b, end +
  // lookahead()). The gear chunker looks ahead for a run of zeros that would
  // cut the chunk short; the fixed chunker never looks ahead.
  virtual uint32_t lookahead() const { return 0; }

  // The length of every chunk but the last that Split() produces on a buffer
  // of zero bytes, so that callers can chunk an all-zero segment without a
  // pass over it; 0 when unknown (then callers must call Split()).
  virtual uint32_t ZeroRunChunkLength() const { return 0; }

  // Largest chunk Split() may produce.
  virtual uint32_t max_chunk() const = 0;

  // The keys chunks are fingerprinted with (ChunkFingerprint): those of the
  // encrypted repository MakeChunker() was given, else null (SHA-256).
  const RepoKeys* fingerprint_keys() const { return keys_.get(); }
  // Set once, by MakeChunker(), before the chunker is shared.
  void set_fingerprint_keys(std::shared_ptr<const RepoKeys> keys) {
    keys_ = std::move(keys);
  }

 private:
  std::shared_ptr<const RepoKeys> keys_;
};

// Zero-run threshold of chunking format version 1. DO NOT CHANGE.
inline constexpr uint32_t kGearZeroRunMin = 128;

struct GearParams {
  uint32_t min = 0, avg = 0, max = 0;
  // Every maximal run of >= zero_run_min zero bytes is cut out as chunks of
  // its own (docs/format/chunking.md); 0 turns the rule off. Part of format
  // version 1: always kGearZeroRunMin in a repository; other values only to
  // measure what the rule buys (chunk_bench). 0 or >= 128.
  uint32_t zero_run_min = kGearZeroRunMin;
};

// The gear chunker, normalization point `avg`. Every maximal run of >= 128
// (zero_run_min) zero bytes becomes chunks of its own (of max bytes, the last
// shorter); the data between such runs is cut content-defined into chunks of
// [min, max] bytes, where the chunk just before a zero run or the end of the
// buffer may be shorter than min. InvalidArgument unless 0 < min <= avg <= max
// < 2^31 and avg is a power of two from 256 to 2^24.
Result<std::unique_ptr<Chunker>> MakeGearChunker(uint32_t min, uint32_t avg,
                                                 uint32_t max);

Result<std::unique_ptr<Chunker>> MakeGearChunker(const GearParams& params);

// Chunks of exactly `size` bytes, the last one shorter. InvalidArgument
// unless 0 < size < 2^31.
Result<std::unique_ptr<Chunker>> MakeFixedChunker(uint32_t size);

// The chunker a repository uses: kGear with chunk_min/avg/max, or kFixed with
// chunk size chunk_avg, fingerprinting with the repository's keys.
// InvalidArgument when the config does not validate, or is encrypted and
// carries no keys.
Result<std::unique_ptr<Chunker>> MakeChunker(const RepoConfig& config);

}  // namespace vcsnap

#endif  // VCSNAP_CHUNK_CHUNKER_H_
