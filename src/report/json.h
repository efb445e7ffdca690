// File: report/json.h
//
// A FleetReport as one JSON object (`vcsnap report --json`), for monitoring:
// repository figures, "findings" (severity "problem" or "warning", vm, what,
// action), "days" and one object per VM. Byte counts are integers, times
// Unix seconds.
//
// Thread safety: pure function.

#ifndef VCSNAP_REPORT_JSON_H_
#define VCSNAP_REPORT_JSON_H_

#include <nlohmann/json.hpp>

#include "report/fleet_report.h"

namespace vcsnap {

nlohmann::json ReportJson(const FleetReport& report);

}  // namespace vcsnap

#endif  // VCSNAP_REPORT_JSON_H_
