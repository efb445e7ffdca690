// File: util/sysinfo.h
//
// Process facts for reports: peak resident memory, and whether stderr is a
// terminal (progress bars are drawn only there); where the files installed
// beside the running program are.
//
// Thread safety: pure functions.

#ifndef VCSNAP_UTIL_SYSINFO_H_
#define VCSNAP_UTIL_SYSINFO_H_

#include <cstdint>
#include <string>

#include "util/result.h"

namespace vcsnap {

// VmHWM of /proc/self/status in bytes; 0 if unknown.
uint64_t PeakRssBytes();
// Current VmRSS in bytes; 0 if unknown.
uint64_t CurrentRssBytes();
bool StderrIsTerminal();

// The path of `file` shipped with the program: $`env_var` if set (and
// readable), else beside the executable, else in ../lib/vcsnap from it (a
// build tree and an install). NotFound "FILE was not found (looked at ...)".
Result<std::string> FindBesideExecutable(const std::string& file,
                                         const char* env_var);

}  // namespace vcsnap

#endif  // VCSNAP_UTIL_SYSINFO_H_
