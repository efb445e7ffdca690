// File: report/html.h
//
// A FleetReport as one self-contained HTML page (`vcsnap report --output
// FILE`): headline figures, what needs attention with the command for each,
// the nightly backups of the last days, the last backup of each VM by dedup
// level, a table of VMs and the storage per area. Inline CSS and SVG, no
// script and nothing fetched: it opens offline, in a mail, and prints. Every
// name from the repository is escaped.
//
// Thread safety: pure function.

#ifndef VCSNAP_REPORT_HTML_H_
#define VCSNAP_REPORT_HTML_H_

#include <string>

#include "report/fleet_report.h"

namespace vcsnap {

// At most this many VMs are drawn in the per-VM dedup chart (those with the
// most new data in their last backup); the table lists every VM.
inline constexpr size_t kChartVms = 40;

std::string RenderHtml(const FleetReport& report);

}  // namespace vcsnap

#endif  // VCSNAP_REPORT_HTML_H_
