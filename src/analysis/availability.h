// File: analysis/availability.h
//
// The snapshot-availability model of the paper's §4.3. A storage block is
// kept on `replicas` of `machines` machines, its replica set chosen at random
// and independently of other blocks. When `failed` machines fail, a block is
// lost iff all its replicas are among them:
//
//   P(block lost) = C(failed, replicas) / C(machines, replicas)
//
// and a VM's snapshots survive iff none of the N blocks they depend on is
// lost: (1 - P)^N. (Table 2 of the paper is BlockAvailability for 100
// machines and 3 or 4 replicas; analysis_test checks it digit for digit.)
//
// Independence is the model's assumption, as in the paper. Ceph places
// objects by placement group, so blocks of one group share fate; with many
// more groups than a VM's blocks the model holds, otherwise it is
// pessimistic about the number of independent losses.
//
// Thread safety: pure functions.

#ifndef VCSNAP_ANALYSIS_AVAILABILITY_H_
#define VCSNAP_ANALYSIS_AVAILABILITY_H_

#include <cstdint>

namespace vcsnap {

// C(failed, replicas) / C(machines, replicas); 0 when failed < replicas,
// 1 when failed >= machines >= replicas. REQUIRES: 1 <= replicas <= machines.
double BlockLossProbability(uint32_t machines, uint32_t replicas,
                            uint32_t failed);

// 1 - BlockLossProbability.
double BlockAvailability(uint32_t machines, uint32_t replicas, uint32_t failed);

// (1 - loss)^blocks, computed without the rounding of 1 - loss for tiny loss.
// REQUIRES: 0 <= loss <= 1.
double SurvivalOf(uint64_t blocks, double loss);

}  // namespace vcsnap

#endif  // VCSNAP_ANALYSIS_AVAILABILITY_H_
