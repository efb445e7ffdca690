// VmDisk::ApplyDay: one day of changes (SPEC §6; see vm_disk.h).

#include <zstd.h>

#include <algorithm>
#include <cstring>
#include <iterator>

#include "fleet/content.h"
#include "fleet/vm_disk.h"

namespace vcsnap::fleet {
namespace {

// Shares of the day's byte budget (metadata and scatter come on top).
constexpr double kLogDaily = 0.12;
constexpr double kTrimDaily = 0.08;
constexpr double kUserDaily = 0.32;
constexpr double kDbDaily = 0.30;
constexpr double kInsertDaily = 0.10;
constexpr double kMoveDaily = 0.08;
constexpr uint64_t kMaxEditFile = 4 << 20;
// A database region: a run of pages written together (a hot table or
// index range), 256 KiB.
constexpr uint32_t kDbRegionPages = 32;

}  // namespace

// A day: a byte budget of change_rate x size x U(0.5, 1.5), and a goal of
// dirty segments of dirty_target x segments x the same factor (a busy day
// writes more bytes in more places). The events that write a fixed number of
// places come first: disk growth, fleet-wide updates, the four logs and
// their rotation, deletions (half trimmed), new user files near the VM's
// home area, scattered small writes. Then the "places": a database region,
// an edited document, a moved file (at least one of each), then more of them
// in a fixed rotation while the dirty segments (counting those the metadata
// flush will write) stay below the goal. The database then takes the rest of
// the day's bytes in place inside the regions it chose, and the metadata
// (inode blocks, block bitmaps, journal) is written last. Small disks reach
// the goal with the fixed events alone; large ones get more places.
Status VmDisk::ApplyDay(uint32_t day, ImageFile* image, DayEvents* events) {
  Rng rng(MixSeed(plan_.seed, 5, vm_, day));
  const double jitter = 0.5 + rng.Real();  // 1-3 % at the default 2 %
  const uint64_t budget = static_cast<uint64_t>(plan_.change_rate * jitter *
                                                static_cast<double>(size()));
  if (rng.Chance(plan_.growth_probability)) {
    VCSNAP_RETURN_IF_ERROR(GrowDisk(image, events));
  }
  VCSNAP_ASSIGN_OR_RETURN(uint64_t updated, ApplyUpdates(day, image, events));
  // Each event gets its share of what the update left, and never more than
  // what is left of the day's budget (metadata and journal come on top).
  const uint64_t rest =
      std::max(budget * 3 / 10, budget > updated ? budget - updated : 0);
  const uint64_t target = updated + rest;
  auto share = [&](double s) {
    const uint64_t w = image->written_bytes();
    const uint64_t left = target > w ? target - w : 0;
    return std::min(left, static_cast<uint64_t>(s * static_cast<double>(rest)));
  };
  VCSNAP_RETURN_IF_ERROR(
      AppendLogs(day, share(kLogDaily), rng, image, events).status());
  VCSNAP_RETURN_IF_ERROR(RotateLogs(day, rng, image, events).status());
  VCSNAP_RETURN_IF_ERROR(
      DeleteUserFiles(day, share(kTrimDaily), rng, image, events).status());
  VCSNAP_RETURN_IF_ERROR(
      AddUserFiles(day, share(kUserDaily), rng, image, events).status());
  VCSNAP_RETURN_IF_ERROR(ScatterWrites(day, rng, image, events).status());
  PlaceBudgets b;
  const uint64_t segments =
      (size() + plan_.segment_size - 1) / plan_.segment_size;
  b.goal = static_cast<uint64_t>(
      plan_.dirty_target * jitter * static_cast<double>(segments) + 0.5);
  b.db = share(kDbDaily);
  b.edit = share(kInsertDaily);
  b.move = share(kMoveDaily);
  b.target = target;
  VCSNAP_RETURN_IF_ERROR(WritePlaces(day, b, rng, image, events));
  return FlushMetadata(day, image, events);
}

Status VmDisk::WritePlaces(uint32_t day, const PlaceBudgets& b, Rng& rng,
                           ImageFile* image, DayEvents* events) {
  const uint64_t seg = plan_.segment_size;
  // A fifth of the database writes append rows (one place at the end of
  // the table).
  VCSNAP_ASSIGN_OR_RETURN(uint64_t db_written,
                          DbAppend(day, b.db / kDbPageSize / 5, image, events));
  enum Place { kDb, kEdit, kMove };
  static constexpr Place kOrder[] = {kDb, kEdit, kMove, kDb, kEdit, kDb};
  constexpr size_t kMinimum = 3;  // one of each kind every day
  bool exhausted[3] = {false, false, false};
  uint64_t edited = 0, moved = 0, places = 0;
  std::vector<uint32_t> regions;
  const uint64_t max_steps = 64 + 8 * (size() / seg);
  for (uint64_t i = 0; i < max_steps; ++i) {
    if (exhausted[kDb] && exhausted[kEdit] && exhausted[kMove]) break;
    if (i >= kMinimum && image->bitmap().CountDirtySegments(seg) +
                                 PendingMetadataSegments(*image) >=
                             b.goal) {
      break;
    }
    const Place p = kOrder[i % std::size(kOrder)];
    // Past the minimum, edits and moves stop when their bytes are spent.
    if (i >= kMinimum &&
        ((p == kEdit && edited >= b.edit) || (p == kMove && moved >= b.move))) {
      exhausted[p] = true;
    }
    if (exhausted[p]) continue;
    if (p == kDb) {
      VCSNAP_ASSIGN_OR_RETURN(bool added,
                              DbNewRegion(day, rng, &regions, image));
      if (added) db_written += kDbPageSize;
      exhausted[kDb] = !added;
    } else if (p == kEdit) {
      VCSNAP_ASSIGN_OR_RETURN(
          uint64_t w, InsertShift(day, b.edit > edited ? b.edit - edited : 0,
                                  rng, image, events));
      edited += w;
      exhausted[kEdit] = w == 0;
    } else {
      VCSNAP_ASSIGN_OR_RETURN(
          uint64_t w, MoveData(day, b.move > moved ? b.move - moved : 0, rng,
                               image, events));
      moved += w;
      exhausted[kMove] = w == 0;
    }
    if (!exhausted[p]) ++places;
  }
  // The database takes its share, or what is left of the day's bytes once
  // the pending metadata (each block written twice: in place and in the
  // journal) is set aside, whichever is more.
  const uint64_t meta =
      (dirty_inode_blocks_.size() + dirty_groups_.size() + 4) * 2 * kBlockSize;
  const uint64_t w = image->written_bytes() + meta;
  const uint64_t left = b.target > w ? b.target - w : 0;
  const uint64_t db_left = b.db > db_written ? b.db - db_written : 0;
  const uint64_t fill =
      regions.empty() ? 0 : std::max(left, db_left) / kDbPageSize;
  VCSNAP_RETURN_IF_ERROR(DbFill(day, fill, regions, rng, image));
  db_written += fill * kDbPageSize;
  files_[db_].version++;
  TouchInode(files_[db_].inode);
  events->Add("db_page_writes", db_written / kDbPageSize);
  events->Add("db_regions", regions.size());
  events->Add("places", places);
  events->Add("insert_bytes", edited);
  events->Add("move_bytes", moved);
  return Status::Ok();
}

Result<uint64_t> VmDisk::AppendLogs(uint32_t day, uint64_t budget, Rng& rng,
                                    ImageFile* image, DayEvents* events) {
  (void)rng;
  static const double kWeights[4] = {0.30, 0.10, 0.45, 0.15};
  uint64_t written = 0;
  std::string chunk;
  for (uint32_t i = 0; i < logs_.size(); ++i) {
    const uint32_t f = logs_[i];
    Rng text(MixSeed(plan_.seed, 6, vm_ * 16 + i, day));
    uint64_t bytes =
        static_cast<uint64_t>(kWeights[i] * static_cast<double>(budget));
    while (bytes > 0) {
      chunk.clear();
      AppendLogText(text, i, day, host_, std::min<uint64_t>(bytes, 1 << 20),
                    &chunk);
      const uint64_t at = files_[f].size;
      if (!Extend(f, at + chunk.size())) {
        events->Add("disk_full");
        return written;
      }
      VCSNAP_RETURN_IF_ERROR(WriteFileBytes(f, at, AsBytes(chunk), image));
      written += chunk.size();
      bytes -= chunk.size();
    }
  }
  events->Add("log_append_bytes", written);
  return written;
}

Result<uint64_t> VmDisk::RotateLogs(uint32_t day, Rng& rng, ImageFile* image,
                                    DayEvents* events) {
  uint64_t written = 0;
  for (uint32_t i = 0; i < logs_.size(); ++i) {
    if ((day + vm_ + i * 2) % 7 != 0) continue;
    const uint32_t f = logs_[i];
    const uint64_t size = files_[f].size;
    if (size == 0) continue;
    // Compress the log (zstd streaming) into the new archive.
    ZSTD_CCtx* cctx = ZSTD_createCCtx();
    ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, 3);
    Bytes in, out, piece(ZSTD_CStreamOutSize());
    for (uint64_t off = 0; off < size || off == 0; off += in.size()) {
      in.resize(std::min<uint64_t>(size - off, 1 << 20));
      std::span<uint8_t> view(in);
      Status s = ReadFileBytes(f, off, view, image);
      if (!s.ok()) {
        ZSTD_freeCCtx(cctx);
        return s;
      }
      const bool last = off + in.size() >= size;
      ZSTD_inBuffer ib{in.data(), in.size(), 0};
      bool finished = false;
      while (!finished) {
        ZSTD_outBuffer ob{piece.data(), piece.size(), 0};
        size_t r = ZSTD_compressStream2(cctx, &ob, &ib,
                                        last ? ZSTD_e_end : ZSTD_e_continue);
        if (ZSTD_isError(r)) {
          ZSTD_freeCCtx(cctx);
          return Status::InvalidArgument("zstd failed compressing a log");
        }
        out.insert(out.end(), piece.data(), piece.data() + ob.pos);
        finished = last ? r == 0 : ib.pos == ib.size;
      }
      if (last) break;
    }
    ZSTD_freeCCtx(cctx);
    if (archives_[i] != ~0u) {
      const uint32_t old = archives_[i];
      if (rng.Chance(0.5)) {  // discard (TRIM) the oldest archive
        for (const Extent& e : files_[old].extents) {
          VCSNAP_RETURN_IF_ERROR(
              image->Zero(e.block * kBlockSize, e.count * kBlockSize));
          written += e.count * kBlockSize;
        }
      }
      DeleteFile(old);
    }
    const uint32_t a =
        NewFile(Kind::kArchive, out.size(),
                files_[f].extents.empty() ? RandomGoal(rng)
                                          : files_[f].extents[0].block,
                day);
    if (a != ~0u) {
      out.resize((out.size() + kBlockSize - 1) / kBlockSize * kBlockSize, 0);
      VCSNAP_RETURN_IF_ERROR(WriteFileBytes(a, 0, out, image));
      written += out.size();
    }
    archives_[i] = a;
    FreeExtents(files_[f].extents);
    files_[f].extents.clear();
    files_[f].size = 0;
    ++files_[f].version;
    TouchInode(files_[f].inode);
    events->Add("log_rotations");
  }
  return written;
}

