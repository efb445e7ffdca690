// `vcsnap backup`: one VM (--vm/--image[/--format][/--bitmap|--dirty-bitmap])
// or many from a job file (--jobs FILE, one "VM IMAGE [BITMAP]
// [dirty-bitmap=NAME] [format=raw|qcow2] [tenant=NAME]" per line, '#'
// comments), run --parallel N at a time.

#include <CLI/CLI.hpp>
#include <atomic>
#include <cstdio>
#include <fstream>
#include <mutex>
#include <semaphore>
#include <sstream>
#include <thread>

#include "backup/backup.h"
#include "cli/command.h"
#include "cli/print.h"
#include "format/tenant.h"
#include "pds/pds_memcached.h"
#include "recipe/names.h"
#include "repo/repository.h"
#include "util/buffer_pool.h"
#include "util/units.h"

namespace vcsnap::cli {
namespace {

struct Job {
  std::string vm, image, bitmap, dirty_bitmap, format, tenant;
};

// One job line: "VM IMAGE [BITMAP] [dirty-bitmap=NAME] [format=raw|qcow2]
// [tenant=NAME]".
Status ParseJob(const std::string& line, Job* j) {
  std::istringstream words(line);
  if (!(words >> j->vm >> j->image)) {
    return Status::InvalidArgument("expected 'VM IMAGE [options]'");
  }
  for (std::string w; words >> w;) {
    if (w.starts_with("dirty-bitmap=")) {
      j->dirty_bitmap = w.substr(13);
    } else if (w.starts_with("format=")) {
      j->format = w.substr(7);
    } else if (w.starts_with("tenant=")) {
      j->tenant = w.substr(7);
      VCSNAP_RETURN_IF_ERROR(ValidateTenantName(j->tenant));
    } else if (j->bitmap.empty() && w.find('=') == std::string::npos) {
      j->bitmap = w;
    } else {
      return Status::InvalidArgument("unexpected '" + w + "'");
    }
  }
  return ValidateVmName(j->vm);
}

Result<std::vector<Job>> ReadJobs(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Status::InvalidArgument("job file " + path + ": cannot open");
  std::vector<Job> jobs;
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    ++n;
    std::string trimmed = line.substr(0, line.find('#'));
    if (trimmed.find_first_not_of(" \t\r") == std::string::npos) continue;
    Job j;
    VCSNAP_RETURN_IF_ERROR(
        ParseJob(trimmed, &j)
            .WithContext("job file " + path + " line " + std::to_string(n)));
    jobs.push_back(j);
  }
  if (jobs.empty())
    return Status::InvalidArgument("job file " + path + " lists no jobs");
  return jobs;
}

class BackupCommand final : public Command {
 public:
  CLI::App* Setup(CLI::App& app) override {
    CLI::App* sub = app.add_subcommand("backup", "back up a VM disk image");
    sub->add_option("--vm", vm_, "VM name ([A-Za-z0-9._-], up to 64)");
    sub->add_option("--image", image_,
                    "raw image file, block device, qcow2 file (with --format "
                    "qcow2: read through qemu-nbd) or NBD URI "
                    "(nbd://HOST[:PORT]/EXPORT, "
                    "nbd+unix:///EXPORT?socket=PATH)");
    sub->add_option("--bitmap", bitmap_,
                    "dirty bitmap since the previous backup (SPEC format)");
    sub->add_option("--bitmap-granularity", granularity_,
                    "bytes per bitmap bit (power of two >= 512; default: "
                    "the segment size); finer than a segment (QEMU: 64KiB), "
                    "dirty segments are hashed only where written");
    sub->add_option("--format", format_,
                    "raw or qcow2 (read through qemu-nbd); never guessed: a "
                    "file starting with a qcow2 header needs it");
    sub->add_option("--dirty-bitmap", dirty_bitmap_,
                    "QEMU persistent dirty bitmap of a qcow2 image or NBD "
                    "export, as CBT instead of --bitmap; unusable (missing, "
                    "inconsistent after a crash): every segment is read");
    sub->add_option("--tenant", tenant_,
                    "the VM's tenant (encrypted repositories; `vcsnap tenant "
                    "add`): joins it at its first backup, and must match "
                    "later");
    sub->add_option("--jobs", jobs_file_,
                    "file of 'VM IMAGE [BITMAP] [dirty-bitmap=NAME] "
                    "[format=raw|qcow2] [tenant=NAME]' lines: back up them "
                    "all");
    sub->add_option("--parallel", parallel_,
                    "with --jobs: VMs backed up at the same time")
        ->capture_default_str();
    sub->add_option("--dedup-slots", slots_,
                    "with --jobs: of those, how many read, chunk and dedup "
                    "at once while the others wait or commit (0: one per "
                    "core; raise it when backups wait on a far source or "
                    "repository, such as NBD over a network or RADOS)");
    sub->add_option("--threads", threads_,
                    "chunking threads per VM (0: all cores / dedup slots)");
    sub->add_option("--pds-index", pds_mode_,
                    "PDS index: memory (in-process table), file (low "
                    "memory, sorted-file lookups) or "
                    "memcached://HOST:PORT[,...] (shared; see 'pds load')")
        ->capture_default_str();
    sub->add_flag("--json", json_, "print the result as JSON");
    return sub;
  }

