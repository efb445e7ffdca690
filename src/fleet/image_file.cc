#include "fleet/image_file.h"

#include <fcntl.h>
#include <linux/falloc.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

namespace vcsnap::fleet {
namespace {

constexpr uint64_t kBlock = 4096;

Status Errno(const std::string& what, const std::string& path) {
  return Status::IOError(what + " " + path + ": " + std::strerror(errno));
}

bool AllZero(const uint8_t* p, size_t n) {
  // Compare against the first byte, then check it: fast memcmp path.
  return n == 0 || (p[0] == 0 && std::memcmp(p, p + 1, n - 1) == 0);
}

}  // namespace

void DirtyBitmap::Resize(uint64_t size) {
  granules_ = (size + granularity_ - 1) / granularity_;
  bits_.resize((granules_ + 7) / 8, 0);
  // Clear padding bits past the end (after a shrink they could be stale).
  if (granules_ % 8 != 0) {
    bits_.back() &= static_cast<uint8_t>((1u << (granules_ % 8)) - 1);
  }
}

void DirtyBitmap::Mark(uint64_t offset, uint64_t length) {
  if (length == 0) return;
  uint64_t first = offset / granularity_;
  uint64_t last = (offset + length - 1) / granularity_;
  last = std::min(last, granules_ - 1);
  for (uint64_t g = first; g <= last; ++g) {
    bits_[g / 8] |= static_cast<uint8_t>(1u << (g % 8));
  }
}

void DirtyBitmap::MarkAll() {
  if (granules_ == 0) return;
  Mark(0, granules_ * granularity_);
}

std::vector<uint64_t> DirtyBitmap::DirtySegments(uint64_t segment_size) const {
  std::vector<uint64_t> out;
  const uint64_t per = segment_size / granularity_;
  for (uint64_t g = 0; g < granules_; ++g) {
    if (Test(g) && (out.empty() || out.back() != g / per)) {
      out.push_back(g / per);
    }
  }
  return out;
}

uint64_t DirtyBitmap::CountDirtySegments(uint64_t segment_size) const {
  const uint64_t per = segment_size / granularity_;
  uint64_t count = 0;
  for (uint64_t g = 0; g < granules_;) {
    if (Test(g)) {
      ++count;
      g = (g / per + 1) * per;  // the next segment
    } else {
      ++g;
    }
  }
  return count;
}

bool DirtyBitmap::TestRange(uint64_t offset, uint64_t length) const {
  if (length == 0 || granules_ == 0) return false;
  const uint64_t first = offset / granularity_;
  const uint64_t last =
      std::min((offset + length - 1) / granularity_, granules_ - 1);
  for (uint64_t g = first; g <= last; ++g) {
    if (Test(g)) return true;
  }
  return false;
}

ImageFile::ImageFile(ImageFile&& other) noexcept
    : fd_(other.fd_),
      path_(std::move(other.path_)),
      size_(other.size_),
      written_(other.written_),
      bitmap_(std::move(other.bitmap_)) {
  other.fd_ = -1;
}

ImageFile::~ImageFile() {
  if (fd_ >= 0) ::close(fd_);
}

Result<ImageFile> ImageFile::Create(const std::string& path, uint64_t size,
                                    uint64_t granularity) {
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return Errno("create", path);
  if (::ftruncate(fd, static_cast<off_t>(size)) != 0) {
    Status s = Errno("truncate", path);
    ::close(fd);
    return s;
  }
  return ImageFile(fd, path, size, granularity);
}

Result<ImageFile> ImageFile::CopyFrom(const std::string& from,
                                      const std::string& path,
                                      uint64_t granularity) {
  int in = ::open(from.c_str(), O_RDONLY | O_CLOEXEC);
  if (in < 0) return Errno("open", from);
  struct stat st;
  if (::fstat(in, &st) != 0) {
    Status s = Errno("stat", from);
    ::close(in);
    return s;
  }
  const uint64_t size = static_cast<uint64_t>(st.st_size);
  auto made = Create(path, size, granularity);
  if (!made.ok()) {
    ::close(in);
    return made.status();
  }
  ImageFile out = std::move(*made);
  off_t pos = 0;
  Bytes buf;
  while (static_cast<uint64_t>(pos) < size) {
    off_t data = ::lseek(in, pos, SEEK_DATA);
    if (data < 0) break;  // ENXIO: only a hole remains
    off_t hole = ::lseek(in, data, SEEK_HOLE);
    if (hole < 0) hole = static_cast<off_t>(size);
    off_t src = data, dst = data;
    size_t left = static_cast<size_t>(hole - data);
    while (left > 0) {
      ssize_t n = ::copy_file_range(in, &src, out.fd_, &dst, left, 0);
      if (n < 0 && (errno == EXDEV || errno == ENOSYS || errno == EINVAL)) {
        // Fallback: plain read/write.
        buf.resize(std::min<size_t>(left, 1 << 20));
        ssize_t r = ::pread(in, buf.data(), buf.size(), src);
        if (r <= 0) break;
        if (::pwrite(out.fd_, buf.data(), static_cast<size_t>(r), dst) != r) {
          Status s = Errno("write", path);
          ::close(in);
          return s;
        }
        src += r;
        dst += r;
        left -= static_cast<size_t>(r);
        continue;
      }
      if (n <= 0) {
        Status s = Errno("copy_file_range to", path);
        ::close(in);
        return s;
      }
      left -= static_cast<size_t>(n);
    }
    pos = hole;
  }
  ::close(in);
  return out;
}

Status ImageFile::PWrite(uint64_t offset, ByteView data) {
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::pwrite(fd_, data.data() + done, data.size() - done,
                         static_cast<off_t>(offset + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return Errno("write", path_);
    }
    done += static_cast<size_t>(n);
  }
  return Status::Ok();
}

Status ImageFile::Punch(uint64_t offset, uint64_t length) {
  if (length == 0) return Status::Ok();
  if (::fallocate(fd_, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
                  static_cast<off_t>(offset),
                  static_cast<off_t>(length)) == 0) {
    return Status::Ok();
  }
  // No hole punching here (some file systems): write zeros.
  Bytes zeros(std::min<uint64_t>(length, 1 << 20), 0);
  while (length > 0) {
    uint64_t n = std::min<uint64_t>(length, zeros.size());
    VCSNAP_RETURN_IF_ERROR(PWrite(offset, ByteView(zeros.data(), n)));
    offset += n;
    length -= n;
  }
  return Status::Ok();
}

Status ImageFile::Write(uint64_t offset, ByteView data) {
  if (offset > size_ || data.size() > size_ - offset) {
    return Status::InvalidArgument("write past the end of " + path_);
  }
  bitmap_.Mark(offset, data.size());
  written_ += data.size();
  // Runs of aligned all-zero blocks become holes; the rest is written.
  uint64_t pos = offset;
  const uint64_t end = offset + data.size();
  uint64_t run_start = pos;  // start of pending data run
  while (pos < end) {
    uint64_t block_end = std::min(end, (pos / kBlock + 1) * kBlock);
    bool aligned = pos % kBlock == 0 && block_end - pos == kBlock;
    const uint8_t* p = data.data() + (pos - offset);
    if (aligned && AllZero(p, kBlock)) {
      uint64_t zstart = pos;
      while (pos < end && end - pos >= kBlock &&
             AllZero(data.data() + (pos - offset), kBlock)) {
        pos += kBlock;
      }
      VCSNAP_RETURN_IF_ERROR(PWrite(
          run_start, data.subspan(run_start - offset, zstart - run_start)));
      VCSNAP_RETURN_IF_ERROR(Punch(zstart, pos - zstart));
      run_start = pos;
      continue;
    }
    pos = block_end;
  }
  return PWrite(run_start, data.subspan(run_start - offset, end - run_start));
}

Status ImageFile::Zero(uint64_t offset, uint64_t length) {
  if (offset > size_ || length > size_ - offset) {
    return Status::InvalidArgument("zero past the end of " + path_);
  }
  bitmap_.Mark(offset, length);
  written_ += length;
  uint64_t a = (offset + kBlock - 1) / kBlock * kBlock;
  uint64_t b = (offset + length) / kBlock * kBlock;
  if (a >= b) {
    Bytes z(length, 0);
    return PWrite(offset, z);
  }
  Bytes z(kBlock, 0);
  VCSNAP_RETURN_IF_ERROR(PWrite(offset, ByteView(z.data(), a - offset)));
  VCSNAP_RETURN_IF_ERROR(Punch(a, b - a));
  return PWrite(b, ByteView(z.data(), offset + length - b));
}

Status ImageFile::Read(uint64_t offset, std::span<uint8_t> out) const {
  if (offset > size_ || out.size() > size_ - offset) {
    return Status::InvalidArgument("read past the end of " + path_);
  }
  size_t done = 0;
  while (done < out.size()) {
    ssize_t n = ::pread(fd_, out.data() + done, out.size() - done,
                        static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return Errno("read", path_);
    done += static_cast<size_t>(n);
  }
  return Status::Ok();
}

Status ImageFile::Grow(uint64_t new_size) {
  if (new_size <= size_) return Status::Ok();
  if (::ftruncate(fd_, static_cast<off_t>(new_size)) != 0) {
    return Errno("grow", path_);
  }
  const uint64_t old = size_;
  size_ = new_size;
  bitmap_.Resize(new_size);
  bitmap_.Mark(old, new_size - old);
  return Status::Ok();
}

Status ImageFile::Close() {
  if (fd_ >= 0 && ::close(fd_) != 0) {
    fd_ = -1;
    return Errno("close", path_);
  }
  fd_ = -1;
  return Status::Ok();
}

Result<FileDigest> DigestFile(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Errno("open", path);
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    Status s = Errno("stat", path);
    ::close(fd);
    return s;
  }
  FileDigest d;
  d.size = static_cast<uint64_t>(st.st_size);
  d.allocated = static_cast<uint64_t>(st.st_blocks) * 512;
  std::unique_ptr<EVP_MD_CTX, void (*)(EVP_MD_CTX*)> ctx(EVP_MD_CTX_new(),
                                                         EVP_MD_CTX_free);
  EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr);
  Bytes buf(4 << 20);
  Bytes zeros(buf.size(), 0);
  uint64_t pos = 0;
  while (pos < d.size) {
    // Holes hash as zeros without reading them.
    off_t data = ::lseek(fd, static_cast<off_t>(pos), SEEK_DATA);
    uint64_t data_at = data < 0 ? d.size : static_cast<uint64_t>(data);
    while (pos < data_at) {
      uint64_t n = std::min<uint64_t>(data_at - pos, zeros.size());
      EVP_DigestUpdate(ctx.get(), zeros.data(), n);
      pos += n;
    }
    if (pos >= d.size) break;
    off_t hole = ::lseek(fd, static_cast<off_t>(pos), SEEK_HOLE);
    uint64_t hole_at = hole < 0 ? d.size : static_cast<uint64_t>(hole);
    while (pos < hole_at) {
      size_t want =
          static_cast<size_t>(std::min<uint64_t>(hole_at - pos, buf.size()));
      ssize_t n = ::pread(fd, buf.data(), want, static_cast<off_t>(pos));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        Status s = Errno("read", path);
        ::close(fd);
        return s;
      }
      EVP_DigestUpdate(ctx.get(), buf.data(), static_cast<size_t>(n));
      pos += static_cast<uint64_t>(n);
    }
  }
  ::close(fd);
  unsigned char md[32];
  unsigned int len = 0;
  EVP_DigestFinal_ex(ctx.get(), md, &len);
  static const char kHex[] = "0123456789abcdef";
  for (unsigned int i = 0; i < len; ++i) {
    d.sha256.push_back(kHex[md[i] >> 4]);
    d.sha256.push_back(kHex[md[i] & 15]);
  }
  return d;
}

