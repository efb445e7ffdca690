#include "util/sysinfo.h"

#include <unistd.h>

#include <fstream>
#include <string>

namespace vcsnap {
namespace {

uint64_t StatusField(const std::string& key) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(key + ":", 0) == 0) {
      return std::stoull(line.substr(key.size() + 1)) * 1024;  // kB
    }
  }
  return 0;
}

}  // namespace

uint64_t PeakRssBytes() { return StatusField("VmHWM"); }
uint64_t CurrentRssBytes() { return StatusField("VmRSS"); }
bool StderrIsTerminal() { return ::isatty(STDERR_FILENO) == 1; }

}  // namespace vcsnap
