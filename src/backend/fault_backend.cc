#include "backend/fault_backend.h"

#include <algorithm>

namespace vcsnap {

void FaultBackend::FailNth(uint64_t n) {
  std::lock_guard lock(mu_);
  fail_at_ = ops_ + n;
}

void FaultBackend::FailKind(OpKind kind, std::string name_prefix) {
  std::lock_guard lock(mu_);
  kind_faults_.push_back(KindFault{kind, std::move(name_prefix)});
}

void FaultBackend::CrashAtNth(uint64_t n, bool apply_then_crash) {
  std::lock_guard lock(mu_);
  crash_at_ = ops_ + n;
  apply_then_crash_ = apply_then_crash;
}

void FaultBackend::SimulateCrash() {
  std::lock_guard lock(mu_);
  DropUnsynced();
}

void FaultBackend::Restart() {
  std::lock_guard lock(mu_);
  DropUnsynced();
  crashed_ = false;
  crash_at_ = 0;
}

void FaultBackend::SetTornTail(uint64_t seed) {
  std::lock_guard lock(mu_);
  torn_rng_.emplace(seed);
}

void FaultBackend::CorruptReads(std::string name_prefix, uint64_t offset,
                                uint8_t mask) {
  std::lock_guard lock(mu_);
  corrupt_.push_back(CorruptSpec{std::move(name_prefix), offset, mask});
}

void FaultBackend::ClearFaults() {
  std::lock_guard lock(mu_);
  fail_at_ = 0;
  crash_at_ = 0;
  kind_faults_.clear();
  corrupt_.clear();
}

bool FaultBackend::crashed() const {
  std::lock_guard lock(mu_);
  return crashed_;
}

std::string FaultBackend::failed_call() const {
  std::lock_guard lock(mu_);
  return failed_call_;
}

uint64_t FaultBackend::op_count() const {
  std::lock_guard lock(mu_);
  return ops_;
}

FaultBackend::Gate FaultBackend::Admit(OpKind kind, std::string_view name) {
  ++ops_;
  if (crashed_) return Gate::kFail;
  if (crash_at_ != 0 && ops_ == crash_at_) {
    crash_at_ = 0;
    if (apply_then_crash_) return Gate::kApplyThenCrash;
    crashed_ = true;
    return Gate::kFail;
  }
  if (fail_at_ != 0 && ops_ == fail_at_) {
    fail_at_ = 0;
    static constexpr const char* kNames[] = {"put",    "create", "get",
                                             "read",   "append", "sync",
                                             "delete", "stat",   "list"};
    failed_call_ = std::string(kNames[static_cast<size_t>(kind)]) + " " +
                   std::string(name);
    return Gate::kFail;
  }
  for (const KindFault& f : kind_faults_) {
    if (f.kind == kind && name.starts_with(f.prefix)) return Gate::kFail;
  }
  return Gate::kProceed;
}

Status FaultBackend::Injected(std::string_view op,
                              std::string_view name) const {
  return Status::IOError(std::string(op) + " " + std::string(name) + ": " +
                         (crashed_ ? "simulated crash" : "injected fault"));
}

void FaultBackend::DropUnsynced() {
  for (const auto& [name, durable] : unsynced_) {
    Result<Bytes> cur = target_->Get(name);
    if (!cur.ok()) continue;  // deleted or unreadable: nothing to cut
    uint64_t base = durable.value_or(0);
    uint64_t keep = std::min<uint64_t>(base, cur->size());
    if (torn_rng_.has_value() && cur->size() > keep) {
      keep += (*torn_rng_)() % (cur->size() - keep + 1);
    }
    if (!durable.has_value() && keep == 0) {
      target_->Delete(name).IgnoreError();
    } else {
      cur->resize(keep);
      target_->Put(name, *cur).IgnoreError();
    }
  }
  unsynced_.clear();
}

void FaultBackend::ApplyCorruption(std::string_view name, uint64_t offset,
                                   Bytes* data) {
  std::lock_guard lock(mu_);
  for (const CorruptSpec& c : corrupt_) {
    if (!name.starts_with(c.prefix)) continue;
    if (c.offset >= offset && c.offset - offset < data->size()) {
      (*data)[c.offset - offset] ^= c.mask;
    }
  }
}

Status FaultBackend::AdmitRead(OpKind kind, std::string_view op,
                               std::string_view name) {
  std::lock_guard lock(mu_);
  Gate gate = Admit(kind, name);
  if (gate == Gate::kApplyThenCrash) crashed_ = true;  // nothing to apply
  if (gate != Gate::kProceed) return Injected(op, name);
  return Status::Ok();
}

template <typename F>
Status FaultBackend::Mutate(OpKind kind, std::string_view op,
                            std::string_view name, F&& apply) {
  std::lock_guard lock(mu_);
  Gate gate = Admit(kind, name);
  if (gate == Gate::kFail) return Injected(op, name);
  Status s = apply();
  if (gate == Gate::kApplyThenCrash) {
    crashed_ = true;
    return Injected(op, name);
  }
  return s;
}

Status FaultBackend::Put(std::string_view name, ByteView data) {
  return Mutate(OpKind::kPut, "put", name, [&] {
    Status s = target_->Put(name, data);
    if (s.ok()) unsynced_.erase(std::string(name));
    return s;
  });
}

Status FaultBackend::Create(std::string_view name, ByteView data) {
  return Mutate(OpKind::kCreate, "create", name, [&] {
    Status s = target_->Create(name, data);
    if (s.ok()) unsynced_.erase(std::string(name));
    return s;
  });
}

Status FaultBackend::Append(std::string_view name, ByteView data) {
  return Mutate(OpKind::kAppend, "append", name, [&] {
    if (unsynced_.find(name) == unsynced_.end()) {
      Result<ObjectInfo> info = target_->Stat(name);
      DurableSize durable;
      if (info.ok()) durable = info->size;
      unsynced_.emplace(std::string(name), durable);
    }
    return target_->Append(name, data);
  });
}

Status FaultBackend::Sync(std::string_view name) {
  return Mutate(OpKind::kSync, "sync", name, [&] {
    Status s = target_->Sync(name);
    if (s.ok()) unsynced_.erase(std::string(name));
    return s;
  });
}

Status FaultBackend::Delete(std::string_view name) {
  return Mutate(OpKind::kDelete, "delete", name, [&] {
    Status s = target_->Delete(name);
    if (s.ok()) unsynced_.erase(std::string(name));
    return s;
  });
}

Result<Bytes> FaultBackend::Get(std::string_view name) {
  VCSNAP_RETURN_IF_ERROR(AdmitRead(OpKind::kGet, "get", name));
  Result<Bytes> r = target_->Get(name);
  if (r.ok()) ApplyCorruption(name, 0, &*r);
  return r;
}

Result<Bytes> FaultBackend::Read(std::string_view name, uint64_t offset,
                                 uint64_t length) {
  VCSNAP_RETURN_IF_ERROR(AdmitRead(OpKind::kRead, "read", name));
  Result<Bytes> r = target_->Read(name, offset, length);
  if (r.ok()) ApplyCorruption(name, offset, &*r);
  return r;
}

Result<ObjectInfo> FaultBackend::Stat(std::string_view name) {
  VCSNAP_RETURN_IF_ERROR(AdmitRead(OpKind::kStat, "stat", name));
  return target_->Stat(name);
}

Result<std::vector<ObjectInfo>> FaultBackend::List(std::string_view prefix) {
  VCSNAP_RETURN_IF_ERROR(AdmitRead(OpKind::kList, "list", prefix));
  return target_->List(prefix);
}

}  // namespace vcsnap
