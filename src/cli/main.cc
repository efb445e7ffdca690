// vcsnap: the command-line entry point. Parses flags with CLI11 (whose
// exceptions stay inside this file), runs one subcommand, and maps the outcome
// to the exit codes of SPEC §2: 0 success, 2 bad usage, 1 any other failure,
// with a one-line "vcsnap: error: ..." on stderr.

#include <malloc.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <thread>

#include "backend/rados_location.h"
#include "cli/command.h"
#include "source/image_source.h"
#include "util/cli_exit.h"
#include "util/status.h"
#include "util/sysinfo.h"

namespace {

using vcsnap::kExitFailure;
using vcsnap::kExitUsage;

int Fail(int code, const std::string& message) {
  return vcsnap::ExitWith("vcsnap", code, message);
}

// glibc hands blocks of more than 128 KiB to mmap and back to the kernel
// when freed, and trims the heap above 128 KiB of free space: every 2 MiB
// segment buffer, chunk group and recipe table of a backup that follows
// another (a `backup --jobs`, a compressor's next group) was then
// page-faulted afresh (~10 us a page in a paravirtualised guest). glibc also
// gives each new thread a new arena, up to 8 per core, and a backup starts
// several threads: the memory one VM freed sat in arenas the next VM's
// threads did not use. So: blocks under 32 MiB come from the heap, which
// keeps up to 256 MiB of freed memory, in one arena per core. Setting any of
// these turns off glibc's own raising of the mmap threshold to the largest
// block freed so far; 32 MiB is its ceiling, and anything lower had gc read
// each recipe pack (up to 8 MiB then) into fresh pages again (0.21 s against
// 0.12 s for the P3 repository's gc; docs/benchmarks/macro.md).
void KeepFreedMemory() {
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  mallopt(M_TRIM_THRESHOLD, 256 << 20);
  mallopt(M_ARENA_MAX,
          static_cast<int>(std::max(1u, std::thread::hardware_concurrency())));
}

// Set in the environment of the restart below, and removed by it at once:
// the children a command starts (qemu-nbd, nbdkit) get neither variable.
constexpr char kRestarted[] = "VCSNAP_RESTARTED_ON_HUGE_PAGES";

// The commands that read, hash, compress or write gigabytes restart once with
// malloc's heaps on transparent huge pages (HugePageTunables): a 2 MiB
// region then costs one page fault instead of 512, and a fault costs ~10 us
// in a paravirtualised guest. Measured on this project's host: a day of 10
// VMs 0.48-0.52 -> 0.40-0.44 s (faults 16 -> 8 k), a 4 GiB full backup
// 4.2-4.9 -> 3.9-4.2 s, a restore 1.85-2.8 -> 1.5-1.8 s, for +1-3 MB of
// RSS in a single incremental (docs/benchmarks/macro.md). The restart costs
// one more program start (~15 ms), so quick commands do not. Off with
// VCSNAP_HUGE_PAGES=0; the sanitizer builds bring their own allocator.
void RestartOnHugePages(const std::string& command, char** argv) {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  (void)command;
  (void)argv;
#else
  static const std::set<std::string> kHeavy = {"backup", "restore", "check",
                                               "gc", "compact"};
  if (kHeavy.count(command) == 0) return;
  if (const char* off = std::getenv("VCSNAP_HUGE_PAGES");
      off != nullptr && std::string_view(off) == "0") {
    return;
  }
  std::ifstream in("/sys/kernel/mm/transparent_hugepage/enabled");
  std::string mode;
  std::getline(in, mode);
  std::optional<std::string> tunables =
      vcsnap::HugePageTunables(mode, std::getenv("GLIBC_TUNABLES"));
  if (!tunables.has_value()) return;
  ::setenv("GLIBC_TUNABLES", tunables->c_str(), 1);
  ::setenv(kRestarted, "1", 1);
  ::execv("/proc/self/exe", argv);
  ::unsetenv("GLIBC_TUNABLES");  // no restart: go on as we are
  ::unsetenv(kRestarted);
#endif
}

}  // namespace

