#include "fleet/source.h"

#include <dirent.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <memory>

namespace vcsnap::fleet {
namespace {

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() &&
         s.substr(s.size() - suffix.size()) == suffix;
}

bool IsCompressedName(std::string_view name) {
  for (std::string_view ext : {".gz", ".xz", ".zst", ".bz2", ".lz4", ".png",
                               ".jpg", ".jpeg", ".zip", ".jar", ".whl"}) {
    if (EndsWith(name, ext)) return true;
  }
  return false;
}

bool IsTextName(std::string_view name) {
  for (std::string_view ext :
       {".txt", ".md", ".html", ".py", ".conf", ".pl", ".pm", ".h", ".sh",
        ".xml", ".json", ".css", ".js", ".rst", ".cfg", ".ini"}) {
    if (EndsWith(name, ext)) return true;
  }
  return EndsWith(name, "/copyright") || EndsWith(name, "/changelog");
}

// Sorted recursive walk without following symlinks: readdir's d_type and
// one fstatat per regular file. Directories that cannot be listed are
// skipped (a fleet built as root and as a user may then differ; the digest
// shows it).
void Walk(int dir_fd, const std::string& rel, uint64_t max_files,
          std::vector<SourceFile>* out) {
  DIR* dir = ::fdopendir(dir_fd);
  if (dir == nullptr) {
    ::close(dir_fd);
    return;
  }
  std::vector<std::pair<std::string, unsigned char>> entries;
  while (struct dirent* e = ::readdir(dir)) {
    std::string name = e->d_name;
    if (name == "." || name == "..") continue;
    entries.emplace_back(std::move(name), e->d_type);
  }
  std::sort(entries.begin(), entries.end());
  for (auto& [name, type] : entries) {
    if (max_files != 0 && out->size() >= max_files) break;
    struct stat st;
    if (type == DT_UNKNOWN) {
      if (::fstatat(::dirfd(dir), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0)
        continue;
      type = S_ISDIR(st.st_mode) ? DT_DIR : S_ISREG(st.st_mode) ? DT_REG : 0;
    }
    std::string child = rel.empty() ? name : rel + "/" + name;
    if (type == DT_DIR) {
      int fd = ::openat(::dirfd(dir), name.c_str(),
                        O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (fd >= 0) Walk(fd, child, max_files, out);
      continue;
    }
    if (type != DT_REG) continue;
    if (::fstatat(::dirfd(dir), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0 ||
        !S_ISREG(st.st_mode) || (st.st_mode & S_IROTH) == 0 ||
        st.st_size <= 0 || static_cast<uint64_t>(st.st_size) > kMaxSourceFile) {
      continue;
    }
    SourceFile f;
    f.path = child;
    f.size = static_cast<uint64_t>(st.st_size);
    f.compressed = IsCompressedName(child);
    f.text = !f.compressed && IsTextName("/" + child);
    out->push_back(std::move(f));
  }
  ::closedir(dir);
}

std::string Dirname(const std::string& p) {
  size_t slash = p.rfind('/');
  return slash == std::string::npos ? std::string() : p.substr(0, slash);
}

}  // namespace

Result<SourceCatalog> SourceCatalog::Scan(const std::string& root,
                                          uint64_t min_bytes,
                                          uint64_t max_files) {
  std::error_code ec;
  if (!std::filesystem::is_directory(root, ec)) {
    return Status::InvalidArgument("source root " + root +
                                   " is not a directory");
  }
  SourceCatalog cat;
  cat.root_ = root;
  int fd = ::open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) {
    return Status::IOError("open source root " + root + ": " +
                           std::strerror(errno));
  }
  Walk(fd, "", max_files, &cat.files_);

  std::unique_ptr<EVP_MD_CTX, void (*)(EVP_MD_CTX*)> ctx(EVP_MD_CTX_new(),
                                                         EVP_MD_CTX_free);
  EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr);
  std::string cur_dir;
  for (uint32_t i = 0; i < cat.files_.size(); ++i) {
    const SourceFile& f = cat.files_[i];
    cat.total_bytes_ += f.size;
    std::string line = f.path + '\0' + std::to_string(f.size) + "\n";
    EVP_DigestUpdate(ctx.get(), line.data(), line.size());
    if (f.compressed) cat.compressed_.push_back(i);
    if (f.text) cat.text_.push_back(i);
    std::string dir = Dirname(f.path);
    if (cat.packages_.empty() || dir != cur_dir ||
        cat.packages_.back().count >= kPackageFiles) {
      cat.packages_.push_back(SourcePackage{i, 0, 0});
      cur_dir = dir;
    }
    cat.packages_.back().count++;
    cat.packages_.back().bytes += f.size;
  }
  unsigned char md[32];
  unsigned int len = 0;
  EVP_DigestFinal_ex(ctx.get(), md, &len);
  static const char kHex[] = "0123456789abcdef";
  for (unsigned int i = 0; i < len; ++i) {
    cat.digest_.push_back(kHex[md[i] >> 4]);
    cat.digest_.push_back(kHex[md[i] & 15]);
  }
  if (cat.total_bytes_ < min_bytes || cat.packages_.size() < 8 ||
      cat.compressed_.empty() || cat.text_.empty()) {
    return Status::InvalidArgument(
        "source root " + root +
        " is too small for a fleet: " + std::to_string(cat.total_bytes_) +
        " bytes in " + std::to_string(cat.files_.size()) + " files (" +
        std::to_string(cat.compressed_.size()) + " compressed, " +
        std::to_string(cat.text_.size()) + " text); need " +
        std::to_string(min_bytes) +
        " bytes, 8 packages and some compressed and text files");
  }
  return cat;
}

Result<size_t> SourceCatalog::ReadAt(uint32_t index, uint64_t offset,
                                     std::span<uint8_t> out) const {
  if (index >= files_.size()) {
    return Status::InvalidArgument("source file index out of range");
  }
  std::string path = root_ + "/" + files_[index].path;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return Status::IOError("open source " + path + ": " + std::strerror(errno));
  }
  size_t done = 0;
  while (done < out.size()) {
    ssize_t n = ::pread(fd, out.data() + done, out.size() - done,
                        static_cast<off_t>(offset + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      ::close(fd);
      return Status::IOError("read source " + path + ": " + std::strerror(err));
    }
    if (n == 0) break;
    done += static_cast<size_t>(n);
  }
  ::close(fd);
  return done;
}

}  // namespace vcsnap::fleet
