// File: testing/forwarding_backend.h
//
// ForwardingBackend: an owned handle that forwards every call to a borrowed
// Backend, so that a Repository (which owns its backend) can run on a
// MemBackend or FaultBackend that the test keeps and controls. Tests may
// derive from it to observe some calls and forward the rest.

#ifndef VCSNAP_TESTING_FORWARDING_BACKEND_H_
#define VCSNAP_TESTING_FORWARDING_BACKEND_H_

#include "backend/backend.h"

namespace vcsnap::testing {

class ForwardingBackend : public Backend {
 public:
  explicit ForwardingBackend(Backend* target) : t_(target) {}
  uint64_t max_object_size() const override { return t_->max_object_size(); }
  std::string Describe() const override { return t_->Describe(); }
  Status Put(std::string_view n, ByteView d) override { return t_->Put(n, d); }
  Status Create(std::string_view n, ByteView d) override {
    return t_->Create(n, d);
  }
  Result<Bytes> Get(std::string_view n) override { return t_->Get(n); }
  Result<Bytes> Read(std::string_view n, uint64_t o, uint64_t l) override {
    return t_->Read(n, o, l);
  }
  Status Append(std::string_view n, ByteView d) override {
    return t_->Append(n, d);
  }
  Status Sync(std::string_view n) override { return t_->Sync(n); }
  Status Delete(std::string_view n) override { return t_->Delete(n); }
  Result<ObjectInfo> Stat(std::string_view n) override { return t_->Stat(n); }
  Result<std::vector<ObjectInfo>> List(std::string_view p) override {
    return t_->List(p);
  }
  Result<uint32_t> CopiesOf(std::string_view n) override {
    return t_->CopiesOf(n);
  }
  Result<uint64_t> PlacementGroupOf(std::string_view n) override {
    return t_->PlacementGroupOf(n);
  }
  // LowerObjectSizeLimit is not forwarded: the target may be shared.

 private:
  Backend* const t_;
};

}  // namespace vcsnap::testing

#endif  // VCSNAP_TESTING_FORWARDING_BACKEND_H_
