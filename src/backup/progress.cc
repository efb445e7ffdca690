#include "backup/progress.h"

#include <cstdio>

#include "util/units.h"

namespace vcsnap {

Progress::Progress(std::string label, uint64_t total, bool enabled)
    : label_(std::move(label)),
      total_(total),
      enabled_(enabled),
      start_(std::chrono::steady_clock::now()) {}

Progress::~Progress() { Finish(); }

void Progress::Add(uint64_t bytes) {
  done_.fetch_add(bytes, std::memory_order_relaxed);
  if (!enabled_) return;
  auto now = std::chrono::steady_clock::now();
  std::unique_lock lock(mu_, std::try_to_lock);
  if (!lock.owns_lock() || now - last_draw_ < std::chrono::milliseconds(200)) {
    return;
  }
  last_draw_ = now;
  Draw();
}

void Progress::Finish() {
  if (!enabled_) return;
  std::lock_guard lock(mu_);
  if (finished_) return;
  finished_ = true;
  std::fprintf(stderr, "\r\033[K");
  std::fflush(stderr);
}

void Progress::Draw() {
  const uint64_t done = done_.load(std::memory_order_relaxed);
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start_)
          .count();
  const double rate = secs > 0 ? static_cast<double>(done) / secs : 0;
  const double frac =
      total_ == 0 ? 1.0
                  : static_cast<double>(done) / static_cast<double>(total_);
  const int width = 30;
  int filled = static_cast<int>(frac * width);
  std::string bar(static_cast<size_t>(std::min(filled, width)), '#');
  bar.resize(width, '.');
  double eta = rate > 0
                   ? static_cast<double>(total_ - std::min(done, total_)) / rate
                   : 0;
  std::fprintf(stderr, "\r\033[K%s [%s] %5.1f%% %s / %s  %s/s  ETA %02d:%02d",
               label_.c_str(), bar.c_str(), frac * 100,
               FormatByteSize(done).c_str(), FormatByteSize(total_).c_str(),
               FormatByteSize(static_cast<uint64_t>(rate)).c_str(),
               static_cast<int>(eta) / 60, static_cast<int>(eta) % 60);
  std::fflush(stderr);
}

}  // namespace vcsnap
