#include "backup/level3_batch.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <string>

#include "util/checksum.h"

namespace vcsnap {
namespace {

Status Errno(const std::string& what) {
  return Status::IOError("level-3 spool: " + what + ": " +
                         std::strerror(errno));
}

Status WriteAll(int fd, ByteView data, uint64_t offset) {
  size_t done = 0;
  while (done < data.size()) {
    ssize_t w = ::pwrite(fd, data.data() + done, data.size() - done,
                         static_cast<off_t>(offset + done));
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return Errno("write");
    done += static_cast<size_t>(w);
  }
  return Status::Ok();
}

Status ReadAll(int fd, Bytes* buf, uint64_t offset) {
  size_t got = 0;
  while (got < buf->size()) {
    ssize_t r = ::pread(fd, buf->data() + got, buf->size() - got,
                        static_cast<off_t>(offset + got));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return Errno("read");
    got += static_cast<size_t>(r);
  }
  return Status::Ok();
}

}  // namespace

Level3Batch::Level3Batch(VmStore* store, const PdsIndex* pds, FpRunWriter* fps,
                         BackupStats* stats, size_t max_pending,
                         size_t max_segments)
    : store_(store),
      pds_(pds),
      fps_(fps),
      stats_(stats),
      max_pending_(std::max<size_t>(1, max_pending)),
      max_segments_(std::max<size_t>(1, max_segments)) {}

Level3Batch::~Level3Batch() {
  if (spool_fd_ >= 0) ::close(spool_fd_);
}

Status Level3Batch::OpenSpool() {
  const char* env = std::getenv("TMPDIR");
  const std::string dir = env != nullptr && *env != '\0' ? env : "/tmp";
  spool_fd_ = ::open(dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (spool_fd_ < 0) return Errno("cannot create a temporary file in " + dir);
  return Status::Ok();
}

Status Level3Batch::Hold(uint64_t index, SegmentOutcome outcome, ByteView data,
                         const std::vector<ChunkInfo>& chunks) {
  if (spool_fd_ < 0) VCSNAP_RETURN_IF_ERROR(OpenSpool());
  for (uint32_t i : outcome.pending) {
    const ChunkInfo& c = chunks[i];
    ByteView bytes = data.subspan(c.offset, c.length);
    // Each pending chunk is followed by its checksum, so that a damaged
    // spool is an error, never a wrong chunk in the store.
    uint8_t sum[8];
    const uint64_t v = Checksum64(bytes, spool_size_);
    std::memcpy(sum, &v, 8);
    offsets_.push_back(spool_size_);
    VCSNAP_RETURN_IF_ERROR(WriteAll(spool_fd_, bytes, spool_size_));
    VCSNAP_RETURN_IF_ERROR(
        WriteAll(spool_fd_, ByteView(sum, 8), spool_size_ + bytes.size()));
    spool_size_ += bytes.size() + 8;
  }
  held_.push_back(Held{index, std::move(outcome)});
  return Status::Ok();
}

Status Level3Batch::Resolve(
    const std::function<Status(uint64_t, SegmentOutcome&)>& done) {
  if (held_.empty()) return Status::Ok();
  const size_t n = offsets_.size();
  // 1. Sort the pending fingerprints; ask the index for each distinct one.
  std::vector<uint32_t> group(n), first(n);
  std::vector<Fingerprint> unique;
  {
    std::vector<std::pair<Fingerprint, uint32_t>> order;
    order.reserve(n);
    for (const Held& h : held_) {
      for (uint32_t i : h.outcome.pending) {
        order.emplace_back(h.outcome.entries[i].fp,
                           static_cast<uint32_t>(order.size()));
      }
    }
    std::sort(order.begin(), order.end());
    uint32_t group_first = 0;  // smallest seq of the current fingerprint
    for (size_t k = 0; k < order.size(); ++k) {
      const auto& [fp, seq] = order[k];
      if (k == 0 || fp != order[k - 1].first) {
        unique.push_back(fp);
        group_first = seq;
      }
      group[seq] = static_cast<uint32_t>(unique.size() - 1);
      first[seq] = group_first;
    }
  }
  std::vector<std::optional<PdsRef>> hits;
  const auto start = std::chrono::steady_clock::now();
  pds_->Lookup(unique, &hits);
  l3_.seconds_lookup +=
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();
  l3_.lookups += unique.size();
  l3_.batches++;

  // 2. Complete the entries in image order, storing first occurrences.
  std::vector<uint64_t> stored(n, 0);
  Bytes buf;
  uint32_t seq = 0;
  for (Held& h : held_) {
    for (uint32_t i : h.outcome.pending) {
      RecipeEntry& e = h.outcome.entries[i];
      if (const std::optional<PdsRef>& hit = hits[group[seq]]) {
        VCSNAP_RETURN_IF_ERROR(RecordPdsMatch(*hit, &e, stats_, fps_));
      } else if (first[seq] != seq) {  // stored earlier in this batch
        e.kind = ChunkKind::kVm;
        e.vm_ref = stored[first[seq]];
        stats_->level2 += e.length;
        stats_->chunks_level2++;
      } else {
        buf.resize(e.length + 8);
        VCSNAP_RETURN_IF_ERROR(ReadAll(spool_fd_, &buf, offsets_[seq]));
        ByteView bytes(buf.data(), e.length);
        uint64_t sum;
        std::memcpy(&sum, buf.data() + e.length, 8);
        if (sum != Checksum64(bytes, offsets_[seq])) {
          return Status::Corruption(
              "level-3 spool: a chunk read back from the temporary file does "
              "not match what was written (local disk or memory fault)");
        }
        VCSNAP_ASSIGN_OR_RETURN(ChunkRef ref, store_->Put(bytes));
        VCSNAP_RETURN_IF_ERROR(RecordStored(ref, &e, stats_, fps_));
        stored[seq] = e.vm_ref;
      }
      ++seq;
    }
    h.outcome.pending.clear();
    VCSNAP_RETURN_IF_ERROR(done(h.index, h.outcome));
  }
  held_.clear();
  offsets_.clear();
  spool_size_ = 0;
  if (::ftruncate(spool_fd_, 0) != 0) return Errno("truncate");
  return Status::Ok();
}

}  // namespace vcsnap
