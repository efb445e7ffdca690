// File: util/sysinfo.h
//
// Process facts for reports: peak resident memory (and giving freed memory
// back), and whether stderr is a terminal (progress bars are drawn only there);
// where the files installed beside the running program are; whether malloc
// should be restarted on huge pages.
//
// Thread safety: pure functions.

#ifndef VCSNAP_UTIL_SYSINFO_H_
#define VCSNAP_UTIL_SYSINFO_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "util/result.h"

namespace vcsnap {

// VmHWM of /proc/self/status in bytes; 0 if unknown.
uint64_t PeakRssBytes();
// Current VmRSS in bytes; 0 if unknown.
uint64_t CurrentRssBytes();
bool StderrIsTerminal();
// Gives the pages of freed heap memory back to the system (glibc's
// malloc_trim; a no-op elsewhere). malloc keeps freed blocks of every
// thread's arena for reuse by that arena, so a phase's buffers, once freed,
// would still count in the resident size while the next phase allocates
// elsewhere; a few milliseconds. Thread-safe.
void ReleaseFreeMemory();

// The path of `file` shipped with the program: $`env_var` if set (and
// readable), else beside the executable, else in ../lib/vcsnap from it (a
// build tree and an install). NotFound "FILE was not found (looked at ...)".
Result<std::string> FindBesideExecutable(const std::string& file,
                                         const char* env_var);

// glibc's malloc puts its heaps on transparent huge pages only when the
// program starts with GLIBC_TUNABLES=glibc.malloc.hugetlb=1 (read once, at
// start). The value to restart with, when that would help: the kernel gives
// huge pages to the regions that ask for them (`thp_enabled`, the text of
// /sys/kernel/mm/transparent_hugepage/enabled, selects "[madvise]"; with
// "[always]" they come anyway, with "[never]" not at all), and the
// environment has no GLIBC_TUNABLES (`current`, null when unset: an
// operator's own setting is kept as it is). nullopt: do not restart.
std::optional<std::string> HugePageTunables(std::string_view thp_enabled,
                                            const char* current);

}  // namespace vcsnap

#endif  // VCSNAP_UTIL_SYSINFO_H_
