// File: fleet/source.h
//
// SourceCatalog: the real file content the fleet generator builds its disks
// from, taken from a directory tree of this machine (default /usr) or from a
// debootstrap tree (src/fleet/make-os-bases.sh). The tree is walked in sorted
// order, regular files only (no symlinks, no special files, nothing above
// kMaxSourceFile), so the catalog, and with it the fleet, is a function of the
// seed and the set of files. Digest() names that set (paths and sizes) and is
// recorded in the manifest: two machines with the same digest generate the
// same fleet.
//
// Files are grouped into "packages": runs of at most kPackageFiles files of
// one directory, the unit a VM installs or a fleet-wide update replaces.
// Files whose names say they are already compressed (.gz, .xz, .zst, .bz2,
// .png, .jpg, ...) are listed apart: they are the incompressible user data.
//
// Thread safety: a built catalog is immutable; ReadAt may be called from
// several threads.

#ifndef VCSNAP_FLEET_SOURCE_H_
#define VCSNAP_FLEET_SOURCE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "util/bytes.h"
#include "util/result.h"

namespace vcsnap::fleet {

inline constexpr uint64_t kMaxSourceFile = 32ull << 20;
inline constexpr uint32_t kPackageFiles = 48;

struct SourceFile {
  std::string path;  // relative to the root
  uint64_t size = 0;
  bool compressed = false;
  bool text = false;  // by name: .txt, .md, .html, .py, .conf, copyright...
};

struct SourcePackage {
  uint32_t first = 0;  // index into files()
  uint32_t count = 0;
  uint64_t bytes = 0;
};

class SourceCatalog {
 public:
  // Walks `root`. InvalidArgument when it is not a directory or holds less
  // than `min_bytes` of usable files; IOError when it cannot be read.
  // `max_files` (0 = no limit) stops the walk early, for quick tests.
  static Result<SourceCatalog> Scan(const std::string& root, uint64_t min_bytes,
                                    uint64_t max_files);

  const std::string& root() const { return root_; }
  const std::vector<SourceFile>& files() const { return files_; }
  const std::vector<SourcePackage>& packages() const { return packages_; }
  const std::vector<uint32_t>& compressed_files() const { return compressed_; }
  const std::vector<uint32_t>& text_files() const { return text_; }
  uint64_t total_bytes() const { return total_bytes_; }
  // Hex SHA-256 over "path\0size\n" of every file, in catalog order.
  const std::string& digest() const { return digest_; }

  // Reads up to out.size() bytes of file `index` at `offset`; returns the
  // number read (short at end of file). IOError names the file.
  Result<size_t> ReadAt(uint32_t index, uint64_t offset,
                        std::span<uint8_t> out) const;

 private:
  std::string root_;
  std::vector<SourceFile> files_;
  std::vector<SourcePackage> packages_;
  std::vector<uint32_t> compressed_;
  std::vector<uint32_t> text_;
  uint64_t total_bytes_ = 0;
  std::string digest_;
};

}  // namespace vcsnap::fleet

#endif  // VCSNAP_FLEET_SOURCE_H_
