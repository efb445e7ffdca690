// File: fleet/vm_disk.h
//
// VmDisk: the generator's model of one VM's disk, a small file system laid
// out on a raw image: a boot area, block groups of 4 KiB blocks each headed
// by a block bitmap and an inode table, a journal in the middle, and files
// stored as extents allocated first-fit from a per-directory goal (so files
// fragment as the disk ages). The model holds only metadata (extents, sizes,
// inode slots): file content lives in the image and is read back from it
// when it moves or shifts. Memory is O(files), never O(image).
//
// BuildBase() writes day 0; ApplyDay() applies one day of changes (SPEC §6)
// to an image that starts as a copy of the previous day. All writes go
// through ImageFile, which records the dirty bitmap.
//
// Thread safety: none; one VmDisk per VM, used by one thread.

#ifndef VCSNAP_FLEET_VM_DISK_H_
#define VCSNAP_FLEET_VM_DISK_H_

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "fleet/image_file.h"
#include "fleet/rng.h"
#include "fleet/source.h"
#include "util/result.h"

namespace vcsnap::fleet {

inline constexpr uint64_t kBlockSize = 4096;

// What the fleet decides, shared by every VM (see fleet.cc).
struct FleetPlan {
  uint64_t seed = 0;
  uint32_t families = 3;
  double change_rate = 0.02;
  double growth_probability = 0.02;
  double scatter = 0.02;  // small in-place writes per segment per day
  // Share of the segments a day's writes aim to dirty (see ApplyDay).
  double dirty_target = 0.15;
  uint64_t segment_size = 2ull << 20;
  uint32_t update_period = 3;
  // Catalog packages by role (indices into SourceCatalog::packages()).
  std::vector<uint32_t> core;                 // in every OS family
  std::vector<std::vector<uint32_t>> family;  // per family
  std::vector<uint32_t> optional;             // per-VM software, by rank
  std::vector<uint32_t> updates;              // new versions, in order
};

struct FleetOptions;

// The plan of a fleet from its options and source (fleet.cc);
// InvalidArgument when source_families finds no usable families.
Result<FleetPlan> MakeFleetPlan(const SourceCatalog& catalog,
                                const FleetOptions& options);

// Counters of one day's events, reported in the manifest.
struct DayEvents {
  std::map<std::string, uint64_t> counts;
  void Add(const char* name, uint64_t n = 1) { counts[name] += n; }
};

class VmDisk {
 public:
  VmDisk(const SourceCatalog& catalog, const FleetPlan& plan, uint32_t vm,
         uint32_t family, bool clone, uint64_t image_size);

  Status BuildBase(ImageFile* image, DayEvents* events);
  Status ApplyDay(uint32_t day, ImageFile* image, DayEvents* events);

  uint64_t size() const { return total_blocks_ * kBlockSize; }
  uint64_t used_blocks() const { return used_blocks_; }

 private:
  enum class Kind : uint8_t {
    kSystem,
    kLog,
    kDb,
    kDoc,
    kBlob,
    kSecret,
    kArchive
  };
  struct Extent {
    uint64_t block;
    uint64_t count;
  };
  struct File {
    Kind kind = Kind::kSystem;
    uint32_t source = 0;   // catalog file (kSystem, kDoc, kBlob)
    uint32_t package = 0;  // catalog package (kSystem), else ~0
    uint64_t size = 0;
    uint32_t inode = 0;
    uint32_t version = 0;
    uint32_t created = 0;  // day
    bool alive = true;
    std::vector<Extent> extents;
  };

  // Layout and allocation (vm_layout.cc).
  void InitLayout(uint64_t blocks);
  void AddGroups(uint64_t from_block, uint64_t to_block);
  void Reserve(uint64_t block, uint64_t count);
  void FreeRange(uint64_t block, uint64_t count);
  bool Alloc(uint64_t blocks, uint64_t goal, std::vector<Extent>* out);
  void FreeExtents(const std::vector<Extent>& ext);
  uint64_t FreeBlocks() const { return total_blocks_ - used_blocks_; }
  uint32_t AllocInode(uint64_t goal_block, uint32_t file);
  uint64_t MetaStart(uint64_t group) const {
    return group * group_blocks_ + (group == 0 ? boot_blocks_ : 0);
  }
  uint64_t InodesPerGroup() const { return (meta_blocks_ - 1) * 16; }
  void TouchInode(uint32_t inode) { dirty_inode_blocks_.insert(inode / 16); }
  Status FlushMetadata(uint32_t day, ImageFile* image, DayEvents* events);
  uint64_t GroupOf(uint64_t block) const { return block / group_blocks_; }
  uint64_t RandomGoal(Rng& rng) const { return rng.Uniform(total_blocks_); }

