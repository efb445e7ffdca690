// File: source/nbd_image.h
//
// NbdImage: an image read over NBD with libnbd -- from a server the operator
// runs (an NBD URI), or from a server started for the purpose by systemd
// socket activation (qemu-nbd serving a qcow2 file read-only). An
// ImageSource (source/image_source.h). This is the library vcsnap_nbd, the
// one linked with libnbd (which brings GnuTLS, libxml2 and ICU: ~3.5 MB
// resident and ~15 more libraries to load at every start); OpenImageSource
// reaches it through NbdOpeners.
//
// At open, two maps of the whole export are fetched with NBD block status and
// kept as bits per granule (a power of two >= 4 KiB, coarse enough that a map
// never exceeds 2^24 bits = 2 MiB, whatever the disk's size):
//  * "base:allocation": granules that read as zeros (NBD_STATE_ZERO); they
//    are never read, and a segment of them is a hole;
//  * "qemu:dirty-bitmap:NAME", when a bitmap is named: granules QEMU marked
//    written, i.e. the CBT. Extents are rounded out to the granule, so the
//    bitmap never says less than QEMU's.
// The server's answers are checked by NbdMapBuilder (source/nbd_maps.h:
// extents contiguous, non-empty, clipped to the export); a server that
// breaks the protocol is an IOError, never a wrong map.
//
// Thread safety: IsHole may be called from any threads; ReadSparse(Into)
// too, but calls are serialised on an internal mutex (one connection, polled
// by the caller while its requests are in flight).

#ifndef VCSNAP_SOURCE_NBD_IMAGE_H_
#define VCSNAP_SOURCE_NBD_IMAGE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "source/image_source.h"

struct nbd_handle;

namespace vcsnap {

class NbdImage final : public ImageSource {
 public:
  // Connects to `uri`. With `bitmap` non-empty, asks for the meta context
  // "qemu:dirty-bitmap:<bitmap>"; a server that does not have it is not an
  // error (bitmap_problem() says so). IOError naming the URI when the
  // connection fails.
  static Result<std::unique_ptr<NbdImage>> Connect(const std::string& uri,
                                                   const std::string& bitmap);

  // Starts `argv` (a server speaking systemd socket activation, such as
  // qemu-nbd) on a private unix socket and connects to it; the server is
  // stopped when the image is destroyed, and killed by the kernel if this
  // process dies first. `name` and `kind` are what name() and kind() report.
  static Result<std::unique_ptr<NbdImage>> Serve(
      const std::vector<std::string>& argv, const std::string& name,
      const std::string& kind, const std::string& bitmap);

  ~NbdImage() override;
  NbdImage(const NbdImage&) = delete;
  NbdImage& operator=(const NbdImage&) = delete;

  uint64_t size() const override { return size_; }
  const std::string& name() const override { return name_; }
  std::string kind() const override { return kind_; }
  bool IsHole(uint64_t offset, uint64_t length) override;
  Status ReadSparseInto(uint64_t offset, uint64_t length,
                        uint8_t* dst) override;
  Status ReadRangesInto(uint64_t offset, const std::vector<DirtyRange>& ranges,
                        uint8_t* dst) override;
  Result<std::optional<DirtyBitmap>> OwnBitmap(
      uint64_t segment_size) const override;
  std::string bitmap_problem() const override { return bitmap_problem_; }

  // Reports that a bitmap was asked for but could not be used (when the
  // server had to be started without it).
  void SetBitmapProblem(std::string problem) {
    bitmap_problem_ = std::move(problem);
  }

  // Bytes per bit of the in-memory maps.
  uint64_t granule() const { return granule_; }

 private:
  NbdImage(nbd_handle* h, std::string name, std::string kind)
      : h_(h), name_(std::move(name)), kind_(std::move(kind)) {}
  // Asks for the meta contexts, connects with `connect`, then reads the
  // size, the limits and the maps.
  Status Setup(const std::string& bitmap,
               const std::function<Status()>& connect);
  Status LoadMaps(bool allocation, bool dirty);
  struct Piece {
    uint64_t offset;
    uint64_t length;
    uint8_t* dst;
  };
  // Adds the requests reading [offset, offset + length) to *pieces, and
  // zero-fills the known zeros.
  void PlanRead(uint64_t offset, uint64_t length, uint8_t* dst,
                std::vector<Piece>* pieces) const;
  // Reads the pieces with several requests in flight.
  Status ReadPieces(const std::vector<Piece>& pieces);
  Status ReadError(uint64_t offset) const;
  bool ZeroGranule(uint64_t k) const {
    return (zero_bits_[k >> 3] >> (k & 7)) & 1;
  }

  nbd_handle* const h_;
  const std::string name_;
  const std::string kind_;
  uint64_t size_ = 0;
  uint64_t granule_ = 4096;
  uint64_t piece_ = 0;  // bytes per read request (<= the server's maximum)
  std::vector<uint8_t> zero_bits_;   // LSB first; set: reads as zeros
  std::vector<uint8_t> dirty_bits_;  // LSB first; set: written (CBT)
  std::mutex read_mu_;               // one read at a time polls the connection
  int server_pid_ = -1;              // Serve(): the server this image started
  bool has_bitmap_ = false;
  std::string bitmap_;
  std::string bitmap_problem_;
};

// The openers of this library (NbdImage::Connect and Serve). The vcsnap
// program reaches them through its module vcsnap-nbd.so (UseNbdModule in
// source/image_source.h); a program or test linking this library calls
// EnableNbdSource() once, before its first NBD or qcow2 source.
const NbdOpeners& NbdOpenersHere();
void EnableNbdSource();

}  // namespace vcsnap

#endif  // VCSNAP_SOURCE_NBD_IMAGE_H_
