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
#include "backup/snapshot_reader.h"
#include "chunk/segment.h"
#include "util/sysinfo.h"

namespace vcsnap {
namespace {

Status Errno(const std::string& what) {
  return Status::IOError(what + ": " + std::strerror(errno));
}

class RestoreJob {
 public:
  RestoreJob(Repository& repo, const RestoreOptions& options)
      : repo_(repo), options_(options) {}
  ~RestoreJob() {
    if (fd_ >= 0) ::close(fd_);
    if (!partial_.empty()) ::unlink(partial_.c_str());
  }

  Result<RestoreResult> Run();

 private:
  Status OpenOutput();
  Status RestoreSegment(uint64_t index, Bytes* buf,
                        std::vector<SegmentRange>* zeros);
  Status WriteRun(const Bytes& buf, uint64_t from, uint64_t to, uint64_t base);

  Repository& repo_;
  const RestoreOptions& options_;
  std::unique_ptr<SnapshotReader> reader_;
  int fd_ = -1;
  std::string partial_;
  std::atomic<uint64_t> written_{0};
};

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
  if (::ftruncate(fd_, static_cast<off_t>(reader_->image_size())) != 0) {
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
Status RestoreJob::RestoreSegment(uint64_t index, Bytes* buf,
                                  std::vector<SegmentRange>* zeros) {
  if (reader_->IsZeroSegment(index)) return Status::Ok();
  VCSNAP_RETURN_IF_ERROR(reader_->ReadSegment(index, buf, zeros));
  const uint64_t base = index * reader_->segment_size();
  uint64_t run_start = 0;
  for (const SegmentRange& z : *zeros) {
    VCSNAP_RETURN_IF_ERROR(WriteRun(*buf, run_start, z.from, base));
    run_start = z.to;
  }
  return WriteRun(*buf, run_start, buf->size(), base);
}

Result<RestoreResult> RestoreJob::Run() {
  const auto start = std::chrono::steady_clock::now();
  SnapshotReaderOptions ro;
  ro.vm = options_.vm;
  ro.snapshot = options_.snapshot;
  ro.verify = options_.verify;
  ro.pds = options_.pds;
  VCSNAP_ASSIGN_OR_RETURN(reader_, SnapshotReader::Open(repo_, ro));
  VCSNAP_RETURN_IF_ERROR(OpenOutput());
  const uint64_t image_size = reader_->image_size();
  const uint32_t segment_size = reader_->segment_size();
  Progress progress("restore " + options_.vm, image_size,
                    options_.progress && StderrIsTerminal());
  const uint64_t segments = reader_->segment_count();
  std::atomic<uint64_t> next{0};
  std::mutex mu;
  Status first_error;
  auto worker = [&] {
    Bytes scratch;
    std::vector<SegmentRange> zeros;
    while (true) {
      uint64_t i = next.fetch_add(1);
      if (i >= segments) return;
      {
        std::lock_guard lock(mu);
        if (!first_error.ok()) return;
      }
      Status s = RestoreSegment(i, &scratch, &zeros);
      if (!s.ok()) {
        std::lock_guard lock(mu);
        if (first_error.ok()) first_error = s;
        return;
      }
      progress.Add(SegmentAt(image_size, segment_size, i).length);
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
  r.snapshot = reader_->id();
  r.image_size = image_size;
  r.bytes_written = written_;
  r.chunks = reader_->chunks_read();
  r.chunks_verified = reader_->chunks_verified();
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
