// File: store/vm_store.h
//
// VmStore: the append-only store of one VM's new chunks (paper §5.2). Chunks
// are packed into chunk groups (store/group.h) appended to data blocks of at
// most min(config.max_object_size, backend->max_object_size()) bytes; blocks
// form containers of ~config.container_size bytes; every container has an
// index (group CID range -> block, offset, length) and a deletion log
// (store/container_format.h). Layout: docs/format/store-layout.md.
//
// Writing. Put() assigns the next CID of the open container and buffers the
// chunk in the one open group; a full group is compressed and appended to the
// current block (not yet synced). Flush() writes the open group, syncs every
// block written since the last Flush, then appends their index entries to the
// container index and syncs it, then appends buffered deletions to the
// deletion logs and syncs them. Refs returned by Put, and deletions, are
// durable -- and visible to Get -- once Flush() returns OK. If Put or Flush
// fails, every ref returned since the last OK Flush is void (its CID is never
// reused by this process); the writer repairs itself on its next call.
//
// Crash protocol. The index is authoritative: a reader trusts a group only
// through an index entry, and an index entry is appended only after the
// group's block is synced. A crash leaves at worst (a) block bytes past the
// last indexed group, (b) a partial index or deletion-log record. Readers
// ignore both. The first write after Open() repairs them: block tails are cut
// back to the last indexed group (Put of the prefix), blocks past it are
// deleted, torn records are cut off. But verifiable groups past the index
// (a crash before they were indexed -- or a lost or truncated index, which
// look the same) are never deleted: the index is rebuilt from the blocks
// (SalvageIndex; a crash's groups are then unreferenced chunks that gc
// reclaims) and the repair reported through TakeRepairs. Compaction refuses
// a container whose blocks hold such groups (recover indexes them).
// Generations: compaction (store/compaction.h) writes a new generation of a
// container and publishes it by Put of the container's head object; readers
// that find their generation gone reload the head and retry once.
//
// Thread safety. One writer per VM at a time across processes is the
// caller's job (a lease in a higher layer). Within one VmStore, Put, Flush,
// Delete, SealContainer and compaction serialize on a writer mutex; Get,
// ScanGroups and the listing calls may run concurrently with them and with
// each other. A writing store has two compressor threads of its own (made
// at its first group); every reading thread keeps one read-ahead buffer
// (StoreOptions::readahead_bytes).

#ifndef VCSNAP_STORE_VM_STORE_H_
#define VCSNAP_STORE_VM_STORE_H_

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "backend/backend.h"
#include "format/repo_config.h"
#include "repo/repository.h"
#include "store/container_format.h"
#include "store/group.h"
#include "store/group_cache.h"
#include "store/refs.h"
#include "util/bytes.h"
#include "util/result.h"
#include "util/task_pool.h"

