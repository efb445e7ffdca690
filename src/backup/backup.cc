#include "backup/backup.h"

#include <algorithm>
#include <chrono>
#include <ctime>
#include <memory>
#include <thread>
#include <unordered_map>
#include <utility>

#include "backup/level3_batch.h"
#include "backup/pending_filter.h"
#include "backup/progress.h"
#include "backup/segment_dedup.h"
#include "backup/similarity.h"
#include "chunk/chunker.h"
#include "chunk/parallel.h"
#include "chunk/segment.h"
#include "pds/fp_run.h"
#include "pds/pds_retire.h"
#include "recipe/catalog.h"
#include "recipe/dropped.h"
#include "recipe/lease.h"
#include "recipe/names.h"
#include "recipe/recipe_walk.h"
#include "recipe/summary.h"
#include "source/dirty_bitmap.h"
#include "source/image_source.h"
#include "store/vm_store.h"
#include "util/buffer_pool.h"
#include "util/sysinfo.h"

namespace vcsnap {
namespace {

using Clock = std::chrono::steady_clock;

double Since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

class BackupJob {
 public:
  BackupJob(Repository& repo, const BackupOptions& options)
      : repo_(repo),
        backend_(repo.backend()),
        options_(options),
        segment_size_(repo.config().segment_size) {}

  Result<BackupResult> Run() {
    std::counting_semaphore<>* const slots = options_.dedup_slots;
    if (slots != nullptr) {
      const auto queued = Clock::now();
      slots->acquire();
      result_.seconds_queued = Since(queued);
    }
    start_ = Clock::now();
    const auto start = start_;
    Status s = Prepare();
    if (s.ok()) s = Dedup();
    if (slots != nullptr) slots->release();
    result_.seconds_dedup = Since(start);
    const auto commit_start = Clock::now();
    if (s.ok()) s = Commit();
    if (!s.ok()) {
      // Failed: drop the PDS pin while the lease still says it is ours.
      if (pinned_ && lease_->Verify().ok()) {
        UnpinPds(backend_, vm()).IgnoreError();
      }
      return s;
    }
    result_.seconds_commit = Since(commit_start);
    result_.seconds = Since(start);
    result_.peak_rss_bytes = PeakRssBytes();
    return result_;
  }

 private:
  Status Prepare();
  Status PinPds();
  Status LoadParent();
  void AddNote(const std::string& note);
  Status LoadFilter();
  // Keeps the parent's references of segment `index` until the new recipe
  // of the segment is known. No work for a segment the parent did not have.
  Status HoldParentRefs(uint64_t index);
  // Moves the counting filter from the parent's references of segment
  // `index` (if held) to those of its new recipe `now` (empty: the segment
  // is now a hole), touching only what changed -- most references of a
  // dirty segment stay -- and adds the parent's references `now` lacks to
  // dropped_.
  void SettleRefs(uint64_t index, const std::vector<RecipeEntry>& now);
  // Writes the deletion metadata: summary, counting filter, dropped list.
  Status WriteSummary();
  Status Dedup();
  Status DedupDirty(const std::vector<uint64_t>& dirty);
  // Sub-segment CBT (chunk/reuse.h): the parent's chunks of dirty segment
  // `index` and the bytes the bitmap says were written, when the bitmap is
  // finer than a segment and the parent holds a data segment of the same
  // extent; else an empty hint (chunk the whole segment). A parent recipe
  // that cannot be read gives an empty hint too: the deduper reads it again
  // and reports the error. Called from the reader thread.
  ReuseHint ReuseHintFor(uint64_t index) const;
  // Adds a segment's finished recipe to the packs, the filter and the
  // similarity index.
  Status FinishSegment(uint64_t index, SegmentOutcome& outcome);
  Status Commit();

  SegmentExtent Extent(uint64_t index) const {
    return SegmentAt(recipe_.image_size, segment_size_, index);
  }