Result<uint64_t> VmDisk::DbAppend(uint32_t day, uint64_t pages,
                                  ImageFile* image, DayEvents* events) {
  uint64_t written = 0;
  for (; pages > 0; --pages) {
    if (db_pages_used_ >= db_pages_) {
      const uint32_t more = std::max<uint32_t>(64, db_pages_ / 16);
      if (!Extend(db_, uint64_t{db_pages_ + more} * kDbPageSize)) {
        events->Add("disk_full");
        break;
      }
      db_versions_.resize(db_pages_ + more, 0);
      const uint32_t old = db_pages_;
      db_pages_ += more;
      db_pages_used_ = std::max(db_pages_used_, old);
      VCSNAP_RETURN_IF_ERROR(WriteDbRange(old, more, day, image));
      written += uint64_t{more} * kDbPageSize;
      events->Add("db_grow_pages", more);
    }
    const uint32_t p = db_pages_used_++;
    ++db_versions_[p];
    VCSNAP_RETURN_IF_ERROR(WriteDbRange(p, 1, day, image));
    written += kDbPageSize;
  }
  return written;
}

Result<bool> VmDisk::DbNewRegion(uint32_t day, Rng& rng,
                                 std::vector<uint32_t>* regions,
                                 ImageFile* image) {
  const uint32_t n = (db_pages_used_ + kDbRegionPages - 1) / kDbRegionPages;
  if (regions->size() >= n) return false;
  // Mostly a skewed rank from the VM's hot spot, sometimes anywhere.
  const uint64_t hot = MixSeed(plan_.seed, 12, vm_) % n;
  uint32_t r = 0;
  for (int tries = 0;; ++tries) {
    const uint64_t rank = rng.Chance(0.9) ? rng.Skewed(n, 1.1) : rng.Uniform(n);
    r = static_cast<uint32_t>((hot + rank) % n);
    if (std::find(regions->begin(), regions->end(), r) == regions->end()) {
      break;
    }
    if (tries == 16) {  // the hot spot is taken: the next free region
      while (std::find(regions->begin(), regions->end(), r) != regions->end()) {
        r = (r + 1) % n;
      }
      break;
    }
  }
  regions->push_back(r);
  const uint32_t first = r * kDbRegionPages;
  const uint32_t count = std::min(kDbRegionPages, db_pages_used_ - first);
  const uint32_t p = first + static_cast<uint32_t>(rng.Uniform(count));
  ++db_versions_[p];
  VCSNAP_RETURN_IF_ERROR(WriteDbRange(p, 1, day, image));
  return true;
}

