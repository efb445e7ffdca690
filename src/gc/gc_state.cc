#include "gc/gc_state.h"

#include <nlohmann/json.hpp>

#include "format/envelope.h"
#include "recipe/names.h"

namespace vcsnap {
namespace {

const EnvelopeSpec kSpec{{'V', 'G', 'C', 'S'}, "gc state", 1, 1, 4096};
std::string Name(const std::string& vm) { return VmPrefix(vm) + "gcstate"; }

}  // namespace

Result<GcState> LoadGcState(Backend& backend, const std::string& vm) {
  const std::string name = Name(vm);
  Result<Bytes> raw = backend.Get(name);
  if (!raw.ok()) {
    if (raw.status().IsNotFound()) return GcState{};
    return raw.status();
  }
  VCSNAP_ASSIGN_OR_RETURN(DecodedEnvelope env,
                          DecodeEnvelope(kSpec, name, *raw));
  nlohmann::json j = nlohmann::json::parse(AsChars(env.body), nullptr, false);
  if (!j.is_object()) return Status::Corruption(name + ": not a JSON object");
  GcState s;
  s.approx_deletes = j.value("approx_deletes", uint64_t{0});
  s.last_fp_rate = j.value("last_fp_rate", 0.0);
  s.chunks_deleted = j.value("chunks_deleted", uint64_t{0});
  s.last_repair_unix = j.value("last_repair_unix", uint64_t{0});
  s.last_repair_leaked = j.value("last_repair_leaked", uint64_t{0});
  return s;
}

Result<GcState> LoadGcStateOrFresh(Backend& backend, const std::string& vm,
                                   std::string* note) {
  note->clear();
  Result<GcState> s = LoadGcState(backend, vm);
  if (s.ok() || !s.status().IsUnreadable()) {
    return s;
  }
  *note = "the gc state is unreadable (" + s.status().message() +
          "): started afresh, so the leak estimate restarts from zero; `vcsnap "
          "gc --vm " +
          vm + "` measures the real leak";
  return GcState{};
}

Status SaveGcState(Backend& backend, const std::string& vm, const GcState& s) {
  nlohmann::json j = {{"approx_deletes", s.approx_deletes},
                      {"last_fp_rate", s.last_fp_rate},
                      {"chunks_deleted", s.chunks_deleted},
                      {"last_repair_unix", s.last_repair_unix},
                      {"last_repair_leaked", s.last_repair_leaked}};
  const std::string name = Name(vm);
  std::string body = j.dump();
  return backend.Put(name, EncodeEnvelope(kSpec, 1, name, AsBytes(body)));
}

}  // namespace vcsnap