  Repository& repo_;
  Backend& backend_;
  const BackupOptions& options_;
  Clock::time_point start_;  // set by Run(): backup_ms in the catalog
  const uint32_t segment_size_;
  const std::string& vm() const { return options_.vm; }

  std::unique_ptr<ImageSource> image_;
  std::unique_ptr<Lease> lease_;
  const PdsIndex* pds_ = nullptr;  // options_.pds once pinned, else null
  bool pinned_ = false;            // pds/pins/<vm> written
  Catalog catalog_;
  std::optional<SnapshotRecipe> parent_;
  std::optional<DirtyBitmap> bitmap_;
  std::unique_ptr<VmStore> store_;
  std::unique_ptr<Chunker> chunker_;
  std::unique_ptr<RecipePackWriter> packs_;
  std::unique_ptr<FpRunWriter> fps_;
  // The parent's references, becoming this snapshot's (loaded meanwhile).
  std::unique_ptr<PendingFilter> filter_;
  std::unique_ptr<RecipeReader> parent_recipes_;
  std::unique_ptr<SimilarityIndex> similarity_;
  // Parent references of rewritten segments whose new recipe is pending
  // (sorted), and those the snapshot dropped (recipe/dropped.h).
  std::unordered_map<uint64_t, std::vector<uint64_t>> parent_refs_;
  std::vector<uint64_t> dropped_;
  SnapshotRecipe recipe_;
  BackupResult result_;
};

Status BackupJob::Prepare() {
  VCSNAP_RETURN_IF_ERROR(ValidateVmName(vm()));
  if (options_.bitmap_path.has_value() && !options_.dirty_bitmap.empty()) {
    return Status::InvalidArgument(
        "a bitmap file and a QEMU dirty bitmap exclude each other");
  }
  VCSNAP_ASSIGN_OR_RETURN(
      image_, OpenImageSource(options_.image_path, options_.dirty_bitmap,
                              options_.format));
  result_.source = image_->kind();
  recipe_.image_size = image_->size();
  recipe_.segment_size = segment_size_;
  const uint64_t segments = SegmentCount(recipe_.image_size, segment_size_);
  if (segments * 25 + 4096 > backend_.max_object_size()) {
    return Status::InvalidArgument(
        "image " + options_.image_path + " has " + std::to_string(segments) +
        " segments, more than one snapshot recipe object can describe");
  }
  // Check the bitmap before taking the lease: a bad one is the caller's
  // mistake and should not need a lease to report.
  if (options_.bitmap_path.has_value()) {
    uint64_t gran = options_.bitmap_granularity == 0
                        ? segment_size_
                        : options_.bitmap_granularity;
    VCSNAP_ASSIGN_OR_RETURN(
        bitmap_, DirtyBitmap::Load(*options_.bitmap_path, gran,
                                   recipe_.image_size, segment_size_));
  } else if (!options_.dirty_bitmap.empty()) {
    VCSNAP_ASSIGN_OR_RETURN(bitmap_, image_->OwnBitmap(segment_size_));
    if (!bitmap_.has_value()) {
      result_.bitmap_used = false;
      AddNote(image_->bitmap_problem() + "; every segment was read");
    }
  }
  VCSNAP_ASSIGN_OR_RETURN(chunker_, MakeChunker(repo_.config()));
  // The marker first: a VM with objects but no marker reads as one whose
  // marker was lost (recipe/catalog.h ListAllVms).
  Status marker = backend_.Create(VmMarkerName(vm()), ByteView());
  if (!marker.ok() && !marker.IsAlreadyExists()) return marker;
  VCSNAP_ASSIGN_OR_RETURN(lease_, Lease::Acquire(&backend_, vm(), "backup"));
  if (!options_.tenant.empty()) {
    VCSNAP_RETURN_IF_ERROR(repo_.BindVm(vm(), options_.tenant));
  }
  VCSNAP_RETURN_IF_ERROR(PinPds());
  VCSNAP_ASSIGN_OR_RETURN(catalog_, LoadCatalog(backend_, vm()));
  if (!catalog_.stored) {
    // A VM's first backup commits its empty catalog before anything else:
    // from now on snapshot recipes without a catalog mean a lost catalog.
    VCSNAP_RETURN_IF_ERROR(CommitCatalog(backend_, vm(), catalog_));
    catalog_.stored = true;
  }
  VCSNAP_RETURN_IF_ERROR(LoadParent());
  VCSNAP_ASSIGN_OR_RETURN(store_, VmStore::OpenIn(repo_, vm()));
  recipe_.id = catalog_.next_id;
  packs_ = std::make_unique<RecipePackWriter>(&backend_, vm(), recipe_.id,
                                              store_->keys());
  // A crashed attempt at this snapshot ID may have left runs; parts of them
  // past ours would read as part of our runs.
  VCSNAP_RETURN_IF_ERROR(
      DeleteSnapshotRuns(backend_, vm(), recipe_.id).status());
  fps_ = std::make_unique<FpRunWriter>(&backend_, vm(),
                                       std::to_string(recipe_.id));
  similarity_ = std::make_unique<SimilarityIndex>(options_.similar_segments,
                                                  /*recent_segments=*/16);
  if (parent_.has_value()) {
    parent_recipes_ = std::make_unique<RecipeReader>(
        &backend_, vm(), segment_size_, store_->keys());
    similarity_->AddParent(*parent_);
  }
  VCSNAP_RETURN_IF_ERROR(LoadFilter());
  result_.vm = vm();
  result_.snapshot = recipe_.id;
  result_.image_size = recipe_.image_size;
  result_.segments = segments;
  return Status::Ok();
}

// Pins the PDS generation before any match against it (pds/pds_retire.h);
// one being retired meanwhile is not used: the backup stays correct and only
// stores what level 3 would have matched.
Status BackupJob::PinPds() {
  if (options_.pds == nullptr) return Status::Ok();
  const uint32_t g = options_.pds->generation();
  Result<bool> usable = PinPdsGeneration(backend_, vm(), g);
  pinned_ = true;  // even a failed call may have left the pin behind
  if (!usable.ok()) return usable.status();
  if (*usable) {
    pds_ = options_.pds;
    return Status::Ok();
  }
  AddNote("PDS generation " + std::to_string(g) +
          " is being retired; this backup ran without level 3 (the next one "
          "loads the current generation)");
  return Status::Ok();
}

void BackupJob::AddNote(const std::string& note) {
  if (!result_.note.empty()) result_.note += "; ";
  result_.note += note;
}

Status BackupJob::LoadParent() {
  const CatalogEntry* latest = catalog_.Latest();
  if (latest == nullptr) return Status::Ok();
  const std::string name = SnapshotRecipeName(vm(), latest->id);
  Result<Bytes> raw = backend_.Get(name);
  if (!raw.ok()) {
    return raw.status().WithContext("VM " + vm() + ": parent snapshot " +
                                    std::to_string(latest->id));
  }
  VCSNAP_ASSIGN_OR_RETURN(parent_, DecodeSnapshotRecipe(*raw, name));
  if (parent_->segment_size != segment_size_ || parent_->id != latest->id) {
    return Status::Corruption("VM " + vm() + ": snapshot recipe " + name +
                              " does not match the catalog");
  }
  recipe_.parent = parent_->id;
  result_.parent = parent_->id;
  // A CBT bitmap describes the changes since the previous backup. If that
  // backup's snapshot was forgotten, the parent is older than the bitmap's
  // base: trusting it would reuse stale segments. Every segment is dirty
  // then (levels 2 and 3 still dedup against the parent).
  if (bitmap_.has_value() && catalog_.next_id - 1 != parent_->id) {
    result_.bitmap_used = false;
    AddNote("the bitmap was ignored: the previous backup (snapshot " +
            std::to_string(catalog_.next_id - 1) +
            ") was forgotten, so it does not describe changes since "
            "the parent");
  }
  return Status::Ok();
}

Status BackupJob::LoadFilter() {
  if (!parent_.has_value()) {
    filter_ = std::make_unique<PendingFilter>(BloomParams::ForKeys(
        2 * recipe_.image_size / repo_.config().chunk_avg + 1024));
  } else {
    filter_ = std::make_unique<PendingFilter>(&backend_, vm(), &*parent_,
                                              segment_size_, store_->keys());
  }
  return Status::Ok();
}

Status BackupJob::HoldParentRefs(uint64_t index) {
  if (!parent_.has_value() || index >= parent_->segments.size() ||
      parent_->segments[index].zero) {
    return Status::Ok();
  }
  VCSNAP_ASSIGN_OR_RETURN(std::vector<RecipeEntry> old,
                          parent_recipes_->Read(parent_->segments[index].ref));
  std::vector<uint64_t> refs;
  for (const RecipeEntry& e : old) {
    if (e.kind == ChunkKind::kVm) refs.push_back(e.vm_ref);
  }
  std::sort(refs.begin(), refs.end());
  parent_refs_[index] = std::move(refs);
  return Status::Ok();
}

void BackupJob::SettleRefs(uint64_t index,
                           const std::vector<RecipeEntry>& now) {
  std::vector<uint64_t> refs;
  for (const RecipeEntry& e : now) {
    if (e.kind == ChunkKind::kVm) refs.push_back(e.vm_ref);
  }
  auto it = parent_refs_.find(index);
  if (it == parent_refs_.end()) {
    for (uint64_t ref : refs) filter_->Add(ref);
    return;
  }
  // Multiset differences of sorted lists: the counts end as if every old
  // reference were removed and every new one added.
  std::sort(refs.begin(), refs.end());
  const std::vector<uint64_t>& old = it->second;
  const size_t first_dropped = dropped_.size();
  std::set_difference(old.begin(), old.end(), refs.begin(), refs.end(),
                      std::back_inserter(dropped_));
  for (size_t i = first_dropped; i < dropped_.size(); ++i) {
    filter_->Remove(dropped_[i]);
  }
  std::vector<uint64_t> added;
  std::set_difference(refs.begin(), refs.end(), old.begin(), old.end(),
                      std::back_inserter(added));
  for (uint64_t ref : added) filter_->Add(ref);
  parent_refs_.erase(it);
}

Status BackupJob::WriteSummary() {
  // Segments cut off by a shrunk image dropped everything they held (and
  // anything else still pending is settled as a hole: more is always safe).
  while (!parent_refs_.empty()) {
    SettleRefs(parent_refs_.begin()->first, {});
  }
  // A backup with its own segment buffers has freed them (and its groups')
  // by now: their pages go back before the filter (a first backup's is made
  // here) is touched. Not when the buffers go on to the process's next
  // backup: the others' freed pages would only be faulted in again (P5 day:
  // 0.40 -> 0.53 s).
  if (options_.segment_buffers == nullptr) ReleaseFreeMemory();
  VCSNAP_ASSIGN_OR_RETURN(VmFilter * filter, filter_->Finish());
  if (!filter_->note().empty()) AddNote(filter_->note());
  // An overloaded filter (fewer than 6 cells per key: > 5 % false
  // positives) is rebuilt exactly from this snapshot's recipes.
  if (filter->filter.keys() * 6 > filter->filter.params().cells) {
    RecipeReader reader(&backend_, vm(), segment_size_, store_->keys(),
                        kWalkCachedPacks);
    VCSNAP_ASSIGN_OR_RETURN(filter->filter, BuildFilter(reader, recipe_));
  }
  filter->snapshot = recipe_.id;
  VCSNAP_RETURN_IF_ERROR(
      SaveSummary(backend_, vm(), recipe_.id, filter->filter));
  VCSNAP_RETURN_IF_ERROR(SaveVmFilter(backend_, vm(), filter));
  if (!parent_.has_value()) return Status::Ok();
  std::sort(dropped_.begin(), dropped_.end());
  dropped_.erase(std::unique(dropped_.begin(), dropped_.end()), dropped_.end());
  return SaveDropped(backend_, vm(), recipe_.id,
                     DroppedList{parent_->id, std::move(dropped_)});
}

Status BackupJob::Dedup() {
  const uint64_t segments = result_.segments;
  recipe_.segments.assign(segments, SegmentSlot{});
  recipe_.stats.logical = recipe_.image_size;
  std::vector<uint64_t> dirty;
  for (uint64_t i = 0; i < segments; ++i) {
    const SegmentExtent e = Extent(i);
    bool clean =
        parent_.has_value() && bitmap_.has_value() && result_.bitmap_used &&
        i < parent_->segments.size() && !bitmap_->dirty(i) &&
        SegmentAt(parent_->image_size, segment_size_, i).length == e.length;
    if (clean) {
      recipe_.segments[i] = parent_->segments[i];  // level 1: by reference
      recipe_.stats.level1 += e.length;
    } else {
      dirty.push_back(i);
    }
  }
  result_.segments_dirty = dirty.size();
  // Segments the image lost since the parent leave the summary.
  if (parent_.has_value()) {
    for (uint64_t i = segments; i < parent_->segments.size(); ++i) {
      VCSNAP_RETURN_IF_ERROR(HoldParentRefs(i));
    }
  }
  return DedupDirty(dirty);
}

Status BackupJob::DedupDirty(const std::vector<uint64_t>& dirty) {
  // Holes of a sparse image are zero segments without a read.
  std::vector<uint8_t> hole(dirty.size(), 0);
  std::vector<uint64_t> to_read;
  for (size_t k = 0; k < dirty.size(); ++k) {
    const SegmentExtent e = Extent(dirty[k]);
    hole[k] = image_->IsHole(e.offset, e.length) ? 1 : 0;
    if (!hole[k]) to_read.push_back(dirty[k]);
  }
  uint64_t dirty_bytes = 0;
  for (uint64_t i : dirty) dirty_bytes += Extent(i).length;
  Progress progress("backup " + vm(), dirty_bytes,
                    options_.progress && StderrIsTerminal());

  unsigned threads = options_.threads != 0
                         ? options_.threads
                         : std::max(1u, std::thread::hardware_concurrency());
  // One segment per worker, one being read, one waiting: 2 * threads + 2
  // in flight cost 4 MiB more at 2 threads for no measured speed (P3 full
  // backup and P5 day, 6 rounds each, 2026-12-08).
  SegmentPipeline pipe(*chunker_, threads, threads + 2);
  // Segment buffers go back to the reader once deduped (and, through a pool
  // shared by the backups of one process, to the next VM's reader): reading
  // into a fresh 2 MiB buffer each time cost a zero-fill and page faults.
  BufferPool own_pool(pipe.max_in_flight() + 2);
  BufferPool* const pool = options_.segment_buffers != nullptr
                               ? options_.segment_buffers
                               : &own_pool;
  uint64_t bytes_read = 0;  // by the reader (the workers' loads come back
                            // with their results)
  std::thread reader([&] {
    for (uint64_t index : to_read) {
      const SegmentExtent e = Extent(index);
      Bytes data = pool->Take(e.length);
      ReuseHint hint = ReuseHintFor(index);
      if (!hint.parent.empty()) {
        // Sub-segment CBT: the worker loads only what it chunks; the rest
        // of the (recycled) buffer is never read (chunk/reuse.h).
        // What it will most likely need is read here, in one batch.
        uint8_t* const dst = data.data();
        ImageSource* const image = image_.get();
        const uint64_t offset = e.offset;
        hint.load = [image, dst, offset](uint32_t begin, uint32_t end) {
          return image->ReadSparseInto(offset + begin, end - begin,
                                       dst + begin);
        };
        hint.preloaded = LoadPlan(*chunker_, static_cast<uint32_t>(e.length),
                                  hint.parent, hint.dirty);
        Status s = image_->ReadRangesInto(offset, hint.preloaded, dst);
        if (!s.ok()) {
          pipe.Close(s);
          return;
        }
        for (const DirtyRange& r : hint.preloaded)
          bytes_read += r.end - r.begin;
      } else {
        Status s = image_->ReadSparseInto(e.offset, e.length, data.data());
        if (!s.ok()) {
          pipe.Close(s);
          return;
        }
        bytes_read += e.length;
      }
      if (!pipe.Submit(index, std::move(data), std::move(hint)).ok()) {
        return;  // cancelled
      }
    }
    pipe.Close();
  });

  SegmentDeduper deduper(store_.get(), pds_, parent_recipes_.get(),
                         similarity_.get(), fps_.get(), &recipe_.stats);
  // Low-memory PDS index: level 3 in big sorted batches.
  std::unique_ptr<Level3Batch> batch;
  if (pds_ != nullptr && pds_->batch_hint() > 0) {
    batch = std::make_unique<Level3Batch>(store_.get(), pds_, fps_.get(),
                                          &recipe_.stats, pds_->batch_hint(),
                                          /*max_segments=*/256);
  }
  auto finish = [this](uint64_t index, SegmentOutcome& done) {
    return FinishSegment(index, done);
  };
  Status status;
  SegmentResult r;
  SegmentOutcome outcome;
  for (size_t k = 0; k < dirty.size() && status.ok(); ++k) {
    const uint64_t index = dirty[k];
    const SegmentExtent e = Extent(index);
    status = HoldParentRefs(index);
    if (!status.ok()) break;
    if (hole[k]) {
      SettleRefs(index, {});
      recipe_.segments[index].zero = true;
      recipe_.stats.zero += e.length;
      progress.Add(e.length);
      continue;
    }
    pool->Give(std::exchange(r.data, Bytes()));
    Result<bool> got = pipe.Next(&r);
    if (!got.ok() || !*got || r.index != index) {
      status = got.ok() ? Status::IOError("backup pipeline lost segment " +
                                          std::to_string(index))
                        : got.status();
      break;
    }
    result_.bytes_read += r.bytes_loaded;
    for (const ChunkInfo& c : r.chunks) {
      if (!c.reused) continue;
      result_.chunks_reused++;
      result_.bytes_reused += c.length;
    }
    const SegmentSlot* parent_slot =
        parent_.has_value() && index < parent_->segments.size()
            ? &parent_->segments[index]
            : nullptr;
    status = deduper.Process(r.data, r.chunks, parent_slot, &outcome);
    if (!status.ok()) break;
    if (outcome.pending.empty()) {
      status = FinishSegment(index, outcome);
    } else {
      status = batch->Hold(index, std::move(outcome), r.data, r.chunks);
      if (status.ok() && batch->full()) status = batch->Resolve(finish);
    }
    if (!status.ok()) break;
    progress.Add(e.length);
  }
  if (status.ok() && batch != nullptr) status = batch->Resolve(finish);
  if (batch != nullptr) {
    result_.level3_lookups = batch->level3_stats().lookups;
    result_.level3_batches = batch->level3_stats().batches;
    result_.seconds_level3 = batch->level3_stats().seconds_lookup;
  }
  if (!status.ok()) pipe.Cancel();
  reader.join();
  pool->Give(std::exchange(r.data, Bytes()));
  result_.bytes_read += bytes_read;
  progress.Finish();
  return status.WithContext("VM " + vm());
}

ReuseHint BackupJob::ReuseHintFor(uint64_t index) const {
  ReuseHint hint;
  if (!bitmap_.has_value() || !bitmap_->fine() || !result_.bitmap_used ||
      !parent_.has_value() || index >= parent_->segments.size() ||
      parent_->segments[index].zero) {
    return hint;
  }
  const SegmentExtent e = Extent(index);
  if (SegmentAt(parent_->image_size, segment_size_, index).length != e.length) {
    return hint;
  }
  Result<std::vector<RecipeEntry>> entries =
      parent_recipes_->Read(parent_->segments[index].ref);
  if (!entries.ok()) return hint;
  hint.parent.reserve(entries->size());
  uint32_t offset = 0;
  for (const RecipeEntry& entry : *entries) {
    ChunkInfo c;
    c.offset = offset;
    c.length = entry.length;
    c.zero = entry.kind == ChunkKind::kZero;
    if (!c.zero) c.fp = entry.fp;
    hint.parent.push_back(c);
    offset += entry.length;
  }
  hint.dirty = bitmap_->DirtyRanges(index, e.length);
  return hint;
}

Status BackupJob::FinishSegment(uint64_t index, SegmentOutcome& outcome) {
  // The filter's updates wait in memory until it is loaded: take it early.
  if (Status s = filter_->Poll(); !s.ok()) return s.WithContext("VM " + vm());
  SegmentSlot& slot = recipe_.segments[index];
  slot.zero = outcome.zero;
  if (outcome.zero) {
    SettleRefs(index, {});
    return Status::Ok();
  }
  VCSNAP_ASSIGN_OR_RETURN(slot.ref, packs_->Add(outcome.entries));
  slot.signature = outcome.signature;
  SettleRefs(index, outcome.entries);
  similarity_->AddCurrent(outcome.signature,
                          std::make_shared<const std::vector<RecipeEntry>>(
                              std::move(outcome.entries)));
  return Status::Ok();
}

Status BackupJob::Commit() {
  // 1. chunk data, then container indexes and the fingerprint summary.
  VCSNAP_RETURN_IF_ERROR(store_->Flush().WithContext("VM " + vm()));
  for (const MetadataRepair& m : store_->TakeRepairs()) {
    AddNote("store " + m.Describe());
  }
  VCSNAP_RETURN_IF_ERROR(fps_->Finish().WithContext("VM " + vm()));
  // 2. segment recipes, then the deletion summary and dropped list.
  VCSNAP_RETURN_IF_ERROR(packs_->Finish().WithContext("VM " + vm()));
  VCSNAP_RETURN_IF_ERROR(WriteSummary().WithContext("VM " + vm()));
  // 3. the snapshot recipe.
  recipe_.time_unix = static_cast<uint64_t>(std::time(nullptr));
  recipe_.pds_generation = pds_ != nullptr ? pds_->generation() : 0;
  recipe_.stats.stored_bytes = store_->writer_stats().stored_bytes_written;
  const std::string name = SnapshotRecipeName(vm(), recipe_.id);
  Bytes encoded = EncodeSnapshotRecipe(recipe_, name);
  VCSNAP_RETURN_IF_ERROR(backend_.Put(name, encoded).WithContext("VM " + vm()));
  // 4. the catalog: the snapshot exists from this Put on.
  VCSNAP_RETURN_IF_ERROR(lease_->Verify());
  CatalogEntry entry;
  entry.id = recipe_.id;
  entry.parent = recipe_.parent;
  entry.time_unix = recipe_.time_unix;
  entry.image_size = recipe_.image_size;
  entry.logical_bytes = recipe_.stats.logical;
  entry.stored_bytes = recipe_.stats.stored_bytes;
  entry.pds_generation = recipe_.pds_generation;
  entry.backup_ms = static_cast<uint32_t>(
      std::clamp<double>(Since(start_) * 1000, 1, UINT32_MAX));
  catalog_.entries.push_back(entry);
  catalog_.next_id = recipe_.id + 1;
  VCSNAP_RETURN_IF_ERROR(CommitCatalog(backend_, vm(), catalog_));
  // Committed: the snapshot now keeps its generations alive itself. Only a
  // backup that still held the lease at commit removes the pin (a stale pin
  // only delays a retirement; the next backup of the VM replaces it).
  UnpinPds(backend_, vm()).IgnoreError();
  lease_->Release().IgnoreError();  // committed; a stale lease is harmless
  result_.stats = recipe_.stats;
  result_.metadata_bytes = packs_->bytes_written() + encoded.size();
  return Status::Ok();
}

}  // namespace

Result<BackupResult> RunBackup(Repository& repo, const BackupOptions& options) {
  BackupJob job(repo, options);
  return job.Run();
}

}  // namespace vcsnap
