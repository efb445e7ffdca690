#include "repo/key_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <filesystem>

#include "format/key_slot.h"

namespace vcsnap {

Result<RepoKey> ReadKeyFile(const std::string& path, std::string* warning) {
  const std::string source = "key file " + path;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoToStatus("open", source, errno);
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    int err = errno;
    ::close(fd);
    return ErrnoToStatus("stat", source, err);
  }
  if (!S_ISREG(st.st_mode) || st.st_size > off_t{kMaxKeyFileSize}) {
    ::close(fd);
    return Status::InvalidArgument(source +
                                   " is not a regular file of at most " +
                                   std::to_string(kMaxKeyFileSize) + " bytes");
  }
  if ((st.st_mode & 077) != 0 && warning != nullptr) {
    char mode[8];
    std::snprintf(mode, sizeof(mode), "%03o",
                  static_cast<unsigned>(st.st_mode & 0777));
    *warning = source + " can be read by other users (mode " + mode +
               "); chmod 600 it";
  }
  Bytes contents(static_cast<size_t>(st.st_size) + 1);  // +1: sees growth
  ssize_t n = ::read(fd, contents.data(), contents.size());
  int err = errno;
  ::close(fd);
  if (n < 0) return ErrnoToStatus("read", source, err);
  contents.resize(static_cast<size_t>(n));
  VCSNAP_ASSIGN_OR_RETURN(Bytes material,
                          KeyMaterialFromFile(contents, source));
  return RepoKey{std::move(material), source};
}

Result<bool> CreateKeyFileIfMissing(const std::string& path) {
  const std::string contents = NewKeyFileContents();
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    if (errno == EEXIST) return false;
    return ErrnoToStatus("create", "key file " + path, errno);
  }
  ssize_t n = ::write(fd, contents.data(), contents.size());
  int err = 0;
  if (n != static_cast<ssize_t>(contents.size())) {
    err = n < 0 ? errno : EIO;
  } else if (::fsync(fd) != 0) {
    err = errno;
  }
  ::close(fd);
  // The directory entry too: a repository must never outlive its key file
  // after a crash.
  if (err == 0) {
    std::string dir = std::filesystem::path(path).parent_path().string();
    int dfd = ::open(dir.empty() ? "." : dir.c_str(),
                     O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0 || ::fsync(dfd) != 0) err = errno;
    if (dfd >= 0) ::close(dfd);
  }
  if (err != 0) {
    ::unlink(path.c_str());
    return ErrnoToStatus("write", "key file " + path, err);
  }
  return true;
}

}  // namespace vcsnap