  Status Validate() override {
    if (!jobs_file_.empty()) {
      if (!vm_.empty() || !image_.empty() || !bitmap_.empty() ||
          !dirty_bitmap_.empty() || !format_.empty() || !tenant_.empty()) {
        return Status::InvalidArgument(
            "--jobs replaces --vm/--image/--format/--bitmap/--dirty-bitmap/"
            "--tenant");
      }
      VCSNAP_ASSIGN_OR_RETURN(jobs_, ReadJobs(jobs_file_));
    } else {
      if (vm_.empty() || image_.empty()) {
        return Status::InvalidArgument(
            "backup needs --vm and --image (or --jobs)");
      }
      VCSNAP_RETURN_IF_ERROR(ValidateVmName(vm_));
      if (!tenant_.empty()) {
        VCSNAP_RETURN_IF_ERROR(ValidateTenantName(tenant_));
      }
      jobs_.push_back({vm_, image_, bitmap_, dirty_bitmap_, format_, tenant_});
    }
    for (const Job& j : jobs_) {
      if (!j.format.empty()) {
        VCSNAP_RETURN_IF_ERROR(ParseImageFormat(j.format).status());
      }
      if (!j.bitmap.empty() && !j.dirty_bitmap.empty()) {
        return Status::InvalidArgument("VM " + j.vm +
                                       ": a bitmap file and a QEMU dirty "
                                       "bitmap exclude each other");
      }
    }
    if (!granularity_.empty() && !dirty_bitmap_.empty()) {
      return Status::InvalidArgument(
          "--bitmap-granularity is for bitmap files; a QEMU dirty bitmap "
          "brings its own");
    }
    if (!granularity_.empty()) {
      VCSNAP_ASSIGN_OR_RETURN(gran_, ParseByteSize(granularity_));
      if (gran_ < 512 || !IsPowerOfTwo(gran_)) {
        return Status::InvalidArgument(
            "--bitmap-granularity " + granularity_ +
            " is not a power of two of at least 512");
      }
    }
    if (IsMemcachedLocation(pds_mode_)) {
      VCSNAP_RETURN_IF_ERROR(
          ParseMemcachedLocation(pds_mode_).status().WithContext(
              "--pds-index"));
    } else if (pds_mode_ != "memory" && pds_mode_ != "file") {
      return Status::InvalidArgument(
          "--pds-index must be memory, file or memcached://HOST:PORT[,...]");
    }
    if (parallel_ < 1 || parallel_ > 256) {
      return Status::InvalidArgument("--parallel must be from 1 to 256");
    }
    if (slots_ > 256) {
      return Status::InvalidArgument("--dedup-slots must be from 0 to 256");
    }
    return Status::Ok();
  }

