// File: source/nbd_image.cc

#include "source/nbd_image.h"

#include <fcntl.h>
#include <libnbd.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string_view>

#include "source/nbd_maps.h"

extern char** environ;

namespace vcsnap {
namespace {

constexpr uint64_t kMaxMapBits = uint64_t{1} << 24;
constexpr uint64_t kStatusStep = uint64_t{1} << 30;  // per block status call
constexpr uint64_t kPiece = uint64_t{256} << 10;     // bytes per read request
constexpr size_t kInFlight = 16;                     // read requests at once

std::string NbdError() {
  const char* e = nbd_get_error();
  return e != nullptr ? e : "unknown libnbd error";
}

int ExtentCallback(void* user, const char* context, uint64_t offset,
                   uint32_t* entries, size_t n, int* error) {
  auto* b = static_cast<NbdMapBuilder*>(user);
  if (!b->Add(context, offset, entries, n)) *error = EPROTO;
  return 0;
}

}  // namespace

Result<std::unique_ptr<NbdImage>> NbdImage::Connect(const std::string& uri,
                                                    const std::string& bitmap) {
  nbd_handle* h = nbd_create();
  if (h == nullptr) return Status::IOError("nbd: " + NbdError());
  std::unique_ptr<NbdImage> image(new NbdImage(h, uri, "nbd"));
  VCSNAP_RETURN_IF_ERROR(image->Setup(bitmap, [&] {
    return nbd_connect_uri(h, uri.c_str()) == 0
               ? Status::Ok()
               : Status::IOError("NBD " + uri + ": " + NbdError());
  }));
  return image;
}

Result<std::unique_ptr<NbdImage>> NbdImage::Serve(
    const std::vector<std::string>& argv, const std::string& name,
    const std::string& kind, const std::string& bitmap) {
  if (argv.empty()) return Status::InvalidArgument("nbd: no server command");
  const std::string program = FindProgram(argv[0]);
  if (program.empty()) {
    return Status::InvalidArgument("image " + name + ": " + argv[0] +
                                   " not found on PATH");
  }
  nbd_handle* h = nbd_create();
  if (h == nullptr) return Status::IOError("nbd: " + NbdError());
  std::unique_ptr<NbdImage> image(new NbdImage(h, name, kind));
  // systemd socket activation, done here rather than by libnbd so that the
  // server dies with us (PR_SET_PDEATHSIG): killed between starting it and
  // connecting, we would otherwise leave it listening for ever, holding the
  // image's lock.
  char dir[] = "/tmp/vcsnap-nbd-XXXXXX";
  if (::mkdtemp(dir) == nullptr) {
    return Status::IOError(std::string("nbd: mkdtemp: ") +
                           std::strerror(errno));
  }
  const std::string sock = std::string(dir) + "/s";
  auto cleanup = [&] {
    ::unlink(sock.c_str());
    ::rmdir(dir);
  };
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, sock.c_str(), sock.size() + 1);
  if (fd < 0 ||
      ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(fd, 4) != 0) {
    const int err = errno;
    if (fd >= 0) ::close(fd);
    cleanup();
    return Status::IOError("nbd: listening socket: " +
                           std::string(std::strerror(err)));
  }
  // Everything the child needs is built before fork(): after it, only
  // async-signal-safe calls.
  std::vector<std::string> args = argv;
  std::vector<char*> cargv;
  for (std::string& a : args) cargv.push_back(a.data());
  cargv.push_back(nullptr);
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    if (std::strncmp(*e, "LISTEN_", 7) != 0) env.emplace_back(*e);
  }
  env.emplace_back("LISTEN_FDS=1");
  env.emplace_back("LISTEN_PID=" + std::string(20, '\0'));
  std::vector<char*> cenv;
  for (std::string& e : env) cenv.push_back(e.data());
  cenv.push_back(nullptr);
  char* const pid_digits = cenv[cenv.size() - 2] + 11;
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) {
    const int err = errno;
    ::close(fd);
    cleanup();
    return Status::IOError("nbd: fork: " + std::string(std::strerror(err)));
  }
  if (pid == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(1);  // we are already orphaned
    if (fd == 3) {
      ::fcntl(3, F_SETFD, 0);
    } else if (::dup2(fd, 3) != 3) {
      ::_exit(1);
    }
    char digits[20];
    int n = 0;
    for (pid_t v = ::getpid(); v > 0; v /= 10) {
      digits[n++] = static_cast<char>('0' + v % 10);
    }
    for (int i = 0; i < n; ++i) pid_digits[i] = digits[n - 1 - i];
    pid_digits[n] = '\0';
    ::execve(program.c_str(), cargv.data(), cenv.data());
    ::_exit(127);
  }
  ::close(fd);
  image->server_pid_ = pid;
  Status s = image->Setup(bitmap, [&] {
    return nbd_connect_unix(h, sock.c_str()) == 0
               ? Status::Ok()
               : Status::IOError("image " + name + ": " + args[0] + ": " +
                                 NbdError());
  });
  cleanup();  // connected (or failed): the socket's name is not needed
  if (!s.ok()) return s;
  return image;
}

