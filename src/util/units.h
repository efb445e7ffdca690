// File: util/units.h
//
// Parsing and printing of byte sizes as users type them on the command line:
// "4096", "4KiB", "2MiB", "1GiB", "1.5GiB" and the decimal "4KB"/"1GB" forms
// (powers of 1000), case-insensitive, optional space before the unit.
//
// Thread safety: pure functions.

#ifndef VCSNAP_UTIL_UNITS_H_
#define VCSNAP_UTIL_UNITS_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "util/result.h"

namespace vcsnap {

// InvalidArgument on anything that is not a non-negative size that fits in
// 64 bits (trailing garbage, negative numbers, overflow, unknown unit).
Result<uint64_t> ParseByteSize(std::string_view text);

// "4.0 KiB", "2.0 MiB", "17 B".
std::string FormatByteSize(uint64_t bytes);

// Unix seconds as UTC through strftime(`format`), e.g. "%Y-%m-%d %H:%M UTC";
// "?" when the time cannot be represented.
std::string FormatUnixTime(uint64_t unix_seconds, const char* format);

inline bool IsPowerOfTwo(uint64_t v) { return v != 0 && (v & (v - 1)) == 0; }

}  // namespace vcsnap

#endif  // VCSNAP_UTIL_UNITS_H_
