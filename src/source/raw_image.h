// File: source/raw_image.h
//
// RawImage: a VM disk image read as raw bytes -- a regular (usually sparse)
// file or a block device (e.g. /dev/nbd0 exported by qemu-nbd); an
// ImageSource (source/image_source.h). Reads whole
// segments with pread and asks the file system which segments are holes
// (SEEK_DATA) so unallocated ranges of sparse images cost no read at all.
//
// The size is taken once at Open; the image must not change while a backup
// reads it (the caller snapshots it first).
//
// Thread safety: Read, ReadSparseInto and IsHole may be called concurrently
// from any threads (reads use pread; lseek is serialised on an internal
// mutex).

#ifndef VCSNAP_SOURCE_RAW_IMAGE_H_
#define VCSNAP_SOURCE_RAW_IMAGE_H_

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include "source/image_source.h"
#include "util/bytes.h"
#include "util/result.h"

namespace vcsnap {

class RawImage final : public ImageSource {
 public:
  // InvalidArgument for missing paths, directories and other non-images;
  // errors name the path.
  static Result<std::unique_ptr<RawImage>> Open(const std::string& path);
  ~RawImage() override;
  RawImage(const RawImage&) = delete;
  RawImage& operator=(const RawImage&) = delete;

  uint64_t size() const override { return size_; }
  const std::string& name() const override { return path_; }
  std::string kind() const override { return "raw"; }
  const std::string& path() const { return path_; }

  // True iff [offset, offset + length) holds no allocated data (reads as
  // zeros without I/O). False when the file system cannot tell.
  bool IsHole(uint64_t offset, uint64_t length) override;

  // Reads [offset, offset + length) into *out (resized); the range must lie
  // within the image. IOError naming the path and offset on failure or on a
  // short read (the image shrank).
  Status Read(uint64_t offset, uint64_t length, Bytes* out) const;

  // Only the allocated extents are read (SEEK_DATA / SEEK_HOLE); holes are
  // zero-filled in memory. Sparse VM images are often half holes: this saves
  // the kernel copying zeros. Falls back to a plain read where the file
  // system cannot tell (block devices, old kernels).
  Status ReadSparseInto(uint64_t offset, uint64_t length,
                        uint8_t* dst) override;

 private:
  Status ReadInto(uint64_t offset, uint64_t length, uint8_t* dst) const;

  RawImage(int fd, uint64_t size, std::string path)
      : fd_(fd), size_(size), path_(std::move(path)) {}

  const int fd_;
  const uint64_t size_;
  const std::string path_;
  std::mutex seek_mu_;  // lseek(SEEK_DATA) moves the file offset
};

}  // namespace vcsnap

#endif  // VCSNAP_SOURCE_RAW_IMAGE_H_