NbdImage::~NbdImage() {
  nbd_shutdown(h_, 0);
  nbd_close(h_);
  if (server_pid_ > 0) {
    // The server exits when its one client goes; make sure, then reap it.
    ::kill(server_pid_, SIGTERM);
    while (::waitpid(server_pid_, nullptr, 0) < 0 && errno == EINTR) {
    }
  }
}

Status NbdImage::Setup(const std::string& bitmap,
                       const std::function<Status()>& connect) {
  bitmap_ = bitmap;
  const std::string context = kNbdDirtyBitmapPrefix + bitmap;
  if ((!bitmap.empty() && nbd_add_meta_context(h_, context.c_str()) != 0) ||
      nbd_add_meta_context(h_, kNbdAllocationContext) != 0) {
    return Status::IOError("NBD " + name_ + ": " + NbdError());
  }
  VCSNAP_RETURN_IF_ERROR(connect());
  const int64_t size = nbd_get_size(h_);
  if (size < 0) return Status::IOError("NBD " + name_ + ": " + NbdError());
  size_ = static_cast<uint64_t>(size);
  const int64_t max = nbd_get_block_size(h_, LIBNBD_SIZE_MAXIMUM);
  piece_ =
      max > 0 ? std::min<uint64_t>(static_cast<uint64_t>(max), kPiece) : kPiece;
  piece_ = std::max<uint64_t>(piece_, 512);
  granule_ = std::max<uint64_t>(
      4096, std::bit_ceil((size_ + kMaxMapBits - 1) / kMaxMapBits));
  zero_bits_.assign(((size_ + granule_ - 1) / granule_ + 7) / 8, 0);
  const bool alloc = nbd_can_meta_context(h_, kNbdAllocationContext) == 1;
  has_bitmap_ =
      !bitmap.empty() && nbd_can_meta_context(h_, context.c_str()) == 1;
  if (!bitmap.empty() && !has_bitmap_) {
    bitmap_problem_ =
        "the NBD server does not export the dirty bitmap '" + bitmap + "'";
  }
  if (!alloc && !has_bitmap_) return Status::Ok();
  return LoadMaps(alloc, has_bitmap_);
}

Status NbdImage::LoadMaps(bool allocation, bool dirty) {
  NbdMapBuilder b(size_, granule_, allocation,
                  dirty ? kNbdDirtyBitmapPrefix + bitmap_ : std::string(),
                  &zero_bits_, &dirty_bits_);
  uint64_t pos = 0;
  while (pos < size_) {
    const uint64_t count = std::min(size_ - pos, kStatusStep);
    if (nbd_block_status(h_, count, pos,
                         nbd_extent_callback{ExtentCallback, &b, nullptr},
                         0) != 0) {
      return Status::IOError("NBD " + name_ + ": block status at offset " +
                             std::to_string(pos) + ": " +
                             (b.error().empty() ? NbdError() : b.error()));
    }
    const uint64_t next = b.covered();
    if (next <= pos) {
      return Status::IOError("NBD " + name_ + ": block status at offset " +
                             std::to_string(pos) + " returned no extents");
    }
    pos = next;
  }
  b.Finish();
  return Status::Ok();
}

bool NbdImage::IsHole(uint64_t offset, uint64_t length) {
  if (length == 0) return true;
  if (offset >= size_ || length > size_ - offset) return false;
  for (uint64_t k = offset / granule_; k * granule_ < offset + length; ++k) {
    if (!ZeroGranule(k)) return false;
  }
  return true;
}

Status NbdImage::ReadSparseInto(uint64_t offset, uint64_t length,
                                uint8_t* dst) {
  if (offset > size_ || length > size_ - offset) {
    return Status::InvalidArgument("image " + name_ + ": read past the end");
  }
  std::vector<Piece> pieces;
  PlanRead(offset, length, dst, &pieces);
  std::lock_guard lock(read_mu_);
  return ReadPieces(pieces);
}

