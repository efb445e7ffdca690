// File: report/svg.h
//
// The charts of the HTML report as inline SVG: no script, no external file,
// so the page opens anywhere (a mail attachment, a file share) and prints.
// Each bar carries a <title> with its exact value (a browser shows it on
// hover).
//
// Thread safety: pure functions.

#ifndef VCSNAP_REPORT_SVG_H_
#define VCSNAP_REPORT_SVG_H_

#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace vcsnap {

// `text` with & < > " ' escaped, for HTML text and attribute values.
std::string HtmlEscape(std::string_view text);

// One vertical bar per label, scaled to the largest value; `format` prints
// values (the axis maximum and each bar's title). Labels are thinned so that
// at most ~12 are printed under the axis, always the last one.
std::string SvgBars(const std::vector<std::string>& labels,
                    const std::vector<double>& values, std::string_view color,
                    const std::function<std::string(double)>& format);

// One horizontal bar per row, its parts stacked and scaled to the row's sum
// (100 %); `part_names` and `colors` have one entry per part.
struct StackRow {
  std::string label;
  std::vector<double> parts;
};
std::string SvgStacked(const std::vector<StackRow>& rows,
                       const std::vector<std::string>& part_names,
                       const std::vector<std::string>& colors);

// A legend of coloured squares, as HTML.
std::string HtmlLegend(const std::vector<std::string>& names,
                       const std::vector<std::string>& colors);

}  // namespace vcsnap

#endif  // VCSNAP_REPORT_SVG_H_
