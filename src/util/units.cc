#include "util/units.h"

#include <array>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <utility>

namespace vcsnap {
namespace {

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

Result<uint64_t> UnitMultiplier(std::string_view unit) {
  static const std::array<std::pair<const char*, uint64_t>, 13> kUnits = {{
      {"", 1},
      {"b", 1},
      {"k", 1ull << 10},
      {"kib", 1ull << 10},
      {"m", 1ull << 20},
      {"mib", 1ull << 20},
      {"g", 1ull << 30},
      {"gib", 1ull << 30},
      {"tib", 1ull << 40},
      {"kb", 1000ull},
      {"mb", 1000ull * 1000},
      {"gb", 1000ull * 1000 * 1000},
      {"tb", 1000ull * 1000 * 1000 * 1000},
  }};
  std::string u = Lower(unit);
  for (const auto& [name, mult] : kUnits) {
    if (u == name) return mult;
  }
  return Status::InvalidArgument("unknown size unit '" + std::string(unit) +
                                 "'");
}

}  // namespace

Result<uint64_t> ParseByteSize(std::string_view text) {
  std::string_view s = text;
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  size_t digits = 0;
  while (digits < s.size() &&
         (std::isdigit(static_cast<unsigned char>(s[digits])) ||
          s[digits] == '.')) {
    ++digits;
  }
  if (digits == 0) {
    return Status::InvalidArgument("'" + std::string(text) +
                                   "' is not a size (expected e.g. 4KiB)");
  }
  std::string_view number = s.substr(0, digits);
  std::string_view unit = s.substr(digits);
  while (!unit.empty() && unit.front() == ' ') unit.remove_prefix(1);
  Result<uint64_t> mult = UnitMultiplier(unit);
  if (!mult.ok()) {
    return mult.status().WithContext("size '" + std::string(text) + "'");
  }
  if (number.find('.') == std::string_view::npos) {
    uint64_t v = 0;
    auto [ptr, ec] =
        std::from_chars(number.data(), number.data() + number.size(), v);
    if (ec != std::errc() || ptr != number.data() + number.size() ||
        (*mult != 0 && v > UINT64_MAX / *mult)) {
      return Status::InvalidArgument("size '" + std::string(text) +
                                     "' is out of range");
    }
    return v * *mult;
  }
  double v = 0;
  auto [ptr, ec] =
      std::from_chars(number.data(), number.data() + number.size(), v);
  double bytes = v * static_cast<double>(*mult);
  if (ec != std::errc() || ptr != number.data() + number.size() ||
      !std::isfinite(bytes) || bytes >= 18446744073709551615.0) {
    return Status::InvalidArgument("size '" + std::string(text) +
                                   "' is not a valid size");
  }
  return static_cast<uint64_t>(std::llround(bytes));
}

std::string FormatByteSize(uint64_t bytes) {
  static const char* kNames[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
  if (bytes < 1024) return std::to_string(bytes) + " B";
  double v = static_cast<double>(bytes);
  int unit = 0;
  while (v >= 1024 && unit < 5) {
    v /= 1024;
    ++unit;
  }
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.1f %s", v, kNames[unit]);
  return buf;
}

std::string FormatUnixTime(uint64_t unix_seconds, const char* format) {
  std::time_t t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  char buf[64] = "?";
  if (gmtime_r(&t, &tm) == nullptr ||
      std::strftime(buf, sizeof(buf), format, &tm) == 0) {
    return "?";
  }
  return buf;
}

}  // namespace vcsnap
