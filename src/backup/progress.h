// File: backup/progress.h
//
// Progress: a one-line progress bar on stderr (bytes done / total, rate,
// ETA), redrawn at most 5 times a second, and only when stderr is a
// terminal; silent otherwise (cron, CI, pipes). Finish() clears the line.
//
// Thread safety: Add() may be called from any thread (atomic counter); the
// drawing is serialised internally.

#ifndef VCSNAP_BACKUP_PROGRESS_H_
#define VCSNAP_BACKUP_PROGRESS_H_

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>

namespace vcsnap {

class Progress {
 public:
  // `enabled` false: never draws (e.g. --json output or not a terminal).
  Progress(std::string label, uint64_t total, bool enabled);
  ~Progress();
  void Add(uint64_t bytes);
  void Finish();

 private:
  void Draw();

  const std::string label_;
  const uint64_t total_;
  const bool enabled_;
  const std::chrono::steady_clock::time_point start_;
  std::atomic<uint64_t> done_{0};
  std::mutex mu_;
  std::chrono::steady_clock::time_point last_draw_;
  bool finished_ = false;
};

}  // namespace vcsnap

#endif  // VCSNAP_BACKUP_PROGRESS_H_
