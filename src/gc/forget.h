// File: gc/forget.h
//
// Forget: deletes snapshots of one VM with the paper's approximate deletion
// (§5.3). For the snapshots F being forgotten:
//
//  1. candidate chunks = for a snapshot whose successor in the catalog has a
//     dropped list relative to it (recipe/dropped.h), that list: O(churn),
//     no recipe read; otherwise the VM chunk references of the segment
//     recipes it uses that no remaining snapshot uses (recipes shared with
//     a live snapshot keep all chunks);
//  2. either way every chunk F references and no live snapshot does is a
//     candidate;
//  3. a candidate is deleted only if NO live snapshot's Bloom summary may
//     contain it -- a false positive only leaks space, never deletes data a
//     live snapshot needs; a missing summary counts as containing everything;
//  4. the catalog without F is committed first; only then are the chunks
//     logged for deletion, the lists of the snapshots after F relinked
//     across F, and F's objects removed, so a crash leaves at worst a leak
//     that `gc` repairs (or a list that no longer chains: a slower forget),
//     never a snapshot missing its data.
//
// Everything runs under the VM's lease: no backup (whose parent could be in
// F) or gc of the VM can interleave.
//
// Retention (`--keep-last/--keep-daily/--keep-weekly`) picks F; protected
// snapshots are refused when named and never picked. Pinned snapshots
// (recipe/pin.h: being served) are refused (Busy) when named and kept by
// retention (ForgetResult::kept_pinned).
//
// Thread safety: one call per VM at a time (the lease enforces it).

#ifndef VCSNAP_GC_FORGET_H_
#define VCSNAP_GC_FORGET_H_

#include <cstdint>
#include <string>
#include <vector>

#include "recipe/catalog.h"
#include "repo/repository.h"

namespace vcsnap {

struct RetentionPolicy {
  uint32_t keep_last = 0;
  uint32_t keep_daily = 0;   // newest snapshot of each of the last N days
  uint32_t keep_weekly = 0;  // newest snapshot of each of the last N weeks
  bool empty() const { return !keep_last && !keep_daily && !keep_weekly; }
};

// The ids the policy would forget (never protected ones), ascending.
std::vector<uint32_t> SelectByRetention(const Catalog& catalog,
                                        const RetentionPolicy& policy);

struct ForgetOptions {
  std::string vm;
  std::vector<std::string> snapshots;  // IDs or "latest"; or use `retention`
  RetentionPolicy retention;
  bool dry_run = false;
};

struct ForgetResult {
  std::vector<uint32_t> forgotten;
  std::vector<uint32_t> kept_pinned;  // retention would forget, but pinned
  uint64_t candidate_recipes = 0;     // recipes read for candidates
  uint64_t dropped_lists = 0;   // snapshots whose successor's list was used
  uint64_t relinked_lists = 0;  // lists rewritten across forgotten ones
  uint64_t candidate_chunks = 0;
  uint64_t chunks_deleted = 0;
  uint64_t chunks_kept_by_summary = 0;  // live, or false positives (leak)
  uint64_t objects_removed = 0;
  double fp_rate = 0;  // estimated chance a dead candidate is kept (a leak)
  double seconds = 0;
  std::vector<std::string> notes;  // e.g. an unreadable dropped list
};

Result<ForgetResult> RunForget(Repository& repo, const ForgetOptions& options);

// Marks a snapshot protected (forget refuses it, retention never picks it)
// or clears the mark, under the VM's lease; returns the snapshot ID.
Result<uint32_t> SetProtected(Repository& repo, const std::string& vm,
                              const std::string& snapshot, bool on);

}  // namespace vcsnap

#endif  // VCSNAP_GC_FORGET_H_
