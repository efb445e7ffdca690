// File: recipe/catalog.h
//
// The per-VM snapshot catalog, "vm/<vm>/catalog": every committed snapshot of
// the VM with its parent, time and sizes, oldest first, plus the next
// snapshot ID. Replacing the catalog with an atomic Put is THE commit point of
// a backup (and of a forget): a snapshot exists iff the catalog lists it.
// Only the holder of the VM's lease writes the catalog. Envelope magic
// "VCAT"; byte layout in docs/format/recipes.md.
//
// Thread safety: value types; Load/Commit are as thread-safe as the backend.

#ifndef VCSNAP_RECIPE_CATALOG_H_
#define VCSNAP_RECIPE_CATALOG_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "backend/backend.h"
#include "util/result.h"

namespace vcsnap {

struct CatalogEntry {
  uint32_t id = 0;
  uint32_t parent = 0;  // 0: none
  uint64_t time_unix = 0;
  uint64_t image_size = 0;
  uint64_t logical_bytes = 0;
  uint64_t stored_bytes = 0;
  uint32_t pds_generation = 0;
  uint32_t flags = 0;  // bit 0: protected (forget refuses it)
  // Wall time of the backup from its start to its snapshot recipe, in
  // milliseconds (at least 1); 0 when unknown (version-1 catalogs, entries
  // rebuilt by `recover`).
  uint32_t backup_ms = 0;
  bool operator==(const CatalogEntry&) const = default;
};

struct Catalog {
  uint32_t next_id = 1;
  std::vector<CatalogEntry> entries;  // ascending id (= oldest first)
  // Not encoded: true when read from the VM's catalog object, false for the
  // empty catalog of a VM that has none yet.
  bool stored = false;

  const CatalogEntry* Find(uint32_t id) const;
  const CatalogEntry* Latest() const;
};

Bytes EncodeCatalog(const Catalog& catalog, std::string_view identity);
Result<Catalog> DecodeCatalog(ByteView bytes, std::string_view identity);

// The VM's catalog; an empty one (next_id 1, stored false) if the VM has
// none yet: neither a catalog object nor a snapshot recipe. A VM's first
// backup commits its empty catalog before it writes anything else, so
// snapshot recipes without a catalog mean a lost catalog: Corruption naming
// them (never an empty catalog, which would let a backup start over at ID 1
// and gc sweep every chunk).
Result<Catalog> LoadCatalog(Backend& backend, const std::string& vm);
// Atomically replaces the VM's catalog. Durable on OK: the commit point.
Status CommitCatalog(Backend& backend, const std::string& vm,
                     const Catalog& catalog);

// Every VM of the repository (from the vms/<vm> markers a first backup
// creates), sorted.
Result<std::vector<std::string>> ListVmNames(Backend& backend);

struct AllVms {
  std::vector<std::string> vms;       // every VM, sorted
  std::vector<std::string> unmarked;  // those of them without a marker
};
// Every VM with a marker or with any object under vm/<vm>/ besides its
// lease: a VM whose marker was lost is still found (`unmarked`). Lists every
// object of every VM, so its cost grows with the repository: for check, and for
// decisions that delete data other VMs may use (PDS retirement), not for
// backups.
Result<AllVms> ListAllVms(Backend& backend);
// The same from a listing the caller has (any prefix; other objects are
// ignored), e.g. of the whole repository.
AllVms AllVmsIn(const std::vector<ObjectInfo>& objects);

// Parses a snapshot ID as users type it: a number, or "latest".
// InvalidArgument for anything else; NotFound if absent from `catalog`.
Result<uint32_t> ResolveSnapshotId(const Catalog& catalog,
                                   const std::string& vm,
                                   const std::string& text);

}  // namespace vcsnap

#endif  // VCSNAP_RECIPE_CATALOG_H_
