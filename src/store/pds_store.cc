#include "store/pds_store.h"

#include <cstdio>

#include "format/envelope.h"
#include "store/group.h"
#include "util/checksum.h"
#include "util/coding.h"

namespace vcsnap {
namespace {

constexpr EnvelopeSpec kManifestSpec{
    {'V', 'C', 'S', 'P'}, "PDS manifest", 1, 1, 256};

// Associated data of a sealed PDS record: where it lives.
Bytes RecordAad(std::string_view block, uint64_t offset) {
  Bytes aad;
  ByteWriter w(&aad);
  w.Raw(block);
  w.U64(offset);
  return aad;
}

std::string GenPrefixPds(uint32_t gen) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "pds/g%08x/", gen);
  return buf;
}

Bytes EncodeManifest(const PdsGenerationInfo& m) {
  Bytes body;
  ByteWriter w(&body);
  w.U32(m.generation);
  w.U32(m.blocks);
  w.U64(m.block_size);
  w.U64(m.end_offset);
  w.U64(m.chunks);
  w.U64(m.chunk_bytes);
  return EncodeEnvelope(kManifestSpec, 1, PdsManifestName(m.generation), body);
}

Result<PdsGenerationInfo> DecodeManifest(ByteView bytes, uint32_t gen) {
  const std::string name = PdsManifestName(gen);
  VCSNAP_ASSIGN_OR_RETURN(DecodedEnvelope env,
                          DecodeEnvelope(kManifestSpec, name, bytes));
  ByteReader r(env.body, "PDS manifest " + name);
  PdsGenerationInfo m;
  VCSNAP_ASSIGN_OR_RETURN(m.generation, r.U32("generation"));
  VCSNAP_ASSIGN_OR_RETURN(m.blocks, r.U32("blocks"));
  VCSNAP_ASSIGN_OR_RETURN(m.block_size, r.U64("block size"));
  VCSNAP_ASSIGN_OR_RETURN(m.end_offset, r.U64("end offset"));
  VCSNAP_ASSIGN_OR_RETURN(m.chunks, r.U64("chunks"));
  VCSNAP_ASSIGN_OR_RETURN(m.chunk_bytes, r.U64("chunk bytes"));
  if (m.generation != gen || m.block_size == 0 ||
      m.block_size > kMaxObjectSizeCeiling || !r.done() ||
      m.end_offset > uint64_t{m.blocks} * m.block_size) {
    return Status::Corruption("PDS manifest " + name + ": inconsistent fields");
  }
  return m;
}

}  // namespace

std::string PdsBlockName(uint32_t gen, uint32_t block) {
  char buf[16];
  std::snprintf(buf, sizeof(buf), "b%06x", block);
  return GenPrefixPds(gen) + buf;
}
std::string PdsManifestName(uint32_t gen) {
  return GenPrefixPds(gen) + "manifest";
}

PdsStore::Writer::Writer(PdsStore* store, uint32_t gen, uint64_t block_size)
    : store_(store) {
  info_.generation = gen;
  info_.block_size = block_size;
}

Result<PdsRef> PdsStore::Writer::Append(ByteView chunk) {
  if (sealed_) return Status::InvalidArgument("PDS generation already sealed");
  const uint64_t need = store_->RecordSize(chunk.size());
  if (need > info_.block_size || chunk.size() > UINT32_MAX) {
    return Status::InvalidArgument("PDS chunk of " +
                                   std::to_string(chunk.size()) +
                                   " bytes does not fit a block");
  }
  if (info_.blocks == 0 || in_block_ + need > info_.block_size) {
    if (info_.blocks > 0) {
      VCSNAP_RETURN_IF_ERROR(store_->backend_->Sync(
          PdsBlockName(info_.generation, info_.blocks - 1)));
    }
    ++info_.blocks;
    in_block_ = 0;
  }
  const uint32_t block = info_.blocks - 1;
  const std::string name = PdsBlockName(info_.generation, block);
  Bytes rec;
  if (store_->keys_ == nullptr) {
    rec.assign(chunk.begin(), chunk.end());
  } else {
    rec = vcsnap::Seal(store_->keys_->data, RecordAad(name, in_block_), chunk);
  }
  ByteWriter(&rec).U64(Checksum64(rec, GroupSeed(name, in_block_)));
  VCSNAP_RETURN_IF_ERROR(store_->backend_->Append(name, rec));
  const uint64_t offset = uint64_t{block} * info_.block_size + in_block_;
  if (offset > kMaxPdsOffset) return Status::InvalidArgument("PDS too large");
  in_block_ += need;
  info_.end_offset = offset + need;
  ++info_.chunks;
  info_.chunk_bytes += chunk.size();
  return PdsRef{info_.generation, offset, static_cast<uint32_t>(chunk.size())};
}

Status PdsStore::Writer::Seal() {
  if (sealed_) return Status::Ok();
  if (info_.blocks > 0) {
    VCSNAP_RETURN_IF_ERROR(store_->backend_->Sync(
        PdsBlockName(info_.generation, info_.blocks - 1)));
  }
  VCSNAP_RETURN_IF_ERROR(store_->backend_->Create(
      PdsManifestName(info_.generation), EncodeManifest(info_)));
  sealed_ = true;
  return Status::Ok();
}

