#include "backup/restore.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <mutex>
#include <thread>

#include "backup/progress.h"
#include "chunk/fingerprint.h"
#include "chunk/segment.h"
#include "recipe/catalog.h"
#include "recipe/names.h"
#include "recipe/recipe_pack.h"
#include "recipe/snapshot_recipe.h"
#include "store/vm_store.h"
#include "util/sysinfo.h"

namespace vcsnap {
namespace {

Status Errno(const std::string& what) {
  return Status::IOError(what + ": " + std::strerror(errno));
}

class RestoreJob {
 public:
  RestoreJob(Repository& repo, const RestoreOptions& options)
      : repo_(repo), backend_(repo.backend()), options_(options) {}
  ~RestoreJob() {
    if (fd_ >= 0) ::close(fd_);
    if (!partial_.empty()) ::unlink(partial_.c_str());
  }

  Result<RestoreResult> Run();

 private:
  Status Load();
  Status OpenOutput();
  Status RestoreSegment(uint64_t index, Bytes* buf);
  Status WriteRun(const Bytes& buf, uint64_t from, uint64_t to, uint64_t base);
  Status Where(uint64_t index, const Status& s) const {
    return s.WithContext("VM " + options_.vm + " snapshot " +
                         std::to_string(recipe_.id) + " segment " +
                         std::to_string(index) + " (image offset " +
                         std::to_string(index * recipe_.segment_size) + ")");
  }

