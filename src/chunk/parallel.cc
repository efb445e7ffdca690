// File: chunk/parallel.cc

#include "chunk/parallel.h"

#include <algorithm>
#include <utility>

namespace vcsnap {
namespace {
Status Cancelled() { return Status::IOError("segment pipeline cancelled"); }
}  // namespace

SegmentPipeline::SegmentPipeline(const Chunker& chunker, unsigned threads,
                                 size_t max_in_flight)
    : chunker_(chunker) {
  if (threads == 0) threads = std::max(1u, std::thread::hardware_concurrency());
  max_in_flight_ = max_in_flight != 0 ? max_in_flight : 2 * size_t{threads};
  workers_.reserve(threads);
  for (unsigned i = 0; i < threads; ++i) {
    workers_.emplace_back([this] { WorkerLoop(); });
  }
}

SegmentPipeline::~SegmentPipeline() {
  Cancel();
  for (std::thread& t : workers_) t.join();
}

Status SegmentPipeline::Submit(uint64_t index, Bytes data, ReuseHint hint) {
  std::unique_lock lock(mu_);
  if (cancelled_) return Cancelled();
  if (closed_) {
    return Status::InvalidArgument("segment pipeline: Submit after Close");
  }
  space_cv_.wait(lock,
                 [&] { return cancelled_ || slots_.size() < max_in_flight_; });
  if (cancelled_) return Cancelled();
  auto slot = std::make_unique<Slot>();
  slot->index = index;
  slot->data = std::move(data);
  slot->hint = std::move(hint);
  slots_.push_back(std::move(slot));
  work_cv_.notify_one();
  return Status::Ok();
}

void SegmentPipeline::Close(Status status) {
  std::lock_guard lock(mu_);
  if (closed_) return;
  closed_ = true;
  close_status_ = std::move(status);
  ready_cv_.notify_all();
  work_cv_.notify_all();
}

Result<bool> SegmentPipeline::Next(SegmentResult* out) {
  std::unique_lock lock(mu_);
  ready_cv_.wait(lock, [&] {
    return cancelled_ || (!slots_.empty() && slots_.front()->done) ||
           (slots_.empty() && closed_);
  });
  if (cancelled_) return Cancelled();
  if (slots_.empty()) {
    if (!close_status_.ok()) return close_status_;
    return false;
  }
  Slot& head = *slots_.front();
  if (!head.status.ok()) return head.status;
  out->index = head.index;
  out->bytes_loaded = head.bytes_loaded;
  out->data = std::move(head.data);
  out->chunks = std::move(head.chunks);
  slots_.pop_front();
  --next_unstarted_;  // the head was started (it is done)
  space_cv_.notify_one();
  return true;
}

void SegmentPipeline::Cancel() {
  std::lock_guard lock(mu_);
  cancelled_ = true;
  work_cv_.notify_all();
  ready_cv_.notify_all();
  space_cv_.notify_all();
}

size_t SegmentPipeline::in_flight() const {
  std::lock_guard lock(mu_);
  return slots_.size();
}

void SegmentPipeline::WorkerLoop() {
  std::unique_lock lock(mu_);
  while (true) {
    work_cv_.wait(lock, [&] {
      return cancelled_ || closed_ || next_unstarted_ < slots_.size();
    });
    if (cancelled_) return;
    if (next_unstarted_ == slots_.size()) {
      if (closed_) return;
      continue;
    }
    Slot* slot = slots_[next_unstarted_++].get();
    lock.unlock();
    if (slot->hint.load) {
      slot->status = ChunkSegmentLoading(chunker_, slot->data,
                                         slot->hint.parent, slot->hint.dirty,
                                         slot->hint.preloaded, slot->hint.load,
                                         &slot->chunks, &slot->bytes_loaded);
      slot->hint = ReuseHint{};
    } else if (slot->hint.parent.empty()) {
      ChunkSegment(chunker_, slot->data, &slot->chunks);
    } else {
      ChunkSegmentReusing(chunker_, slot->data, slot->hint.parent,
                          slot->hint.dirty, &slot->chunks);
      slot->hint = ReuseHint{};  // free the parent's chunks early
    }
    lock.lock();
    slot->done = true;
    // Only the head's completion can unblock Next(), but a notify is cheap
    // next to chunking 2 MiB.
    ready_cv_.notify_all();
  }
}

}  // namespace vcsnap
