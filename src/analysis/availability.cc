#include "analysis/availability.h"

#include <cmath>

namespace vcsnap {

double BlockLossProbability(uint32_t machines, uint32_t replicas,
                            uint32_t failed) {
  if (failed < replicas) return 0.0;
  if (failed >= machines) return 1.0;
  // prod_{i < replicas} (failed - i) / (machines - i): each factor <= 1, so
  // no overflow and no cancellation.
  double p = 1.0;
  for (uint32_t i = 0; i < replicas; i++) {
    p *= static_cast<double>(failed - i) / static_cast<double>(machines - i);
  }
  return p;
}

double BlockAvailability(uint32_t machines, uint32_t replicas,
                         uint32_t failed) {
  return 1.0 - BlockLossProbability(machines, replicas, failed);
}

double SurvivalOf(uint64_t blocks, double loss) {
  if (blocks == 0 || loss <= 0.0) return 1.0;
  if (loss >= 1.0) return 0.0;
  return std::exp(static_cast<double>(blocks) * std::log1p(-loss));
}

}  // namespace vcsnap