int main(int argc, char** argv) {
  using vcsnap::cli::Command;
  const bool restarted = std::getenv(kRestarted) != nullptr;
  if (restarted) {
    ::unsetenv("GLIBC_TUNABLES");  // read by now; not for our children
    ::unsetenv(kRestarted);
  }
  KeepFreedMemory();
  vcsnap::UseRadosModule(
      vcsnap::FindBesideExecutable("vcsnap-rados.so", "VCSNAP_RADOS_MODULE"));
  vcsnap::UseNbdModule(
      vcsnap::FindBesideExecutable("vcsnap-nbd.so", "VCSNAP_NBD_MODULE"));
  CLI::App app{"vcsnap: VM-centric deduplicating backup of virtual disks"};
  app.set_version_flag("--version", std::string("vcsnap ") + VCSNAP_VERSION);
  app.require_subcommand(1);
  app.fallthrough();  // global flags are accepted after the subcommand too
  vcsnap::cli::GlobalOptions global;
  app.add_option("-r,--repo", global.repo,
                 "repository location: a local directory, or "
                 "rados://POOL[/NAMESPACE][?pds_pool=P&conf=PATH&...]")
      ->envname("VCSNAP_REPO")
      ->check(
          [](const std::string& location) -> std::string {
            // A malformed rados:// location is bad usage (exit 2).
            if (!vcsnap::IsRadosLocation(location)) return "";
            vcsnap::Result<vcsnap::RadosLocation> l =
                vcsnap::ParseRadosLocation(location);
            return l.ok() ? "" : l.status().message();
          },
          "repository location");
  app.add_option("--key-file", global.key_file,
                 "key file of an encrypted repository (init writes a new "
                 "one when the file does not exist)")
      ->envname("VCSNAP_KEY_FILE");

  std::vector<std::unique_ptr<Command>> commands;
  commands.push_back(vcsnap::cli::MakeInitCommand());
  commands.push_back(vcsnap::cli::MakeBackupCommand());
  commands.push_back(vcsnap::cli::MakeSnapshotsCommand());
  commands.push_back(vcsnap::cli::MakeRestoreCommand());
  commands.push_back(vcsnap::cli::MakeServeCommand());
  commands.push_back(vcsnap::cli::MakeUnlockCommand());
  commands.push_back(vcsnap::cli::MakeForgetCommand());
  commands.push_back(vcsnap::cli::MakeProtectCommand());
  commands.push_back(vcsnap::cli::MakeGcCommand());
  commands.push_back(vcsnap::cli::MakeCompactCommand());
  commands.push_back(vcsnap::cli::MakePdsCommand());
  commands.push_back(vcsnap::cli::MakeCheckCommand());
  commands.push_back(vcsnap::cli::MakeRecoverCommand());
  commands.push_back(vcsnap::cli::MakeIsolationCommand());
  commands.push_back(vcsnap::cli::MakeStatsCommand());
  commands.push_back(vcsnap::cli::MakeReportCommand());
  commands.push_back(vcsnap::cli::MakeKeyCommand());
  commands.push_back(vcsnap::cli::MakeTenantCommand());
  std::vector<std::pair<CLI::App*, Command*>> subs;
  for (auto& c : commands) subs.emplace_back(c->Setup(app), c.get());

  if (std::optional<int> done =
          vcsnap::ParseCommandLine(app, argc, argv, "vcsnap")) {
    return *done;
  }

  for (auto& [sub, command] : subs) {
    if (!sub->parsed()) continue;
    vcsnap::Status valid = command->Validate();
    if (!valid.ok()) return Fail(kExitUsage, valid.message());
    if (!restarted) RestartOnHugePages(sub->get_name(), argv);
    vcsnap::Status run = command->Run(global);
    if (!run.ok()) return Fail(kExitFailure, run.message());
    return 0;
  }
  return Fail(kExitUsage, "no command given (see 'vcsnap --help')");
}