Status VmDisk::DbFill(uint32_t day, uint64_t pages,
                      const std::vector<uint32_t>& regions, Rng& rng,
                      ImageFile* image) {
  if (regions.empty()) return Status::Ok();
  for (uint64_t i = 0; i < pages; ++i) {
    // The first regions chosen are mostly the hottest: skew toward them.
    const uint32_t r = regions[rng.Skewed(regions.size(), 1.0)];
    const uint32_t first = r * kDbRegionPages;
    const uint32_t count = std::min(kDbRegionPages, db_pages_used_ - first);
    const uint32_t p = first + static_cast<uint32_t>(rng.Uniform(count));
    ++db_versions_[p];
    VCSNAP_RETURN_IF_ERROR(WriteDbRange(p, 1, day, image));
  }
  return Status::Ok();
}

uint32_t VmDisk::PickUserFile(Rng& rng, Kind kind, uint32_t max_day) {
  for (int tries = 0; tries < 64 && !files_.empty(); ++tries) {
    const uint32_t f = static_cast<uint32_t>(rng.Uniform(files_.size()));
    const File& file = files_[f];
    if (file.alive && file.kind == kind && file.created <= max_day &&
        file.size > 0) {
      return f;
    }
  }
  return ~0u;
}

Result<uint64_t> VmDisk::AddUserFiles(uint32_t day, uint64_t budget, Rng& rng,
                                      ImageFile* image, DayEvents* events) {
  uint64_t written = 0;
  const auto& text = catalog_.text_files();
  const auto& packed = catalog_.compressed_files();
  // The day's files go together (one directory, allocated one after the
  // other) somewhere in the VM's 16 MiB home area.
  uint64_t goal =
      MixSeed(plan_.seed, 10, vm_) % total_blocks_ + rng.Uniform(4096);
  int misses = 0;
  while (written < budget && misses < 32) {
    const double r = rng.Real();
    Kind kind = r < 0.45 ? Kind::kDoc : r < 0.85 ? Kind::kBlob : Kind::kSecret;
    uint32_t source = 0;
    uint64_t size = 0;
    if (kind == Kind::kDoc) {
      source = text[rng.Uniform(text.size())];
      size = catalog_.files()[source].size;
    } else if (kind == Kind::kBlob) {
      source = packed[rng.Uniform(packed.size())];
      size = catalog_.files()[source].size;
    } else {
      size = rng.LogNormal(64 << 10, 1.0, 4096, 4 << 20);
    }
    if (size > budget - written + (64 << 10)) {
      ++misses;
      continue;
    }
    const uint32_t f = NewFile(kind, size, goal, day);
    if (f == ~0u) {
      events->Add("disk_full");
      break;
    }
    files_[f].source = source;
    if (!files_[f].extents.empty()) {
      goal = files_[f].extents.back().block + files_[f].extents.back().count;
    }
    if (kind == Kind::kSecret) {  // encrypted data: incompressible, unique
      Bytes buf(static_cast<size_t>((size + kBlockSize - 1) / kBlockSize *
                                    kBlockSize));
      for (size_t i = 0; i + 8 <= buf.size(); i += 8) {
        uint64_t v = rng.Next();
        std::memcpy(buf.data() + i, &v, 8);
      }
      VCSNAP_RETURN_IF_ERROR(WriteFileBytes(f, 0, buf, image));
    } else {
      VCSNAP_RETURN_IF_ERROR(CopySource(f, source, image));
    }
    written += size;
    events->Add("user_files");
  }
  events->Add("user_file_bytes", written);
  return written;
}

