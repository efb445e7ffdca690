// File: backend/fault_backend.h
//
// FaultBackend: a test wrapper around any Backend that injects the failures a
// storage system must survive:
//
//  - errors: fail the Nth operation from now, or every operation of chosen
//    kinds on names with a chosen prefix, with an IOError ("injected fault");
//  - crashes: at the Nth operation the "machine" stops: that operation fails
//    (or, with apply_then_crash, takes effect and then reports failure, as
//    when a crash comes between the write and its acknowledgement) and every
//    later call fails until Restart(). Restart() -- or SimulateCrash() at any
//    time -- drops everything that was not durable per backend.h: bytes
//    appended since the object's last Sync are cut off, and objects that only
//    ever existed through unsynced appends vanish. With a torn-tail seed, a
//    random prefix of the unsynced bytes survives instead (a torn write);
//  - bit rot: bytes returned by Get/Read of chosen objects at a chosen offset
//    are XORed with a mask, the stored bytes left intact.
//
// The wrapper tracks durability itself, so it works over MemBackend and
// LocalBackend alike. Operation counting includes every call, successful or
// not, so a test can run a workload once to count its operations and then
// crash it at each of them in turn.
//
// Thread safety: fully thread-safe (one mutex around the fault state; calls
// into the target happen outside it except where durability tracking needs
// the order of effects, i.e. writes).

#ifndef VCSNAP_BACKEND_FAULT_BACKEND_H_
#define VCSNAP_BACKEND_FAULT_BACKEND_H_

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "backend/backend.h"

namespace vcsnap {

enum class OpKind : uint8_t {
  kPut,
  kCreate,
  kGet,
  kRead,
  kAppend,
  kSync,
  kDelete,
  kStat,
  kList,
};

class FaultBackend final : public Backend {
 public:
  // `target` must outlive this wrapper.
  explicit FaultBackend(Backend* target) : target_(target) {}

  // --- fault control (tests) ---
  // The Nth call from now (1 = the next one) fails with IOError.
  void FailNth(uint64_t n);
  // Every call of `kind` on a name (or list prefix) starting with
  // `name_prefix` fails, until ClearFaults().
  void FailKind(OpKind kind, std::string name_prefix = "");
  // The Nth call from now (1 = the next one) crashes the machine. With
  // `apply_then_crash`, the call takes effect on the target first.
  void CrashAtNth(uint64_t n, bool apply_then_crash = false);
  // Drops non-durable data now and leaves the backend running, as if the
  // machine had crashed and restarted between two calls.
  void SimulateCrash();
  // After a crash: drops non-durable data and accepts calls again.
  void Restart();
  // Keep a random prefix (seeded) of unsynced appended bytes on crash.
  void SetTornTail(uint64_t seed);
  // Get/Read of objects starting with `name_prefix` return the byte at
  // `offset` XORed with `mask` (when the result covers it).
  void CorruptReads(std::string name_prefix, uint64_t offset,
                    uint8_t mask = 0x01);
  void ClearFaults();

  bool crashed() const;
  // "<kind> <name>" of the call that the last FailNth failed ("" if none).
  std::string failed_call() const;
  // Calls made so far, failed or not.
  uint64_t op_count() const;

  // --- Backend ---
  uint64_t max_object_size() const override {
    return target_->max_object_size();
  }
  std::string Describe() const override {
    return "fault(" + target_->Describe() + ")";
  }
  // Placement queries pass through, never faulted or counted (they read
  // the cluster's maps, not objects).
  Result<uint32_t> CopiesOf(std::string_view name) override {
    return target_->CopiesOf(name);
  }
  Result<uint64_t> PlacementGroupOf(std::string_view name) override {
    return target_->PlacementGroupOf(name);
  }
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
  enum class Gate { kProceed, kFail, kApplyThenCrash };
  struct KindFault {
    OpKind kind;
    std::string prefix;
  };
  struct CorruptSpec {
    std::string prefix;
    uint64_t offset;
    uint8_t mask;
  };
  // Durable size of an object with unsynced appends; nullopt: the object did
  // not exist durably at all.
  using DurableSize = std::optional<uint64_t>;

  // Counts the call and decides its fate. REQUIRES: mu_ held.
  Gate Admit(OpKind kind, std::string_view name);
  Status Injected(std::string_view op, std::string_view name) const;
  // Admit() for a call that changes nothing; OK iff it may proceed.
  Status AdmitRead(OpKind kind, std::string_view op, std::string_view name);
  void DropUnsynced();  // REQUIRES: mu_ held
  void ApplyCorruption(std::string_view name, uint64_t offset, Bytes* data);
  // Runs a mutating call under the gate, keeping durability tracking in order.
  template <typename F>
  Status Mutate(OpKind kind, std::string_view op, std::string_view name,
                F&& apply);

  Backend* const target_;
  mutable std::mutex mu_;
  uint64_t ops_ = 0;       // guarded by mu_
  uint64_t fail_at_ = 0;   // absolute op number; 0 = none
  uint64_t crash_at_ = 0;  // absolute op number; 0 = none
  bool apply_then_crash_ = false;
  bool crashed_ = false;
  std::string failed_call_;  // guarded by mu_
  std::vector<KindFault> kind_faults_;
  std::vector<CorruptSpec> corrupt_;
  std::map<std::string, DurableSize, std::less<>> unsynced_;
  std::optional<std::mt19937_64> torn_rng_;
};

}  // namespace vcsnap

#endif  // VCSNAP_BACKEND_FAULT_BACKEND_H_
