#include "recipe/summary.h"

#include "format/envelope.h"
#include "recipe/names.h"
#include "recipe/recipe_walk.h"
#include "util/coding.h"

namespace vcsnap {
namespace {

constexpr uint16_t kVersion = 1;
const EnvelopeSpec kSumSpec{{'V', 'S', 'U', 'M'},
                            "snapshot summary",
                            1,
                            kVersion,
                            kMaxObjectSizeCeiling};
const EnvelopeSpec kCbfSpec{{'V', 'C', 'B', 'F'},
                            "counting filter",
                            1,
                            kVersion,
                            kMaxObjectSizeCeiling};

std::string CbfName(const std::string& vm) { return VmPrefix(vm) + "cbf"; }

}  // namespace

std::string SummaryName(const std::string& vm, uint32_t snapshot) {
  return VmPrefix(vm) + "summary/" + std::to_string(snapshot);
}

CountingBloom NewVmFilterCounts(BloomParams params) {
  return CountingBloom(params, kVmFilterFrame);
}

Result<std::optional<VmFilter>> LoadVmFilter(Backend& backend,
                                             const std::string& vm) {
  const std::string name = CbfName(vm);
  Result<Bytes> raw = backend.Get(name);
  if (!raw.ok()) {
    if (raw.status().IsNotFound()) return std::optional<VmFilter>();
    return raw.status();
  }
  VCSNAP_ASSIGN_OR_RETURN(DecodedEnvelope env,
                          DecodeEnvelope(kCbfSpec, name, *raw));
  ByteReader r(env.body, name);
  VmFilter f;
  VCSNAP_ASSIGN_OR_RETURN(f.snapshot, r.U32("snapshot"));
  // The counters stay where they were read: no copy of megabytes.
  Result<CountingBloom> cb =
      CountingBloom::DecodeInFrame(std::move(*raw), kVmFilterFrame);
  if (!cb.ok()) return cb.status().WithContext(name);
  f.filter = std::move(*cb);
  return std::optional<VmFilter>(std::move(f));
}

Status SaveVmFilter(Backend& backend, const std::string& vm, VmFilter* f) {
  const std::string name = CbfName(vm);
  const CountingBloom::Frame frame = f->filter.frame();
  if (frame.before != kVmFilterFrame.before ||
      frame.after != kVmFilterFrame.after) {
    return backend.Put(name, EncodeEnvelopeWith(kCbfSpec, kVersion, name,
                                                4 + f->filter.EncodedSize(),
                                                [&](ByteWriter& w) {
                                                  w.U32(f->snapshot);
                                                  f->filter.EncodeTo(w);
                                                }));
  }
  std::span<uint8_t> object = f->filter.EncodeInFrame();
  EncodeFixed32(object.data() + kEnvelopeHeaderSize, f->snapshot);
  SealEnvelope(kCbfSpec, kVersion, name, object);
  return backend.Put(name, object);
}

Status SaveSummary(Backend& backend, const std::string& vm, uint32_t snapshot,
                   const BloomBits& bits) {
  const std::string name = SummaryName(vm, snapshot);
  return backend.Put(
      name, EncodeEnvelopeWith(kSumSpec, kVersion, name, bits.EncodedSize(),
                               [&](ByteWriter& w) { bits.EncodeTo(w); }));
}

Status SaveSummary(Backend& backend, const std::string& vm, uint32_t snapshot,
                   const CountingBloom& counts) {
  const std::string name = SummaryName(vm, snapshot);
  return backend.Put(
      name,
      EncodeEnvelopeWith(kSumSpec, kVersion, name, counts.EncodedBitsSize(),
                         [&](ByteWriter& w) { counts.EncodeBitsTo(w); }));
}

Status WithSummary(Backend& backend, const std::string& vm, uint32_t snapshot,
                   const std::function<void(const BloomView&)>& f,
                   Bytes* scratch) {
  const std::string name = SummaryName(vm, snapshot);
  Bytes own;
  Bytes& raw = scratch != nullptr ? *scratch : own;
  Status got = backend.GetInto(name, &raw);
  if (!got.ok()) {
    if (!got.IsNotFound()) return got;
    f(BloomView::ContainsEverything());
    return Status::Ok();
  }
  VCSNAP_ASSIGN_OR_RETURN(DecodedEnvelope env,
                          DecodeEnvelope(kSumSpec, name, raw));
  Result<BloomView> view = BloomView::Parse(env.body);
  if (!view.ok()) return view.status().WithContext(name);
  f(*view);
  return Status::Ok();
}

Status ForEachVmRef(RecipeReader& reader, const SnapshotRecipe& snapshot,
                    const std::function<void(uint64_t)>& f) {
  std::vector<RecipeUse> uses;
  AddRecipeUses(snapshot, &uses);
  return WalkRecipes(reader, std::move(uses),
                     [&](const RecipeUse&,
                         Result<std::vector<RecipeEntry>> entries) -> Status {
                       if (!entries.ok()) return entries.status();
                       for (const RecipeEntry& e : *entries) {
                         if (e.kind == ChunkKind::kVm) f(e.vm_ref);
                       }
                       return Status::Ok();
                     });
}

Result<CountingBloom> BuildFilter(RecipeReader& reader,
                                  const SnapshotRecipe& snapshot) {
  std::vector<uint64_t> refs;
  VCSNAP_RETURN_IF_ERROR(
      ForEachVmRef(reader, snapshot, [&](uint64_t r) { refs.push_back(r); }));
  // Twice the room needed now, so that growth does not force a rebuild soon.
  CountingBloom f =
      NewVmFilterCounts(BloomParams::ForKeys(2 * refs.size() + 1024));
  for (uint64_t r : refs) f.Add(r);
  return f;
}

}  // namespace vcsnap
