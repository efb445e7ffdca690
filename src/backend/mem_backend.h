// File: backend/mem_backend.h
//
// MemBackend: a Backend held in process memory, for tests and benchmarks that
// must not touch a disk. Everything is "durable" at once (there is no crash
// to survive; FaultBackend adds one). Contracts as in backend.h.
//
// Thread safety: fully thread-safe (one mutex; reads copy out).

#ifndef VCSNAP_BACKEND_MEM_BACKEND_H_
#define VCSNAP_BACKEND_MEM_BACKEND_H_

#include <map>
#include <mutex>
#include <string>

#include "backend/backend.h"

namespace vcsnap {

class MemBackend final : public Backend {
 public:
  explicit MemBackend(uint64_t max_object_size = kDefaultMaxObjectSize)
      : max_object_size_(max_object_size) {}

  uint64_t max_object_size() const override { return max_object_size_; }
  std::string Describe() const override { return "mem"; }
  Status Put(std::string_view name, ByteView data) override;
  Status Create(std::string_view name, ByteView data) override;
  Result<Bytes> Get(std::string_view name) override;
  Result<Bytes> Read(std::string_view name, uint64_t offset,
                     uint64_t length) override;
  Status Append(std::string_view name, ByteView data) override;
  Status Sync(std::string_view name) override;
  Status Delete(std::string_view name) override;
  Result<ObjectInfo> Stat(std::string_view name) override;
  Result<std::vector<ObjectInfo>> List(std::string_view prefix) override;

 private:
  const uint64_t max_object_size_;
  std::mutex mu_;
  std::map<std::string, Bytes, std::less<>> objects_;  // guarded by mu_
};

}  // namespace vcsnap

#endif  // VCSNAP_BACKEND_MEM_BACKEND_H_
