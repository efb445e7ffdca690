#include "gc/check_meta.h"

#include <memory>

#include "chunk/fingerprint.h"
#include "gc/gc_state.h"
#include "pds/fp_run.h"
#include "pds/pds_table.h"
#include "recipe/summary.h"

namespace vcsnap {

namespace {

// Checks generation `g` of the published PDS into `result` (problems,
// pds_chunks_read, pds_bytes_read).
void CheckGeneration(Backend& backend, PdsStore& pds, uint32_t g,
                     bool read_data, CheckResult* result) {
  const std::string where = "PDS generation " + std::to_string(g);
  auto problem = [&](const std::string& what, const Status& s) {
    result->problems.push_back(where + what + ": " + s.message());
  };
  Result<PdsIndexMeta> meta = ReadPdsIndexMeta(backend, g);
  if (!meta.ok()) {
    problem(" index", meta.status());
    return;
  }
  for (uint32_t part = 0; part < meta->fences.size(); ++part) {
    Result<std::vector<PdsIndexEntry>> entries =
        ReadPdsIndexPart(backend, g, part);
    if (!entries.ok()) {
      problem(" index", entries.status());
      continue;
    }
    if (!read_data) continue;
    for (const PdsIndexEntry& e : *entries) {
      const PdsRef ref{g, e.offset, e.size};
      Result<Bytes> chunk = pds.Get(ref);
      Status bad;
      if (!chunk.ok()) {
        bad = chunk.status();
      } else if (ChunkFingerprint(pds.keys(), *chunk) != e.fp) {
        bad = Status::Corruption(ref.ToString() +
                                 " does not hash to its fingerprint " +
                                 ToHex(e.fp));
      } else {
        result->pds_chunks_read++;
        result->pds_bytes_read += chunk->size();
        continue;
      }
      problem(" chunk " + ToHex(e.fp), bad);
    }
  }
}

}  // namespace

Status CheckPublishedPds(Backend& backend, PdsStore& pds, bool read_data,
                         CheckResult* result) {
  // A `pds update` beside the check may publish a new generation and retire
  // the one being read: problems count only from a generation that stayed
  // published while it was checked (3 attempts, as for a VM).
  constexpr int kAttempts = 3;
  for (int attempt = 1;; ++attempt) {
    Result<uint32_t> current = ReadCurrentPds(backend);
    if (!current.ok()) {
      if (!current.status().IsNotFound()) {
        result->problems.push_back("PDS: " + current.status().message());
        return Status::Ok();
      }
      // No pointer: fine when no generation was ever sealed.
      VCSNAP_ASSIGN_OR_RETURN(std::vector<uint32_t> sealed,
                              pds.ListGenerations());
      if (!sealed.empty()) {
        result->problems.push_back(
            "PDS: " + std::to_string(sealed.size()) +
            " generation(s) are stored but pds/current is missing (lost, or "
            "a first `pds update` is running): backups run without level 3 "
            "until `vcsnap pds update` publishes one");
      }
      return Status::Ok();
    }
    CheckResult one;
    CheckGeneration(backend, pds, *current, read_data, &one);
    Result<uint32_t> after = ReadCurrentPds(backend);
    const bool moved = !after.ok() || *after != *current;
    if (one.problems.empty() || !moved || attempt == kAttempts) {
      result->pds_chunks_read += one.pds_chunks_read;
      result->pds_bytes_read += one.pds_bytes_read;
      for (std::string& p : one.problems) {
        result->problems.push_back(std::move(p));
      }
      if (!one.problems.empty() && moved) {
        result->problems.push_back(
            "PDS: a new generation was published during each of " +
            std::to_string(kAttempts) +
            " checks, so the problems above may come from that; check again "
            "when no `pds update` runs");
      }
      return Status::Ok();
    }
  }
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
