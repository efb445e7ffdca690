#include "store/compressor.h"

#include <lz4.h>
#include <zstd.h>

#include <algorithm>
#include <cstdint>
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

size_t CompressBound(CompressionKind kind, size_t in_size) {
  switch (kind) {
    case CompressionKind::kNone:
      return 0;
    case CompressionKind::kLz4:
      return in_size > static_cast<size_t>(LZ4_MAX_INPUT_SIZE)
                 ? 0
                 : static_cast<size_t>(
                       LZ4_compressBound(static_cast<int>(in_size)));
    case CompressionKind::kZstd:
      return ZSTD_compressBound(in_size);
  }
  return 0;
}

size_t CompressInto(CompressionKind kind, int level, ByteView in, uint8_t* out,
                    size_t capacity) {
  if (in.empty()) return 0;
  switch (kind) {
    case CompressionKind::kNone:
      return 0;
    case CompressionKind::kLz4: {
      if (in.size() > static_cast<size_t>(LZ4_MAX_INPUT_SIZE)) return 0;
      const int cap = static_cast<int>(
          std::min<size_t>(capacity, static_cast<size_t>(INT32_MAX)));
      int n = LZ4_compress_default(reinterpret_cast<const char*>(in.data()),
                                   reinterpret_cast<char*>(out),
                                   static_cast<int>(in.size()), cap);
      if (n <= 0 || static_cast<size_t>(n) >= in.size()) return 0;
      return static_cast<size_t>(n);
    }
    case CompressionKind::kZstd: {
      ZSTD_CCtx* cctx = ThreadCCtx();
      if (cctx == nullptr) return 0;
      size_t n =
          ZSTD_compressCCtx(cctx, out, capacity, in.data(), in.size(), level);
      if (ZSTD_isError(n) || n >= in.size()) return 0;
      return n;
    }
  }
  return 0;
}

bool Compress(CompressionKind kind, int level, ByteView in, Bytes* out) {
  const size_t bound = CompressBound(kind, in.size());
  if (in.empty() || bound == 0) return false;
  out->resize(bound);
  const size_t n = CompressInto(kind, level, in, out->data(), out->size());
  if (n == 0) return false;
  out->resize(n);
  return true;
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