Result<uint64_t> VmDisk::DeleteUserFiles(uint32_t day, uint64_t budget,
                                         Rng& rng, ImageFile* image,
                                         DayEvents* events) {
  uint64_t trimmed = 0, freed = 0;
  for (int i = 0, n = 0; i < 32 && n < 6 && freed < budget * 2; ++i) {
    const Kind kind = i % 3 == 0   ? Kind::kDoc
                      : i % 3 == 1 ? Kind::kBlob
                                   : Kind::kSecret;
    const uint32_t f = PickUserFile(rng, kind, day >= 2 ? day - 2 : 0);
    if (f == ~0u || files_[f].created + 2 > day) continue;
    const uint64_t fsize = files_[f].size;
    if (rng.Chance(0.5) && trimmed + fsize <= budget) {  // TRIM: zeros
      for (const Extent& e : files_[f].extents) {
        VCSNAP_RETURN_IF_ERROR(
            image->Zero(e.block * kBlockSize, e.count * kBlockSize));
        trimmed += e.count * kBlockSize;
      }
      events->Add("trimmed_files");
    }
    freed += files_[f].size;
    ++n;
    DeleteFile(f);
    events->Add("deleted_files");
  }
  events->Add("trimmed_bytes", trimmed);
  return trimmed;
}

