#include "pds/pds_table.h"

#include <algorithm>
#include <cstring>

#include "format/envelope.h"
#include "util/coding.h"

namespace vcsnap {
namespace {

constexpr uint16_t kVersion = 1;
constexpr size_t kEntrySize = 32 + 8 + 4;
const EnvelopeSpec kPartSpec{{'V', 'P', 'D', 'X'},
                             "PDS index part",
                             1,
                             kVersion,
                             8 + kPdsIndexPartEntries* kEntrySize};
const EnvelopeSpec kMetaSpec{
    {'V', 'P', 'D', 'M'}, "PDS index meta", 1, kVersion, 64ull << 20};
const EnvelopeSpec kCurrentSpec{
    {'V', 'P', 'D', 'C'}, "PDS current", 1, kVersion, 64};
constexpr uint64_t kMaxOffset = (1ull << 38) - 1;
constexpr uint32_t kMaxSize = (1u << 26) - 1;

std::string IndexPrefix(uint32_t g) {
  return "pds/index/" + std::to_string(g) + "/";
}
std::string PartName(uint32_t g, uint32_t p) {
  return IndexPrefix(g) + "p" + std::to_string(p);
}
std::string MetaName(uint32_t g) { return IndexPrefix(g) + "meta"; }
constexpr std::string_view kCurrentName = "pds/current";

uint64_t Top64(const Fingerprint& fp) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | fp[i];  // big-endian: sort order
  return v;
}

}  // namespace

Status WritePdsIndex(Backend& backend, uint32_t generation,
                     const std::vector<PdsIndexEntry>& sorted) {
  std::vector<Fingerprint> fences;
  for (size_t start = 0; start < sorted.size(); start += kPdsIndexPartEntries) {
    const size_t n = std::min(kPdsIndexPartEntries, sorted.size() - start);
    Bytes body;
    ByteWriter w(&body);
    w.U64(n);
    for (size_t i = start; i < start + n; ++i) {
      w.Raw(ByteView(sorted[i].fp.data(), 32));
      w.U64(sorted[i].offset);
      w.U32(sorted[i].size);
    }
    const uint32_t part = static_cast<uint32_t>(fences.size());
    const std::string name = PartName(generation, part);
    VCSNAP_RETURN_IF_ERROR(
        backend.Put(name, EncodeEnvelope(kPartSpec, kVersion, name, body)));
    fences.push_back(sorted[start].fp);
  }
  Bytes body;
  ByteWriter w(&body);
  w.U32(generation);
  w.U64(sorted.size());
  w.U32(static_cast<uint32_t>(fences.size()));
  for (const Fingerprint& f : fences) w.Raw(ByteView(f.data(), 32));
  const std::string meta = MetaName(generation);
  return backend.Put(meta, EncodeEnvelope(kMetaSpec, kVersion, meta, body));
}

Status DeletePdsIndex(Backend& backend, uint32_t generation) {
  Status s = backend.Delete(MetaName(generation));
  if (!s.ok() && !s.IsNotFound()) return s;
  VCSNAP_ASSIGN_OR_RETURN(std::vector<ObjectInfo> parts,
                          backend.List(IndexPrefix(generation)));
  for (const ObjectInfo& o : parts) {
    Status d = backend.Delete(o.name);
    if (!d.ok() && !d.IsNotFound()) return d;
  }
  return Status::Ok();
}

Result<uint32_t> ReadCurrentPds(Backend& backend) {
  VCSNAP_ASSIGN_OR_RETURN(Bytes raw, backend.Get(kCurrentName));
  VCSNAP_ASSIGN_OR_RETURN(DecodedEnvelope env,
                          DecodeEnvelope(kCurrentSpec, kCurrentName, raw));
  ByteReader r(env.body, "PDS current");
  VCSNAP_ASSIGN_OR_RETURN(uint32_t g, r.U32("generation"));
  if (g == 0 || !r.done()) return Status::Corruption("PDS current: bad body");
  return g;
}

Status PublishPds(Backend& backend, uint32_t generation) {
  Bytes body;
  ByteWriter(&body).U32(generation);
  return backend.Put(
      kCurrentName, EncodeEnvelope(kCurrentSpec, kVersion, kCurrentName, body));
}

