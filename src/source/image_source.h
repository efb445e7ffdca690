// File: source/image_source.h
//
// ImageSource: a VM disk image as the backup reads it -- its size, which
// ranges read as zeros without I/O, and its bytes. Implementations:
//  * RawImage (source/raw_image.h): a raw file or block device;
//  * NbdImage (source/nbd_image.h): an NBD export, e.g. a qcow2 image (and its
//    backing chain) served by qemu-nbd, with QEMU's persistent dirty bitmap
//    as changed-block tracking.
// OpenImageSource() picks one from what the operator passed to --image and
// --format.
//
// The image must not change while a backup reads it (the caller snapshots
// it first); the size is taken once at open.
//
// Thread safety: IsHole and ReadSparse(Into) may be called from any threads
// (the backup's workers load parts of segments while its reader reads
// others).

#ifndef VCSNAP_SOURCE_IMAGE_SOURCE_H_
#define VCSNAP_SOURCE_IMAGE_SOURCE_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "source/dirty_bitmap.h"
#include "util/bytes.h"
#include "util/result.h"

namespace vcsnap {

class ImageSource {
 public:
  virtual ~ImageSource() = default;

  virtual uint64_t size() const = 0;
  // The path or URI, for messages.
  virtual const std::string& name() const = 0;
  // "raw", "qcow2 (qemu-nbd)" or "nbd": what kind of source this is.
  virtual std::string kind() const = 0;

  // True iff [offset, offset + length) reads as zeros without I/O. False
  // when the source cannot tell.
  virtual bool IsHole(uint64_t offset, uint64_t length) = 0;

  // Reads [offset, offset + length) into dst[0, length) (every byte is
  // overwritten), reading only ranges that are not known zeros. The range
  // must lie within the image. Errors name the source and the offset.
  virtual Status ReadSparseInto(uint64_t offset, uint64_t length,
                                uint8_t* dst) = 0;

  // Reads each range [begin, end) (ascending, disjoint) of the image region
  // starting at `offset` into dst[begin, end), as ReadSparseInto() would;
  // sources that can keep several requests in flight do.
  virtual Status ReadRangesInto(uint64_t offset,
                                const std::vector<DirtyRange>& ranges,
                                uint8_t* dst) {
    for (const DirtyRange& r : ranges) {
      VCSNAP_RETURN_IF_ERROR(
          ReadSparseInto(offset + r.begin, r.end - r.begin, dst + r.begin));
    }
    return Status::Ok();
  }

  // The same into *out, resized to `length` (a used buffer is fine).
  Status ReadSparse(uint64_t offset, uint64_t length, Bytes* out) {
    if (offset > size() || length > size() - offset) {
      return Status::InvalidArgument("image " + name() + ": read past the end");
    }
    out->resize(length);
    return ReadSparseInto(offset, length, out->data());
  }

  // The changed-block tracking the source itself carries (a QEMU dirty
  // bitmap), for segments of `segment_size` (a power of two) bytes; nullopt
  // when it carries none. When a bitmap was asked for but could not be used,
  // nullopt and bitmap_problem() says why.
  virtual Result<std::optional<DirtyBitmap>> OwnBitmap(
      uint64_t segment_size) const {
    (void)segment_size;
    return std::optional<DirtyBitmap>();
  }
  virtual std::string bitmap_problem() const { return {}; }
};

// True for the NBD URIs libnbd connects to (nbd://, nbds://, nbd+unix://,
// nbds+unix://, nbd+vsock://, ...).
bool IsNbdUri(const std::string& spec);

// The full path of `program` (one without a '/') found in $PATH; `program`
// itself when it has a '/'; empty when none is executable.
std::string FindProgram(const std::string& program);

// NBD sources live in their own library, vcsnap_nbd (source/nbd_image.h),
// which OpenImageSource reaches through these functions: NbdImage::Connect,
// and NbdImage::Serve whose image reports `bitmap_problem` (when not empty)
// as its bitmap_problem().
struct NbdOpeners {
  Result<std::unique_ptr<ImageSource>> (*connect)(const std::string& uri,
                                                  const std::string& bitmap);
  Result<std::unique_ptr<ImageSource>> (*serve)(
      const std::vector<std::string>& argv, const std::string& name,
      const std::string& kind, const std::string& bitmap,
      const std::string& bitmap_problem);
};
// Installs the openers (EnableNbdSource does); null: none (NotSupported).
void SetNbdOpeners(const NbdOpeners* openers);
// Makes OpenImageSource load them from the module at `module`
// (vcsnap-nbd.so, built beside the vcsnap binary) on the first NBD or qcow2
// source, so that a backup of raw images never loads libnbd's libraries.
// When `module` was not found or cannot be loaded, opening such a source is
// NotSupported with the reason.
void UseNbdModule(Result<std::string> module);

// How to read a file or block device. Never guessed from its contents alone:
// a guest can write a qcow2 header, with a backing file naming any host
// file, into its raw disk (QEMU's format-probing flaw). kUnspecified reads a
// file as raw, but refuses one that starts with a qcow2 header and asks for
// an explicit format.
enum class ImageFormat { kUnspecified, kRaw, kQcow2 };

// "raw" / "qcow2"; InvalidArgument for anything else.
Result<ImageFormat> ParseImageFormat(const std::string& name);

// Opens what --image names:
//  * an NBD URI: connects to it (format kUnspecified or kRaw: an NBD export
//    is a raw disk);
//  * kQcow2: a qcow2 file served read-only by qemu-nbd, started by socket
//    activation and stopped when the source is destroyed, so the backup reads
//    the disk's contents (backing chain included), not the container;
//  * otherwise a raw file or block device: RawImage.
// `dirty_bitmap` names a QEMU persistent dirty bitmap to take as CBT (NBD and
// qcow2 only; InvalidArgument for a raw image). A bitmap that the server does
// not export, or that qemu-nbd refuses (inconsistent after a crash), is not
// an error: the source opens without it and bitmap_problem() says why.
Result<std::unique_ptr<ImageSource>> OpenImageSource(
    const std::string& spec, const std::string& dirty_bitmap = "",
    ImageFormat format = ImageFormat::kUnspecified);

}  // namespace vcsnap

#endif  // VCSNAP_SOURCE_IMAGE_SOURCE_H_
