#include "report/svg.h"

#include <algorithm>
#include <cstdio>

namespace vcsnap {
namespace {

std::string Num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.1f", v);
  return buf;
}

std::string Rect(double x, double y, double w, double h, std::string_view color,
                 const std::string& title) {
  return "<rect x=\"" + Num(x) + "\" y=\"" + Num(y) + "\" width=\"" + Num(w) +
         "\" height=\"" + Num(h) + "\" fill=\"" + std::string(color) +
         "\"><title>" + HtmlEscape(title) + "</title></rect>";
}

std::string Text(double x, double y, std::string_view anchor,
                 const std::string& text) {
  return "<text x=\"" + Num(x) + "\" y=\"" + Num(y) + "\" text-anchor=\"" +
         std::string(anchor) + "\">" + HtmlEscape(text) + "</text>";
}

std::string Open(double width, double height) {
  return "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" "
         "viewBox=\"0 0 " +
         Num(width) + " " + Num(height) + "\" width=\"" + Num(width) +
         "\" height=\"" + Num(height) + "\">";
}

}  // namespace

std::string HtmlEscape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string SvgBars(const std::vector<std::string>& labels,
                    const std::vector<double>& values, std::string_view color,
                    const std::function<std::string(double)>& format) {
  const double left = 70, top = 10, plot_h = 140, bottom = 24;
  const size_t n = std::min(labels.size(), values.size());
  const double step =
      n == 0 ? 0 : std::max(8.0, 600.0 / static_cast<double>(n));
  const double width = left + step * static_cast<double>(n) + 10;
  double max = 0;
  for (size_t i = 0; i < n; ++i) max = std::max(max, values[i]);
  std::string s = Open(width, top + plot_h + bottom);
  s += "<line x1=\"" + Num(left) + "\" y1=\"" + Num(top + plot_h) + "\" x2=\"" +
       Num(width - 10) + "\" y2=\"" + Num(top + plot_h) +
       "\" stroke=\"#888\"/>";
  s += Text(left - 6, top + 10, "end", format(max));
  s += Text(left - 6, top + plot_h, "end", format(0));
  const size_t every = std::max<size_t>(1, (n + 11) / 12);
  for (size_t i = 0; i < n; ++i) {
    const double h = max > 0 ? plot_h * values[i] / max : 0;
    const double x = left + step * static_cast<double>(i);
    s += Rect(x + 1, top + plot_h - h, step - 2, h, color,
              labels[i] + ": " + format(values[i]));
    if ((n - 1 - i) % every == 0) {  // the last (newest) is always labelled
      s += Text(x + step / 2, top + plot_h + 16, "middle", labels[i]);
    }
  }
  return s + "</svg>";
}

std::string SvgStacked(const std::vector<StackRow>& rows,
                       const std::vector<std::string>& part_names,
                       const std::vector<std::string>& colors) {
  const double left = 170, row_h = 18, bar_w = 520;
  std::string s =
      Open(left + bar_w + 10, row_h * static_cast<double>(rows.size()) + 4);
  for (size_t r = 0; r < rows.size(); ++r) {
    const double y = 2 + row_h * static_cast<double>(r);
    s += Text(left - 8, y + 12, "end", rows[r].label);
    double sum = 0;
    for (double p : rows[r].parts) sum += p;
    double x = left;
    for (size_t i = 0; i < rows[r].parts.size() && i < colors.size(); ++i) {
      if (sum <= 0 || rows[r].parts[i] <= 0) continue;
      const double frac = rows[r].parts[i] / sum;
      const std::string name = i < part_names.size() ? part_names[i] : "";
      s += Rect(x, y, bar_w * frac, row_h - 4, colors[i],
                rows[r].label + " " + name + ": " + Num(100 * frac) + "%");
      x += bar_w * frac;
    }
  }
  return s + "</svg>";
}

std::string HtmlLegend(const std::vector<std::string>& names,
                       const std::vector<std::string>& colors) {
  std::string s = "<p class=\"legend\">";
  for (size_t i = 0; i < names.size() && i < colors.size(); ++i) {
    s += "<span><i style=\"background:" + HtmlEscape(colors[i]) + "\"></i>" +
         HtmlEscape(names[i]) + "</span> ";
  }
  return s + "</p>";
}

}  // namespace vcsnap