namespace vcsnap {

struct StoreOptions {
  size_t cache_bytes = 32u << 20;  // decoded groups kept for Get
  // One coalesced read when sequential; each reading thread keeps one
  // buffer of up to this size for its reads.
  size_t readahead_bytes = 4u << 20;
};

struct ContainerInfo {
  uint16_t id = 0;
  uint32_t generation = 0;
  uint64_t base_cid = 0;  // CIDs below it were issued before a compaction
  uint64_t next_cid = 0;  // the next CID this container would issue
  uint64_t groups = 0;
  uint64_t cids = 0;            // CIDs covered by groups (present or absent)
  uint64_t live_chunks = 0;     // present CIDs
  uint64_t deleted_chunks = 0;  // distinct CIDs in the deletion log
  uint64_t stored_bytes = 0;    // bytes of groups in data blocks
  // A damaged deletion log: what is wrong ("" when intact). deleted_chunks
  // then counts its readable records; forget, gc, compact and recover
  // rewrite the log (RepairDeletionLog).
  std::string dlog_problem = {};
  double deleted_fraction() const {
    return live_chunks == 0 ? 0.0
                            : static_cast<double>(deleted_chunks) /
                                  static_cast<double>(live_chunks);
  }
};

struct WriterStats {
  uint64_t chunks_put = 0;
  uint64_t raw_bytes_put = 0;
  uint64_t groups_written = 0;
  uint64_t stored_bytes_written = 0;  // group bytes appended to blocks
};

struct SalvageStats {
  uint64_t groups = 0;
  uint64_t chunks = 0;
  uint64_t blocks = 0;
  uint64_t bytes_ignored = 0;  // block bytes past the last valid group
};

// Damage found in one container's metadata, and what a repair did about it
// (VmStore::RepairMetadata).
struct MetadataRepair {
  // kUnindexedData: blocks hold verifiable groups past what the index
  // covers (a crash before they were indexed, or a lost or truncated
  // index); told apart from a running writer's unflushed groups only under
  // the VM's lease.
  enum class Kind { kHead, kIndex, kUnindexedData, kDeletionLog };
  Kind kind = Kind::kIndex;
  uint16_t container = 0;
  uint32_t generation = 0;    // the generation repaired (kHead: the one chosen)
  std::string problem = {};   // why the object was damaged (its parse error)
  bool done = false;          // false on a dry run
  SalvageStats salvage = {};  // kIndex: what the data blocks gave
  uint64_t records_kept = 0;  // kDeletionLog: readable records kept
  uint64_t records_dropped = 0;  // kDeletionLog: unreadable records
  // One line: the object, the damage, what was (or would be) done.
  std::string Describe() const;
};

// One container's index as one generation holds it: the plan of a scan.
struct ContainerIndex {
  uint16_t container = 0;
  uint32_t generation = 0;
  std::vector<IndexEntry> entries;  // CID order
};

// What VmStore::ScanGroups does with each group it reads (chunk and
// bad_group are required).
struct GroupScan {
  // Groups for which this returns false are not read (null: read them all).
  std::function<bool(const IndexEntry&)> want;
  // Each present chunk of each group that verified, CIDs ascending within a
  // scan; `data` is valid only during the call.
  std::function<void(uint64_t cid, ByteView data)> chunk;
  // A group that could not be read or failed verification: `error` names the
  // place (VM, container, generation, block, offset). The scan goes on.
  std::function<void(const IndexEntry& entry, const Status& error)> bad_group;
  // Adjacent groups of a block are read together, up to this many bytes.
  uint64_t read_bytes = 4u << 20;
};

class VmStore {
 public:
  // Opens the store of `vm` (creating it on the first Put). Reads nothing
  // until used. InvalidArgument if the config's limits cannot hold a group.
  static Result<std::unique_ptr<VmStore>> Open(Backend* backend, std::string vm,
                                               const RepoConfig& config,
                                               StoreOptions options = {});
  // The store of `vm` in `repo`, under the VM's keys (its tenant's when it
  // belongs to one: Repository::ConfigFor).
  static Result<std::unique_ptr<VmStore>> OpenIn(Repository& repo,
                                                 const std::string& vm,
                                                 StoreOptions options = {});
  ~VmStore();
  // The keys groups are sealed with (encrypted repository), else null.
  const RepoKeys* keys() const { return config_.keys.get(); }
  VmStore(const VmStore&) = delete;
  VmStore& operator=(const VmStore&) = delete;

  // Buffers `chunk`; InvalidArgument if larger than max_chunk_size().
  Result<ChunkRef> Put(ByteView chunk);
  // Makes every Put and Delete so far durable (see the file comment).
  Status Flush();
  // Flush, then close the open container: the next Put starts a new one.
  Status SealContainer();

  // The chunk's bytes. NotFound for a CID never flushed or dropped by
  // compaction; Corruption (naming VM, container, block and offset) for any
  // damage. Never returns wrong bytes.
  Result<Bytes> Get(ChunkRef ref);
  // The same without an allocation: returns the chunk's length, and copies
  // its bytes into `out` only when that length is out.size() (a caller that
  // knows the length from a recipe checks the result).
  Result<uint32_t> GetInto(ChunkRef ref, std::span<uint8_t> out);

  // Logs `ref` for deletion (lazy; compaction reclaims the space). Durable
  // after the next OK Flush. NotFound when the CID was never flushed.
  Status Delete(ChunkRef ref);

  // --- enumeration, for gc and stats ---
  Result<std::vector<ContainerInfo>> ListContainers();
  Result<ContainerInfo> GetContainerInfo(uint16_t container);
  // The container's index entries (group CID ranges), current generation.
  Result<std::vector<IndexEntry>> GroupIndex(uint16_t container);
  // Sorted distinct CIDs of the deletion log (current generation).
  Result<std::vector<uint64_t>> DeletedCids(uint16_t container);
  // Sorted CIDs present in the container (deleted-but-not-compacted
  // included); reads group headers only where compaction left holes.
  Result<std::vector<uint64_t>> PresentCids(uint16_t container);

  // --- streaming read, for check --read-data ---
  // The container's current index, from the backend (not the views Get
  // uses). NotFound when there is no such container.
  Result<ContainerIndex> LoadContainerIndex(uint16_t container);
  // Reads index.entries[begin, end) in order, bypassing the group cache:
  // adjacent wanted groups of a block in one read of up to scan.read_bytes,
  // each group's location-bound checksum verified and its CID range checked
  // against its entry (as Get does), then decoded once into a reused buffer
  // and handed to scan.chunk, or to scan.bad_group with the error Get would
  // give. Never hands over unverified bytes. Allocates no shared state, so
  // concurrent scans (of the same index or not) do not contend. Blocks of a
  // generation that compaction replaced meanwhile are bad groups to the scan
  // (NotFound naming the place); the caller may retry through Get.
  // InvalidArgument for a range outside the index, else OK.
  Status ScanGroups(const ContainerIndex& index, size_t begin, size_t end,
                    const GroupScan& scan);

