#include "store/compressor.h"

#include <lz4.h>
#include <zstd.h>

#include <limits>
#include <memory>
#include <string>

namespace vcsnap {
namespace {

struct CCtxFree {
  void operator()(ZSTD_CCtx* c) const { ZSTD_freeCCtx(c); }
};
struct DCtxFree {
  void operator()(ZSTD_DCtx* d) const { ZSTD_freeDCtx(d); }
};

ZSTD_CCtx* ThreadCCtx() {
  thread_local std::unique_ptr<ZSTD_CCtx, CCtxFree> ctx(ZSTD_createCCtx());
  return ctx.get();
}
ZSTD_DCtx* ThreadDCtx() {
  thread_local std::unique_ptr<ZSTD_DCtx, DCtxFree> ctx(ZSTD_createDCtx());
  return ctx.get();
}

}  // namespace

bool Compress(CompressionKind kind, int level, ByteView in, Bytes* out) {
  if (in.empty()) return false;
  switch (kind) {
    case CompressionKind::kNone:
      return false;
    case CompressionKind::kLz4: {
      if (in.size() > static_cast<size_t>(LZ4_MAX_INPUT_SIZE)) return false;
      const int src = static_cast<int>(in.size());
      out->resize(static_cast<size_t>(LZ4_compressBound(src)));
      int n = LZ4_compress_default(reinterpret_cast<const char*>(in.data()),
                                   reinterpret_cast<char*>(out->data()), src,
                                   static_cast<int>(out->size()));
      if (n <= 0 || static_cast<size_t>(n) >= in.size()) return false;
      out->resize(static_cast<size_t>(n));
      return true;
    }
    case CompressionKind::kZstd: {
      ZSTD_CCtx* cctx = ThreadCCtx();
      if (cctx == nullptr) return false;
      out->resize(ZSTD_compressBound(in.size()));
      size_t n = ZSTD_compressCCtx(cctx, out->data(), out->size(), in.data(),
                                   in.size(), level);
      if (ZSTD_isError(n) || n >= in.size()) return false;
      out->resize(n);
      return true;
    }
  }
  return false;
}

Status Decompress(CompressionKind kind, ByteView in, uint8_t* out,
                  size_t raw_len) {
  switch (kind) {
    case CompressionKind::kLz4: {
      if (in.size() > static_cast<size_t>(std::numeric_limits<int>::max()) ||
          raw_len > static_cast<size_t>(std::numeric_limits<int>::max())) {
        return Status::Corruption("lz4: sizes out of range");
      }
      int n = LZ4_decompress_safe(reinterpret_cast<const char*>(in.data()),
                                  reinterpret_cast<char*>(out),
                                  static_cast<int>(in.size()),
                                  static_cast<int>(raw_len));
      if (n < 0 || static_cast<size_t>(n) != raw_len) {
        return Status::Corruption("lz4: payload does not decode to " +
                                  std::to_string(raw_len) + " bytes");
      }
      return Status::Ok();
    }
    case CompressionKind::kZstd: {
      ZSTD_DCtx* dctx = ThreadDCtx();
      if (dctx == nullptr) return Status::IOError("zstd: out of memory");
      size_t n = ZSTD_decompressDCtx(dctx, out, raw_len, in.data(), in.size());
      if (ZSTD_isError(n) || n != raw_len) {
        return Status::Corruption(
            "zstd: payload does not decode to " + std::to_string(raw_len) +
            " bytes" +
            (ZSTD_isError(n) ? std::string(" (") + ZSTD_getErrorName(n) + ")"
                             : std::string()));
      }
      return Status::Ok();
    }
    case CompressionKind::kNone:
      break;
  }
  return Status::Corruption("unknown codec " +
                            std::to_string(static_cast<int>(kind)));
}

}  // namespace vcsnap
