#include "pds/pds_retire.h"

#include <algorithm>
#include <chrono>
#include <ctime>
#include <set>
#include <tuple>

#include "format/envelope.h"
#include "pds/pds_table.h"
#include "recipe/catalog.h"
#include "recipe/names.h"
#include "recipe/recipe_pack.h"
#include "recipe/recipe_walk.h"
#include "recipe/snapshot_recipe.h"
#include "store/pds_store.h"
#include "util/coding.h"

namespace vcsnap {
namespace {

constexpr uint16_t kVersion = 1;
const EnvelopeSpec kPinSpec{{'V', 'P', 'I', 'N'}, "PDS pin", 1, kVersion, 64};
const EnvelopeSpec kRetiringSpec{
    {'V', 'P', 'R', 'T'}, "PDS retiring mark", 1, kVersion, 64};
constexpr std::string_view kPinPrefix = "pds/pins/";
constexpr std::string_view kRetiringPrefix = "pds/retiring/";

Bytes GenerationAndTime(uint32_t generation) {
  Bytes body;
  ByteWriter w(&body);
  w.U32(generation);
  w.U64(static_cast<uint64_t>(std::time(nullptr)));
  return body;
}

Result<std::set<uint32_t>> ListRetiring(Backend& backend) {
  VCSNAP_ASSIGN_OR_RETURN(std::vector<ObjectInfo> objects,
                          backend.List(kRetiringPrefix));
  std::set<uint32_t> out;
  for (const ObjectInfo& o : objects) {
    VCSNAP_ASSIGN_OR_RETURN(Bytes raw, backend.Get(o.name));
    VCSNAP_ASSIGN_OR_RETURN(DecodedEnvelope env,
                            DecodeEnvelope(kRetiringSpec, o.name, raw));
    ByteReader r(env.body, o.name);
    VCSNAP_ASSIGN_OR_RETURN(uint32_t g, r.U32("generation"));
    if (o.name != PdsRetiringName(g)) {
      return Status::Corruption(o.name + ": names generation " +
                                std::to_string(g));
    }
    out.insert(g);
  }
  return out;
}

// The generations among `wanted` that some live snapshot references, by an
// exact scan of every distinct segment recipe. Stops early once every wanted
// generation is found.
Status ScanReferences(Backend& backend, Repository* repo,
                      const std::set<uint32_t>& wanted,
                      std::set<uint32_t>* found, PdsRetireResult* result) {
  // Every VM with data, also one whose marker was lost: its snapshots may
  // use the generation too.
  VCSNAP_ASSIGN_OR_RETURN(AllVms all, ListAllVms(backend));
  for (const std::string& vm : all.vms) {
    VmKeys keys;
    if (repo != nullptr) {
      VCSNAP_ASSIGN_OR_RETURN(keys, repo->KeysOf(vm));
      if (keys.shredded) continue;
    }
    VCSNAP_ASSIGN_OR_RETURN(Catalog catalog, LoadCatalog(backend, vm));
    if (found->size() == wanted.size()) return Status::Ok();
    std::vector<RecipeUse> uses;
    uint32_t segment_size = 0;
    for (const CatalogEntry& ce : catalog.entries) {
      VCSNAP_ASSIGN_OR_RETURN(SnapshotRecipe s,
                              LoadSnapshotRecipe(backend, vm, ce.id));
      result->snapshots_scanned++;
      segment_size = s.segment_size;
      AddRecipeUses(s, &uses);
    }
    RecipeReader reader(&backend, vm, segment_size, keys.keys.get(),
                        kWalkCachedPacks);
    VCSNAP_RETURN_IF_ERROR(WalkRecipes(
        reader, std::move(uses),
        [&](const RecipeUse&, Result<std::vector<RecipeEntry>> entries) {
          if (!entries.ok()) return entries.status();
          result->recipes_scanned++;
          for (const RecipeEntry& e : *entries) {
            if (e.kind == ChunkKind::kPds && wanted.count(e.pds_generation)) {
              found->insert(e.pds_generation);
            }
          }
          return Status::Ok();
        }));
  }
  return Status::Ok();
}

Status DeleteGeneration(Backend& backend, PdsStore& store, uint32_t g,
                        PdsRetireResult* result) {
  Result<PdsGenerationInfo> info = store.GetGenerationInfo(g);
  if (info.ok()) result->bytes_freed += info->chunk_bytes;
  VCSNAP_RETURN_IF_ERROR(DeletePdsIndex(backend, g));
  VCSNAP_RETURN_IF_ERROR(store.DeleteGeneration(g));
  Status s = backend.Delete(PdsRetiringName(g));
  return s.IsNotFound() ? Status::Ok() : s;
}

}  // namespace

std::string PdsPinName(const std::string& vm) {
  return std::string(kPinPrefix) + vm;
}

std::string PdsRetiringName(uint32_t generation) {
  return std::string(kRetiringPrefix) + std::to_string(generation);
}

Result<bool> PinPdsGeneration(Backend& backend, const std::string& vm,
                              uint32_t generation) {
  const std::string name = PdsPinName(vm);
  VCSNAP_RETURN_IF_ERROR(backend.Put(
      name,
      EncodeEnvelope(kPinSpec, kVersion, name, GenerationAndTime(generation))));
  // Only after the pin is durable: is the generation still usable?
  Result<ObjectInfo> mark = backend.Stat(PdsRetiringName(generation));
  if (mark.ok()) return false;
  if (!mark.status().IsNotFound()) return mark.status();
  Result<ObjectInfo> manifest = backend.Stat(PdsManifestName(generation));
  if (manifest.ok()) return true;
  if (manifest.status().IsNotFound()) return false;
  return manifest.status();
}

Status UnpinPds(Backend& backend, const std::string& vm) {
  Status s = backend.Delete(PdsPinName(vm));
  return s.IsNotFound() ? Status::Ok() : s;
}

Result<std::vector<PdsPin>> ListPdsPins(Backend& backend) {
  VCSNAP_ASSIGN_OR_RETURN(std::vector<ObjectInfo> objects,
                          backend.List(kPinPrefix));
  std::vector<PdsPin> pins;
  for (const ObjectInfo& o : objects) {
    Result<Bytes> raw = backend.Get(o.name);
    if (!raw.ok() && raw.status().IsNotFound()) continue;  // just released
    if (!raw.ok()) return raw.status();
    VCSNAP_ASSIGN_OR_RETURN(DecodedEnvelope env,
                            DecodeEnvelope(kPinSpec, o.name, *raw));
    ByteReader r(env.body, o.name);
    PdsPin pin;
    pin.vm = o.name.substr(kPinPrefix.size());
    VCSNAP_ASSIGN_OR_RETURN(pin.generation, r.U32("generation"));
    VCSNAP_ASSIGN_OR_RETURN(pin.time_unix, r.U64("time"));
    if (!r.done()) return Status::Corruption(o.name + ": trailing bytes");
    pins.push_back(std::move(pin));
  }
  return pins;
}

Result<PdsRetireResult> RetirePdsGenerations(Backend& backend,
                                             const PdsRetireOptions& options) {
  const auto start = std::chrono::steady_clock::now();
  PdsRetireResult result;
  Result<uint32_t> current = ReadCurrentPds(backend);
  if (!current.ok() && !current.status().IsNotFound()) return current.status();
  if (!current.ok()) return result;  // no PDS yet: nothing to retire
  result.current = *current;

  PdsStore store(&backend, /*keys=*/nullptr);  // lists and deletes only
  VCSNAP_ASSIGN_OR_RETURN(std::vector<uint32_t> published,
                          store.ListGenerations());
  VCSNAP_ASSIGN_OR_RETURN(std::set<uint32_t> candidates,
                          ListRetiring(backend));  // interrupted ones
  candidates.insert(published.begin(), published.end());
  candidates.erase(result.current);
  if (candidates.empty()) return result;

  // 1. Mark, so that no backup starts using a candidate from now on.
  if (!options.dry_run) {
    for (uint32_t g : candidates) {
      const std::string name = PdsRetiringName(g);
      Status s = backend.Create(
          name,
          EncodeEnvelope(kRetiringSpec, kVersion, name, GenerationAndTime(g)));
      if (!s.ok() && !s.IsAlreadyExists()) return s;
    }
  }
  // 2. Then the pins of the backups that started before the marks.
  std::set<uint32_t> keep;
  VCSNAP_ASSIGN_OR_RETURN(std::vector<PdsPin> pins, ListPdsPins(backend));
  for (const PdsPin& pin : pins) {
    if (candidates.count(pin.generation) &&
        keep.insert(pin.generation).second) {
      result.pinned.push_back(pin.generation);
    }
  }
  // 3. Then what live snapshots reference.
  std::set<uint32_t> wanted;
  std::set_difference(candidates.begin(), candidates.end(), keep.begin(),
                      keep.end(), std::inserter(wanted, wanted.end()));
  std::set<uint32_t> referenced;
  Status scanned =
      ScanReferences(backend, options.repo, wanted, &referenced, &result);
  if (!scanned.ok()) {
    // Retire nothing; drop the marks again so nothing is left half-done.
    for (uint32_t g : candidates) {
      if (!options.dry_run) backend.Delete(PdsRetiringName(g)).IgnoreError();
    }
    return scanned.WithContext("PDS retire: scanning live recipes");
  }
  result.referenced.assign(referenced.begin(), referenced.end());
  keep.insert(referenced.begin(), referenced.end());

  // 4. Delete the rest; unmark what is kept.
  for (uint32_t g : candidates) {
    if (keep.count(g)) {
      if (!options.dry_run) {
        Status s = backend.Delete(PdsRetiringName(g));
        if (!s.ok() && !s.IsNotFound()) return s;
      }
      continue;
    }
    result.retired.push_back(g);
    if (options.dry_run) {
      Result<PdsGenerationInfo> info = store.GetGenerationInfo(g);
      if (info.ok()) result.bytes_freed += info->chunk_bytes;
      continue;
    }
    VCSNAP_RETURN_IF_ERROR(
        DeleteGeneration(backend, store, g, &result)
            .WithContext("PDS retire: generation " + std::to_string(g)));
  }
  result.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();
  return result;
}

}  // namespace vcsnap
