#include "source/raw_image.h"

#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
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

Status RawImage::ReadSparseInto(uint64_t offset, uint64_t length,
                                uint8_t* const base) {
  if (offset > size_ || length > size_ - offset) {
    return Status::InvalidArgument("image " + path_ + ": read past the end");
  }
  const uint64_t end = offset + length;
  // Only the holes are zeroed: a buffer handed back for reuse keeps its
  // pages, and the data extents are overwritten by the reads anyway.
  auto zero = [&](uint64_t from, uint64_t to) {
    if (to > from) std::memset(base + (from - offset), 0, to - from);
  };
  uint64_t pos = offset;
  while (pos < end) {
    off_t data, hole;
    {
      std::lock_guard lock(seek_mu_);
      data = ::lseek(fd_, static_cast<off_t>(pos), SEEK_DATA);
      if (data < 0) {
        if (errno == ENXIO) {  // only holes to the end
          zero(pos, end);
          return Status::Ok();
        }
        return ReadInto(pos, end - pos, base + (pos - offset));
      }
      if (static_cast<uint64_t>(data) >= end) {
        zero(pos, end);
        return Status::Ok();
      }
      hole = ::lseek(fd_, data, SEEK_HOLE);
      if (hole < 0) hole = static_cast<off_t>(end);
    }
    const uint64_t from = static_cast<uint64_t>(data);
    const uint64_t to = std::min<uint64_t>(static_cast<uint64_t>(hole), end);
    if (from < pos || to <= from) {  // the file changed under us
      return ReadInto(pos, end - pos, base + (pos - offset));
    }
    zero(pos, from);
    VCSNAP_RETURN_IF_ERROR(ReadInto(from, to - from, base + (from - offset)));
    pos = to;
  }
  return Status::Ok();
}

Status RawImage::Read(uint64_t offset, uint64_t length, Bytes* out) const {
  if (offset > size_ || length > size_ - offset) {
    return Status::InvalidArgument("image " + path_ + ": read past the end");
  }
  out->resize(length);
  return ReadInto(offset, length, out->data());
}

Status RawImage::ReadInto(uint64_t offset, uint64_t length,
                          uint8_t* dst) const {
  uint64_t done = 0;
  while (done < length) {
    ssize_t n = ::pread(fd_, dst + done, length - done,
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