Result<PdsIndexMeta> ReadPdsIndexMeta(Backend& backend, uint32_t generation) {
  const std::string name = MetaName(generation);
  VCSNAP_ASSIGN_OR_RETURN(Bytes raw, backend.Get(name));
  VCSNAP_ASSIGN_OR_RETURN(DecodedEnvelope env,
                          DecodeEnvelope(kMetaSpec, name, raw));
  ByteReader r(env.body, name);
  PdsIndexMeta m;
  VCSNAP_ASSIGN_OR_RETURN(m.generation, r.U32("generation"));
  VCSNAP_ASSIGN_OR_RETURN(m.entries, r.U64("entries"));
  VCSNAP_ASSIGN_OR_RETURN(uint32_t parts, r.U32("parts"));
  if (m.generation != generation || r.remaining() != parts * 32ull ||
      m.entries > static_cast<uint64_t>(parts) * kPdsIndexPartEntries ||
      (parts > 0 && m.entries <= (parts - 1ull) * kPdsIndexPartEntries)) {
    return Status::Corruption(name + ": sizes do not agree");
  }
  m.fences.resize(parts);
  for (Fingerprint& f : m.fences) {
    VCSNAP_ASSIGN_OR_RETURN(ByteView b, r.Raw(32, "fence"));
    std::memcpy(f.data(), b.data(), 32);
  }
  return m;
}

Result<std::vector<PdsIndexEntry>> ReadPdsIndexPart(Backend& backend,
                                                    uint32_t g, uint32_t part) {
  const std::string name = PartName(g, part);
  VCSNAP_ASSIGN_OR_RETURN(Bytes raw, backend.Get(name));
  VCSNAP_ASSIGN_OR_RETURN(DecodedEnvelope env,
                          DecodeEnvelope(kPartSpec, name, raw));
  ByteReader r(env.body, name);
  VCSNAP_ASSIGN_OR_RETURN(uint64_t n, r.U64("count"));
  if (n > kPdsIndexPartEntries || r.remaining() != n * kEntrySize) {
    return Status::Corruption(name + ": count does not fit its size");
  }
  std::vector<PdsIndexEntry> out(n);
  for (PdsIndexEntry& e : out) {
    VCSNAP_ASSIGN_OR_RETURN(ByteView b, r.Raw(32, "fingerprint"));
    std::memcpy(e.fp.data(), b.data(), 32);
    VCSNAP_ASSIGN_OR_RETURN(e.offset, r.U64("offset"));
    VCSNAP_ASSIGN_OR_RETURN(e.size, r.U32("size"));
  }
  for (size_t i = 1; i < out.size(); ++i) {
    if (!(out[i - 1].fp < out[i].fp)) {
      return Status::Corruption(name + ": entries not sorted");
    }
  }
  return out;
}

// --- PdsTable ---

Result<std::unique_ptr<PdsTable>> PdsTable::FromSorted(
    uint32_t generation, const std::vector<PdsIndexEntry>& sorted) {
  auto t = std::unique_ptr<PdsTable>(new PdsTable());
  t->generation_ = generation;
  t->entries_.reserve(sorted.size());
  for (const PdsIndexEntry& e : sorted) {
    if (e.offset > kMaxOffset || e.size > kMaxSize) {
      return Status::InvalidArgument("PDS entry past the table's limits");
    }
    t->entries_.push_back(Packed{e.fp, (e.offset << 26) | e.size});
  }
  int bits = 0;
  while ((size_t{1} << bits) < sorted.size() && bits < 31) ++bits;
  t->bucket_bits_ = bits;
  t->buckets_.assign((size_t{1} << bits) + 1, 0);
  // buckets_[b] = index of the first entry whose top bits are >= b.
  size_t i = 0;
  for (size_t b = 0; b < (size_t{1} << bits); ++b) {
    while (i < t->entries_.size() &&
           (bits == 0 ? 0 : Top64(t->entries_[i].fp) >> (64 - bits)) < b) {
      ++i;
    }
    t->buckets_[b] = static_cast<uint32_t>(i);
  }
  t->buckets_.back() = static_cast<uint32_t>(t->entries_.size());
  return t;
}

Result<std::unique_ptr<PdsTable>> PdsTable::Load(Backend& backend,
                                                 uint32_t generation) {
  VCSNAP_ASSIGN_OR_RETURN(PdsIndexMeta meta,
                          ReadPdsIndexMeta(backend, generation));
  std::vector<PdsIndexEntry> all;
  all.reserve(meta.entries);
  for (uint32_t p = 0; p < meta.fences.size(); ++p) {
    VCSNAP_ASSIGN_OR_RETURN(std::vector<PdsIndexEntry> part,
                            ReadPdsIndexPart(backend, generation, p));
    if (!all.empty() && !part.empty() && !(all.back().fp < part.front().fp)) {
      return Status::Corruption("PDS index " + std::to_string(generation) +
                                ": parts out of order");
    }
    all.insert(all.end(), part.begin(), part.end());
  }
  if (all.size() != meta.entries) {
    return Status::Corruption("PDS index " + std::to_string(generation) +
                              ": entry count does not match its meta");
  }
  return FromSorted(generation, all);
}