  Repository& repo_;
  Backend& backend_;
  const RestoreOptions& options_;
  SnapshotRecipe recipe_;
  std::unique_ptr<VmStore> store_;
  std::unique_ptr<RecipeReader> recipes_;
  int fd_ = -1;
  std::string partial_;
  std::atomic<uint64_t> written_{0}, chunks_{0}, verified_{0};
};

Status RestoreJob::Load() {
  VCSNAP_RETURN_IF_ERROR(ValidateVmName(options_.vm));
  VCSNAP_ASSIGN_OR_RETURN(Catalog catalog, LoadCatalog(backend_, options_.vm));
  if (catalog.entries.empty()) {
    return Status::NotFound("VM " + options_.vm + " has no snapshots");
  }
  VCSNAP_ASSIGN_OR_RETURN(
      uint32_t id, ResolveSnapshotId(catalog, options_.vm, options_.snapshot));
  const std::string name = SnapshotRecipeName(options_.vm, id);
  Result<Bytes> raw = backend_.Get(name);
  if (!raw.ok()) return raw.status().WithContext("VM " + options_.vm);
  VCSNAP_ASSIGN_OR_RETURN(recipe_, DecodeSnapshotRecipe(*raw, name));
  if (recipe_.id != id) {
    return Status::Corruption(name + " holds snapshot " +
                              std::to_string(recipe_.id));
  }
  VCSNAP_ASSIGN_OR_RETURN(
      store_, VmStore::Open(&backend_, options_.vm, repo_.config()));
  recipes_ = std::make_unique<RecipeReader>(&backend_, options_.vm,
                                            recipe_.segment_size);
  return Status::Ok();
}

Status RestoreJob::OpenOutput() {
  const std::string& out = options_.output;
  struct stat st;
  if (::stat(out.c_str(), &st) == 0) {
    if (!options_.force) {
      return Status::AlreadyExists("output " + out +
                                   " exists; use --force to replace it");
    }
    if (!S_ISREG(st.st_mode)) {
      return Status::InvalidArgument("output " + out +
                                     " is not a regular file");
    }
  }
  partial_ = out + ".vcsnap-partial";
  fd_ =
      ::open(partial_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd_ < 0) {
    std::string p = partial_;
    partial_.clear();
    return Errno("output " + p);
  }
  if (::ftruncate(fd_, static_cast<off_t>(recipe_.image_size)) != 0) {
    return Errno("output " + partial_);
  }
  return Status::Ok();
}

Status RestoreJob::WriteRun(const Bytes& buf, uint64_t from, uint64_t to,
                            uint64_t base) {
  size_t done = from;
  while (done < to) {
    ssize_t n = ::pwrite(fd_, buf.data() + done, to - done,
                         static_cast<off_t>(base + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Errno("write " + options_.output);
    done += static_cast<size_t>(n);
  }
  written_ += to - from;
  return Status::Ok();
}

// Assembles the segment in `buf` and writes its non-zero runs: one pwrite
// per run instead of one per chunk; zero chunks stay holes.
Status RestoreJob::RestoreSegment(uint64_t index, Bytes* buf) {
  const SegmentSlot& slot = recipe_.segments[index];
  if (slot.zero) return Status::Ok();
  const SegmentExtent extent =
      SegmentAt(recipe_.image_size, recipe_.segment_size, index);
  VCSNAP_ASSIGN_OR_RETURN(std::vector<RecipeEntry> entries,
                          recipes_->Read(slot.ref));
  buf->resize(extent.length);
  uint64_t pos = 0;
  uint64_t run_start = 0;  // start of the current run of non-zero chunks
  for (const RecipeEntry& e : entries) {
    if (pos + e.length > extent.length) {
      pos += e.length;
      break;  // reported below
    }
    const uint64_t at = extent.offset + pos;
    if (e.kind == ChunkKind::kZero) {
      VCSNAP_RETURN_IF_ERROR(WriteRun(*buf, run_start, pos, extent.offset));
      pos += e.length;
      run_start = pos;
      continue;
    }
    Result<Bytes> data = Status::NotSupported("unreachable");
    if (e.kind == ChunkKind::kVm) {
      VCSNAP_ASSIGN_OR_RETURN(ChunkRef ref, ChunkRef::FromRaw(e.vm_ref));
      data = store_->Get(ref);
    } else if (options_.pds) {
      data = options_.pds(PdsRef{e.pds_generation, e.pds_offset, e.pds_size});
    } else {
      data = Status::NotSupported(
          "the snapshot uses PDS chunks and no PDS store is available");
    }
    if (!data.ok()) return data.status();
    if (data->size() != e.length) {
      return Status::Corruption("chunk at image offset " + std::to_string(at) +
                                " is " + std::to_string(data->size()) +
                                " bytes, the recipe says " +
                                std::to_string(e.length));
    }
    if (options_.verify) {
      if (Sha256(*data) != e.fp) {
        return Status::Corruption("chunk at image offset " +
                                  std::to_string(at) +
                                  " does not match its fingerprint");
      }
      verified_++;
    }
    std::memcpy(buf->data() + pos, data->data(), data->size());
    pos += e.length;
    chunks_++;
  }
  if (pos != extent.length) {
    return Status::Corruption("segment recipe covers " + std::to_string(pos) +
                              " of the segment's " +
                              std::to_string(extent.length) + " bytes");
  }
  return WriteRun(*buf, run_start, pos, extent.offset);
}

Result<RestoreResult> RestoreJob::Run() {
  const auto start = std::chrono::steady_clock::now();
  VCSNAP_RETURN_IF_ERROR(Load());
  VCSNAP_RETURN_IF_ERROR(OpenOutput());
  Progress progress("restore " + options_.vm, recipe_.image_size,
                    options_.progress && StderrIsTerminal());
  const uint64_t segments = recipe_.segments.size();
  std::atomic<uint64_t> next{0};
  std::mutex mu;
  Status first_error;
  auto worker = [&] {
    Bytes scratch;
    while (true) {
      uint64_t i = next.fetch_add(1);
      if (i >= segments) return;
      {
        std::lock_guard lock(mu);
        if (!first_error.ok()) return;
      }
      Status s = RestoreSegment(i, &scratch);
      if (!s.ok()) {
        std::lock_guard lock(mu);
        if (first_error.ok()) first_error = Where(i, s);
        return;
      }
      progress.Add(
          SegmentAt(recipe_.image_size, recipe_.segment_size, i).length);
    }
  };
  unsigned threads = options_.threads != 0
                         ? options_.threads
                         : std::max(1u, std::thread::hardware_concurrency());
  std::vector<std::thread> pool;
  for (unsigned t = 0; t < threads; ++t) pool.emplace_back(worker);
  for (auto& t : pool) t.join();
  progress.Finish();
  VCSNAP_RETURN_IF_ERROR(first_error);
  if (::fsync(fd_) != 0) return Errno("sync " + partial_);
  ::close(fd_);
  fd_ = -1;
  if (::rename(partial_.c_str(), options_.output.c_str()) != 0) {
    return Errno("rename to " + options_.output);
  }
  partial_.clear();
  RestoreResult r;
  r.vm = options_.vm;
  r.snapshot = recipe_.id;
  r.image_size = recipe_.image_size;
  r.bytes_written = written_;
  r.chunks = chunks_;
  r.chunks_verified = verified_;
  r.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();
  r.peak_rss_bytes = PeakRssBytes();
  return r;
}

}  // namespace

Result<RestoreResult> RunRestore(Repository& repo,
                                 const RestoreOptions& options) {
  RestoreJob job(repo, options);
  return job.Run();
}

}  // namespace vcsnap
