// File: fleet/image_file.h
//
// ImageFile: one raw, sparse VM disk image being written by the generator,
// with the dirty bitmap (CBT) of everything written to it since it was
// opened. Every change goes through Write / Zero / Grow, and each marks the
// granules it touches, so the bitmap is conservative by construction: a byte
// that differs from the previous day lies in a marked granule.
//
// Sparseness: Write() turns 4 KiB-aligned all-zero blocks into holes
// (fallocate PUNCH_HOLE), Zero() punches, Grow() extends with a hole; a
// fresh image is a hole of its size. Images are never held in memory.
//
// Bitmap file (SPEC §2): bit i, least significant bit first within each
// byte, set when granule i was written; ceil(size / granularity) bits,
// padded with zero bits to a whole byte.
//
// Thread safety: none; one writer per image.

#ifndef VCSNAP_FLEET_IMAGE_FILE_H_
#define VCSNAP_FLEET_IMAGE_FILE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "util/bytes.h"
#include "util/result.h"

namespace vcsnap::fleet {

class DirtyBitmap {
 public:
  DirtyBitmap(uint64_t granularity, uint64_t size) : granularity_(granularity) {
    Resize(size);
  }
  void Resize(uint64_t size);  // new granules start clean
  void Mark(uint64_t offset, uint64_t length);
  void MarkAll();
  bool Test(uint64_t granule) const {
    return (bits_[granule / 8] >> (granule % 8)) & 1;
  }
  uint64_t granules() const { return granules_; }
  uint64_t granularity() const { return granularity_; }
  const Bytes& bytes() const { return bits_; }
  // Granules grouped by `segment_size` (a multiple of the granularity): the
  // segments with at least one marked granule, ascending.
  std::vector<uint64_t> DirtySegments(uint64_t segment_size) const;
  // The number of such segments (no allocation).
  uint64_t CountDirtySegments(uint64_t segment_size) const;
  // True when a granule overlapping [offset, offset + length) is marked.
  bool TestRange(uint64_t offset, uint64_t length) const;

 private:
  uint64_t granularity_;
  uint64_t granules_ = 0;
  Bytes bits_;
};

class ImageFile {
 public:
  ImageFile(const ImageFile&) = delete;
  ImageFile& operator=(const ImageFile&) = delete;
  ImageFile(ImageFile&& other) noexcept;
  ~ImageFile();

  // A new image of `size` bytes, all hole. Replaces an existing file.
  static Result<ImageFile> Create(const std::string& path, uint64_t size,
                                  uint64_t granularity);
  // `path` as a sparse copy of `from` (data ranges found with SEEK_DATA /
  // SEEK_HOLE, copied with copy_file_range, which reflinks where the file
  // system can). The bitmap starts clean.
  static Result<ImageFile> CopyFrom(const std::string& from,
                                    const std::string& path,
                                    uint64_t granularity);

  uint64_t size() const { return size_; }
  const std::string& path() const { return path_; }
  DirtyBitmap& bitmap() { return bitmap_; }
  const DirtyBitmap& bitmap() const { return bitmap_; }
  uint64_t written_bytes() const { return written_; }

  // Writes `data` at `offset` (must lie inside the image).
  Status Write(uint64_t offset, ByteView data);
  // Makes [offset, offset+length) read as zeros (a hole where aligned).
  Status Zero(uint64_t offset, uint64_t length);
  // Reads exactly out.size() bytes at offset (inside the image).
  Status Read(uint64_t offset, std::span<uint8_t> out) const;
  // Extends the image; the new range reads as zeros and is marked dirty.
  Status Grow(uint64_t new_size);
  // fsync is not needed for a generator; Close flushes nothing but the fd.
  Status Close();

 private:
  ImageFile(int fd, std::string path, uint64_t size, uint64_t granularity)
      : fd_(fd),
        path_(std::move(path)),
        size_(size),
        bitmap_(granularity, size) {}
  Status Punch(uint64_t offset, uint64_t length);
  Status PWrite(uint64_t offset, ByteView data);

  int fd_ = -1;
  std::string path_;
  uint64_t size_ = 0;
  uint64_t written_ = 0;
  DirtyBitmap bitmap_;
};

// SHA-256 (hex) and allocated bytes (st_blocks * 512) of a file, streamed.
struct FileDigest {
  std::string sha256;
  uint64_t size = 0;
  uint64_t allocated = 0;
};
Result<FileDigest> DigestFile(const std::string& path);

// Writes `bytes` to `path` (replacing it).
Status WriteWholeFile(const std::string& path, ByteView bytes);
// The same through `path`.tmp renamed over `path`: a reader sees the old
// file or the new one, never a part.
Status WriteFileAtomically(const std::string& path, ByteView bytes);
Result<Bytes> ReadWholeFile(const std::string& path, uint64_t max_size);

}  // namespace vcsnap::fleet

#endif  // VCSNAP_FLEET_IMAGE_FILE_H_
