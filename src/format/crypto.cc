#include "format/crypto.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace vcsnap {
namespace {

[[noreturn]] void Die(const char* what) {
  std::fprintf(stderr, "vcsnap: OpenSSL failed in %s\n", what);
  std::abort();
}

int IntLen(size_t n) {
  if (n > static_cast<size_t>(INT_MAX)) Die("a seal of over 2 GiB");
  return static_cast<int>(n);
}

const EVP_CIPHER* Aes256Gcm() {
  static EVP_CIPHER* cipher = EVP_CIPHER_fetch(nullptr, "AES-256-GCM", nullptr);
  if (cipher == nullptr) Die("EVP_CIPHER_fetch(AES-256-GCM)");
  return cipher;
}

struct CipherCtx {
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  ~CipherCtx() { EVP_CIPHER_CTX_free(ctx); }
};

EVP_CIPHER_CTX* ThreadCipher() {
  thread_local CipherCtx c;
  if (c.ctx == nullptr) Die("EVP_CIPHER_CTX_new");
  return c.ctx;
}

// One HMAC-SHA256 context per thread, keyed with the last key used: a chunk
// of the same repository then costs a re-init (the key's pads are kept).
struct MacCtx {
  EVP_MAC_CTX* ctx = nullptr;
  Key256 key{};
  bool keyed = false;
  MacCtx() {
    EVP_MAC* mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
    if (mac == nullptr) Die("EVP_MAC_fetch(HMAC)");
    ctx = EVP_MAC_CTX_new(mac);
    EVP_MAC_free(mac);
    if (ctx == nullptr) Die("EVP_MAC_CTX_new");
    char digest[] = "SHA256";
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
        OSSL_PARAM_construct_end()};
    if (EVP_MAC_CTX_set_params(ctx, params) != 1) Die("HMAC digest");
  }
  ~MacCtx() { EVP_MAC_CTX_free(ctx); }
};

}  // namespace

void RandomFill(std::span<uint8_t> out) {
  if (out.empty()) return;
  if (RAND_bytes(out.data(), IntLen(out.size())) != 1) Die("RAND_bytes");
}

Key256 DeriveKey(ByteView ikm, ByteView salt, std::string_view info) {
  EVP_KDF* kdf = EVP_KDF_fetch(nullptr, "HKDF", nullptr);
  if (kdf == nullptr) Die("EVP_KDF_fetch(HKDF)");
  EVP_KDF_CTX* ctx = EVP_KDF_CTX_new(kdf);
  EVP_KDF_free(kdf);
  if (ctx == nullptr) Die("EVP_KDF_CTX_new");
  char digest[] = "SHA256";
  // OSSL_PARAM wants non-const pointers; HKDF only reads them.
  auto* k = const_cast<uint8_t*>(ikm.data());
  auto* s = const_cast<uint8_t*>(salt.data());
  auto* i = const_cast<char*>(info.data());
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest, 0),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, k, ikm.size()),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, s, salt.size()),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, i, info.size()),
      OSSL_PARAM_construct_end()};
  Key256 out{};
  int rc = EVP_KDF_derive(ctx, out.data(), out.size(), params);
  EVP_KDF_CTX_free(ctx);
  if (rc != 1) Die("EVP_KDF_derive(HKDF)");
  return out;
}

void Seal(const Key256& key, ByteView aad, ByteView plain, uint8_t* out) {
  EVP_CIPHER_CTX* ctx = ThreadCipher();
  uint8_t* nonce = out;
  uint8_t* body = out + kNonceSize;
  uint8_t* tag = body + plain.size();
  RandomFill(std::span<uint8_t>(nonce, kNonceSize));
  int n = 0;
  if (EVP_EncryptInit_ex2(ctx, Aes256Gcm(), key.data(), nonce, nullptr) != 1 ||
      (!aad.empty() && EVP_EncryptUpdate(ctx, nullptr, &n, aad.data(),
                                         IntLen(aad.size())) != 1) ||
      (!plain.empty() && EVP_EncryptUpdate(ctx, body, &n, plain.data(),
                                           IntLen(plain.size())) != 1) ||
      EVP_EncryptFinal_ex(ctx, body + plain.size(), &n) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, kTagSize, tag) != 1) {
    Die("AES-256-GCM seal");
  }
}

Status Open(const Key256& key, ByteView aad, ByteView sealed, uint8_t* out,
            std::string_view what) {
  if (sealed.size() < kSealOverhead) {
    return Status::Corruption(std::string(what) +
                              ": sealed bytes shorter than nonce and tag");
  }
  EVP_CIPHER_CTX* ctx = ThreadCipher();
  const size_t len = sealed.size() - kSealOverhead;
  const uint8_t* body = sealed.data() + kNonceSize;
  uint8_t tag[kTagSize];
  std::memcpy(tag, body + len, kTagSize);
  int n = 0;
  if (EVP_DecryptInit_ex2(ctx, Aes256Gcm(), key.data(), sealed.data(),
                          nullptr) != 1 ||
      (!aad.empty() && EVP_DecryptUpdate(ctx, nullptr, &n, aad.data(),
                                         IntLen(aad.size())) != 1) ||
      (len > 0 && EVP_DecryptUpdate(ctx, out, &n, body, IntLen(len)) != 1) ||
      EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, kTagSize, tag) != 1) {
    Die("AES-256-GCM open");
  }
  if (EVP_DecryptFinal_ex(ctx, out + len, &n) != 1) {
    return Status::Corruption(
        std::string(what) +
        ": authentication failed (damaged, moved, or sealed with another key)");
  }
  return Status::Ok();
}

std::array<uint8_t, 32> KeyedFingerprint(const Key256& key, ByteView data) {
  thread_local MacCtx m;
  const bool same = m.keyed && m.key == key;
  if (EVP_MAC_init(m.ctx, same ? nullptr : key.data(), same ? 0 : key.size(),
                   nullptr) != 1) {
    Die("EVP_MAC_init(HMAC)");
  }
  m.key = key;
  m.keyed = true;
  std::array<uint8_t, 32> out{};
  size_t n = 0;
  if ((!data.empty() && EVP_MAC_update(m.ctx, data.data(), data.size()) != 1) ||
      EVP_MAC_final(m.ctx, out.data(), &n, out.size()) != 1 || n != 32) {
    Die("HMAC-SHA256");
  }
  return out;
}

void Wipe(Key256* key) { OPENSSL_cleanse(key->data(), key->size()); }

RepoKeys RepoKeys::FromMaster(const Key256& master, ByteView repo_id) {
  RepoKeys k;
  k.data = DeriveKey(master, repo_id, "vcsnap data v1");
  k.fingerprint = DeriveKey(master, repo_id, "vcsnap fingerprint v1");
  k.metadata = DeriveKey(master, repo_id, "vcsnap metadata v1");
  return k;
}

}  // namespace vcsnap
