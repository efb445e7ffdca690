#include "recipe/snapshot_recipe.h"

#include <string>

#include "backend/backend.h"
#include "format/envelope.h"
#include "recipe/names.h"
#include "util/coding.h"
#include "util/units.h"

namespace vcsnap {
namespace {

constexpr uint16_t kVersion = 1;
constexpr size_t kFixed = 4 + 4 + 8 + 8 + 4 + 4 + 10 * 8 + 8;
constexpr size_t kSlot = 1 + 8 + 16;
const EnvelopeSpec kSpec{{'V', 'S', 'N', 'P'},
                         "snapshot recipe",
                         1,
                         kVersion,
                         kMaxObjectSizeCeiling};

void PutStats(ByteWriter& w, const BackupStats& s) {
  for (uint64_t v :
       {s.logical, s.level1, s.level2, s.level3, s.zero, s.new_bytes,
        s.stored_bytes, s.chunks_new, s.chunks_level2, s.chunks_level3}) {
    w.U64(v);
  }
}

Status GetStats(ByteReader& r, BackupStats* s) {
  for (uint64_t* v : {&s->logical, &s->level1, &s->level2, &s->level3, &s->zero,
                      &s->new_bytes, &s->stored_bytes, &s->chunks_new,
                      &s->chunks_level2, &s->chunks_level3}) {
    VCSNAP_ASSIGN_OR_RETURN(*v, r.U64("statistics"));
  }
  return Status::Ok();
}

}  // namespace

Bytes EncodeSnapshotRecipe(const SnapshotRecipe& s, std::string_view identity) {
  Bytes body;
  body.reserve(kFixed + kSlot * s.segments.size());
  ByteWriter w(&body);
  w.U32(s.id);
  w.U32(s.parent);
  w.U64(s.time_unix);
  w.U64(s.image_size);
  w.U32(s.segment_size);
  w.U32(s.pds_generation);
  PutStats(w, s.stats);
  w.U64(s.segments.size());
  for (const SegmentSlot& slot : s.segments) {
    w.U8(slot.zero ? 0 : 1);
    w.U64(slot.zero ? 0 : slot.signature);
    w.U32(slot.zero ? 0 : slot.ref.snapshot_id);
    w.U32(slot.zero ? 0 : slot.ref.pack);
    w.U32(slot.zero ? 0 : slot.ref.offset);
    w.U32(slot.zero ? 0 : slot.ref.length);
  }
  return EncodeEnvelope(kSpec, kVersion, identity, body);
}

Result<SnapshotRecipe> DecodeSnapshotRecipe(ByteView bytes,
                                            std::string_view identity) {
  VCSNAP_ASSIGN_OR_RETURN(DecodedEnvelope env,
                          DecodeEnvelope(kSpec, identity, bytes));
  const std::string where = "snapshot recipe " + std::string(identity);
  ByteReader r(env.body, where);
  SnapshotRecipe s;
  VCSNAP_ASSIGN_OR_RETURN(s.id, r.U32("id"));
  VCSNAP_ASSIGN_OR_RETURN(s.parent, r.U32("parent"));
  VCSNAP_ASSIGN_OR_RETURN(s.time_unix, r.U64("time"));
  VCSNAP_ASSIGN_OR_RETURN(s.image_size, r.U64("image size"));
  VCSNAP_ASSIGN_OR_RETURN(s.segment_size, r.U32("segment size"));
  VCSNAP_ASSIGN_OR_RETURN(s.pds_generation, r.U32("pds generation"));
  VCSNAP_RETURN_IF_ERROR(GetStats(r, &s.stats));
  VCSNAP_ASSIGN_OR_RETURN(uint64_t count, r.U64("segment count"));
  if (!IsPowerOfTwo(s.segment_size)) {
    return Status::Corruption(where + ": segment size " +
                              std::to_string(s.segment_size) +
                              " is not a power of two");
  }
  const uint64_t expected =
      (s.image_size + s.segment_size - 1) / s.segment_size;
  if (count != expected || count > r.remaining() / kSlot ||
      r.remaining() != count * kSlot) {
    return Status::Corruption(
        where + ": " + std::to_string(count) +
        " segments do not match an image of " + std::to_string(s.image_size) +
        " bytes and " + std::to_string(r.remaining()) + " bytes of slots");
  }
  s.segments.resize(count);
  for (SegmentSlot& slot : s.segments) {
    VCSNAP_ASSIGN_OR_RETURN(uint8_t kind, r.U8("slot kind"));
    if (kind > 1) {
      return Status::Corruption(where + ": unknown slot kind " +
                                std::to_string(kind));
    }
    slot.zero = kind == 0;
    VCSNAP_ASSIGN_OR_RETURN(slot.signature, r.U64("signature"));
    VCSNAP_ASSIGN_OR_RETURN(slot.ref.snapshot_id, r.U32("recipe snapshot"));
    VCSNAP_ASSIGN_OR_RETURN(slot.ref.pack, r.U32("recipe pack"));
    VCSNAP_ASSIGN_OR_RETURN(slot.ref.offset, r.U32("recipe offset"));
    VCSNAP_ASSIGN_OR_RETURN(slot.ref.length, r.U32("recipe length"));
  }
  return s;
}

Result<SnapshotRecipe> LoadSnapshotRecipe(Backend& backend,
                                          const std::string& vm, uint32_t id) {
  const std::string name = SnapshotRecipeName(vm, id);
  const std::string where = "VM " + vm + " snapshot " + std::to_string(id);
  Result<Bytes> raw = backend.Get(name);
  if (!raw.ok()) return raw.status().WithContext(where);
  Result<SnapshotRecipe> r = DecodeSnapshotRecipe(*raw, name);
  if (!r.ok()) return r.status().WithContext(where);
  if (r->id != id) {
    return Status::Corruption(where + ": " + name + " holds snapshot " +
                              std::to_string(r->id));
  }
  return r;
}

}  // namespace vcsnap