Status WriteWholeFile(const std::string& path, ByteView bytes) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return Errno("create", path);
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      Status s = Errno("write", path);
      ::close(fd);
      return s;
    }
    done += static_cast<size_t>(n);
  }
  if (::close(fd) != 0) return Errno("close", path);
  return Status::Ok();
}

Status WriteFileAtomically(const std::string& path, ByteView bytes) {
  const std::string tmp = path + ".tmp";
  Status s = WriteWholeFile(tmp, bytes);
  if (s.ok() && std::rename(tmp.c_str(), path.c_str()) != 0) {
    s = Errno("rename " + tmp + " to", path);
  }
  if (!s.ok()) std::remove(tmp.c_str());
  return s;
}

Result<Bytes> ReadWholeFile(const std::string& path, uint64_t max_size) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Errno("open", path);
  struct stat st;
  if (::fstat(fd, &st) != 0 || static_cast<uint64_t>(st.st_size) > max_size) {
    ::close(fd);
    return Status::InvalidArgument(path + " is larger than " +
                                   std::to_string(max_size) + " bytes");
  }
  Bytes out(static_cast<size_t>(st.st_size));
  size_t done = 0;
  while (done < out.size()) {
    ssize_t n = ::read(fd, out.data() + done, out.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    done += static_cast<size_t>(n);
  }
  ::close(fd);
  out.resize(done);
  return out;
}

}  // namespace vcsnap::fleet
