#include "gc/check_meta.h"

#include <memory>

#include "chunk/fingerprint.h"
#include "gc/gc_state.h"
#include "pds/fp_run.h"
#include "pds/pds_table.h"
#include "recipe/summary.h"

namespace vcsnap {

Status CheckPublishedPds(Backend& backend, PdsStore& pds, bool read_data,
                         CheckResult* result) {
  auto problem = [&](const std::string& where, const Status& s) {
    result->problems.push_back(where + ": " + s.message());
  };
  Result<uint32_t> current = ReadCurrentPds(backend);
  if (!current.ok()) {
    if (!current.status().IsNotFound()) {
      problem("PDS", current.status());
      return Status::Ok();
    }
    // No pointer: fine when no generation was ever sealed.
    VCSNAP_ASSIGN_OR_RETURN(std::vector<uint32_t> sealed,
                            pds.ListGenerations());
    if (!sealed.empty()) {
      problem("PDS",
              Status::NotFound(
                  std::to_string(sealed.size()) +
                  " generation(s) are stored but pds/current is missing (lost, "
                  "or a first `pds update` is running): backups run without "
                  "level 3 until `vcsnap pds update` publishes one"));
    }
    return Status::Ok();
  }
  const uint32_t g = *current;
  const std::string where = "PDS generation " + std::to_string(g);
  Result<PdsIndexMeta> meta = ReadPdsIndexMeta(backend, g);
  if (!meta.ok()) {
    problem(where + " index", meta.status());
    return Status::Ok();
  }
  for (uint32_t part = 0; part < meta->fences.size(); ++part) {
    Result<std::vector<PdsIndexEntry>> entries =
        ReadPdsIndexPart(backend, g, part);
    if (!entries.ok()) {
      problem(where + " index", entries.status());
      continue;
    }
    if (!read_data) continue;
    for (const PdsIndexEntry& e : *entries) {
      const PdsRef ref{g, e.offset, e.size};
      Result<Bytes> chunk = pds.Get(ref);
      Status bad;
      if (!chunk.ok()) {
        bad = chunk.status();
      } else if (Sha256(*chunk) != e.fp) {
        bad = Status::Corruption(ref.ToString() +
                                 " does not hash to its fingerprint " +
                                 ToHex(e.fp));
      } else {
        result->pds_chunks_read++;
        result->pds_bytes_read += chunk->size();
        continue;
      }
      problem(where + " chunk " + ToHex(e.fp), bad);
    }
  }
  return Status::Ok();
}

void CheckVmMetadata(Backend& backend, const std::string& vm,
                     CheckResult* result) {
  const std::string where = "VM " + vm;
  auto problem = [&](const Status& s) {
    result->problems.push_back(where + ": " + s.message());
  };
  if (Result<std::optional<VmFilter>> f = LoadVmFilter(backend, vm); !f.ok()) {
    problem(f.status());
  }
  if (Result<GcState> s = LoadGcState(backend, vm); !s.ok()) {
    problem(s.status());
  }
  // A run that vanishes while it is read was merged by a `pds update`
  // beside the check: not damage.
  Result<std::unique_ptr<VmFpStream>> runs = VmFpStream::Open(&backend, vm);
  if (!runs.ok()) {
    if (!runs.status().IsNotFound()) problem(runs.status());
    return;
  }
  FpRecord record;
  for (;;) {
    Result<bool> more = (*runs)->Next(&record);
    if (!more.ok()) {
      if (!more.status().IsNotFound()) problem(more.status());
      return;
    }
    if (!*more) return;
  }
}

}  // namespace vcsnap
