// File: util/sysinfo.h
//
// Process facts for reports: peak resident memory, and whether stderr is a
// terminal (progress bars are drawn only there).
//
// Thread safety: pure functions.

#ifndef VCSNAP_UTIL_SYSINFO_H_
#define VCSNAP_UTIL_SYSINFO_H_

#include <cstdint>

namespace vcsnap {

// VmHWM of /proc/self/status in bytes; 0 if unknown.
uint64_t PeakRssBytes();
// Current VmRSS in bytes; 0 if unknown.
uint64_t CurrentRssBytes();
bool StderrIsTerminal();

}  // namespace vcsnap

#endif  // VCSNAP_UTIL_SYSINFO_H_
