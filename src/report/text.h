// File: report/text.h
//
// A FleetReport as plain text for a terminal or a mail (`vcsnap report`
// without --output or --json), and the small formatters the renderers share.
//
// Thread safety: pure functions.

#ifndef VCSNAP_REPORT_TEXT_H_
#define VCSNAP_REPORT_TEXT_H_

#include <cstdint>
#include <string>

#include "report/fleet_report.h"

namespace vcsnap {

// "45 s", "12 min", "31 h", "9 days".
std::string FormatAge(uint64_t seconds);
// FormatAge(now - then) + " ago" ("0 s ago" for a time after now).
std::string FormatAgo(uint64_t now, uint64_t then);
// A duration: "0.04 s", "4.2 s", "45 s", "12 min", "3.1 h".
std::string FormatDuration(double seconds);
// 0.1234 -> "12.3%".
std::string FormatPercent(double fraction);
// "2026-12-07 06:00 UTC".
std::string FormatUtc(uint64_t unix_seconds);
// logical / stored as "14.2x" ("-" when nothing is stored).
std::string FormatRatio(uint64_t logical, uint64_t stored);

// "repository <id> at <location>", or "tenant <T> in repository <id>".
std::string ReportScope(const FleetReport& report);

// "last check --read-data 2026-12-07 06:00 UTC on h1: 12 VMs, 120
// snapshots, 1.2 GiB read in 3.4 s, 0 problems".
std::string CheckLine(const CheckRecord& record);

// Totals, then the findings (problems first), then one line per VM.
std::string RenderText(const FleetReport& report);

}  // namespace vcsnap

#endif  // VCSNAP_REPORT_TEXT_H_
