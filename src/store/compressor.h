// File: store/compressor.h
//
// Block compression for chunk groups: none, LZ4 (fast mode) or zstd at a
// level. Compress() reports whether compression helped; callers store the raw
// bytes when it did not (compressed size >= input size). Decompress() writes
// exactly `raw_len` bytes into caller memory and fails with Corruption when
// the stored bytes do not decode to exactly that many -- the caller has
// checked raw_len against its own limit before allocating.
//
// zstd contexts are kept per thread (thread_local), so these functions are
// thread-safe and allocation-free after a thread's first call.

#ifndef VCSNAP_STORE_COMPRESSOR_H_
#define VCSNAP_STORE_COMPRESSOR_H_

#include <cstdint>

#include "format/repo_config.h"
#include "util/bytes.h"
#include "util/status.h"

namespace vcsnap {

// Compresses `in` with `kind` (level used by zstd only) into `out`, which is
// resized to the compressed length. Returns false (and leaves `out`
// unspecified) when the result would not be smaller than `in`, or for kNone.
bool Compress(CompressionKind kind, int level, ByteView in, Bytes* out);

// The largest output CompressInto may write for `in_size` input bytes.
size_t CompressBound(CompressionKind kind, size_t in_size);

// Compresses `in` into out[0, capacity), capacity >= CompressBound(kind,
// in.size()). Returns the compressed length, or 0 when the result would not
// be smaller than `in` (or for kNone); out[] is then unspecified.
size_t CompressInto(CompressionKind kind, int level, ByteView in, uint8_t* out,
                    size_t capacity);

// Decodes `in` (compressed with `kind`, not kNone) into out[0, raw_len).
// Corruption ("<codec>: ...") when it does not decode to exactly raw_len
// bytes; the message carries no location -- callers add theirs.
Status Decompress(CompressionKind kind, ByteView in, uint8_t* out,
                  size_t raw_len);

}  // namespace vcsnap

#endif  // VCSNAP_STORE_COMPRESSOR_H_