Result<uint64_t> VmDisk::InsertShift(uint32_t day, uint64_t budget, Rng& rng,
                                     ImageFile* image, DayEvents* events) {
  // A user edits a document: 1-3000 bytes inserted, the rest shifted.
  for (int tries = 0; tries < 32; ++tries) {
    const uint32_t f = PickUserFile(rng, Kind::kDoc, day);
    if (f == ~0u || files_[f].size > kMaxEditFile) continue;
    const uint64_t size = files_[f].size;
    const uint64_t at = rng.Uniform(size);
    if (size - at > budget + (64 << 10)) continue;
    std::string ins;
    Rng text(rng.Next());
    AppendLogText(text, 3, day, host_, rng.Range(1, 3000), &ins);
    if (ins.size() % kBlockSize == 0) ins.push_back('\n');
    Bytes tail(size - at);
    std::span<uint8_t> view(tail);
    VCSNAP_RETURN_IF_ERROR(ReadFileBytes(f, at, view, image));
    if (!Extend(f, size + ins.size())) {
      events->Add("disk_full");
      return 0;
    }
    VCSNAP_RETURN_IF_ERROR(WriteFileBytes(f, at, AsBytes(ins), image));
    VCSNAP_RETURN_IF_ERROR(WriteFileBytes(f, at + ins.size(), tail, image));
    events->Add("inserts");
    return ins.size() + tail.size();
  }
  return 0;
}

