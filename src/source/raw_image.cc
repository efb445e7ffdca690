#include "source/raw_image.h"

#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace vcsnap {

Result<std::unique_ptr<RawImage>> RawImage::Open(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return Status::InvalidArgument("image " + path + ": " +
                                   std::strerror(errno));
  }
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    int err = errno;
    ::close(fd);
    return Status::IOError("image " + path + ": " + std::strerror(err));
  }
  uint64_t size = 0;
  if (S_ISREG(st.st_mode)) {
    size = static_cast<uint64_t>(st.st_size);
  } else if (S_ISBLK(st.st_mode)) {
    if (::ioctl(fd, BLKGETSIZE64, &size) != 0) {
      int err = errno;
      ::close(fd);
      return Status::IOError("image " + path +
                             ": size of block device: " + std::strerror(err));
    }
  } else {
    ::close(fd);
    return Status::InvalidArgument("image " + path +
                                   ": not a regular file or block device");
  }
  ::posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
  return std::unique_ptr<RawImage>(new RawImage(fd, size, path));
}

RawImage::~RawImage() { ::close(fd_); }

bool RawImage::IsHole(uint64_t offset, uint64_t length) {
  if (length == 0) return true;
  std::lock_guard lock(seek_mu_);
  off_t data = ::lseek(fd_, static_cast<off_t>(offset), SEEK_DATA);
  if (data < 0) return errno == ENXIO;  // no data at or after offset
  return static_cast<uint64_t>(data) >= offset + length;
}

Status RawImage::Read(uint64_t offset, uint64_t length, Bytes* out) const {
  if (offset > size_ || length > size_ - offset) {
    return Status::InvalidArgument("image " + path_ + ": read past the end");
  }
  out->resize(length);
  uint64_t done = 0;
  while (done < length) {
    ssize_t n = ::pread(fd_, out->data() + done, length - done,
                        static_cast<off_t>(offset + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::IOError("image " + path_ + " at offset " +
                             std::to_string(offset + done) + ": " +
                             std::strerror(errno));
    }
    if (n == 0) {
      return Status::IOError("image " + path_ + " at offset " +
                             std::to_string(offset + done) +
                             ": unexpected end of image (did it shrink?)");
    }
    done += static_cast<uint64_t>(n);
  }
  return Status::Ok();
}

}  // namespace vcsnap
