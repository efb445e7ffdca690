#include "backend/mem_backend.h"

#include <algorithm>

namespace vcsnap {
namespace {

Status Missing(std::string_view op, std::string_view name) {
  return Status::NotFound(std::string(op) + " " + std::string(name) +
                          ": no such object");
}

}  // namespace

Status MemBackend::Put(std::string_view name, ByteView data) {
  VCSNAP_RETURN_IF_ERROR(ValidateObjectName(name));
  VCSNAP_RETURN_IF_ERROR(
      CheckObjectSize("put", name, data.size(), max_object_size_));
  std::lock_guard lock(mu_);
  objects_[std::string(name)] = Bytes(data.begin(), data.end());
  return Status::Ok();
}

Status MemBackend::Create(std::string_view name, ByteView data) {
  VCSNAP_RETURN_IF_ERROR(ValidateObjectName(name));
  VCSNAP_RETURN_IF_ERROR(
      CheckObjectSize("create", name, data.size(), max_object_size_));
  std::lock_guard lock(mu_);
  auto [it, inserted] = objects_.try_emplace(std::string(name));
  if (!inserted) {
    return Status::AlreadyExists("create " + std::string(name) +
                                 ": object exists");
  }
  it->second.assign(data.begin(), data.end());
  return Status::Ok();
}

Result<Bytes> MemBackend::Get(std::string_view name) {
  VCSNAP_RETURN_IF_ERROR(ValidateObjectName(name));
  std::lock_guard lock(mu_);
  auto it = objects_.find(name);
  if (it == objects_.end()) return Missing("get", name);
  return it->second;
}

Result<Bytes> MemBackend::Read(std::string_view name, uint64_t offset,
                               uint64_t length) {
  VCSNAP_RETURN_IF_ERROR(ValidateObjectName(name));
  std::lock_guard lock(mu_);
  auto it = objects_.find(name);
  if (it == objects_.end()) return Missing("read", name);
  const Bytes& b = it->second;
  if (offset >= b.size()) return Bytes();
  uint64_t n = std::min<uint64_t>(length, b.size() - offset);
  return Bytes(b.begin() + static_cast<ptrdiff_t>(offset),
               b.begin() + static_cast<ptrdiff_t>(offset + n));
}

Status MemBackend::Append(std::string_view name, ByteView data) {
  VCSNAP_RETURN_IF_ERROR(ValidateObjectName(name));
  std::lock_guard lock(mu_);
  Bytes& b = objects_[std::string(name)];
  Status s =
      CheckObjectSize("append", name, b.size() + data.size(), max_object_size_);
  if (!s.ok()) {
    if (b.empty()) objects_.erase(std::string(name));
    return s;
  }
  b.insert(b.end(), data.begin(), data.end());
  return Status::Ok();
}

Status MemBackend::Sync(std::string_view name) {
  VCSNAP_RETURN_IF_ERROR(ValidateObjectName(name));
  std::lock_guard lock(mu_);
  if (objects_.find(name) == objects_.end()) return Missing("sync", name);
  return Status::Ok();
}

Status MemBackend::Delete(std::string_view name) {
  VCSNAP_RETURN_IF_ERROR(ValidateObjectName(name));
  std::lock_guard lock(mu_);
  auto it = objects_.find(name);
  if (it == objects_.end()) return Missing("delete", name);
  objects_.erase(it);
  return Status::Ok();
}

Result<ObjectInfo> MemBackend::Stat(std::string_view name) {
  VCSNAP_RETURN_IF_ERROR(ValidateObjectName(name));
  std::lock_guard lock(mu_);
  auto it = objects_.find(name);
  if (it == objects_.end()) return Missing("stat", name);
  return ObjectInfo{it->first, it->second.size()};
}

Result<std::vector<ObjectInfo>> MemBackend::List(std::string_view prefix) {
  VCSNAP_RETURN_IF_ERROR(ValidateObjectPrefix(prefix));
  std::lock_guard lock(mu_);
  std::vector<ObjectInfo> out;
  for (auto it = objects_.lower_bound(prefix);
       it != objects_.end() && it->first.starts_with(prefix); ++it) {
    out.push_back(ObjectInfo{it->first, it->second.size()});
  }
  return out;
}

}  // namespace vcsnap
