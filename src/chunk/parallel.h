// File: chunk/parallel.h
//
// SegmentPipeline: chunks and fingerprints dirty segments on several worker
// threads and hands the results back strictly in submission order, holding at
// most `max_in_flight` segments in memory (submitted and not yet returned by
// Next()). Memory is therefore bounded by max_in_flight x segment size plus
// the chunk lists.
//
//   SegmentPipeline pipe(*chunker, /*threads=*/2, /*max_in_flight=*/8);
//   // producer thread:
//   for (...) { if (!pipe.Submit(index, std::move(bytes)).ok()) break; }
//   pipe.Close();                  // or pipe.Close(read_error)
//   // consumer thread:
//   SegmentResult r;
//   while (true) {
//     VCSNAP_ASSIGN_OR_RETURN(bool got, pipe.Next(&r));
//     if (!got) break;             // every segment delivered
//     Store(r.index, r.data, r.chunks);
//   }
//
// One thread may also be both producer and consumer: before each Submit(),
// if in_flight() == max_in_flight(), call Next() first (Submit() would
// otherwise wait for a Next() that never comes).
//
// Shutdown, without deadlock in every case:
//  * the producer fails: it calls Close(error); Next() returns the segments
//    submitted before, then `error`.
//  * the consumer stops early: it calls Cancel() (or destroys the pipeline);
//    a Submit() blocked on a full pipeline returns IOError "cancelled", and
//    so do later Submit()/Next() calls. Workers finish the segment they are
//    on and exit; the destructor joins them.
//
// Thread safety: Submit()/Close() may be called from one producer thread,
// Next() from one consumer thread, Cancel() and the accessors from any
// thread. The Chunker must outlive the pipeline.

#ifndef VCSNAP_CHUNK_PARALLEL_H_
#define VCSNAP_CHUNK_PARALLEL_H_

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "chunk/chunker.h"
#include "chunk/reuse.h"
#include "chunk/segment.h"
#include "util/bytes.h"
#include "util/result.h"
#include "util/status.h"

namespace vcsnap {

// What ChunkSegmentReusing() (chunk/reuse.h) needs to chunk a segment of
// which only `dirty` was written since the parent's chunks `parent`; empty
// `parent`: chunk the whole segment. With `load` set, the submitted bytes are
// not valid yet: the worker loads what it needs (ChunkSegmentLoading()), and
// the bytes of chunks copied from the parent stay invalid.
struct ReuseHint {
  std::vector<ChunkInfo> parent;
  std::vector<DirtyRange> dirty;
  SegmentLoader load;
  std::vector<DirtyRange> preloaded;  // with `load`: ranges valid already
};

struct SegmentResult {
  uint64_t index = 0;             // as given to Submit()
  Bytes data;                     // the segment's bytes, handed back
  std::vector<ChunkInfo> chunks;  // ChunkSegment(chunker, data) (or reusing)
  uint64_t bytes_loaded = 0;      // by a ReuseHint's loader
};

class SegmentPipeline {
 public:
  // `threads` workers (0 = one per hardware thread); `max_in_flight`
  // segments at most (0 = 2 per worker). Starts the workers.
  SegmentPipeline(const Chunker& chunker, unsigned threads,
                  size_t max_in_flight);
  // Cancel() and join the workers.
  ~SegmentPipeline();
  SegmentPipeline(const SegmentPipeline&) = delete;
  SegmentPipeline& operator=(const SegmentPipeline&) = delete;

  // Queues one segment (whole or the short last one), to be chunked by
  // ChunkSegment() or, with a non-empty hint, ChunkSegmentReusing(); blocks
  // while max_in_flight segments are in flight. InvalidArgument after Close();
  // IOError after Cancel().
  Status Submit(uint64_t index, Bytes data, ReuseHint hint = {});

  // No more segments. A non-OK `status` (the producer failed) is returned by
  // Next() once the segments submitted before are delivered. Idempotent: the
  // first call wins.
  void Close(Status status = Status::Ok());

  // The next result in submission order, blocking until it is ready: true
  // with *out filled; false when Close(OK) was called and everything was
  // delivered; the Close() error; a hint's loader error; IOError after
  // Cancel().
  Result<bool> Next(SegmentResult* out);

  // Stops the pipeline: pending segments are dropped and every blocked call
  // returns. Idempotent.
  void Cancel();

  size_t in_flight() const;
  size_t max_in_flight() const { return max_in_flight_; }
  unsigned threads() const { return static_cast<unsigned>(workers_.size()); }

 private:
  struct Slot {
    uint64_t index = 0;
    Bytes data;
    ReuseHint hint;
    std::vector<ChunkInfo> chunks;
    uint64_t bytes_loaded = 0;
    Status status;  // of the hint's loader
    bool done = false;
  };

  void WorkerLoop();

  const Chunker& chunker_;
  size_t max_in_flight_;
  mutable std::mutex mu_;
  std::condition_variable work_cv_;   // workers: a slot to start, or stop
  std::condition_variable ready_cv_;  // consumer: the head slot is done
  std::condition_variable space_cv_;  // producer: room for one more
  // In submission order; a slot leaves only through Next() (or with the
  // pipeline), so a worker's Slot* stays valid while it works on it.
  std::deque<std::unique_ptr<Slot>> slots_;
  size_t next_unstarted_ = 0;  // position in slots_ of the first unstarted
  bool closed_ = false;
  bool cancelled_ = false;
  Status close_status_;
  std::vector<std::thread> workers_;
};

}  // namespace vcsnap

#endif  // VCSNAP_CHUNK_PARALLEL_H_
