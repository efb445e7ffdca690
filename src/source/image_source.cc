// File: source/image_source.cc

#include "source/image_source.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <string_view>

#include "source/raw_image.h"
#include "util/module.h"

namespace vcsnap {
namespace {

std::atomic<const NbdOpeners*> nbd_openers{nullptr};
std::atomic<bool> nbd_from_module{false};

// The module UseNbdModule names; its entry point (nbd_module.cc) returns a
// pointer to its NbdOpeners.
LazyModule& NbdModule() {
  static LazyModule module("vcsnap_nbd_openers");
  return module;
}

// The installed openers; NotSupported naming `what` when there are none.
Result<const NbdOpeners*> Openers(const std::string& what) {
  if (const NbdOpeners* o = nbd_openers.load(); o != nullptr) return o;
  if (!nbd_from_module.load()) {
    return Status::NotSupported(what +
                                ": this program was built without NBD sources");
  }
  Result<const void*> table = NbdModule().Get();
  if (!table.ok()) {
    return Status::NotSupported(what + ": NBD sources could not be loaded: " +
                                table.status().message());
  }
  return static_cast<const NbdOpeners*>(*table);
}

// True when the file starts with the qcow2 magic "QFI\xfb".
bool IsQcow2(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  unsigned char magic[4] = {};
  ssize_t n = ::pread(fd, magic, sizeof magic, 0);
  ::close(fd);
  return n == 4 && std::memcmp(magic, "QFI\xfb", 4) == 0;
}

// qemu-nbd serving `path` read-only, with bitmap `bitmap` when non-empty.
std::vector<std::string> QemuNbdArgs(const std::string& path,
                                     const std::string& bitmap) {
  std::vector<std::string> argv = {"qemu-nbd", "--read-only", "--format=qcow2"};
  if (!bitmap.empty()) argv.push_back("--bitmap=" + bitmap);
  argv.push_back(path);
  return argv;
}

Result<std::unique_ptr<ImageSource>> OpenQcow2(const std::string& path,
                                               const std::string& bitmap) {
  if (FindProgram("qemu-nbd").empty()) {
    return Status::InvalidArgument(
        "image " + path +
        " is qcow2, which needs qemu-nbd on PATH (Debian: apt install "
        "qemu-utils)");
  }
  VCSNAP_ASSIGN_OR_RETURN(const NbdOpeners* nbd, Openers("image " + path));
  const std::string kind = "qcow2 (qemu-nbd)";
  auto served = nbd->serve(QemuNbdArgs(path, bitmap), path, kind, bitmap, "");
  if (served.ok() || bitmap.empty()) return served;
  // qemu-nbd refuses to start with a bitmap that is missing or inconsistent
  // (left "in-use" by a writer that crashed). The backup can still read
  // every segment; the caller reports why it could not use the bitmap.
  auto plain = nbd->serve(
      QemuNbdArgs(path, ""), path, kind, "",
      "qemu-nbd could not export the dirty bitmap '" + bitmap + "' of " + path +
          " (missing, or inconsistent after a crash: see `qemu-img info " +
          path + "`)");
  if (!plain.ok()) return served.status();
  return plain;
}

}  // namespace

std::string FindProgram(const std::string& program) {
  if (program.find('/') != std::string::npos) return program;
  const char* path = std::getenv("PATH");
  std::string_view rest = path != nullptr ? path : "/usr/bin:/bin";
  while (true) {
    const size_t colon = rest.find(':');
    std::string dir(rest.substr(0, colon));
    if (dir.empty()) dir = ".";
    const std::string full = dir + "/" + program;
    if (::access(full.c_str(), X_OK) == 0) return full;
    if (colon == std::string_view::npos) return {};
    rest.remove_prefix(colon + 1);
  }
}

void SetNbdOpeners(const NbdOpeners* openers) {
  nbd_openers.store(openers);
  nbd_from_module.store(false);
}

void UseNbdModule(Result<std::string> module) {
  NbdModule().SetPath(std::move(module));
  nbd_openers.store(nullptr);
  nbd_from_module.store(true);
}

bool IsNbdUri(const std::string& spec) {
  for (std::string_view scheme :
       {"nbd://", "nbds://", "nbd+unix://", "nbds+unix://", "nbd+vsock://",
        "nbds+vsock://"}) {
    if (spec.starts_with(scheme)) return true;
  }
  return false;
}

Result<ImageFormat> ParseImageFormat(const std::string& name) {
  if (name == "raw") return ImageFormat::kRaw;
  if (name == "qcow2") return ImageFormat::kQcow2;
  return Status::InvalidArgument("image format '" + name +
                                 "' is not raw or qcow2");
}

Result<std::unique_ptr<ImageSource>> OpenImageSource(
    const std::string& spec, const std::string& dirty_bitmap,
    ImageFormat format) {
  if (IsNbdUri(spec)) {
    if (format == ImageFormat::kQcow2) {
      return Status::InvalidArgument(
          "an NBD export is a raw disk: --format qcow2 does not apply to " +
          spec);
    }
    VCSNAP_ASSIGN_OR_RETURN(const NbdOpeners* nbd, Openers(spec));
    return nbd->connect(spec, dirty_bitmap);
  }
  if (format == ImageFormat::kQcow2) {
    if (!IsQcow2(spec)) {
      return Status::InvalidArgument("image " + spec +
                                     " is not a qcow2 image (no qcow2 header)");
    }
    return OpenQcow2(spec, dirty_bitmap);
  }
  if (format == ImageFormat::kUnspecified && IsQcow2(spec)) {
    return Status::InvalidArgument(
        "image " + spec +
        " starts with a qcow2 header: give --format qcow2 to read the disk "
        "through qemu-nbd, or --format raw to back up these bytes as they are "
        "(a guest can write such a header into a raw disk, so it is never "
        "guessed)");
  }
  if (!dirty_bitmap.empty()) {
    return Status::InvalidArgument(
        "a QEMU dirty bitmap ('" + dirty_bitmap +
        "') needs a qcow2 image or an NBD URI, and " + spec +
        " is read as raw (for a raw image, pass a bitmap file with --bitmap)");
  }
  VCSNAP_ASSIGN_OR_RETURN(std::unique_ptr<RawImage> image,
                          RawImage::Open(spec));
  return std::unique_ptr<ImageSource>(std::move(image));
}

}  // namespace vcsnap