  // --- repair of damaged container metadata (vm_store_repair.cc) ---
  // Writer-side (the writer mutex, and the caller holds the VM's lease); a
  // dry run only reads, and may run without the lease (check does: what it
  // then finds may be a concurrent writer's work in progress).
  //
  // Rebuilds the index of `container` (current generation) from its data
  // blocks alone: every group that verifies, block by block; past damaged
  // bytes it goes on at the next group magic that starts a verifying group
  // (the skipped bytes count as bytes_ignored).
  // The rebuilt index closes the container to new chunks (base CID near
  // 2^48): groups lost with the damage may have held CIDs that old recipes
  // still name, and a CID is never handed out twice.
  Result<SalvageStats> SalvageIndex(uint16_t container);
  // The deletion log of `container` (current generation), if it is damaged
  // (Corruption), rewritten by one Put with its readable records
  // (SalvageDlog): each is a deletion this store made, so nothing live is
  // deleted, and the unreadable ones only leak space until gc logs those
  // chunks again. nullopt when the log is intact or absent; an unknown
  // version is an error, not damage. dry_run: only says.
  Result<std::optional<MetadataRepair>> RepairDeletionLog(uint16_t container,
                                                          bool dry_run);
  // Every container: a damaged head (the generation becomes the newest one
  // whose index header verifies: compaction writes that index only once its
  // blocks are synced), a damaged index (SalvageIndex), verifiable groups
  // the index does not cover (kUnindexedData; salvaged too), a damaged
  // deletion log (RepairDeletionLog). Unless dry_run, each is rebuilt.
  // Returns what was found, in container order; other errors stop it.
  // `listing`, when given, is a listing of StorePrefix(vm) the caller
  // already made (on RADOS a listing scans the whole pool).
  Result<std::vector<MetadataRepair>> RepairMetadata(
      bool dry_run, const std::vector<ObjectInfo>* listing = nullptr);
  // The repairs the writer made on its own since the last call: a damaged
  // deletion log met by Flush or compaction is rewritten as
  // RepairDeletionLog does, so that damage never stops deletion.
  std::vector<MetadataRepair> TakeRepairs();
  // The IDs of the containers that have objects (listing only).
  Result<std::vector<uint16_t>> ListContainerIds();

  const std::string& vm() const { return vm_; }
  uint64_t max_chunk_size() const { return group_raw_limit_; }
  uint64_t block_limit() const { return block_limit_; }
  WriterStats writer_stats() const;
  Backend* backend() const { return backend_; }

 private:
  friend class Compactor;

  struct View {  // one container's current generation, as readers see it
    uint32_t generation = 0;
    uint64_t base_cid = 0;
    std::vector<IndexEntry> entries;
    uint64_t next_cid() const {
      return entries.empty() ? base_cid
                             : std::max(base_cid, entries.back().end_cid());
    }
  };
  struct Located {
    uint32_t generation = 0;
    size_t index = 0;
    IndexEntry entry;
  };

  VmStore(Backend* backend, std::string vm, const RepoConfig& config,
          StoreOptions options, uint64_t block_limit, uint64_t raw_limit);

  // --- read side (vm_store.cc) ---
  std::string Where(uint16_t c) const;
  Result<uint32_t> LoadGeneration(uint16_t c);
  // Loads head + index from the backend. has_header false: no container.
  Result<ParsedIndex> LoadIndex(uint16_t c, uint32_t gen);
  // Loads a container's view and installs it unless a newer one is there.
  Status ReloadView(uint16_t c);
  Result<Located> Locate(ChunkRef ref);
  Result<std::shared_ptr<const DecodedGroup>> FetchGroup(uint16_t c,
                                                         const Located& loc);
  // A chunk's bytes, inside the decoded group that keeps them alive.
  struct Found {
    std::shared_ptr<const DecodedGroup> group;
    ByteView chunk;
  };
  // Get's lookup, with its one retry after a concurrent compaction.
  Result<Found> Find(ChunkRef ref);
  // One attempt; *generation: the generation it read (0 when the chunk was
  // not located).
  Result<Found> FindOnce(ChunkRef ref, uint32_t* generation);
  Result<ParsedDlog> LoadDlog(uint16_t c, uint32_t gen);
  GroupPlace Place(uint16_t c, uint32_t gen, const std::string& block_name,
                   uint64_t offset) const;
  GroupLimits limits() const;
  // Checks shared by Get and ScanGroups; the errors name `place`.
  static Status CheckHeld(const GroupPlace& place, uint64_t held,
                          const IndexEntry& e);
  static Status CheckMatches(const GroupPlace& place, uint64_t first_cid,
                             uint32_t count, uint64_t live,
                             const IndexEntry& e);
  void InstallView(uint16_t c, View view);  // replaces unconditionally

