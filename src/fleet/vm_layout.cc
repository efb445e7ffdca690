// VmDisk: layout, allocation, metadata and file I/O (see vm_disk.h).

#include <algorithm>
#include <cstring>
#include <set>

#include "fleet/vm_disk.h"
#include "util/coding.h"

namespace vcsnap::fleet {
namespace {

uint64_t FloorPow2(uint64_t v) {
  uint64_t p = 1;
  while (p * 2 <= v) p *= 2;
  return p;
}

}  // namespace

VmDisk::VmDisk(const SourceCatalog& catalog, const FleetPlan& plan, uint32_t vm,
               uint32_t family, bool clone, uint64_t image_size)
    : catalog_(catalog),
      plan_(plan),
      vm_(vm),
      family_(family),
      clone_(clone),
      host_("vm-" + std::to_string(vm)),
      base_size_(image_size) {}

void VmDisk::InitLayout(uint64_t blocks) {
  total_blocks_ = blocks;
  used_blocks_ = 0;
  free_.clear();
  // ext4-like 128 MiB groups (one smaller group on small disks), with a
  // block bitmap and an inode table of 1/64 of the group at their start.
  group_blocks_ = std::min<uint64_t>(32768, FloorPow2(blocks));
  if (group_blocks_ < blocks && group_blocks_ < 32768) group_blocks_ *= 2;
  meta_blocks_ = std::max<uint64_t>(4, group_blocks_ / 64);
  boot_blocks_ = std::min<uint64_t>(256, blocks / 32);
  AddGroups(0, blocks);
  Reserve(0, boot_blocks_);
  journal_blocks_ = std::clamp<uint64_t>(blocks / 64, 64, 16384);
  const uint64_t mid = (blocks / 2) / group_blocks_;
  journal_start_ = MetaStart(mid) + meta_blocks_;
  journal_pos_ = 1;
  Reserve(journal_start_, journal_blocks_);
}

void VmDisk::AddGroups(uint64_t from_block, uint64_t to_block) {
  used_blocks_ += to_block - from_block;  // FreeRange subtracts it again
  FreeRange(from_block, to_block - from_block);
  const uint64_t groups = (to_block + group_blocks_ - 1) / group_blocks_;
  inode_file_.resize(groups * InodesPerGroup(), 0);
  inode_hint_.resize(groups, 0);
  for (uint64_t g = (from_block + group_blocks_ - 1) / group_blocks_;
       g < groups; ++g) {
    const uint64_t start = MetaStart(g);
    if (start >= to_block) break;
    Reserve(start, std::min(meta_blocks_, to_block - start));
    dirty_groups_.insert(g);
  }
}

void VmDisk::Reserve(uint64_t block, uint64_t count) {
  const uint64_t end = block + count;
  auto it = free_.upper_bound(block);
  if (it != free_.begin()) --it;
  while (it != free_.end() && it->first < end) {
    const uint64_t s = it->first, e = it->first + it->second;
    if (e <= block) {
      ++it;
      continue;
    }
    it = free_.erase(it);
    if (s < block) free_[s] = block - s;
    if (e > end) free_[end] = e - end;
    used_blocks_ += std::min(e, end) - std::max(s, block);
    dirty_groups_.insert(GroupOf(std::max(s, block)));
  }
}

void VmDisk::FreeRange(uint64_t block, uint64_t count) {
  if (count == 0) return;
  used_blocks_ -= std::min(used_blocks_, count);
  for (uint64_t g = GroupOf(block); g <= GroupOf(block + count - 1); ++g) {
    dirty_groups_.insert(g);
  }
  auto next = free_.lower_bound(block);
  if (next != free_.end() && next->first == block + count) {
    count += next->second;
    next = free_.erase(next);
  }
  if (next != free_.begin()) {
    auto prev = std::prev(next);
    if (prev->first + prev->second == block) {
      prev->second += count;
      return;
    }
  }
  free_[block] = count;
}

bool VmDisk::Alloc(uint64_t blocks, uint64_t goal, std::vector<Extent>* out) {
  if (blocks == 0) return true;
  if (FreeBlocks() < blocks) return false;
  uint64_t need = blocks;
  while (need > 0) {
    auto it = free_.upper_bound(goal);
    if (it != free_.begin()) {
      auto prev = std::prev(it);
      if (prev->first + prev->second > goal) it = prev;
    }
    if (it == free_.end()) it = free_.begin();
    const uint64_t start =
        std::max(it->first, goal < it->first + it->second ? goal : it->first);
    const uint64_t avail = it->first + it->second - start;
    const uint64_t n = std::min(need, avail);
    Reserve(start, n);
    if (!out->empty() && out->back().block + out->back().count == start) {
      out->back().count += n;
    } else {
      out->push_back(Extent{start, n});
    }
    need -= n;
    goal = start + n;
  }
  return true;
}

void VmDisk::FreeExtents(const std::vector<Extent>& ext) {
  for (const Extent& e : ext) FreeRange(e.block, e.count);
}

uint32_t VmDisk::AllocInode(uint64_t goal_block, uint32_t file) {
  const uint64_t ipg = InodesPerGroup();
  const uint64_t groups = inode_hint_.size();
  for (uint64_t i = 0; i < groups; ++i) {
    const uint64_t g = (GroupOf(goal_block) + i) % groups;
    while (inode_hint_[g] < ipg) {
      const uint64_t ino = g * ipg + inode_hint_[g]++;
      if (inode_file_[ino] == 0) {
        inode_file_[ino] = file + 1;
        TouchInode(static_cast<uint32_t>(ino));
        return static_cast<uint32_t>(ino);
      }
    }
  }
  // Every slot was handed out once: scan for a freed one.
  for (uint64_t ino = 0; ino < inode_file_.size(); ++ino) {
    if (inode_file_[ino] == 0) {
      inode_file_[ino] = file + 1;
      TouchInode(static_cast<uint32_t>(ino));
      return static_cast<uint32_t>(ino);
    }
  }
  return ~0u;
}

uint32_t VmDisk::NewFile(Kind kind, uint64_t size, uint64_t goal,
                         uint32_t day) {
  File f;
  f.kind = kind;
  f.size = size;
  f.created = day;
  f.package = ~0u;
  if (!Alloc((size + kBlockSize - 1) / kBlockSize, goal % total_blocks_,
             &f.extents)) {
    return ~0u;
  }
  const uint32_t index = static_cast<uint32_t>(files_.size());
  f.inode = AllocInode(f.extents.empty() ? goal : f.extents[0].block, index);
  if (f.inode == ~0u) {
    FreeExtents(f.extents);
    return ~0u;
  }
  files_.push_back(std::move(f));
  return index;
}

void VmDisk::DeleteFile(uint32_t f) {
  File& file = files_[f];
  if (!file.alive) return;
  FreeExtents(file.extents);
  file.extents.clear();
  file.alive = false;
  if (file.inode < inode_file_.size()) {
    inode_file_[file.inode] = 0;
    TouchInode(file.inode);
  }
}

bool VmDisk::Extend(uint32_t f, uint64_t new_size) {
  File& file = files_[f];
  uint64_t have = 0;
  for (const Extent& e : file.extents) have += e.count;
  const uint64_t need = (new_size + kBlockSize - 1) / kBlockSize;
  if (need > have) {
    const uint64_t goal = file.extents.empty() ? file.inode
                                               : file.extents.back().block +
                                                     file.extents.back().count;
    std::vector<Extent> more;
    if (!Alloc(need - have, goal % total_blocks_, &more)) return false;
    for (const Extent& e : more) {
      if (!file.extents.empty() &&
          file.extents.back().block + file.extents.back().count == e.block) {
        file.extents.back().count += e.count;
      } else {
        file.extents.push_back(e);
      }
    }
  }
  file.size = std::max(file.size, new_size);
  ++file.version;
  TouchInode(file.inode);
  return true;
}

Status VmDisk::ExtentIo(const std::vector<Extent>& ext, uint64_t offset,
                        ByteView data, std::span<uint8_t>* out,
                        ImageFile* image) {
  uint64_t left = out != nullptr ? out->size() : data.size();
  uint64_t done = 0;
  uint64_t base = 0;  // file offset of the current extent
  for (const Extent& e : ext) {
    const uint64_t len = e.count * kBlockSize;
    if (left == 0) break;
    if (offset + done < base + len) {
      const uint64_t in = offset + done - base;
      const uint64_t n = std::min(left, len - in);
      const uint64_t disk = e.block * kBlockSize + in;
      if (out != nullptr) {
        VCSNAP_RETURN_IF_ERROR(image->Read(disk, out->subspan(done, n)));
      } else {
        VCSNAP_RETURN_IF_ERROR(image->Write(disk, data.subspan(done, n)));
      }
      done += n;
      left -= n;
    }
    base += len;
  }
  if (left != 0) {
    return Status::InvalidArgument("file I/O past the allocated blocks");
  }
  return Status::Ok();
}

Status VmDisk::CopyExtents(const std::vector<Extent>& from,
                           const std::vector<Extent>& to, uint64_t length,
                           ImageFile* image) {
  Bytes buf;
  for (uint64_t off = 0; off < length; off += 1 << 20) {
    buf.resize(std::min<uint64_t>(length - off, 1 << 20));
    std::span<uint8_t> view(buf);
    VCSNAP_RETURN_IF_ERROR(ExtentIo(from, off, {}, &view, image));
    VCSNAP_RETURN_IF_ERROR(ExtentIo(to, off, buf, nullptr, image));
  }
  return Status::Ok();
}

Status VmDisk::CopySource(uint32_t f, uint32_t source, ImageFile* image) {
  const uint64_t size = files_[f].size;
  const uint64_t padded = (size + kBlockSize - 1) / kBlockSize * kBlockSize;
  Bytes buf;
  for (uint64_t off = 0; off < padded; off += 1 << 20) {
    const uint64_t n = std::min<uint64_t>(padded - off, 1 << 20);
    buf.assign(n, 0);
    if (off < size) {
      const uint64_t want = std::min<uint64_t>(n, size - off);
      // A file that shrank since the scan reads short: the rest stays zero.
      VCSNAP_RETURN_IF_ERROR(
          catalog_.ReadAt(source, off, std::span<uint8_t>(buf.data(), want))
              .status());
    }
    VCSNAP_RETURN_IF_ERROR(WriteFileBytes(f, off, buf, image));
  }
  return Status::Ok();
}

Status VmDisk::InstallPackage(uint32_t package, uint64_t goal, uint32_t day,
                              ImageFile* image, DayEvents* events) {
  const SourcePackage& p = catalog_.packages()[package];
  std::vector<uint32_t>& list = package_files_[package];
  for (uint32_t i = p.first; i < p.first + p.count; ++i) {
    const uint64_t size = catalog_.files()[i].size;
    const uint32_t f = NewFile(Kind::kSystem, size, goal, day);
    if (f == ~0u) {
      events->Add("disk_full");
      break;
    }
    files_[f].source = i;
    files_[f].package = package;
    VCSNAP_RETURN_IF_ERROR(CopySource(f, i, image));
    list.push_back(f);
    goal = files_[f].extents.back().block + files_[f].extents.back().count;
    events->Add("system_bytes", size);
  }
  installed_.insert(package);
  events->Add("packages");
  return Status::Ok();
}

uint64_t VmDisk::InodeDiskBlock(uint64_t inode_block) const {
  const uint64_t ipg = InodesPerGroup();
  return MetaStart(inode_block * 16 / ipg) + 1 + (inode_block * 16 % ipg) / 16;
}

uint64_t VmDisk::PendingMetadataSegments(const ImageFile& image) const {
  const uint64_t seg = plan_.segment_size;
  std::set<uint64_t> segments;
  auto add = [&](uint64_t block) {
    const uint64_t s = block * kBlockSize / seg;
    if (!image.bitmap().TestRange(s * seg, seg)) segments.insert(s);
  };
  uint64_t blocks = 0;
  for (uint64_t g : dirty_groups_) {
    if (g * group_blocks_ >= total_blocks_) continue;
    add(MetaStart(g));
    ++blocks;
  }
  for (uint64_t ib : dirty_inode_blocks_) {
    add(InodeDiskBlock(ib));
    ++blocks;
  }
  // The journal: as FlushMetadata writes it (a descriptor, the copies up
  // to its cap, a commit).
  const uint64_t copies =
      std::min(blocks, std::min<uint64_t>(journal_blocks_ / 2, 1024)) + 2;
  uint64_t pos = journal_pos_;
  for (uint64_t i = 0; i < copies; ++i) {
    if (pos >= journal_blocks_) pos = 1;
    add(journal_start_ + pos++);
  }
  return segments.size();
}

Status VmDisk::FlushMetadata(uint32_t day, ImageFile* image,
                             DayEvents* events) {
  Bytes block(kBlockSize);
  std::vector<Bytes> journal;
  // Block bitmaps: bit = block in use.
  for (uint64_t g : dirty_groups_) {
    const uint64_t start = g * group_blocks_;
    if (start >= total_blocks_) continue;
    const uint64_t end = std::min(total_blocks_, start + group_blocks_);
    std::fill(block.begin(), block.end(), 0);
    for (uint64_t b = start; b < end && b - start < kBlockSize * 8; ++b) {
      block[(b - start) / 8] |= static_cast<uint8_t>(1u << ((b - start) % 8));
    }
    auto it = free_.upper_bound(start);
    if (it != free_.begin()) --it;
    for (; it != free_.end() && it->first < end; ++it) {
      for (uint64_t b = std::max(it->first, start);
           b < std::min(end, it->first + it->second); ++b) {
        block[(b - start) / 8] &=
            static_cast<uint8_t>(~(1u << ((b - start) % 8)));
      }
    }
    VCSNAP_RETURN_IF_ERROR(image->Write(MetaStart(g) * kBlockSize, block));
    if (journal.size() < std::min<uint64_t>(journal_blocks_ / 2, 1024)) {
      journal.push_back(block);
    }
    events->Add("bitmap_blocks");
  }
  // Inode tables: 16 records of 256 bytes per block.
  for (uint64_t ib : dirty_inode_blocks_) {
    std::fill(block.begin(), block.end(), 0);
    for (uint64_t k = 0; k < 16; ++k) {
      const uint64_t ino = ib * 16 + k;
      if (ino >= inode_file_.size() || inode_file_[ino] == 0) continue;
      const File& f = files_[inode_file_[ino] - 1];
      uint8_t* r = block.data() + k * 256;
      std::memcpy(r, "VINO", 4);
      EncodeFixed32(r + 4, static_cast<uint32_t>(ino));
      r[8] = static_cast<uint8_t>(f.kind);
      EncodeFixed32(r + 12, f.version);
      EncodeFixed64(r + 16, f.size);
      EncodeFixed64(r + 24,
                    1760000000ull + f.created * 86400ull + f.version * 37ull);
      EncodeFixed32(r + 32, static_cast<uint32_t>(f.extents.size()));
      for (size_t e = 0; e < f.extents.size() && e < 12; ++e) {
        EncodeFixed64(r + 40 + e * 12, f.extents[e].block);
        EncodeFixed32(r + 48 + e * 12,
                      static_cast<uint32_t>(f.extents[e].count));
      }
      EncodeFixed32(r + 184, f.source);
    }
    VCSNAP_RETURN_IF_ERROR(
        image->Write(InodeDiskBlock(ib) * kBlockSize, block));
    if (journal.size() < std::min<uint64_t>(journal_blocks_ / 2, 1024)) {
      journal.push_back(block);
    }
    events->Add("inode_blocks");
  }
  dirty_groups_.clear();
  dirty_inode_blocks_.clear();
  // Journal: a descriptor, the copied blocks, a commit; a rolling window
  // that never touches the journal's own superblock (block 0).
  journal.insert(journal.begin(), Bytes(kBlockSize, 0));
  journal.push_back(Bytes(kBlockSize, 0));
  std::memcpy(journal.front().data(), "VJDESC", 6);
  std::memcpy(journal.back().data(), "VJCOMMIT", 8);
  EncodeFixed64(journal.front().data() + 8, journal_seq_);
  EncodeFixed64(journal.back().data() + 8, journal_seq_++);
  EncodeFixed32(journal.back().data() + 16, day);
  for (const Bytes& jb : journal) {
    if (journal_pos_ >= journal_blocks_) journal_pos_ = 1;
    VCSNAP_RETURN_IF_ERROR(
        image->Write((journal_start_ + journal_pos_++) * kBlockSize, jb));
    events->Add("journal_blocks");
  }
  return Status::Ok();
}

}  // namespace vcsnap::fleet
