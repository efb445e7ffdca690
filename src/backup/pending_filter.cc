#include "backup/pending_filter.h"

#include <chrono>
#include <cstdint>

#include "recipe/recipe_pack.h"

namespace vcsnap {

PendingFilter::PendingFilter(BloomParams params) : fresh_(params) {}

PendingFilter::PendingFilter(Backend* backend, std::string vm,
                             const SnapshotRecipe* parent,
                             uint32_t segment_size, const RepoKeys* keys)
    : loading_(std::async(std::launch::async, &PendingFilter::LoadOrBuild,
                          backend, std::move(vm), parent, segment_size, keys)) {
}

Result<PendingFilter::Loaded> PendingFilter::LoadOrBuild(
    Backend* backend, const std::string& vm, const SnapshotRecipe* parent,
    uint32_t segment_size, const RepoKeys* keys) {
  Loaded out;
  Result<std::optional<VmFilter>> loaded = LoadVmFilter(*backend, vm);
  if (!loaded.ok() && !loaded.status().IsUnreadable()) {
    return loaded.status();
  }
  if (!loaded.ok()) {
    // Derived data: a damaged filter is rebuilt like a missing one.
    out.note = "the counting filter is unreadable (" +
               loaded.status().message() +
               "); rebuilt from the parent's recipes";
  } else if (loaded->has_value() && (*loaded)->snapshot == parent->id) {
    out.filter = std::move(**loaded);
    return out;
  }
  // Missing, or left by a backup that never committed: rebuild from the
  // parent's recipes (a full read of them; rare).
  RecipeReader reader(backend, vm, segment_size, keys);
  VCSNAP_ASSIGN_OR_RETURN(out.filter.filter, BuildFilter(reader, *parent));
  return out;
}

void PendingFilter::Apply(uint64_t ref, bool add) {
  if (add) {
    filter_.filter.Add(ref);
  } else {
    filter_.filter.Remove(ref);
  }
}

void PendingFilter::Update(uint64_t ref, bool add) {
  if (!loading_.valid() && !fresh_.has_value()) {
    Apply(ref, add);
    return;
  }
  if (!waiting_.empty()) {
    Run& last = waiting_.back();
    if (last.add == add && last.count < UINT32_MAX &&
        ref == last.first + last.count) {
      ++last.count;
      return;
    }
  }
  waiting_.push_back(Run{ref, 1, add});
}

void PendingFilter::Replay() {
  for (const Run& run : waiting_) {
    for (uint32_t i = 0; i < run.count; ++i) Apply(run.first + i, run.add);
  }
  waiting_ = {};
}

Status PendingFilter::Take() {
  Result<Loaded> r = loading_.get();
  if (!r.ok()) {
    failed_ = r.status();
    return failed_;
  }
  filter_ = std::move(r->filter);
  note_ = std::move(r->note);
  Replay();
  return Status::Ok();
}

Status PendingFilter::Poll() {
  if (!failed_.ok()) return failed_;
  if (loading_.valid() &&
      loading_.wait_for(std::chrono::seconds(0)) == std::future_status::ready) {
    return Take();
  }
  return Status::Ok();
}

Result<VmFilter*> PendingFilter::Finish() {
  if (!failed_.ok()) return failed_;
  if (fresh_.has_value()) {
    filter_.filter = NewVmFilterCounts(*fresh_);
    fresh_.reset();
    Replay();
  }
  if (loading_.valid()) VCSNAP_RETURN_IF_ERROR(Take());
  return &filter_;
}

}  // namespace vcsnap
