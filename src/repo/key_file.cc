#include "repo/key_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>

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
  int err = errno;
  bool synced = n == static_cast<ssize_t>(contents.size()) && ::fsync(fd) == 0;
  if (!synced && err == 0) err = errno != 0 ? errno : EIO;
  ::close(fd);
  if (!synced) {
    ::unlink(path.c_str());
    return ErrnoToStatus("write", "key file " + path, err);
  }
  return true;
}

}  // namespace vcsnap
