// File: testing/temp_dir.h
//
// Fresh temporary directories for tests, removed when the test process exits
// normally (a crashed test leaves its directory for inspection), and reading
// back the files tests write there.

#ifndef VCSNAP_TESTING_TEMP_DIR_H_
#define VCSNAP_TESTING_TEMP_DIR_H_

#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace vcsnap::testing {

class TempDirRegistry {
 public:
  static TempDirRegistry& Get() {
    static TempDirRegistry registry;
    return registry;
  }
  std::string Make(std::string_view tag) {
    std::lock_guard lock(mu_);
    auto dir = std::filesystem::temp_directory_path() /
               ("vcsnap-" + std::string(tag) + "-" +
                std::to_string(::getpid()) + "-" + std::to_string(next_++));
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    dirs_.push_back(dir.string());
    return dir.string();
  }
  ~TempDirRegistry() {
    for (const std::string& d : dirs_) {
      std::error_code ec;
      std::filesystem::remove_all(d, ec);
    }
  }

 private:
  std::mutex mu_;
  int next_ = 0;
  std::vector<std::string> dirs_;
};

// A new empty directory, removed at exit.
inline std::string NewTempDir(std::string_view tag) {
  return TempDirRegistry::Get().Make(tag);
}

// The whole file at `path` in one read (empty when it cannot be opened). Not
// istreambuf_iterator: byte by byte, it dominated sanitizer runs.
inline std::vector<uint8_t> ReadTestFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) return {};
  std::vector<uint8_t> bytes(static_cast<size_t>(in.tellg()));
  in.seekg(0);
  in.read(reinterpret_cast<char*>(bytes.data()),
          static_cast<std::streamsize>(bytes.size()));
  return bytes;
}

}  // namespace vcsnap::testing

#endif  // VCSNAP_TESTING_TEMP_DIR_H_
