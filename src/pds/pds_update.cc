#include "pds/pds_update.h"

#include <algorithm>
#include <chrono>
#include <map>

#include "pds/pds_table.h"
#include "recipe/catalog.h"
#include "recipe/lease.h"
#include "recipe/names.h"
#include "store/pds_store.h"
#include "store/ref_states.h"
#include "store/vm_store.h"

namespace vcsnap {

Status ValidatePdsUpdateOptions(const PdsUpdateOptions& o) {
  if (o.memory == 0 && !(o.fraction > 0 && o.fraction <= 1)) {
    return Status::InvalidArgument(
        "give --fraction F with 0 < F <= 1, or --memory BYTES > 0");
  }
  if (o.memory != 0 && o.fraction != 0) {
    return Status::InvalidArgument("give --fraction or --memory, not both");
  }
  if (o.memory != 0 && o.memory < kPdsEntryBytes) {
    return Status::InvalidArgument("--memory must hold at least one entry (" +
                                   std::to_string(kPdsEntryBytes) + " bytes)");
  }
  return Status::Ok();
}

FpKeep InPublishedPds(std::vector<uint32_t> published) {
  return [published = std::move(published)](const FpRecord& r) {
    return r.kind != ChunkKind::kPds ||
           std::binary_search(published.begin(), published.end(),
                              r.pds.generation);
  };
}

namespace {

// Keeps a VM's fingerprint records whose chunk its store still holds, and
// its PDS records that InPublishedPds keeps. Pruning is best effort: a
// container whose CIDs cannot be read keeps its records, and the copy step
// skips chunks that are gone.
FpKeep HeldByStore(RefStates* refs, const FpKeep& in_pds, uint64_t* pruned) {
  return [refs, in_pds, pruned](const FpRecord& r) {
    if (r.kind != ChunkKind::kVm) {
      if (in_pds(r)) return true;
      ++*pruned;
      return false;
    }
    Result<ChunkRef> ref = ChunkRef::FromRaw(r.vm_ref);
    if (!ref.ok()) return true;
    Result<RefState> state = refs->Get(*ref);
    if (!state.ok() || *state == RefState::kLive) return true;
    ++*pruned;
    return false;
  };
}

// Copies the selection's bytes into a new generation; fills `entries`.
Status CopyChunks(Repository& repo, const std::vector<std::string>& vms,
                  std::vector<PopularChunk>& chosen, PdsStore& pds,
                  uint32_t generation, std::vector<PdsIndexEntry>* entries,
                  PdsUpdateResult* result) {
  // Read in store order: by VM, then by reference, so groups are decoded
  // once and read sequentially.
  std::vector<size_t> order(chosen.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    const PopularChunk& x = chosen[a];
    const PopularChunk& y = chosen[b];
    if (x.vm != y.vm) return x.vm < y.vm;
    if (x.source.kind != y.source.kind) return x.source.kind < y.source.kind;
    return x.source.vm_ref < y.source.vm_ref;
  });
  VCSNAP_ASSIGN_OR_RETURN(std::unique_ptr<PdsStore::Writer> writer,
                          pds.BeginGeneration(generation));
  std::unique_ptr<VmStore> store;
  uint32_t store_vm = UINT32_MAX;
  for (size_t i : order) {
    PopularChunk& c = chosen[i];
    Result<Bytes> data = Status::NotFound("unset");
    if (c.source.kind == ChunkKind::kVm) {
      if (c.vm != store_vm) {
        VCSNAP_ASSIGN_OR_RETURN(store, VmStore::OpenIn(repo, vms[c.vm]));
        store_vm = c.vm;
      }
      VCSNAP_ASSIGN_OR_RETURN(ChunkRef ref, ChunkRef::FromRaw(c.source.vm_ref));
      data = store->Get(ref);
    } else {
      data = pds.Get(c.source.pds);
    }
    if (!data.ok()) {
      if (data.status().IsNotFound()) {  // deleted since it was counted
        result->skipped++;
        continue;
      }
      return data.status().WithContext("PDS update: VM " + vms[c.vm]);
    }
    if (ChunkFingerprint(pds.keys(), *data) != c.fp) {
      return Status::Corruption("PDS update: VM " + vms[c.vm] + " chunk " +
                                ToHex(c.fp) +
                                " does not match its fingerprint");
    }
    VCSNAP_ASSIGN_OR_RETURN(PdsRef ref, writer->Append(*data));
    entries->push_back(PdsIndexEntry{c.fp, ref.offset, ref.size});
    result->chunks_copied++;
    result->bytes_copied += data->size();
  }
  VCSNAP_RETURN_IF_ERROR(writer->Seal());
  std::sort(entries->begin(), entries->end(),
            [](const PdsIndexEntry& a, const PdsIndexEntry& b) {
              return a.fp < b.fp;
            });
  return Status::Ok();
}

}  // namespace

