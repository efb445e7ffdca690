#include "util/sysinfo.h"

#include <unistd.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

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

void ReleaseFreeMemory() {
#if defined(__GLIBC__)
  ::malloc_trim(0);
#endif
}

Result<std::string> FindBesideExecutable(const std::string& file,
                                         const char* env_var) {
  auto readable = [](const std::string& path) {
    return !path.empty() && ::access(path.c_str(), R_OK) == 0;
  };
  std::vector<std::string> tried;
  if (const char* env = std::getenv(env_var)) {
    if (readable(env)) return std::string(env);
    tried.push_back(std::string(env) + " ($" + env_var + ")");
  }
  std::error_code ec;
  const std::filesystem::path exe =
      std::filesystem::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    for (const std::filesystem::path& p :
         {exe.parent_path() / file,
          exe.parent_path() / ".." / "lib" / "vcsnap" / file}) {
      if (readable(p.string())) return p.string();
      tried.push_back(p.string());
    }
  }
  std::string list;
  for (const std::string& t : tried) list += (list.empty() ? "" : ", ") + t;
  return Status::NotFound(file + " was not found (looked at " + list + ")");
}

std::optional<std::string> HugePageTunables(std::string_view thp_enabled,
                                            const char* current) {
  if (current != nullptr) return std::nullopt;
  if (thp_enabled.find("[madvise]") == std::string_view::npos) {
    return std::nullopt;
  }
  return std::string("glibc.malloc.hugetlb=1");
}

}  // namespace vcsnap