Result<std::unique_ptr<PdsStore::Writer>> PdsStore::BeginGeneration(
    uint32_t generation) {
  if (generation == 0) {
    return Status::InvalidArgument("PDS generation 0 is reserved");
  }
  Result<ObjectInfo> m = backend_->Stat(PdsManifestName(generation));
  if (m.ok()) {
    return Status::AlreadyExists("PDS generation " +
                                 std::to_string(generation) + " is published");
  }
  if (!m.status().IsNotFound()) return m.status();
  VCSNAP_ASSIGN_OR_RETURN(std::vector<ObjectInfo> debris,
                          backend_->List(GenPrefixPds(generation)));
  for (const ObjectInfo& o : debris) {
    Status s = backend_->Delete(o.name);
    if (!s.ok() && !s.IsNotFound()) return s;
  }
  return std::unique_ptr<Writer>(
      new Writer(this, generation, backend_->max_object_size()));
}

Result<PdsGenerationInfo> PdsStore::Manifest(uint32_t generation) {
  {
    std::lock_guard lock(mu_);
    auto it = manifests_.find(generation);
    if (it != manifests_.end()) return it->second;
  }
  Result<Bytes> bytes = backend_->Get(PdsManifestName(generation));
  if (!bytes.ok()) {
    if (bytes.status().IsNotFound()) {
      return Status::NotFound("PDS generation " + std::to_string(generation) +
                              " is not published");
    }
    return bytes.status();
  }
  VCSNAP_ASSIGN_OR_RETURN(PdsGenerationInfo m,
                          DecodeManifest(*bytes, generation));
  std::lock_guard lock(mu_);
  manifests_[generation] = m;
  return m;
}

Result<Bytes> PdsStore::Get(const PdsRef& ref) {
  if (!ref.valid()) {
    return Status::InvalidArgument("invalid PDS reference " + ref.ToString());
  }
  const std::pair<uint32_t, uint64_t> key{ref.generation, ref.offset};
  {
    std::lock_guard lock(mu_);
    const Bytes* hit = cache_.Find(key);
    if (hit != nullptr && hit->size() == ref.size) return *hit;
  }
  VCSNAP_ASSIGN_OR_RETURN(PdsGenerationInfo m, Manifest(ref.generation));
  const uint64_t block = ref.offset / m.block_size;
  const uint64_t in = ref.offset % m.block_size;
  const uint64_t need = RecordSize(ref.size);
  if (need > m.block_size - in || ref.offset + need > m.end_offset) {
    return Status::Corruption(ref.ToString() +
                              ": reference outside the generation");
  }
  const std::string name =
      PdsBlockName(ref.generation, static_cast<uint32_t>(block));
  VCSNAP_ASSIGN_OR_RETURN(Bytes rec, backend_->Read(name, in, need));
  const std::string where =
      ref.ToString() + " (" + name + " offset " + std::to_string(in) + ")";
  if (rec.size() != need) {
    return Status::Corruption(where + ": truncated record");
  }
  const size_t body = rec.size() - kPdsRecordTrailer;
  if (DecodeFixed64(rec.data() + body) !=
      Checksum64(ByteView(rec).first(body), GroupSeed(name, in))) {
    return Status::Corruption(where + ": checksum mismatch");
  }
  if (keys_ != nullptr) {
    Bytes chunk(ref.size);
    VCSNAP_RETURN_IF_ERROR(Open(keys_->data, RecordAad(name, in),
                                ByteView(rec).first(body), chunk.data(),
                                where));
    rec = std::move(chunk);
  }
  rec.resize(ref.size);
  if (rec.size() <= cache_.capacity()) {
    std::lock_guard lock(mu_);
    cache_.Insert(key, rec, rec.size());
  }
  return rec;
}

Result<std::vector<uint32_t>> PdsStore::ListGenerations() {
  VCSNAP_ASSIGN_OR_RETURN(std::vector<ObjectInfo> objects,
                          backend_->List("pds/g"));
  std::vector<uint32_t> out;
  for (const ObjectInfo& o : objects) {
    unsigned gen = 0;
    char tail[16] = {};
    if (std::sscanf(o.name.c_str(), "pds/g%8x/%15s", &gen, tail) == 2 &&
        std::string_view(tail) == "manifest" &&
        o.name == PdsManifestName(gen)) {
      out.push_back(gen);
    }
  }
  return out;
}

Result<PdsGenerationInfo> PdsStore::GetGenerationInfo(uint32_t generation) {
  return Manifest(generation);
}

Status PdsStore::DeleteGeneration(uint32_t generation) {
  Status s = backend_->Delete(PdsManifestName(generation));
  if (!s.ok() && !s.IsNotFound()) return s;
  {
    std::lock_guard lock(mu_);
    manifests_.erase(generation);
    cache_.EraseIf([generation](const auto& key, const Bytes&) {
      return key.first == generation;
    });
  }
  VCSNAP_ASSIGN_OR_RETURN(std::vector<ObjectInfo> objects,
                          backend_->List(GenPrefixPds(generation)));
  for (const ObjectInfo& o : objects) {
    Status d = backend_->Delete(o.name);
    if (!d.ok() && !d.IsNotFound()) return d;
  }
  return Status::Ok();
}

}  // namespace vcsnap
