#include "backup/snapshot_reader.h"

#include <algorithm>
#include <cstring>

#include "chunk/fingerprint.h"
#include "chunk/segment.h"
#include "recipe/catalog.h"
#include "recipe/names.h"

namespace vcsnap {

Result<std::unique_ptr<SnapshotReader>> SnapshotReader::Open(
    Repository& repo, const SnapshotReaderOptions& options) {
  VCSNAP_RETURN_IF_ERROR(ValidateVmName(options.vm));
  Backend& backend = repo.backend();
  std::unique_ptr<SnapshotReader> r(new SnapshotReader(options));
  VCSNAP_ASSIGN_OR_RETURN(Catalog catalog, LoadCatalog(backend, options.vm));
  if (catalog.entries.empty()) {
    return Status::NotFound("VM " + options.vm + " has no snapshots");
  }
  VCSNAP_ASSIGN_OR_RETURN(
      uint32_t id, ResolveSnapshotId(catalog, options.vm, options.snapshot));
  const std::string name = SnapshotRecipeName(options.vm, id);
  Result<Bytes> raw = backend.Get(name);
  if (!raw.ok()) return raw.status().WithContext("VM " + options.vm);
  VCSNAP_ASSIGN_OR_RETURN(r->recipe_, DecodeSnapshotRecipe(*raw, name));
  if (r->recipe_.id != id) {
    return Status::Corruption(name + " holds snapshot " +
                              std::to_string(r->recipe_.id));
  }
  VCSNAP_ASSIGN_OR_RETURN(r->store_, VmStore::OpenIn(repo, options.vm));
  r->recipes_ = std::make_unique<RecipeReader>(
      &backend, options.vm, r->recipe_.segment_size, r->store_->keys());
  return r;
}

Status SnapshotReader::Where(uint64_t index, const Status& s) const {
  return s.WithContext("VM " + options_.vm + " snapshot " +
                       std::to_string(recipe_.id) + " segment " +
                       std::to_string(index) + " (image offset " +
                       std::to_string(index * recipe_.segment_size) + ")");
}

Status SnapshotReader::ReadSegment(uint64_t index, Bytes* buf,
                                   std::vector<SegmentRange>* zeros) const {
  Status s = Assemble(index, buf, zeros);
  return s.ok() ? s : Where(index, s);
}

namespace {

constexpr size_t kZeroCacheSegments = 4096;

// Appends [from, to) to *zeros, merged with the last range when adjacent.
void AddZero(std::vector<SegmentRange>* zeros, uint32_t from, uint32_t to) {
  if (!zeros->empty() && zeros->back().to == from) {
    zeros->back().to = to;
  } else {
    zeros->push_back({from, to});
  }
}

}  // namespace

Status SnapshotReader::Assemble(uint64_t index, Bytes* buf,
                                std::vector<SegmentRange>* zeros) const {
  const SegmentSlot& slot = recipe_.segments[index];
  const SegmentExtent extent =
      SegmentAt(recipe_.image_size, recipe_.segment_size, index);
  zeros->clear();
  buf->resize(extent.length);
  if (slot.zero) {
    std::memset(buf->data(), 0, buf->size());
    zeros->push_back({0, extent.length});
    return Status::Ok();
  }
  VCSNAP_ASSIGN_OR_RETURN(std::vector<RecipeEntry> entries,
                          recipes_->Read(slot.ref));
  uint64_t pos = 0;
  for (const RecipeEntry& e : entries) {
    if (pos + e.length > extent.length) {
      pos += e.length;
      break;  // reported below
    }
    const uint64_t at = extent.offset + pos;
    if (e.kind == ChunkKind::kZero) {
      std::memset(buf->data() + pos, 0, e.length);
      AddZero(zeros, static_cast<uint32_t>(pos),
              static_cast<uint32_t>(pos + e.length));
      pos += e.length;
      continue;
    }
    // VM chunks are copied straight into place; PDS chunks come as bytes.
    const std::span<uint8_t> dst(buf->data() + pos, e.length);
    uint64_t got = 0;
    if (e.kind == ChunkKind::kVm) {
      VCSNAP_ASSIGN_OR_RETURN(ChunkRef ref, ChunkRef::FromRaw(e.vm_ref));
      VCSNAP_ASSIGN_OR_RETURN(got, store_->GetInto(ref, dst));
    } else if (options_.pds) {
      Result<Bytes> data =
          options_.pds(PdsRef{e.pds_generation, e.pds_offset, e.pds_size});
      if (!data.ok()) return data.status();
      got = data->size();
      if (got == e.length && got != 0) {
        std::memcpy(dst.data(), data->data(), got);
      }
    } else {
      return Status::NotSupported(
          "the snapshot uses PDS chunks and no PDS store is available");
    }
    if (got != e.length) {
      return Status::Corruption("chunk at image offset " + std::to_string(at) +
                                " is " + std::to_string(got) +
                                " bytes, the recipe says " +
                                std::to_string(e.length));
    }
    if (options_.verify) {
      if (ChunkFingerprint(store_->keys(), dst) != e.fp) {
        return Status::Corruption("chunk at image offset " +
                                  std::to_string(at) +
                                  " does not match its fingerprint");
      }
      verified_++;
    }
    pos += e.length;
    chunks_++;
  }
  if (pos != extent.length) {
    return Status::Corruption("segment recipe covers " + std::to_string(pos) +
                              " of the segment's " +
                              std::to_string(extent.length) + " bytes");
  }
  return Status::Ok();
}

Status SnapshotReader::ZeroRanges(uint64_t index,
                                  std::vector<SegmentRange>* zeros) const {
  {
    std::lock_guard lock(zero_mu_);
    auto it = zero_cache_.find(index);
    if (it != zero_cache_.end()) {
      *zeros = it->second;
      return Status::Ok();
    }
  }
  VCSNAP_RETURN_IF_ERROR(ZeroRangesFromRecipe(index, zeros));
  std::lock_guard lock(zero_mu_);
  if (zero_cache_.emplace(index, *zeros).second) {
    zero_order_.push_back(index);
    if (zero_order_.size() > kZeroCacheSegments) {
      zero_cache_.erase(zero_order_.front());
      zero_order_.pop_front();
    }
  }
  return Status::Ok();
}

Status SnapshotReader::ZeroRangesFromRecipe(
    uint64_t index, std::vector<SegmentRange>* zeros) const {
  const SegmentSlot& slot = recipe_.segments[index];
  const SegmentExtent extent =
      SegmentAt(recipe_.image_size, recipe_.segment_size, index);
  zeros->clear();
  if (slot.zero) {
    zeros->push_back({0, extent.length});
    return Status::Ok();
  }
  Result<std::vector<RecipeEntry>> entries = recipes_->Read(slot.ref);
  if (!entries.ok()) return Where(index, entries.status());
  uint64_t pos = 0;
  for (const RecipeEntry& e : *entries) {
    if (pos + e.length > extent.length) {
      return Where(index, Status::Corruption("segment recipe overruns the "
                                             "segment at byte " +
                                             std::to_string(pos)));
    }
    if (e.kind == ChunkKind::kZero) {
      AddZero(zeros, static_cast<uint32_t>(pos),
              static_cast<uint32_t>(pos + e.length));
    }
    pos += e.length;
  }
  return Status::Ok();
}

Result<std::shared_ptr<const Bytes>> SnapshotReader::Cached(uint64_t index) {
  // One thread assembles a segment; others that want it meanwhile wait for
  // that result (NBD clients send many requests into one segment at once).
  // The buffer is a spare that no reader holds any more, when there is one:
  // a fresh 2 MiB buffer costs more in page faults and zeroing than
  // assembling it.
  std::promise<Loaded> promise;
  std::shared_ptr<Bytes> buf;
  {
    std::unique_lock lock(mu_);
    auto it = cache_.find(index);
    if (it != cache_.end()) {
      lru_.splice(lru_.begin(), lru_, it->second.second);
      return std::shared_ptr<const Bytes>(it->second.first);
    }
    auto f = inflight_.find(index);
    if (f != inflight_.end()) {
      std::shared_future<Loaded> wait = f->second;
      lock.unlock();
      const Loaded& l = wait.get();
      if (!l.status.ok()) return l.status;
      return std::shared_ptr<const Bytes>(l.buf);
    }
    inflight_.emplace(index, promise.get_future().share());
    for (auto sp = spares_.begin(); sp != spares_.end(); ++sp) {
      if (sp->use_count() == 1) {
        buf = std::move(*sp);
        spares_.erase(sp);
        break;
      }
    }
  }
  if (buf == nullptr) buf = std::make_shared<Bytes>();
  std::vector<SegmentRange> zeros;
  Status s = ReadSegment(index, buf.get(), &zeros);
  {
    std::lock_guard lock(mu_);
    inflight_.erase(index);
    if (s.ok()) {
      lru_.push_front(index);
      cache_.emplace(index, std::make_pair(buf, lru_.begin()));
      const size_t limit = std::max<size_t>(1, options_.cache_segments);
      while (cache_.size() > limit) {
        auto evicted = cache_.find(lru_.back());
        if (spares_.size() < limit) spares_.push_back(evicted->second.first);
        cache_.erase(evicted);
        lru_.pop_back();
      }
    }
  }
  promise.set_value(Loaded{s, s.ok() ? buf : nullptr});
  if (!s.ok()) return s;
  return std::shared_ptr<const Bytes>(std::move(buf));
}

Status SnapshotReader::ReadAt(uint64_t offset, std::span<uint8_t> out) {
  if (offset > recipe_.image_size || out.size() > recipe_.image_size - offset) {
    return Status::InvalidArgument(
        "read of " + std::to_string(out.size()) + " bytes at " +
        std::to_string(offset) + " is past the end of the " +
        std::to_string(recipe_.image_size) + "-byte image");
  }
  const uint64_t seg = recipe_.segment_size;
  size_t done = 0;
  while (done < out.size()) {
    const uint64_t at = offset + done;
    const uint64_t index = at / seg;
    const uint64_t within = at % seg;
    const SegmentExtent extent =
        SegmentAt(recipe_.image_size, recipe_.segment_size, index);
    const size_t n = static_cast<size_t>(
        std::min<uint64_t>(out.size() - done, extent.length - within));
    if (recipe_.segments[index].zero) {
      std::memset(out.data() + done, 0, n);
    } else {
      VCSNAP_ASSIGN_OR_RETURN(std::shared_ptr<const Bytes> data, Cached(index));
      std::memcpy(out.data() + done, data->data() + within, n);
    }
    done += n;
  }
  return Status::Ok();
}

}  // namespace vcsnap
