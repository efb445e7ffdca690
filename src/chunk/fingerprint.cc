// File: chunk/fingerprint.cc

#include "chunk/fingerprint.h"

#include <openssl/evp.h>

#include <cstdio>
#include <cstdlib>

namespace vcsnap {
namespace {

[[noreturn]] void Die(const char* what) {
  std::fprintf(stderr, "vcsnap: fatal: OpenSSL %s failed\n", what);
  std::abort();
}

// Fetched once: with OpenSSL 3, EVP_sha256() makes every DigestInit look the
// implementation up again ("implicit fetch"); an explicitly fetched EVP_MD
// skips that.
const EVP_MD* FetchedSha256() {
  static const EVP_MD* md = [] {
    EVP_MD* m = EVP_MD_fetch(nullptr, "SHA256", nullptr);
    if (m == nullptr) Die("EVP_MD_fetch(SHA256)");
    return m;
  }();
  return md;
}

struct CtxHolder {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  ~CtxHolder() { EVP_MD_CTX_free(ctx); }
};

}  // namespace

Fingerprint Sha256(ByteView data) {
  thread_local CtxHolder holder;
  EVP_MD_CTX* ctx = holder.ctx;
  if (ctx == nullptr) Die("EVP_MD_CTX_new");
  Fingerprint fp;
  unsigned int len = 0;
  if (EVP_DigestInit_ex2(ctx, FetchedSha256(), nullptr) != 1 ||
      EVP_DigestUpdate(ctx, data.data(), data.size()) != 1 ||
      EVP_DigestFinal_ex(ctx, fp.data(), &len) != 1 || len != fp.size()) {
    Die("SHA-256 digest");
  }
  return fp;
}

Fingerprint Sha256OneShot(ByteView data) {
  Fingerprint fp;
  unsigned int len = 0;
  if (EVP_Digest(data.data(), data.size(), fp.data(), &len, EVP_sha256(),
                 nullptr) != 1 ||
      len != fp.size()) {
    Die("EVP_Digest(SHA-256)");
  }
  return fp;
}

std::string ToHex(const Fingerprint& fp) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(fp.size() * 2, '0');
  for (size_t i = 0; i < fp.size(); ++i) {
    out[2 * i] = kDigits[fp[i] >> 4];
    out[2 * i + 1] = kDigits[fp[i] & 15];
  }
  return out;
}

Result<Fingerprint> FingerprintFromHex(std::string_view hex) {
  if (hex.size() != 64) {
    return Status::InvalidArgument("fingerprint: want 64 hex digits, got " +
                                   std::to_string(hex.size()) + " characters");
  }
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  Fingerprint fp;
  for (size_t i = 0; i < fp.size(); ++i) {
    const int hi = nibble(hex[2 * i]), lo = nibble(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) {
      return Status::InvalidArgument(
          "fingerprint: not a hex digit at " +
          std::to_string(hi < 0 ? 2 * i : 2 * i + 1));
    }
    fp[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  return fp;
}

}  // namespace vcsnap
