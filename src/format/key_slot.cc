#include "format/key_slot.h"

#include <cstdio>

#include "format/envelope.h"
#include "util/coding.h"

namespace vcsnap {
namespace {

constexpr uint16_t kSlotVersion = 1;
constexpr uint8_t kSlotKindKeyFile = 1;  // DO NOT CHANGE: stored
constexpr size_t kSaltSize = 32;
constexpr size_t kSlotBodySize = 1 + kSaltSize + kKeySize + kSealOverhead;

const EnvelopeSpec kSlotSpec{
    {'V', 'C', 'K', 'S'}, "key slot", 1, kSlotVersion, 1024};

// Binds a sealed master key to its repository and slot name.
Bytes SlotAad(std::string_view name, ByteView repo_id) {
  Bytes aad;
  ByteWriter w(&aad);
  w.Raw(std::string_view("vcsnap key slot v1\n"));
  w.Raw(repo_id);
  w.Raw(name);
  return aad;
}

Key256 WrappingKey(ByteView material, ByteView salt) {
  return DeriveKey(material, salt, "vcsnap key file v1");
}

}  // namespace

Result<Bytes> KeyMaterialFromFile(ByteView contents, std::string_view source) {
  if (contents.size() > kMaxKeyFileSize) {
    return Status::InvalidArgument(
        std::string(source) + " is " + std::to_string(contents.size()) +
        " bytes; a key file has at most " + std::to_string(kMaxKeyFileSize));
  }
  size_t n = contents.size();
  while (n > 0 && (contents[n - 1] == '\n' || contents[n - 1] == '\r' ||
                   contents[n - 1] == ' ' || contents[n - 1] == '\t')) {
    --n;
  }
  if (n < kMinKeyMaterial) {
    return Status::InvalidArgument(
        std::string(source) + " holds " + std::to_string(n) +
        " bytes of key; a key file needs at least " +
        std::to_string(kMinKeyMaterial) +
        " (random bytes; `vcsnap init --key-file NEW` writes one)");
  }
  return Bytes(contents.begin(), contents.begin() + n);
}

std::string NewKeyFileContents() {
  Key256 k;
  RandomFill(k);
  std::string out;
  char buf[3];
  for (uint8_t b : k) {
    std::snprintf(buf, sizeof(buf), "%02x", b);
    out += buf;
  }
  return out + "\n";
}

Bytes EncodeKeySlot(std::string_view name, ByteView repo_id,
                    const Key256& master, ByteView material) {
  uint8_t salt[kSaltSize];
  RandomFill(salt);
  Bytes body;
  ByteWriter w(&body);
  w.U8(kSlotKindKeyFile);
  w.Raw(ByteView(salt, kSaltSize));
  w.Raw(Seal(WrappingKey(material, ByteView(salt, kSaltSize)),
             SlotAad(name, repo_id), master));
  return EncodeEnvelope(kSlotSpec, kSlotVersion, name, body);
}

namespace {

// The slot's envelope, with its body size and kind checked.
Result<DecodedEnvelope> FramedSlotBody(std::string_view name, ByteView bytes) {
  VCSNAP_ASSIGN_OR_RETURN(DecodedEnvelope env,
                          DecodeEnvelope(kSlotSpec, name, bytes));
  if (env.body.size() != kSlotBodySize) {
    return Status::Corruption(std::string(name) + ": key slot body is " +
                              std::to_string(env.body.size()) +
                              " bytes, expected " +
                              std::to_string(kSlotBodySize));
  }
  if (env.body[0] != kSlotKindKeyFile) {
    return Status::NotSupported(std::string(name) + ": key slot kind " +
                                std::to_string(env.body[0]) +
                                " (this vcsnap knows 1, key file)");
  }
  return env;
}

}  // namespace

Status CheckKeySlotFrame(std::string_view name, ByteView bytes) {
  return FramedSlotBody(name, bytes).status();
}

Result<Key256> OpenKeySlot(std::string_view name, ByteView repo_id,
                           ByteView bytes, ByteView material) {
  VCSNAP_ASSIGN_OR_RETURN(DecodedEnvelope env, FramedSlotBody(name, bytes));
  ByteView salt = env.body.subspan(1, kSaltSize);
  Key256 master{};
  Status s = Open(WrappingKey(material, salt), SlotAad(name, repo_id),
                  env.body.subspan(1 + kSaltSize), master.data(), name);
  if (!s.ok()) {
    return Status::InvalidArgument("the key does not open key slot " +
                                   std::string(name));
  }
  return master;
}

}  // namespace vcsnap