  Status Run(const GlobalOptions& global) override {
    VCSNAP_ASSIGN_OR_RETURN(auto repo, OpenRepository(global));
    // One PDS index for every job of this process. A damaged index costs
    // only the night's cross-VM dedup, never the night's backups.
    Result<std::unique_ptr<PdsIndex>> loaded = LoadPdsIndex(*repo, pds_mode_);
    if (!loaded.ok() && !loaded.status().IsUnreadable()) {
      return loaded.status();
    }
    if (!loaded.ok()) {
      std::fprintf(stderr,
                   "vcsnap: warning: the PDS index is unreadable (%s): backing "
                   "up without cross-VM dedup (level 3); run `vcsnap check`\n",
                   loaded.status().message().c_str());
    }
    std::unique_ptr<PdsIndex> pds = loaded.ok() ? std::move(*loaded) : nullptr;
    const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
    const size_t parallel = std::min<size_t>(parallel_, jobs_.size());
    std::vector<Result<BackupResult>> results(
        jobs_.size(), Result<BackupResult>(Status::IOError("not run")));
    // By default one VM per core reads, chunks and dedups at a time; the
    // others of the --parallel ones wait or commit (docs/design.md).
    const size_t slots =
        std::min<size_t>(parallel, slots_ != 0 ? slots_ : cores);
    std::counting_semaphore<> dedup_slots(static_cast<ptrdiff_t>(slots));
    const unsigned threads =
        threads_ != 0
            ? threads_
            : std::max<unsigned>(1, cores / static_cast<unsigned>(slots));
    // Enough kept for every VM in a slot: each holds at most its pipeline's
    // segments, one in reading and one in dedup.
    BufferPool segment_buffers(slots * (2 * size_t{threads} + 4));
    std::atomic<size_t> next{0};
    auto worker = [&] {
      for (size_t i = next++; i < jobs_.size(); i = next++) {
        BackupOptions o;
        o.vm = jobs_[i].vm;
        o.image_path = jobs_[i].image;
        if (!jobs_[i].bitmap.empty()) o.bitmap_path = jobs_[i].bitmap;
        o.dirty_bitmap = jobs_[i].dirty_bitmap;
        o.tenant = jobs_[i].tenant;
        if (!jobs_[i].format.empty()) {
          o.format = *ParseImageFormat(jobs_[i].format);  // validated
        }
        o.bitmap_granularity = gran_;
        o.threads = threads;
        o.progress = !json_ && jobs_.size() == 1;
        o.pds = pds.get();
        // One VM has no next VM to hand its buffers to: its own pool frees
        // them before its commit, which then reuses that memory.
        if (jobs_.size() > 1) o.segment_buffers = &segment_buffers;
        if (parallel > 1) o.dedup_slots = &dedup_slots;
        results[i] = RunBackup(*repo, o);
      }
    };
    std::vector<std::thread> pool;
    for (size_t t = 0; t < parallel; ++t) pool.emplace_back(worker);
    for (auto& t : pool) t.join();
    return Report(results);
  }

 private:
  Status Report(const std::vector<Result<BackupResult>>& results) {
    nlohmann::json all = nlohmann::json::array();
    std::vector<std::string> errors;
    for (size_t i = 0; i < results.size(); ++i) {
      if (!results[i].ok()) {
        errors.push_back("VM " + jobs_[i].vm + ": " +
                         results[i].status().message());
        if (json_)
          all.push_back(
              {{"vm", jobs_[i].vm}, {"error", results[i].status().message()}});
        continue;
      }
      if (json_) {
        all.push_back(BackupJson(*results[i]));
      } else {
        std::printf("%s", BackupText(*results[i]).c_str());
      }
    }
    if (json_) {
      std::printf("%s\n", (jobs_file_.empty() ? all[0] : all).dump().c_str());
    }
    if (errors.empty()) return Status::Ok();
    if (errors.size() == 1 && results.size() == 1) {
      return results[0].status();
    }
    for (const std::string& e : errors)
      std::fprintf(stderr, "vcsnap: %s\n", e.c_str());
    return Status::IOError(std::to_string(errors.size()) + " of " +
                           std::to_string(results.size()) + " backups failed");
  }

  std::string vm_, image_, bitmap_, dirty_bitmap_, format_, granularity_,
      jobs_file_, tenant_;
  std::string pds_mode_ = "memory";
  uint64_t gran_ = 0;
  size_t parallel_ = 1;
  size_t slots_ = 0;
  unsigned threads_ = 0;
  bool json_ = false;
  std::vector<Job> jobs_;
};

}  // namespace

std::unique_ptr<Command> MakeBackupCommand() {
  return std::make_unique<BackupCommand>();
}

}  // namespace vcsnap::cli
