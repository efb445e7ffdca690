// VmDisk::ApplyDay: one day of changes (SPEC §6; see vm_disk.h).

#include <zstd.h>

#include <algorithm>
#include <cstring>

#include "fleet/content.h"
#include "fleet/vm_disk.h"

namespace vcsnap::fleet {
namespace {

// Shares of the day's byte budget (the rest goes to metadata and scatter).
constexpr double kLogDaily = 0.12;
constexpr double kDbDaily = 0.30;
constexpr double kUserDaily = 0.18;
constexpr double kTrimDaily = 0.08;
constexpr double kInsertDaily = 0.10;
constexpr double kMoveDaily = 0.08;
constexpr uint64_t kMaxEditFile = 4 << 20;

}  // namespace

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
      WriteDbPages(day, share(kDbDaily), rng, image, events).status());
  VCSNAP_RETURN_IF_ERROR(
      DeleteUserFiles(day, share(kTrimDaily), rng, image, events).status());
  VCSNAP_RETURN_IF_ERROR(
      InsertShift(day, share(kInsertDaily), rng, image, events).status());
  VCSNAP_RETURN_IF_ERROR(
      MoveData(day, share(kMoveDaily), rng, image, events).status());
  // New user files (contiguous, near the VM's home area) take what is left
  // once the pending metadata (each block written twice: in place and in
  // the journal) is set aside.
  {
    const uint64_t meta =
        (dirty_inode_blocks_.size() + dirty_groups_.size() + 4) * 2 *
        kBlockSize;
    const uint64_t w = image->written_bytes() + meta;
    const uint64_t left = target > w ? target - w : 0;
    VCSNAP_RETURN_IF_ERROR(AddUserFiles(day,
                                        std::min(left, share(kUserDaily + 0.2)),
                                        rng, image, events)
                               .status());
  }
  VCSNAP_RETURN_IF_ERROR(ScatterWrites(day, rng, image, events).status());
  return FlushMetadata(day, image, events);
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

Result<uint64_t> VmDisk::WriteDbPages(uint32_t day, uint64_t budget, Rng& rng,
                                      ImageFile* image, DayEvents* events) {
  uint64_t pages = budget / kDbPageSize;
  uint64_t written = 0;
  // A fifth of the writes append rows: fill the next empty pages, growing
  // the file when it is full.
  uint64_t inserts = pages / 5;
  while (inserts > 0) {
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
    --inserts;
    --pages;
  }
  // In-place updates: mostly hot pages (a skewed rank from a VM-specific
  // hot spot), some anywhere in the table.
  const uint64_t hot = MixSeed(plan_.seed, 12, vm_);
  for (uint64_t i = 0; i < pages && db_pages_used_ > 0; ++i) {
    const uint64_t rank = rng.Chance(0.9) ? rng.Skewed(db_pages_used_, 1.1)
                                          : rng.Uniform(db_pages_used_);
    const uint32_t p = static_cast<uint32_t>((hot + rank) % db_pages_used_);
    ++db_versions_[p];
    VCSNAP_RETURN_IF_ERROR(WriteDbRange(p, 1, day, image));
    written += kDbPageSize;
  }
  files_[db_].version++;
  TouchInode(files_[db_].inode);
  events->Add("db_page_writes", written / kDbPageSize);
  return written;
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
  const uint64_t home = MixSeed(plan_.seed, 10, vm_) % total_blocks_;
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
    const uint32_t f = NewFile(kind, size, home + rng.Uniform(4096), day);
    if (f == ~0u) {
      events->Add("disk_full");
      break;
    }
    files_[f].source = source;
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
  uint64_t written = 0;
  // A user edits a few documents a day.
  for (int tries = 0, n = 0; tries < 32 && n < 3 && written < budget; ++tries) {
    const uint32_t f = PickUserFile(rng, Kind::kDoc, day);
    if (f == ~0u || files_[f].size > kMaxEditFile) continue;
    const uint64_t size = files_[f].size;
    const uint64_t at = rng.Uniform(size);
    std::string ins;
    Rng text(rng.Next());
    AppendLogText(text, 3, day, host_, rng.Range(1, 3000), &ins);
    if (ins.size() % kBlockSize == 0) ins.push_back('\n');
    Bytes tail(size - at);
    std::span<uint8_t> view(tail);
    VCSNAP_RETURN_IF_ERROR(ReadFileBytes(f, at, view, image));
    if (!Extend(f, size + ins.size())) {
      events->Add("disk_full");
      break;
    }
    VCSNAP_RETURN_IF_ERROR(WriteFileBytes(f, at, AsBytes(ins), image));
    VCSNAP_RETURN_IF_ERROR(WriteFileBytes(f, at + ins.size(), tail, image));
    written += ins.size() + tail.size();
    ++n;
    events->Add("inserts");
  }
  events->Add("insert_bytes", written);
  return written;
}

Result<uint64_t> VmDisk::MoveData(uint32_t day, uint64_t budget, Rng& rng,
                                  ImageFile* image, DayEvents* events) {
  (void)day;
  uint64_t written = 0;
  for (int tries = 0, n = 0; tries < 32 && n < 2 && written < budget; ++tries) {
    const uint32_t f = static_cast<uint32_t>(rng.Uniform(files_.size()));
    File& file = files_[f];
    if (!file.alive || file.kind == Kind::kDb || file.kind == Kind::kLog ||
        file.size < (16 << 10) || file.size > budget - written + (64 << 10)) {
      continue;
    }
    std::vector<Extent> to;
    if (!Alloc((file.size + kBlockSize - 1) / kBlockSize, RandomGoal(rng),
               &to)) {
      events->Add("disk_full");
      break;
    }
    const uint64_t padded =
        (file.size + kBlockSize - 1) / kBlockSize * kBlockSize;
    VCSNAP_RETURN_IF_ERROR(CopyExtents(file.extents, to, padded, image));
    written += padded;
    ++n;
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
  }
  events->Add("move_bytes", written);
  return written;
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
