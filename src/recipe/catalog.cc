#include "recipe/catalog.h"

#include <algorithm>
#include <charconv>
#include <set>

#include "format/envelope.h"
#include "recipe/names.h"
#include "util/coding.h"

namespace vcsnap {
namespace {

// Version 2 added backup_ms to each entry; version 1 is still read.
constexpr uint16_t kVersion = 2;
constexpr size_t kEntryV1 = 4 + 4 + 8 + 8 + 8 + 8 + 4 + 4;
constexpr size_t kEntryV2 = kEntryV1 + 4;
const EnvelopeSpec kSpec{
    {'V', 'C', 'A', 'T'}, "snapshot catalog", 1, kVersion, 16ull << 20};

}  // namespace

const CatalogEntry* Catalog::Find(uint32_t id) const {
  for (const CatalogEntry& e : entries) {
    if (e.id == id) return &e;
  }
  return nullptr;
}

const CatalogEntry* Catalog::Latest() const {
  return entries.empty() ? nullptr : &entries.back();
}

Bytes EncodeCatalog(const Catalog& c, std::string_view identity) {
  Bytes body;
  ByteWriter w(&body);
  w.U32(c.next_id);
  w.U32(static_cast<uint32_t>(c.entries.size()));
  for (const CatalogEntry& e : c.entries) {
    w.U32(e.id);
    w.U32(e.parent);
    w.U64(e.time_unix);
    w.U64(e.image_size);
    w.U64(e.logical_bytes);
    w.U64(e.stored_bytes);
    w.U32(e.pds_generation);
    w.U32(e.flags);
    w.U32(e.backup_ms);
  }
  return EncodeEnvelope(kSpec, kVersion, identity, body);
}

Result<Catalog> DecodeCatalog(ByteView bytes, std::string_view identity) {
  VCSNAP_ASSIGN_OR_RETURN(DecodedEnvelope env,
                          DecodeEnvelope(kSpec, identity, bytes));
  const std::string where = "snapshot catalog " + std::string(identity);
  ByteReader r(env.body, where);
  Catalog c;
  VCSNAP_ASSIGN_OR_RETURN(c.next_id, r.U32("next id"));
  VCSNAP_ASSIGN_OR_RETURN(uint32_t count, r.U32("count"));
  const size_t entry_size = env.version >= 2 ? kEntryV2 : kEntryV1;
  if (r.remaining() != static_cast<uint64_t>(count) * entry_size) {
    return Status::Corruption(where + ": " + std::to_string(count) +
                              " entries do not fit " +
                              std::to_string(r.remaining()) + " bytes");
  }
  c.entries.resize(count);
  uint32_t prev = 0;
  for (CatalogEntry& e : c.entries) {
    VCSNAP_ASSIGN_OR_RETURN(e.id, r.U32("id"));
    VCSNAP_ASSIGN_OR_RETURN(e.parent, r.U32("parent"));
    VCSNAP_ASSIGN_OR_RETURN(e.time_unix, r.U64("time"));
    VCSNAP_ASSIGN_OR_RETURN(e.image_size, r.U64("image size"));
    VCSNAP_ASSIGN_OR_RETURN(e.logical_bytes, r.U64("logical bytes"));
    VCSNAP_ASSIGN_OR_RETURN(e.stored_bytes, r.U64("stored bytes"));
    VCSNAP_ASSIGN_OR_RETURN(e.pds_generation, r.U32("pds generation"));
    VCSNAP_ASSIGN_OR_RETURN(e.flags, r.U32("flags"));
    if (env.version >= 2) {
      VCSNAP_ASSIGN_OR_RETURN(e.backup_ms, r.U32("backup ms"));
    }
    if (e.id <= prev || e.id >= c.next_id || e.parent >= e.id) {
      return Status::Corruption(where + ": snapshot ids out of order at id " +
                                std::to_string(e.id));
    }
    prev = e.id;
  }
  return c;
}

namespace {

// No catalog object: a VM without backups, unless snapshot recipes say that
// the catalog was lost.
Result<Catalog> MissingCatalog(Backend& backend, const std::string& vm) {
  const std::string prefix = SnapshotRecipePrefix(vm);
  VCSNAP_ASSIGN_OR_RETURN(std::vector<ObjectInfo> recipes,
                          backend.List(prefix));
  if (recipes.empty()) return Catalog{};
  std::string names;
  for (size_t i = 0; i < recipes.size() && i < 3; ++i) {
    names += (i > 0 ? ", " : "") + recipes[i].name;
  }
  if (recipes.size() > 3) names += ", ...";
  return Status::Corruption(
      "VM " + vm + ": the catalog " + CatalogName(vm) + " is missing but " +
      std::to_string(recipes.size()) + " snapshot recipe(s) are stored (" +
      names + "): the catalog was lost; `vcsnap recover --vm " + vm +
      "` rebuilds it from them");
}

}  // namespace

Result<Catalog> LoadCatalog(Backend& backend, const std::string& vm) {
  const std::string name = CatalogName(vm);
  Result<Bytes> raw = backend.Get(name);
  if (!raw.ok()) {
    if (raw.status().IsNotFound()) return MissingCatalog(backend, vm);
    return raw.status().WithContext("VM " + vm);
  }
  Result<Catalog> c = DecodeCatalog(*raw, name);
  if (!c.ok()) return c.status().WithContext("VM " + vm);
  c->stored = true;
  return c;
}

Status CommitCatalog(Backend& backend, const std::string& vm,
                     const Catalog& catalog) {
  const std::string name = CatalogName(vm);
  return backend.Put(name, EncodeCatalog(catalog, name))
      .WithContext("VM " + vm + ": commit catalog");
}

Result<std::vector<std::string>> ListVmNames(Backend& backend) {
  const std::string prefix = VmMarkerName("");
  VCSNAP_ASSIGN_OR_RETURN(std::vector<ObjectInfo> markers,
                          backend.List(prefix));
  std::vector<std::string> vms;
  for (const ObjectInfo& o : markers)
    vms.push_back(o.name.substr(prefix.size()));
  return vms;
}

AllVms AllVmsIn(const std::vector<ObjectInfo>& objects) {
  const std::string marker_prefix = VmMarkerName("");
  const std::string prefix = "vm/";  // VmPrefix(vm) without the VM
  std::set<std::string> marked, all;
  for (const ObjectInfo& o : objects) {
    if (o.name.starts_with(marker_prefix)) {
      marked.insert(o.name.substr(marker_prefix.size()));
    }
  }
  all = marked;
  AllVms out;
  for (const ObjectInfo& o : objects) {
    if (!o.name.starts_with(prefix)) continue;
    std::string_view rest = std::string_view(o.name).substr(prefix.size());
    const size_t slash = rest.find('/');
    if (slash == std::string_view::npos || slash == 0) continue;
    std::string vm(rest.substr(0, slash));
    // A lease alone is a command starting on (or refusing) a VM: no data.
    if (o.name == LeaseName(vm)) continue;
    if (all.insert(vm).second) out.unmarked.push_back(std::move(vm));
  }
  out.vms.assign(all.begin(), all.end());
  std::sort(out.unmarked.begin(), out.unmarked.end());
  return out;
}

Result<AllVms> ListAllVms(Backend& backend) {
  VCSNAP_ASSIGN_OR_RETURN(std::vector<ObjectInfo> objects,
                          backend.List(VmMarkerName("")));
  VCSNAP_ASSIGN_OR_RETURN(std::vector<ObjectInfo> data, backend.List("vm/"));
  objects.insert(objects.end(), std::make_move_iterator(data.begin()),
                 std::make_move_iterator(data.end()));
  return AllVmsIn(objects);
}

Result<uint32_t> ResolveSnapshotId(const Catalog& catalog,
                                   const std::string& vm,
                                   const std::string& text) {
  if (text == "latest") {
    const CatalogEntry* last = catalog.Latest();
    if (last == nullptr) {
      return Status::NotFound("VM " + vm + " has no snapshots");
    }
    return last->id;
  }
  uint32_t id = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), id);
  if (ec != std::errc() || ptr != text.data() + text.size() || id == 0) {
    return Status::InvalidArgument("snapshot ID '" + text +
                                   "' is not a positive number or 'latest'");
  }
  if (catalog.Find(id) == nullptr) {
    return Status::NotFound("VM " + vm + " has no snapshot " + text);
  }
  return id;
}

}  // namespace vcsnap