Status NbdImage::ReadRangesInto(uint64_t offset,
                                const std::vector<DirtyRange>& ranges,
                                uint8_t* dst) {
  std::vector<Piece> pieces;
  for (const DirtyRange& r : ranges) {
    const uint64_t at = offset + r.begin;
    if (r.end < r.begin || at > size_ || r.end - r.begin > size_ - at) {
      return Status::InvalidArgument("image " + name_ + ": read past the end");
    }
    PlanRead(at, r.end - r.begin, dst + r.begin, &pieces);
  }
  std::lock_guard lock(read_mu_);
  return ReadPieces(pieces);
}

void NbdImage::PlanRead(uint64_t offset, uint64_t length, uint8_t* const base,
                        std::vector<Piece>* pieces) const {
  const uint64_t end = offset + length;
  uint64_t pos = offset;
  while (pos < end) {
    // The run of granules from pos that are all zero, or all not.
    const bool zero = ZeroGranule(pos / granule_);
    uint64_t stop = (pos / granule_ + 1) * granule_;
    while (stop < end && ZeroGranule(stop / granule_) == zero) {
      stop += granule_;
    }
    stop = std::min(stop, end);
    if (zero) {
      std::memset(base + (pos - offset), 0, stop - pos);
    } else {
      for (uint64_t at = pos; at < stop; at += piece_) {
        pieces->push_back(
            {at, std::min(piece_, stop - at), base + (at - offset)});
      }
    }
    pos = stop;
  }
}

Status NbdImage::ReadPieces(const std::vector<Piece>& pieces) {
  // Up to kInFlight requests at once: one synchronous request at a time
  // left the server idle between them (docs/benchmarks/sources.md).
  std::vector<int64_t> cookies(pieces.size(), -1);
  Status status;
  size_t issued = 0, done = 0;
  while (done < pieces.size()) {
    while (status.ok() && issued < pieces.size() && issued - done < kInFlight) {
      const Piece& p = pieces[issued];
      cookies[issued] =
          nbd_aio_pread(h_, p.dst, p.length, p.offset, NBD_NULL_COMPLETION, 0);
      if (cookies[issued] < 0) {
        status = ReadError(p.offset);
        break;
      }
      ++issued;
    }
    if (done == issued) break;  // an issue failed and nothing is pending
    int r;
    while ((r = nbd_aio_command_completed(
                h_, static_cast<uint64_t>(cookies[done]))) == 0) {
      if (nbd_poll(h_, -1) < 0) {
        return ReadError(pieces[done].offset);  // the connection is gone
      }
    }
    if (r < 0 && status.ok()) status = ReadError(pieces[done].offset);
    ++done;
  }
  return status;
}

Status NbdImage::ReadError(uint64_t offset) const {
  return Status::IOError("image " + name_ + " at offset " +
                         std::to_string(offset) + ": " + NbdError());
}

Result<std::optional<DirtyBitmap>> NbdImage::OwnBitmap(
    uint64_t segment_size) const {
  if (!has_bitmap_) return std::optional<DirtyBitmap>();
  VCSNAP_ASSIGN_OR_RETURN(
      DirtyBitmap b,
      DirtyBitmap::Parse(dirty_bits_, granule_, size_, segment_size));
  return std::optional<DirtyBitmap>(std::move(b));
}

namespace {

Result<std::unique_ptr<ImageSource>> ConnectHere(const std::string& uri,
                                                 const std::string& bitmap) {
  VCSNAP_ASSIGN_OR_RETURN(std::unique_ptr<NbdImage> image,
                          NbdImage::Connect(uri, bitmap));
  return std::unique_ptr<ImageSource>(std::move(image));
}

Result<std::unique_ptr<ImageSource>> ServeHere(
    const std::vector<std::string>& argv, const std::string& name,
    const std::string& kind, const std::string& bitmap,
    const std::string& bitmap_problem) {
  VCSNAP_ASSIGN_OR_RETURN(std::unique_ptr<NbdImage> image,
                          NbdImage::Serve(argv, name, kind, bitmap));
  if (!bitmap_problem.empty()) image->SetBitmapProblem(bitmap_problem);
  return std::unique_ptr<ImageSource>(std::move(image));
}

}  // namespace

const NbdOpeners& NbdOpenersHere() {
  static const NbdOpeners kOpeners{&ConnectHere, &ServeHere};
  return kOpeners;
}

void EnableNbdSource() { SetNbdOpeners(&NbdOpenersHere()); }

}  // namespace vcsnap
