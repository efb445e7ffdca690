// File: source/nbd_maps.cc

#include "source/nbd_maps.h"

#include <algorithm>
#include <cstring>

namespace vcsnap {
namespace {

constexpr uint32_t kStateZero = 2;   // NBD_STATE_ZERO of base:allocation
constexpr uint32_t kStateDirty = 1;  // bit 0 of qemu:dirty-bitmap:*

void SetBit(std::vector<uint8_t>& bits, uint64_t k) {
  bits[k >> 3] |= static_cast<uint8_t>(1u << (k & 7));
}

}  // namespace

NbdMapBuilder::NbdMapBuilder(uint64_t size, uint64_t granule, bool allocation,
                             std::string dirty_context,
                             std::vector<uint8_t>* zero_bits,
                             std::vector<uint8_t>* dirty_bits)
    : size_(size),
      granule_(granule),
      dirty_context_(std::move(dirty_context)),
      zero_bits_(zero_bits),
      dirty_bits_(dirty_bits) {
  const uint64_t bytes = ((size + granule - 1) / granule + 7) / 8;
  zero_bits_->assign(bytes, 0);
  dirty_bits_->assign(dirty_context_.empty() ? 0 : bytes, 0);
  alloc_end_ = allocation ? 0 : size;
  dirty_end_ = dirty_context_.empty() ? size : 0;
}

uint64_t NbdMapBuilder::covered() const {
  return std::min(alloc_end_, dirty_end_);
}

void NbdMapBuilder::FlushZeros() {
  if (!zero_pending_) return;
  zero_pending_ = false;
  const uint64_t first = (zero_begin_ + granule_ - 1) / granule_;
  const uint64_t stop = zero_end_ == size_ ? (size_ + granule_ - 1) / granule_
                                           : zero_end_ / granule_;
  for (uint64_t k = first; k < stop; ++k) SetBit(*zero_bits_, k);
}

void NbdMapBuilder::Zero(uint64_t begin, uint64_t end) {
  if (!zero_pending_ || zero_end_ != begin) {
    FlushZeros();
    zero_begin_ = begin;
    zero_pending_ = true;
  }
  zero_end_ = end;
}

void NbdMapBuilder::Dirty(uint64_t begin, uint64_t end) {
  for (uint64_t k = begin / granule_; k < (end + granule_ - 1) / granule_;
       ++k) {
    SetBit(*dirty_bits_, k);
  }
}

bool NbdMapBuilder::Add(const char* context, uint64_t offset,
                        const uint32_t* entries, size_t n) {
  const bool alloc = std::strcmp(context, kNbdAllocationContext) == 0;
  if (!alloc && (dirty_context_.empty() || dirty_context_ != context)) {
    return true;  // not asked for
  }
  uint64_t& covered = alloc ? alloc_end_ : dirty_end_;
  if (n % 2 != 0 || n == 0 || offset > covered) {
    error_ = "malformed block status reply for " + std::string(context) +
             " at offset " + std::to_string(offset);
    return false;
  }
  uint64_t at = offset;
  for (size_t i = 0; i + 1 < n && at < size_; i += 2) {
    const uint64_t len = entries[i];
    const uint32_t flags = entries[i + 1];
    if (len == 0) {
      error_ = "empty extent in the block status of " + std::string(context) +
               " at offset " + std::to_string(at);
      return false;
    }
    const uint64_t end = std::min(size_, at + len);
    if (end > covered) {
      const uint64_t begin = std::max(at, covered);
      if (alloc && (flags & kStateZero) != 0) Zero(begin, end);
      if (!alloc && (flags & kStateDirty) != 0) Dirty(begin, end);
      covered = end;
    }
    at = end;
  }
  return true;
}

}  // namespace vcsnap
