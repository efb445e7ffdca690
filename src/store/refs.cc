#include "store/refs.h"

#include <cstdio>

#include "util/coding.h"

namespace vcsnap {

Result<ChunkRef> ChunkRef::FromRaw(uint64_t raw) {
  ChunkRef ref{static_cast<uint16_t>(raw >> 48), raw & kMaxCid};
  if (ref.container == kPdsRefTag) {
    return Status::Corruption("chunk reference " + std::to_string(raw) +
                              " carries the PDS tag, not a VM container");
  }
  if (ref.container == 0) {
    return Status::Corruption("chunk reference " + std::to_string(raw) +
                              " names reserved container 0");
  }
  return ref;
}

std::string ChunkRef::ToString() const {
  char buf[48];
  std::snprintf(buf, sizeof(buf), "c%04x:%llu", container,
                static_cast<unsigned long long>(cid));
  return buf;
}

std::string PdsRef::ToString() const {
  return "pds g" + std::to_string(generation) + "+" + std::to_string(offset) +
         ":" + std::to_string(size);
}

void AppendChunkRef(ChunkRef ref, Bytes* out) {
  ByteWriter(out).U64(ref.raw());
}

Result<ChunkRef> DecodeChunkRef(ByteView in) {
  if (in.size() < kChunkRefSize) {
    return Status::Corruption("chunk reference: " + std::to_string(in.size()) +
                              " bytes, need 8");
  }
  return ChunkRef::FromRaw(DecodeFixed64(in.data()));
}

void AppendPdsRef(const PdsRef& ref, Bytes* out) {
  ByteWriter w(out);
  w.U64((uint64_t{kPdsRefTag} << 48) | (ref.offset & kMaxPdsOffset));
  w.U64(uint64_t{ref.generation} | (uint64_t{ref.size} << 32));
}

Result<PdsRef> DecodePdsRef(ByteView in) {
  if (in.size() != kPdsRefSize) {
    return Status::Corruption("PDS reference: " + std::to_string(in.size()) +
                              " bytes, need 16");
  }
  uint64_t w0 = DecodeFixed64(in.data());
  uint64_t w1 = DecodeFixed64(in.data() + 8);
  if ((w0 >> 48) != kPdsRefTag) {
    return Status::Corruption(
        "PDS reference: missing PDS tag (a VM reference?)");
  }
  PdsRef ref{static_cast<uint32_t>(w1), w0 & kMaxPdsOffset,
             static_cast<uint32_t>(w1 >> 32)};
  if (ref.generation == 0) {
    return Status::Corruption("PDS reference: generation 0 is reserved");
  }
  return ref;
}

}  // namespace vcsnap