Result<PdsUpdateResult> RunPdsUpdate(Repository& repo,
                                     const PdsUpdateOptions& options) {
  VCSNAP_RETURN_IF_ERROR(ValidatePdsUpdateOptions(options));
  const auto start = std::chrono::steady_clock::now();
  Backend& backend = repo.backend();
  VCSNAP_ASSIGN_OR_RETURN(
      std::unique_ptr<Lease> lease,
      Lease::AcquireObject(&backend, "pds/lease", "the PDS",
                           "vcsnap unlock --pds", "pds update"));
  VCSNAP_ASSIGN_OR_RETURN(std::vector<std::string> vms, ListVmNames(backend));
  // No VM lease is taken: backups keep running while the PDS is updated
  // (consolidation touches committed runs only).
  // Consolidation drops the records of chunks a forget or gc deleted, one
  // VM at a time (memory: one VM's CID ranges and deletion logs). Counting
  // then reads the committed runs only: not those of a running or crashed
  // backup.
  PdsUpdateResult result;
  PdsStore pds(&backend, repo.config().keys.get());
  VCSNAP_ASSIGN_OR_RETURN(std::vector<uint32_t> gens, pds.ListGenerations());
  const FpKeep in_pds = InPublishedPds(gens);
  std::vector<VmFpSource> sources;
  std::vector<std::string> counted;                 // the VM of each source
  std::map<std::string, uint32_t> groups{{"", 0}};  // tenant -> group
  for (const std::string& vm : vms) {
    // A VM whose keys cannot be read (a damaged binding or tenant key) is
    // left out: the PDS is only smaller for it, and the other VMs' update
    // goes on. A shredded VM's chunks can never be read again.
    Result<VmKeys> found = repo.KeysOf(vm);
    if (!found.ok() && found.status().code() == StatusCode::kCorruption) {
      result.vms_left_out.push_back(found.status().WithContext("VM " + vm));
      continue;
    }
    VCSNAP_ASSIGN_OR_RETURN(VmKeys keys, std::move(found));
    if (keys.shredded) continue;
    const uint32_t group =
        groups.emplace(keys.tenant, static_cast<uint32_t>(groups.size()))
            .first->second;
    VCSNAP_ASSIGN_OR_RETURN(Catalog catalog, LoadCatalog(backend, vm));
    {
      VCSNAP_ASSIGN_OR_RETURN(std::unique_ptr<VmStore> store,
                              VmStore::OpenIn(repo, vm));
      RefStates refs(store.get());
      VCSNAP_RETURN_IF_ERROR(ConsolidateRuns(
          &backend, vm, /*max_runs=*/4, catalog.next_id,
          HeldByStore(&refs, in_pds, &result.fp_records_pruned)));
    }
    VCSNAP_ASSIGN_OR_RETURN(std::vector<RunInfo> runs,
                            CommittedRuns(backend, vm, catalog.next_id));
    sources.push_back(VmFpSource{vm, std::move(runs), in_pds, group});
    counted.push_back(vm);
  }
  const uint64_t k = options.memory / kPdsEntryBytes;
  result.min_tenants = options.min_tenants != 0 ? options.min_tenants
                       : groups.size() > 1      ? 2
                                                : 1;
  VCSNAP_ASSIGN_OR_RETURN(std::vector<PopularChunk> chosen,
                          SelectPopular(&backend, sources, k, options.fraction,
                                        &result.report, result.min_tenants));

  uint32_t generation = gens.empty() ? 1 : gens.back() + 1;
  Result<uint32_t> current = ReadCurrentPds(backend);
  if (current.ok()) generation = std::max(generation, *current + 1);
  result.generation = generation;
  std::vector<PdsIndexEntry> entries;
  VCSNAP_RETURN_IF_ERROR(
      CopyChunks(repo, counted, chosen, pds, generation, &entries, &result));
  VCSNAP_RETURN_IF_ERROR(WritePdsIndex(backend, generation, entries));
  VCSNAP_RETURN_IF_ERROR(lease->Verify());
  VCSNAP_RETURN_IF_ERROR(PublishPds(backend, generation));
  result.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();
  if (options.retire) {
    PdsRetireOptions retire;
    retire.repo = &repo;
    Result<PdsRetireResult> retired = RetirePdsGenerations(backend, retire);
    if (retired.ok()) {
      result.retire = std::move(*retired);
    } else {
      result.retire_error = retired.status();
    }
  }
  return result;
}

}  // namespace vcsnap
