// File: format/key_slot.h
//
// Key slots: how an encrypted repository's master key is stored. The master
// key (32 random bytes, made once by `vcsnap init`) never leaves the process
// unwrapped; each key slot object `keys/<16 hex>` holds it sealed with a key
// derived from one operator key file. Any slot opens the repository; adding
// a slot for a second key file does not re-encrypt any data. Byte layout in
// docs/format/encryption.md (envelope magic "VCKS", version 1).
//
// Key material: the bytes of a key file, trailing whitespace (newlines,
// spaces) removed so that an editor's newline does not change the key; at
// least 32 bytes (a key file is a random secret, not a passphrase: no slow
// KDF is applied) and at most 4096.
//
// Thread safety: pure functions.

#ifndef VCSNAP_FORMAT_KEY_SLOT_H_
#define VCSNAP_FORMAT_KEY_SLOT_H_

#include <string>
#include <string_view>

#include "format/crypto.h"
#include "util/bytes.h"
#include "util/result.h"

namespace vcsnap {

inline constexpr std::string_view kKeySlotPrefix = "keys/";
inline constexpr size_t kMinKeyMaterial = 32;
inline constexpr size_t kMaxKeyFileSize = 4096;

// A key file's contents -> key material; InvalidArgument (naming `source`)
// when too short or too long.
Result<Bytes> KeyMaterialFromFile(ByteView contents, std::string_view source);

// A new key file's contents: 32 random bytes as 64 hex digits and a newline.
std::string NewKeyFileContents();

// The slot object `name` of the repository `repo_id`, wrapping `master` for
// `material` (a fresh random salt each time).
Bytes EncodeKeySlot(std::string_view name, ByteView repo_id,
                    const Key256& master, ByteView material);

// The master key from slot `name`. Corruption for a damaged frame;
// InvalidArgument "... does not open key slot <name>" when `material` is not
// the slot's key (or the sealed key itself is damaged: GCM cannot tell).
Result<Key256> OpenKeySlot(std::string_view name, ByteView repo_id,
                           ByteView bytes, ByteView material);
// What OpenKeySlot checks without the key file: the frame, the body size
// and the kind (Corruption / NotSupported as there). For `check`, which
// holds no other slot's key file.
Status CheckKeySlotFrame(std::string_view name, ByteView bytes);

}  // namespace vcsnap

#endif  // VCSNAP_FORMAT_KEY_SLOT_H_
