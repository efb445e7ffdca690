// Runs the conformance suite against every Backend in this tree.

#include "backend/backend_conformance.h"

#include "backend/fault_backend.h"
#include "backend/local_backend.h"
#include "backend/mem_backend.h"
#include "testing/temp_dir.h"

namespace vcsnap::testing {
namespace {

std::unique_ptr<Backend> MakeLocal(uint64_t limit) {
  return std::move(
      *LocalBackend::Open(NewTempDir("conformance"), /*create=*/true, limit));
}

// A FaultBackend with no faults armed must be transparent. It owns its
// target through this small holder.
class OwningFault final : public Backend {
 public:
  explicit OwningFault(std::unique_ptr<Backend> t)
      : target_(std::move(t)), fault_(target_.get()) {}
  uint64_t max_object_size() const override { return fault_.max_object_size(); }
  std::string Describe() const override { return fault_.Describe(); }
  Status Put(std::string_view n, ByteView d) override {
    return fault_.Put(n, d);
  }
  Status Create(std::string_view n, ByteView d) override {
    return fault_.Create(n, d);
  }
  Result<Bytes> Get(std::string_view n) override { return fault_.Get(n); }
  Result<Bytes> Read(std::string_view n, uint64_t o, uint64_t l) override {
    return fault_.Read(n, o, l);
  }
  Status Append(std::string_view n, ByteView d) override {
    return fault_.Append(n, d);
  }
  Status Sync(std::string_view n) override { return fault_.Sync(n); }
  Status Delete(std::string_view n) override { return fault_.Delete(n); }
  Result<ObjectInfo> Stat(std::string_view n) override {
    return fault_.Stat(n);
  }
  Result<std::vector<ObjectInfo>> List(std::string_view p) override {
    return fault_.List(p);
  }

 private:
  std::unique_ptr<Backend> target_;
  FaultBackend fault_;
};

INSTANTIATE_TEST_SUITE_P(
    AllBackends, BackendConformance,
    ::testing::Values(
        BackendFactory{"Mem",
                       [](uint64_t limit) -> std::unique_ptr<Backend> {
                         return std::make_unique<MemBackend>(limit);
                       }},
        BackendFactory{"Local", MakeLocal},
        BackendFactory{"FaultOverMem",
                       [](uint64_t limit) -> std::unique_ptr<Backend> {
                         return std::make_unique<OwningFault>(
                             std::make_unique<MemBackend>(limit));
                       }},
        BackendFactory{"FaultOverLocal",
                       [](uint64_t limit) -> std::unique_ptr<Backend> {
                         return std::make_unique<OwningFault>(MakeLocal(limit));
                       }}),
    FactoryName);

}  // namespace
}  // namespace vcsnap::testing
