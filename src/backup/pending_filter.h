// File: backup/pending_filter.h
//
// PendingFilter: the VM's counting filter (recipe/summary.h) as a backup
// moves it from the parent's references to its own, loaded in the
// background while the backup reads and chunks. Loading a large VM's filter
// (10 MB at 4 GiB: read, checksum, decode) used to hold up the start of
// every incremental backup.
//
// Updates made before the load finished are kept, in order, and replayed
// onto the loaded filter (saturated counters make the order matter); Poll()
// replays them as soon as the load is done, so they stay few. A VM's first
// backup has nothing to load: its updates wait until Finish(), which makes
// the empty filter then (10 MB at 4 GiB, allocated only after the backup's
// buffers are gone -- the peak of a first backup was the filter plus the
// pipeline). Waiting updates are kept as runs of consecutive references (a
// first backup's new chunks are numbered in order): a few bytes a segment. A
// filter that is missing, unreadable (derived data: a note says so) or left by
// a backup that never committed is rebuilt from the parent's recipes, also in
// the background. Errors that are not damage (an I/O error) come from Poll() or
// Finish().
//
// Thread safety: one thread uses a PendingFilter; its loader runs on its
// own thread and touches only what the constructor was given (the backend,
// the parent recipe and the keys must outlive the PendingFilter).

#ifndef VCSNAP_BACKUP_PENDING_FILTER_H_
#define VCSNAP_BACKUP_PENDING_FILTER_H_

#include <cstdint>
#include <future>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "backend/backend.h"
#include "format/crypto.h"
#include "recipe/snapshot_recipe.h"
#include "recipe/summary.h"

namespace vcsnap {

class PendingFilter {
 public:
  // A fresh empty filter (a VM's first backup), made by Finish().
  explicit PendingFilter(BloomParams params);
  // Starts loading the filter `parent` left.
  PendingFilter(Backend* backend, std::string vm, const SnapshotRecipe* parent,
                uint32_t segment_size, const RepoKeys* keys);
  // Destruction waits for the loader (a std::async future does).
  PendingFilter(const PendingFilter&) = delete;
  PendingFilter& operator=(const PendingFilter&) = delete;

  void Add(uint64_t ref) { Update(ref, true); }
  void Remove(uint64_t ref) { Update(ref, false); }

  // Takes the loaded filter and replays the updates if the load is done;
  // never waits. A first backup's filter waits for Finish().
  Status Poll();
  // Waits for the load; then the filter with every update applied.
  Result<VmFilter*> Finish();
  // Why the filter was rebuilt, or empty. Valid after Finish().
  const std::string& note() const { return note_; }

 private:
  struct Loaded {
    VmFilter filter;
    std::string note;
  };
  static Result<Loaded> LoadOrBuild(Backend* backend, const std::string& vm,
                                    const SnapshotRecipe* parent,
                                    uint32_t segment_size,
                                    const RepoKeys* keys);
  // `count` updates of refs first, first + 1, ...: all adds or all removes.
  struct Run {
    uint64_t first;
    uint32_t count;
    bool add;
  };
  void Update(uint64_t ref, bool add);
  void Apply(uint64_t ref, bool add);  // to filter_ itself
  void Replay();                       // the waiting runs, in order
  Status Take();                       // REQUIRES: loading_.valid()

  VmFilter filter_;
  std::optional<BloomParams> fresh_;  // a first backup's, until Finish()
  std::future<Result<Loaded>> loading_;
  std::vector<Run> waiting_;  // in order
  std::string note_;
  Status failed_;
};

}  // namespace vcsnap

#endif  // VCSNAP_BACKUP_PENDING_FILTER_H_
