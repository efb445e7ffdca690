#include "source/dirty_bitmap.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "util/units.h"

namespace vcsnap {
namespace {

uint64_t CeilDiv(uint64_t a, uint64_t b) { return (a + b - 1) / b; }

}  // namespace

DirtyBitmap DirtyBitmap::AllDirty(uint64_t segments) {
  DirtyBitmap b;
  b.dirty_.assign(segments, 1);
  return b;
}

uint64_t DirtyBitmap::dirty_count() const {
  uint64_t n = 0;
  for (uint8_t d : dirty_) n += d;
  return n;
}

std::vector<DirtyRange> DirtyBitmap::DirtyRanges(uint64_t index,
                                                 uint32_t length) const {
  std::vector<DirtyRange> ranges;
  if (!dirty(index)) return ranges;
  if (!fine()) {
    ranges.push_back(DirtyRange{0, length});
    return ranges;
  }
  // Fine granules divide the segment size (both powers of two).
  const uint64_t per_segment = segment_size_ / granularity_;
  const uint64_t first = index * per_segment;
  const uint64_t gran = granularity_;
  for (uint64_t g = 0; g < per_segment && first + g < granules_.size(); ++g) {
    if (!granules_[first + g]) continue;
    const uint32_t begin = static_cast<uint32_t>(g * gran);
    if (begin >= length) break;
    const uint32_t end =
        static_cast<uint32_t>(std::min<uint64_t>((g + 1) * gran, length));
    if (!ranges.empty() && ranges.back().end == begin) {
      ranges.back().end = end;
    } else {
      ranges.push_back(DirtyRange{begin, end});
    }
  }
  return ranges;
}

Result<DirtyBitmap> DirtyBitmap::Parse(ByteView bits, uint64_t granularity,
                                       uint64_t image_size,
                                       uint64_t segment_size) {
  if (granularity < 512 || !IsPowerOfTwo(granularity)) {
    return Status::InvalidArgument("bitmap granularity " +
                                   std::to_string(granularity) +
                                   " is not a power of two of at least 512");
  }
  if (!IsPowerOfTwo(segment_size)) {
    return Status::InvalidArgument("segment size is not a power of two");
  }
  const uint64_t granules = CeilDiv(image_size, granularity);
  const uint64_t max_bytes = (granules + 7) / 8;
  if (bits.size() > max_bytes) {
    return Status::InvalidArgument(
        "bitmap has " + std::to_string(bits.size()) +
        " bytes but an image of " + std::to_string(image_size) +
        " bytes at granularity " + std::to_string(granularity) +
        " needs at most " + std::to_string(max_bytes));
  }
  DirtyBitmap b;
  const uint64_t segments = CeilDiv(image_size, segment_size);
  b.dirty_.assign(segments, 0);
  const bool fine = granularity < segment_size;
  if (fine) {
    b.granules_.assign(granules, false);
    b.granularity_ = granularity;
    b.segment_size_ = segment_size;
  }
  const uint64_t known = static_cast<uint64_t>(bits.size()) * 8;
  for (uint64_t g = 0; g < granules; ++g) {
    bool d = g >= known || ((bits[g / 8] >> (g % 8)) & 1);
    if (!d) continue;
    if (fine) b.granules_[g] = true;
    // Granule g covers [g*gran, (g+1)*gran): mark every segment it touches.
    uint64_t first = (g * granularity) / segment_size;
    uint64_t last =
        std::min(((g + 1) * granularity - 1) / segment_size, segments - 1);
    for (uint64_t s = first; s <= last; ++s) b.dirty_[s] = 1;
  }
  return b;
}

Result<DirtyBitmap> DirtyBitmap::Load(const std::string& path,
                                      uint64_t granularity, uint64_t image_size,
                                      uint64_t segment_size) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return Status::InvalidArgument("bitmap " + path + ": " +
                                   std::strerror(errno));
  }
  struct stat st;
  Status status;
  Bytes data;
  if (::fstat(fd, &st) != 0) {
    status = Status::IOError("bitmap " + path + ": " + std::strerror(errno));
  } else if (!S_ISREG(st.st_mode)) {
    status = Status::InvalidArgument("bitmap " + path + ": not a regular file");
  } else {
    const uint64_t granules =
        CeilDiv(image_size, std::max<uint64_t>(granularity, 1));
    const uint64_t max_bytes = (granules + 7) / 8;
    uint64_t size = static_cast<uint64_t>(st.st_size);
    if (size > max_bytes && granularity >= 512 && IsPowerOfTwo(granularity)) {
      status = Status::InvalidArgument(
          "bitmap " + path + " has " + std::to_string(size) +
          " bytes but the image needs at most " + std::to_string(max_bytes) +
          " at granularity " + std::to_string(granularity) +
          " (a bitmap of another disk?)");
    } else {
      data.resize(std::min(size, max_bytes + 1));
      size_t got = 0;
      while (got < data.size()) {
        ssize_t n = ::read(fd, data.data() + got, data.size() - got);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
          status =
              Status::IOError("bitmap " + path + ": " + std::strerror(errno));
          break;
        }
        if (n == 0) break;
        got += static_cast<size_t>(n);
      }
      data.resize(got);
    }
  }
  ::close(fd);
  VCSNAP_RETURN_IF_ERROR(status);
  Result<DirtyBitmap> parsed =
      Parse(data, granularity, image_size, segment_size);
  if (!parsed.ok()) return parsed.status().WithContext("bitmap " + path);
  return parsed;
}

}  // namespace vcsnap