  // --- write side (vm_store_writer.cc); REQUIRE writer_mu_ held ---
  Status EnsureWriter();
  Status Recover();
  // own_tail: the groups past the index are this writer's own, of a failed
  // Flush (cut, not indexed).
  Status RecoverContainer(uint16_t c, const std::vector<ObjectInfo>& objects,
                          bool own_tail, bool* usable);
  Status WriteOpenGroup();      // starts compressing the open group
  Status FinishPendingGroup();  // appends the group being compressed
  Status FlushLocked();
  Status WriteDeletions();
  Status StartContainer(uint16_t c);
  Status CutTail(const std::string& name, uint64_t size, uint64_t keep);
  // --- repair (vm_store_repair.cc); REQUIRE writer_mu_ held ---
  Result<SalvageStats> SalvageIndexLocked(uint16_t c, uint32_t gen);
  // True when a block of (c, gen) holds a verifiable group past the groups
  // `index` covers (entries are in block order: past its last entry).
  // `objects`: a listing that holds the (c, gen) blocks (others ignored).
  Result<bool> HasUnindexedGroup(uint16_t c, uint32_t gen,
                                 const ParsedIndex& index,
                                 const std::vector<ObjectInfo>& objects);
  Result<std::optional<MetadataRepair>> RepairDlogLocked(uint16_t c,
                                                         uint32_t gen,
                                                         bool dry_run);
  // What rewriting the damaged log `bytes` of (c, gen) with its readable
  // records keeps; `problem` is its parse error. With `write`, rewrites it
  // (one Put) and sets dlog_bytes_[c].
  Result<MetadataRepair> RewriteDlogLocked(uint16_t c, uint32_t gen,
                                           ByteView bytes,
                                           const Status& problem, bool write);

  Backend* const backend_;
  const std::string vm_;
  const RepoConfig config_;
  const StoreOptions options_;
  const uint64_t block_limit_;
  const uint64_t group_raw_limit_;

  // Reader state.
  mutable std::mutex mu_;
  std::map<uint16_t, View> views_;  // guarded by mu_
  struct LastMiss {
    uint16_t container = 0;
    uint32_t generation = 0;
    size_t index = 0;
  } last_miss_;  // guarded by mu_
  GroupCache cache_;

  // Writer state, guarded by writer_mu_.
  mutable std::mutex writer_mu_;
  bool writer_ready_ = false;
  bool writer_broken_ = false;
  bool failed_since_flush_ = false;  // refs since the last Flush are void
  uint16_t cur_c_ = 0;
  uint32_t cur_gen_ = 0;
  uint32_t cur_block_ = 0;
  uint64_t cur_block_size_ = 0;
  uint64_t cur_container_bytes_ = 0;
  uint64_t next_cid_ = 0;
  uint64_t index_bytes_ = 0;  // valid bytes of the current index object
  std::vector<uint32_t> unsynced_blocks_;
  std::vector<IndexEntry> unindexed_;
  uint64_t open_first_cid_ = 0;
  std::vector<uint32_t> open_lens_;
  Bytes open_raw_;
  Bytes scratch_;
  // The one group being compressed in the background (see WriteOpenGroup).
  struct PendingGroup {
    uint16_t container = 0;
    uint32_t generation = 0;
    uint64_t first_cid = 0;
    uint32_t count = 0;
    std::future<Bytes> bytes;
  };
  static constexpr size_t kGroupsInFlight = 2;
  std::deque<PendingGroup> pending_;  // oldest first; guarded by writer_mu_
  std::map<uint16_t, std::vector<uint64_t>> pending_deletes_;
  std::map<uint16_t, uint64_t> dlog_bytes_;  // valid bytes per container
  std::vector<MetadataRepair> repairs_;      // for TakeRepairs
  WriterStats stats_;
  // Raw group buffers the compressor tasks are done with, for open_raw_.
  std::mutex spare_mu_;
  std::vector<Bytes> spare_raw_;  // guarded by spare_mu_
  // Compresses pending_ groups; made at the first group written. Declared
  // last, so destroyed first: its tasks finish while what they may point
  // to (keys, vm_) is still alive.
  std::unique_ptr<TaskPool> compressors_;
};

}  // namespace vcsnap

#endif  // VCSNAP_STORE_VM_STORE_H_
