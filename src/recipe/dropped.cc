#include "recipe/dropped.h"

#include "format/envelope.h"
#include "recipe/names.h"
#include "util/coding.h"

namespace vcsnap {
namespace {

constexpr uint16_t kVersion = 1;
const EnvelopeSpec kDropSpec{
    {'V', 'D', 'R', 'P'}, "dropped list", 1, kVersion, kMaxObjectSizeCeiling};

}  // namespace

std::string DroppedName(const std::string& vm, uint32_t snapshot) {
  return VmPrefix(vm) + "dropped/" + std::to_string(snapshot);
}

Bytes EncodeDropped(const DroppedList& list, const std::string& name) {
  Bytes body;
  ByteWriter w(&body);
  w.U32(list.parent);
  w.U64(list.refs.size());
  for (uint64_t r : list.refs) w.U64(r);
  return EncodeEnvelope(kDropSpec, kVersion, name, body);
}

Result<DroppedList> DecodeDropped(ByteView bytes, const std::string& name) {
  VCSNAP_ASSIGN_OR_RETURN(DecodedEnvelope env,
                          DecodeEnvelope(kDropSpec, name, bytes));
  ByteReader r(env.body, name);
  DroppedList list;
  VCSNAP_ASSIGN_OR_RETURN(list.parent, r.U32("parent"));
  VCSNAP_ASSIGN_OR_RETURN(uint64_t count, r.U64("count"));
  // The count must describe exactly the rest of the body: never trust it for
  // an allocation before that.
  if (count != r.remaining() / 8 || r.remaining() % 8 != 0) {
    return Status::Corruption(name + ": dropped list says " +
                              std::to_string(count) + " references but has " +
                              std::to_string(r.remaining()) +
                              " bytes for them");
  }
  list.refs.reserve(count);
  for (uint64_t i = 0; i < count; ++i) {
    VCSNAP_ASSIGN_OR_RETURN(uint64_t ref, r.U64("reference"));
    if (!list.refs.empty() && ref <= list.refs.back()) {
      return Status::Corruption(name + ": dropped list reference " +
                                std::to_string(i) + " is out of order");
    }
    list.refs.push_back(ref);
  }
  return list;
}

Status SaveDropped(Backend& backend, const std::string& vm, uint32_t snapshot,
                   const DroppedList& list) {
  const std::string name = DroppedName(vm, snapshot);
  return backend.Put(name, EncodeDropped(list, name));
}

Result<DroppedList> LoadDropped(Backend& backend, const std::string& vm,
                                uint32_t snapshot) {
  const std::string name = DroppedName(vm, snapshot);
  VCSNAP_ASSIGN_OR_RETURN(Bytes raw, backend.Get(name));
  return DecodeDropped(raw, name);
}

}  // namespace vcsnap
