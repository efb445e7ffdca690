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
// replays them as soon as the load is done, so they stay few. A filter that
// is missing, unreadable (derived data: a note says so) or left by a backup
// that never committed is rebuilt from the parent's recipes, also in the
// background. Errors that are not damage (an I/O error) come from Poll() or
// Finish().
//
// Thread safety: one thread uses a PendingFilter; its loader runs on its
// own thread and touches only what the constructor was given (the backend,
// the parent recipe and the keys must outlive the PendingFilter).

#ifndef VCSNAP_BACKUP_PENDING_FILTER_H_
#define VCSNAP_BACKUP_PENDING_FILTER_H_

#include <cstdint>
#include <future>
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
  // A fresh empty filter (a VM's first backup): nothing to load.
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
  // never waits.
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
  void Update(uint64_t ref, bool add);
  void Apply(uint64_t ref, bool add);  // to filter_ itself
  Status Take();                       // REQUIRES: loading_.valid()

  VmFilter filter_;
  std::future<Result<Loaded>> loading_;
  std::vector<std::pair<uint64_t, bool>> waiting_;  // (ref, add), in order
  std::string note_;
  Status failed_;
};

}  // namespace vcsnap

#endif  // VCSNAP_BACKUP_PENDING_FILTER_H_
