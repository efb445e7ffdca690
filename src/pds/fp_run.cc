#include "pds/fp_run.h"

#include <algorithm>
#include <charconv>
#include <cstring>
#include <map>
#include <set>

#include "format/envelope.h"
#include "recipe/names.h"
#include "util/coding.h"

namespace vcsnap {
namespace {

constexpr uint16_t kVersion = 1;
const EnvelopeSpec kSpec{{'V', 'F', 'P', 'R'},
                         "fingerprint run part",
                         1,
                         kVersion,
                         8 + kFpPartRecords* kFpRecordSize};

std::string FpsPrefix(const std::string& vm) { return VmPrefix(vm) + "fps/"; }

// The snapshot ID of a backup's run "<snapshot>-<n>"; false for a merge
// ("m<seq>") or any other name.
bool SnapshotOfRun(const std::string& run, uint32_t* snap) {
  auto [end, ec] = std::from_chars(run.data(), run.data() + run.size(), *snap);
  return ec == std::errc() && end != run.data() && *end == '-';
}

void EncodeRecord(const FpRecord& r, ByteWriter& w) {
  w.Raw(ByteView(r.fp.data(), r.fp.size()));
  w.U8(static_cast<uint8_t>(r.kind));
  if (r.kind == ChunkKind::kVm) {
    w.U64(r.vm_ref);
    w.U32(r.length);
    w.U32(0);
  } else {
    w.U32(r.pds.generation);
    w.U64(r.pds.offset);
    w.U32(r.pds.size);
  }
}

Status DecodeRecord(ByteReader& r, FpRecord* out) {
  VCSNAP_ASSIGN_OR_RETURN(ByteView fp, r.Raw(32, "fingerprint"));
  std::memcpy(out->fp.data(), fp.data(), 32);
  VCSNAP_ASSIGN_OR_RETURN(uint8_t kind, r.U8("kind"));
  if (kind == static_cast<uint8_t>(ChunkKind::kVm)) {
    out->kind = ChunkKind::kVm;
    VCSNAP_ASSIGN_OR_RETURN(out->vm_ref, r.U64("chunk reference"));
    VCSNAP_ASSIGN_OR_RETURN(out->length, r.U32("length"));
    VCSNAP_ASSIGN_OR_RETURN(uint32_t pad, r.U32("padding"));
    (void)pad;
  } else if (kind == static_cast<uint8_t>(ChunkKind::kPds)) {
    out->kind = ChunkKind::kPds;
    VCSNAP_ASSIGN_OR_RETURN(out->pds.generation, r.U32("pds generation"));
    VCSNAP_ASSIGN_OR_RETURN(out->pds.offset, r.U64("pds offset"));
    VCSNAP_ASSIGN_OR_RETURN(out->pds.size, r.U32("pds size"));
    out->length = out->pds.size;
  } else {
    return Status::Corruption("fingerprint record: unknown kind " +
                              std::to_string(kind));
  }
  return Status::Ok();
}

}  // namespace

std::string FpPartName(const std::string& vm, const std::string& run,
                       uint32_t part) {
  return FpsPrefix(vm) + run + "." + std::to_string(part);
}

// --- SortedRunWriter ---

SortedRunWriter::SortedRunWriter(Backend* backend, std::string vm,
                                 std::string run)
    : backend_(backend), vm_(std::move(vm)), run_(std::move(run)) {}

Status SortedRunWriter::Add(const FpRecord& record) {
  part_records_.push_back(record);
  if (part_records_.size() == kFpPartRecords) return FlushPart();
  return Status::Ok();
}

Status SortedRunWriter::FlushPart() {
  if (part_records_.empty()) return Status::Ok();
  Bytes body;
  body.reserve(8 + part_records_.size() * kFpRecordSize);
  ByteWriter w(&body);
  w.U64(part_records_.size());
  for (const FpRecord& r : part_records_) EncodeRecord(r, w);
  const std::string name = FpPartName(vm_, run_, part_);
  VCSNAP_RETURN_IF_ERROR(
      backend_->Put(name, EncodeEnvelope(kSpec, kVersion, name, body)));
  ++part_;
  part_records_.clear();
  return Status::Ok();
}

Status SortedRunWriter::Finish() { return FlushPart(); }

// --- FpRunWriter ---

FpRunWriter::FpRunWriter(Backend* backend, std::string vm, std::string prefix,
                         size_t buffer_records)
    : backend_(backend),
      vm_(std::move(vm)),
      prefix_(std::move(prefix)),
      buffer_records_(std::max<size_t>(buffer_records, 1)) {}

Status FpRunWriter::Add(const FpRecord& record) {
  if (!failed_.ok()) return failed_;
  buffer_.push_back(record);
  if (buffer_.size() >= buffer_records_) return Spill();
  return Status::Ok();
}

Status FpRunWriter::WriteRun(Backend* backend, const std::string& vm,
                             const std::string& run,
                             std::vector<FpRecord>* records) {
  std::sort(records->begin(), records->end(),
            [](const FpRecord& a, const FpRecord& b) { return a.fp < b.fp; });
  SortedRunWriter w(backend, vm, run);
  const Fingerprint* prev = nullptr;
  for (const FpRecord& r : *records) {
    if (prev != nullptr && *prev == r.fp) continue;
    VCSNAP_RETURN_IF_ERROR(w.Add(r));
    prev = &r.fp;
  }
  return w.Finish();
}

Status FpRunWriter::WaitWriting() {
  if (!in_flight_.valid()) return Status::Ok();
  Status s = in_flight_.get();
  writing_.clear();
  if (!s.ok()) {
    failed_ = s;  // its records are gone: every later call fails too
    return s;
  }
  runs_.push_back(std::move(in_flight_run_));
  return Status::Ok();
}

Status FpRunWriter::Spill() {
  if (!failed_.ok()) return failed_;
  VCSNAP_RETURN_IF_ERROR(WaitWriting());
  if (buffer_.empty()) return Status::Ok();
  in_flight_run_ = prefix_ + "-" + std::to_string(runs_.size());
  writing_.swap(buffer_);
  in_flight_ = std::async(std::launch::async, &FpRunWriter::WriteRun, backend_,
                          std::cref(vm_), std::cref(in_flight_run_), &writing_);
  return Status::Ok();
}

Status FpRunWriter::Finish() {
  VCSNAP_RETURN_IF_ERROR(Spill());
  return WaitWriting();
}

// --- FpRunReader ---

FpRunReader::FpRunReader(Backend* backend, std::string vm, std::string run,
                         uint32_t parts)
    : backend_(backend),
      vm_(std::move(vm)),
      run_(std::move(run)),
      parts_(parts) {}

Status FpRunReader::LoadPart() {
  const std::string name = FpPartName(vm_, run_, part_);
  VCSNAP_ASSIGN_OR_RETURN(Bytes raw, backend_->Get(name));
  VCSNAP_ASSIGN_OR_RETURN(DecodedEnvelope env,
                          DecodeEnvelope(kSpec, name, raw));
  ByteReader r(env.body, "fingerprint run part " + name);
  VCSNAP_ASSIGN_OR_RETURN(uint64_t count, r.U64("count"));
  if (count > kFpPartRecords || r.remaining() != count * kFpRecordSize) {
    return Status::Corruption("fingerprint run part " + name + ": " +
                              std::to_string(count) +
                              " records do not fit its size");
  }
  records_.resize(count);
  for (FpRecord& rec : records_) {
    Status s = DecodeRecord(r, &rec);
    if (!s.ok()) return s.WithContext(name);
  }
  pos_ = 0;
  ++part_;
  return Status::Ok();
}

Result<bool> FpRunReader::Next(FpRecord* out) {
  while (pos_ == records_.size()) {
    if (part_ == parts_) return false;
    VCSNAP_RETURN_IF_ERROR(LoadPart());
  }
  *out = records_[pos_++];
  if (have_prev_ && !(prev_ < out->fp)) {
    return Status::Corruption("fingerprint run " + FpsPrefix(vm_) + run_ +
                              " is not sorted");
  }
  prev_ = out->fp;
  have_prev_ = true;
  return true;
}

// --- listing, union, consolidation ---

Result<std::vector<RunInfo>> ListRuns(Backend& backend, const std::string& vm) {
  VCSNAP_ASSIGN_OR_RETURN(std::vector<ObjectInfo> objects,
                          backend.List(FpsPrefix(vm)));
  std::map<std::string, std::vector<uint32_t>> parts;
  const size_t skip = FpsPrefix(vm).size();
  for (const ObjectInfo& o : objects) {
    std::string rest = o.name.substr(skip);
    size_t dot = rest.rfind('.');
    uint32_t n = 0;
    if (dot == std::string::npos ||
        std::from_chars(rest.data() + dot + 1, rest.data() + rest.size(), n)
                .ec != std::errc()) {
      continue;  // not a part name
    }
    parts[rest.substr(0, dot)].push_back(n);
  }
  std::vector<RunInfo> runs;
  for (auto& [run, numbers] : parts) {
    std::sort(numbers.begin(), numbers.end());
    // A crash while writing leaves a prefix 0..j: a valid, shorter run.
    uint32_t contiguous = 0;
    while (contiguous < numbers.size() && numbers[contiguous] == contiguous) {
      ++contiguous;
    }
    runs.push_back(RunInfo{run, contiguous});
  }
  return runs;
}

Result<std::unique_ptr<VmFpStream>> VmFpStream::Open(Backend* backend,
                                                     const std::string& vm) {
  VCSNAP_ASSIGN_OR_RETURN(std::vector<RunInfo> runs, ListRuns(*backend, vm));
  return Open(backend, VmFpSource{vm, std::move(runs), {}});
}

Result<std::unique_ptr<VmFpStream>> VmFpStream::Open(Backend* backend,
                                                     const VmFpSource& source) {
  auto s = std::unique_ptr<VmFpStream>(new VmFpStream());
  for (const RunInfo& r : source.runs) {
    s->readers_.push_back(
        std::make_unique<FpRunReader>(backend, source.vm, r.run, r.parts));
  }
  s->heads_.resize(source.runs.size());
  s->live_.assign(source.runs.size(), false);
  s->keep_ = source.keep;
  return s;
}

Result<bool> VmFpStream::Next(FpRecord* out) {
  if (!started_) {
    for (size_t i = 0; i < readers_.size(); ++i) {
      VCSNAP_ASSIGN_OR_RETURN(bool got, readers_[i]->Next(&heads_[i]));
      live_[i] = got;
    }
    started_ = true;
  }
  while (true) {
    // Few runs per VM: a linear scan for the minimum is fine.
    int best = -1;
    for (size_t i = 0; i < readers_.size(); ++i) {
      if (live_[i] && (best < 0 || heads_[i].fp < heads_[best].fp)) {
        best = static_cast<int>(i);
      }
    }
    if (best < 0) return false;
    const Fingerprint fp = heads_[best].fp;
    bool kept = false;
    for (size_t i = 0; i < readers_.size(); ++i) {
      while (live_[i] && heads_[i].fp == fp) {
        if (!kept && (!keep_ || keep_(heads_[i]))) {
          *out = heads_[i];
          kept = true;
        }
        VCSNAP_ASSIGN_OR_RETURN(bool got, readers_[i]->Next(&heads_[i]));
        live_[i] = got;
      }
    }
    if (kept) return true;
  }
}

Result<std::vector<RunInfo>> CommittedRuns(Backend& backend,
                                           const std::string& vm,
                                           uint32_t committed_below) {
  VCSNAP_ASSIGN_OR_RETURN(std::vector<RunInfo> all, ListRuns(backend, vm));
  std::vector<RunInfo> runs;
  for (RunInfo& r : all) {
    uint32_t snap = 0;
    const bool merged = !r.run.empty() && r.run[0] == 'm';
    const bool committed =
        SnapshotOfRun(r.run, &snap) && snap < committed_below;
    if (merged || committed) runs.push_back(std::move(r));
  }
  return runs;
}

Result<uint64_t> DeleteSnapshotRuns(Backend& backend, const std::string& vm,
                                    uint32_t snapshot) {
  // The dash keeps the runs of snapshot 12 out of those of snapshot 1.
  const std::string prefix = FpsPrefix(vm) + std::to_string(snapshot) + "-";
  VCSNAP_ASSIGN_OR_RETURN(std::vector<ObjectInfo> objects,
                          backend.List(prefix));
  uint64_t deleted = 0;
  for (const ObjectInfo& o : objects) {
    Status s = backend.Delete(o.name);
    if (s.ok()) {
      ++deleted;
    } else if (!s.IsNotFound()) {
      return s;
    }
  }
  return deleted;
}

Result<uint64_t> DeleteUncommittedRuns(Backend& backend, const std::string& vm,
                                       uint32_t committed_below) {
  VCSNAP_ASSIGN_OR_RETURN(std::vector<RunInfo> runs, ListRuns(backend, vm));
  std::set<uint32_t> crashed;
  for (const RunInfo& r : runs) {
    uint32_t snap = 0;
    if (SnapshotOfRun(r.run, &snap) && snap >= committed_below) {
      crashed.insert(snap);
    }
  }
  uint64_t deleted = 0;
  for (uint32_t snap : crashed) {
    VCSNAP_ASSIGN_OR_RETURN(uint64_t n, DeleteSnapshotRuns(backend, vm, snap));
    deleted += n;
  }
  return deleted;
}

Status ConsolidateRuns(Backend* backend, const std::string& vm, size_t max_runs,
                       uint32_t committed_below, const FpKeep& keep) {
  VCSNAP_ASSIGN_OR_RETURN(std::vector<RunInfo> runs,
                          CommittedRuns(*backend, vm, committed_below));
  if (runs.size() <= max_runs) return Status::Ok();
  uint64_t seq = 0;
  for (const RunInfo& r : runs) {
    uint64_t n = 0;
    if (r.run.size() > 1 && r.run[0] == 'm' &&
        std::from_chars(r.run.data() + 1, r.run.data() + r.run.size(), n).ec ==
            std::errc()) {
      seq = std::max(seq, n + 1);
    }
  }
  const std::string merged = "m" + std::to_string(seq);
  VCSNAP_ASSIGN_OR_RETURN(
      std::unique_ptr<VmFpStream> in,
      VmFpStream::Open(backend, VmFpSource{vm, runs, keep}));
  SortedRunWriter out(backend, vm, merged);
  FpRecord rec;
  while (true) {
    VCSNAP_ASSIGN_OR_RETURN(bool got, in->Next(&rec));
    if (!got) break;
    VCSNAP_RETURN_IF_ERROR(out.Add(rec));
  }
  VCSNAP_RETURN_IF_ERROR(out.Finish());
  for (const RunInfo& r : runs) {
    for (uint32_t p = 0; p < r.parts; ++p) {
      Status s = backend->Delete(FpPartName(vm, r.run, p));
      if (!s.ok() && !s.IsNotFound()) return s;
    }
  }
  return Status::Ok();
}

}  // namespace vcsnap