Result<uint64_t> VmDisk::MoveData(uint32_t day, uint64_t budget, Rng& rng,
                                  ImageFile* image, DayEvents* events) {
  (void)day;
  // A file copied elsewhere (defragmentation, a rewrite by an
  // application); the old place is trimmed 30 % of the time.
  for (int tries = 0; tries < 32; ++tries) {
    const uint32_t f = static_cast<uint32_t>(rng.Uniform(files_.size()));
    File& file = files_[f];
    if (!file.alive || file.kind == Kind::kDb || file.kind == Kind::kLog ||
        file.size < (16 << 10) || file.size > budget + (64 << 10)) {
      continue;
    }
    std::vector<Extent> to;
    if (!Alloc((file.size + kBlockSize - 1) / kBlockSize, RandomGoal(rng),
               &to)) {
      events->Add("disk_full");
      return 0;
    }
    const uint64_t padded =
        (file.size + kBlockSize - 1) / kBlockSize * kBlockSize;
    VCSNAP_RETURN_IF_ERROR(CopyExtents(file.extents, to, padded, image));
    if (rng.Chance(0.3)) {  // the old place is trimmed
      for (const Extent& e : file.extents) {
        VCSNAP_RETURN_IF_ERROR(
            image->Zero(e.block * kBlockSize, e.count * kBlockSize));
      }
    }
    FreeExtents(file.extents);
    file.extents = std::move(to);
    ++file.version;
    TouchInode(file.inode);
    events->Add("moves");
    return padded;
  }
  return 0;
}

Result<uint64_t> VmDisk::ScatterWrites(uint32_t day, Rng& rng, ImageFile* image,
                                       DayEvents* events) {
  (void)day;
  const uint64_t segments = std::max<uint64_t>(1, size() >> 21);
  const uint64_t n = static_cast<uint64_t>(
      plan_.scatter * static_cast<double>(segments) * (0.5 + rng.Real()));
  Bytes block(kBlockSize);
  uint64_t written = 0;
  for (uint64_t i = 0; i < n; ++i) {
    const uint64_t b = rng.Uniform(total_blocks_);
    auto it = free_.upper_bound(b);
    if (it != free_.begin() &&
        std::prev(it)->first + std::prev(it)->second > b) {
      continue;  // a free block: nobody writes there
    }
    VCSNAP_RETURN_IF_ERROR(image->Read(b * kBlockSize, block));
    if (rng.Chance(0.5)) {  // a timestamp or counter updated in place
      const uint64_t at = rng.Uniform(kBlockSize - 48);
      for (uint64_t k = 0; k < 8 + rng.Uniform(40); ++k) {
        block[at + k] = static_cast<uint8_t>('0' + rng.Uniform(10));
      }
      events->Add("scatter_changed");
    } else {
      events->Add("scatter_same");  // rewritten unchanged: CBT over-reports
    }
    VCSNAP_RETURN_IF_ERROR(image->Write(b * kBlockSize, block));
    written += kBlockSize;
  }
  return written;
}

Status VmDisk::GrowDisk(ImageFile* image, DayEvents* events) {
  const uint64_t old = total_blocks_;
  const uint64_t grow = std::max<uint64_t>(256, old / 8 / 256 * 256);
  VCSNAP_RETURN_IF_ERROR(image->Grow((old + grow) * kBlockSize));
  total_blocks_ = old + grow;
  AddGroups(old, total_blocks_);
  events->Add("grown_bytes", grow * kBlockSize);
  return Status::Ok();
}

}  // namespace vcsnap::fleet