  // File I/O through extents (vm_layout.cc).
  // Creates a file of `size` bytes at `goal`; content is written by the
  // caller. Returns the index in files_, or ~0 when the disk is full.
  uint32_t NewFile(Kind kind, uint64_t size, uint64_t goal, uint32_t day);
  Status WriteFileBytes(uint32_t f, uint64_t offset, ByteView data,
                        ImageFile* image) {
    return ExtentIo(files_[f].extents, offset, data, nullptr, image);
  }
  Status ReadFileBytes(uint32_t f, uint64_t offset, std::span<uint8_t> out,
                       ImageFile* image) {
    return ExtentIo(files_[f].extents, offset, {}, &out, image);
  }
  // Writes `data` (or reads into *out) at byte `offset` of the extent list.
  static Status ExtentIo(const std::vector<Extent>& ext, uint64_t offset,
                         ByteView data, std::span<uint8_t>* out,
                         ImageFile* image);
  // Streams `length` bytes from one extent list to another (moves).
  static Status CopyExtents(const std::vector<Extent>& from,
                            const std::vector<Extent>& to, uint64_t length,
                            ImageFile* image);
  // Streams catalog file `source` into file f (zero-padded to its blocks).
  Status CopySource(uint32_t f, uint32_t source, ImageFile* image);
  Status InstallPackage(uint32_t package, uint64_t goal, uint32_t day,
                        ImageFile* image, DayEvents* events);
  void DeleteFile(uint32_t f);
  // Grows file f to `new_size`, allocating near its last block.
  bool Extend(uint32_t f, uint64_t new_size);

  // Daily events (vm_day.cc). Each returns the bytes it wrote.
  Result<uint64_t> AppendLogs(uint32_t day, uint64_t budget, Rng& rng,
                              ImageFile* image, DayEvents* events);
  Result<uint64_t> RotateLogs(uint32_t day, Rng& rng, ImageFile* image,
                              DayEvents* events);
  Result<uint64_t> AddUserFiles(uint32_t day, uint64_t budget, Rng& rng,
                                ImageFile* image, DayEvents* events);
  Result<uint64_t> DeleteUserFiles(uint32_t day, uint64_t budget, Rng& rng,
                                   ImageFile* image, DayEvents* events);
  // The "places" of a day (see ApplyDay): database regions, edited
  // documents and moved files, added one at a time until the day's dirty
  // segments reach `goal`; then the database takes `fill` more bytes in
  // the regions it chose.
  struct PlaceBudgets {
    uint64_t goal = 0;                    // dirty segments
    uint64_t db = 0, edit = 0, move = 0;  // bytes
    uint64_t target = 0;                  // the day's written bytes
  };
  Status WritePlaces(uint32_t day, const PlaceBudgets& b, Rng& rng,
                     ImageFile* image, DayEvents* events);
  // Appends `pages` database pages (growing the file when full).
  Result<uint64_t> DbAppend(uint32_t day, uint64_t pages, ImageFile* image,
                            DayEvents* events);
  // Picks a database region not in *regions (mostly near the VM's hot
  // spot), writes one page of it and adds it; false when none is left.
  Result<bool> DbNewRegion(uint32_t day, Rng& rng,
                           std::vector<uint32_t>* regions, ImageFile* image);
  // Writes `pages` pages in place inside the chosen regions.
  Status DbFill(uint32_t day, uint64_t pages,
                const std::vector<uint32_t>& regions, Rng& rng,
                ImageFile* image);
  // One edited document (bytes inserted, the rest shifted) that rewrites
  // at most `budget` + 64 KiB (so one always fits); returns the bytes
  // written, 0 when none was found.
  Result<uint64_t> InsertShift(uint32_t day, uint64_t budget, Rng& rng,
                               ImageFile* image, DayEvents* events);
  // One file of at most `budget` + 64 KiB moved elsewhere; 0 when none.
  Result<uint64_t> MoveData(uint32_t day, uint64_t budget, Rng& rng,
                            ImageFile* image, DayEvents* events);
  // Segments not yet dirty that FlushMetadata would write now.
  uint64_t PendingMetadataSegments(const ImageFile& image) const;
  uint64_t InodeDiskBlock(uint64_t inode_block) const;
  Result<uint64_t> ApplyUpdates(uint32_t day, ImageFile* image,
                                DayEvents* events);
  Result<uint64_t> ScatterWrites(uint32_t day, Rng& rng, ImageFile* image,
                                 DayEvents* events);
  Status GrowDisk(ImageFile* image, DayEvents* events);
  Status WriteDbRange(uint32_t first_page, uint32_t count, uint32_t day,
                      ImageFile* image);
  uint32_t PickUserFile(Rng& rng, Kind kind, uint32_t max_day);

  const SourceCatalog& catalog_;
  const FleetPlan& plan_;
  const uint32_t vm_;
  const uint32_t family_;
  const bool clone_;
  const std::string host_;
  const uint64_t base_size_;

  uint64_t total_blocks_ = 0;
  uint64_t used_blocks_ = 0;
  uint64_t group_blocks_ = 0;
  uint64_t meta_blocks_ = 0;  // per group: 1 bitmap + inode table
  uint64_t boot_blocks_ = 0;
  std::vector<uint32_t> inode_hint_;  // per group: next slot to try
  uint64_t journal_start_ = 0, journal_blocks_ = 0, journal_pos_ = 0;
  uint64_t journal_seq_ = 1;
  std::map<uint64_t, uint64_t> free_;  // start block -> count
  std::vector<File> files_;
  std::vector<uint32_t> inode_file_;  // inode -> file index + 1 (0 = free)
  std::set<uint64_t> dirty_inode_blocks_;
  std::set<uint64_t> dirty_groups_;
  std::vector<uint32_t> logs_;      // files_ indices: syslog, auth, web, app
  std::vector<uint32_t> archives_;  // rotated logs
  uint32_t db_ = ~0u;
  uint32_t db_pages_ = 0, db_pages_used_ = 0;
  std::vector<uint32_t> db_versions_;
  std::set<uint32_t> installed_;  // catalog packages
  std::map<uint32_t, std::vector<uint32_t>> package_files_;
};

}  // namespace vcsnap::fleet

#endif  // VCSNAP_FLEET_VM_DISK_H_