std::optional<PdsRef> PdsTable::Find(const Fingerprint& fp) const {
  const size_t b = bucket_bits_ == 0 ? 0 : Top64(fp) >> (64 - bucket_bits_);
  for (uint32_t i = buckets_[b]; i < buckets_[b + 1]; ++i) {
    const Packed& e = entries_[i];
    if (e.fp == fp) {
      return PdsRef{generation_, e.offset_size >> 26,
                    static_cast<uint32_t>(e.offset_size & kMaxSize)};
    }
  }
  return std::nullopt;
}

void PdsTable::Lookup(std::span<const Fingerprint> fps,
                      std::vector<std::optional<PdsRef>>* out) const {
  out->resize(fps.size());
  for (size_t i = 0; i < fps.size(); ++i) (*out)[i] = Find(fps[i]);
}

size_t PdsTable::memory_bytes() const {
  return entries_.capacity() * sizeof(Packed) +
         buckets_.capacity() * sizeof(uint32_t);
}

// --- PdsFileIndex ---

Result<std::unique_ptr<PdsFileIndex>> PdsFileIndex::Open(Backend* backend,
                                                         uint32_t generation,
                                                         size_t cached_parts) {
  auto f = std::unique_ptr<PdsFileIndex>(new PdsFileIndex(cached_parts));
  f->backend_ = backend;
  VCSNAP_ASSIGN_OR_RETURN(f->meta_, ReadPdsIndexMeta(*backend, generation));
  return f;
}

Result<PdsFileIndex::Part> PdsFileIndex::LoadPart(uint32_t part) const {
  {
    std::lock_guard lock(mu_);
    if (const Part* hit = cache_.Find(part)) return *hit;
  }
  VCSNAP_ASSIGN_OR_RETURN(std::vector<PdsIndexEntry> entries,
                          ReadPdsIndexPart(*backend_, meta_.generation, part));
  auto p =
      std::make_shared<const std::vector<PdsIndexEntry>>(std::move(entries));
  std::lock_guard lock(mu_);
  cache_.Insert(part, p, 1);
  return p;
}

void PdsFileIndex::Lookup(std::span<const Fingerprint> fps,
                          std::vector<std::optional<PdsRef>>* out) const {
  out->assign(fps.size(), std::nullopt);
  // Sort the batch so each part is visited once (merge-join).
  std::vector<uint32_t> order(fps.size());
  for (uint32_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(),
            [&](uint32_t a, uint32_t b) { return fps[a] < fps[b]; });
  const auto& fences = meta_.fences;
  Part part;
  int64_t loaded = -1;
  for (uint32_t i : order) {
    auto it = std::upper_bound(fences.begin(), fences.end(), fps[i]);
    if (it == fences.begin()) continue;  // below the first fence
    const int64_t p = (it - fences.begin()) - 1;
    if (p != loaded) {
      Result<Part> got = LoadPart(static_cast<uint32_t>(p));
      if (!got.ok()) {
        std::lock_guard lock(mu_);
        last_error_ = got.status();
        continue;
      }
      part = *got;
      loaded = p;
    }
    auto e = std::lower_bound(
        part->begin(), part->end(), fps[i],
        [](const PdsIndexEntry& x, const Fingerprint& f) { return x.fp < f; });
    if (e != part->end() && e->fp == fps[i]) {
      (*out)[i] = PdsRef{meta_.generation, e->offset, e->size};
    }
  }
}

Status PdsFileIndex::last_error() const {
  std::lock_guard lock(mu_);
  return last_error_;
}

Result<std::unique_ptr<PdsIndex>> LoadCurrentPdsIndex(Backend& backend,
                                                      bool file_index) {
  Result<uint32_t> current = ReadCurrentPds(backend);
  for (int attempt = 1;; ++attempt) {
    if (!current.ok()) {
      if (current.status().IsNotFound()) return std::unique_ptr<PdsIndex>();
      return current.status();
    }
    Result<std::unique_ptr<PdsIndex>> index =
        [&]() -> Result<std::unique_ptr<PdsIndex>> {
      if (file_index) {
        VCSNAP_ASSIGN_OR_RETURN(auto f, PdsFileIndex::Open(&backend, *current));
        return std::unique_ptr<PdsIndex>(std::move(f));
      }
      VCSNAP_ASSIGN_OR_RETURN(auto t, PdsTable::Load(backend, *current));
      return std::unique_ptr<PdsIndex>(std::move(t));
    }();
    if (index.ok() || !index.status().IsNotFound() || attempt == 3) {
      return index;
    }
    // Retired under us? Then pds/current names a newer generation.
    Result<uint32_t> now = ReadCurrentPds(backend);
    if (now.ok() && *now == *current) return index;
    current = std::move(now);
  }
}

}  // namespace vcsnap
