#include "analysis/availability.h"

#include <gtest/gtest.h>

#include <cmath>

namespace vcsnap {
namespace {

// The paper's Table 2: availability (%) of a single block on 100 machines
// with 3 and 4 replicas as d machines fail, printed to 3 or 4 decimals. Ours
// must agree to within one unit of the last printed digit (the paper's
// 99.993 for d = 5, R = 3 is 99.99382 truncated; the others are rounded).
TEST(Availability, ReproducesTable2OfThePaper) {
  struct Row {
    uint32_t failed;
    double r3, r3_unit;
    double r4, r4_unit;
  };
  const Row table[] = {
      {1, 100, 1e-3, 100, 1e-3},        {2, 100, 1e-3, 100, 1e-3},
      {3, 99.999, 1e-3, 100, 1e-3},     {5, 99.993, 1e-3, 99.9999, 1e-4},
      {10, 99.926, 1e-3, 99.995, 1e-3}, {20, 99.295, 1e-3, 99.876, 1e-3}};
  for (const Row& row : table) {
    SCOPED_TRACE(row.failed);
    EXPECT_NEAR(100 * BlockAvailability(100, 3, row.failed), row.r3,
                row.r3_unit);
    EXPECT_NEAR(100 * BlockAvailability(100, 4, row.failed), row.r4,
                row.r4_unit);
  }
  // And exactly: C(5,3) / C(100,3) = 10 / 161700.
  EXPECT_DOUBLE_EQ(BlockLossProbability(100, 3, 5), 10.0 / 161700);
  EXPECT_DOUBLE_EQ(BlockLossProbability(100, 4, 20), 4845.0 / 3921225);
}

TEST(Availability, LossIsTheShareOfReplicaSetsInsideTheFailedMachines) {
  // 4 of 10 machines, 3 replicas: C(4,3) / C(10,3) = 4 / 120.
  EXPECT_DOUBLE_EQ(BlockLossProbability(10, 3, 4), 4.0 / 120);
  EXPECT_DOUBLE_EQ(BlockLossProbability(10, 3, 2), 0.0);  // fewer than r
  EXPECT_DOUBLE_EQ(BlockLossProbability(10, 3, 3), 1.0 / 120);
  EXPECT_DOUBLE_EQ(BlockLossProbability(10, 3, 10), 1.0);  // all of them
  EXPECT_DOUBLE_EQ(BlockLossProbability(10, 3, 12), 1.0);
  EXPECT_DOUBLE_EQ(BlockLossProbability(5, 5, 4), 0.0);
  EXPECT_DOUBLE_EQ(BlockLossProbability(5, 5, 5), 1.0);
}

TEST(Availability, SurvivalOfManyBlocks) {
  EXPECT_DOUBLE_EQ(SurvivalOf(0, 0.5), 1.0);
  EXPECT_DOUBLE_EQ(SurvivalOf(7, 0.0), 1.0);
  EXPECT_DOUBLE_EQ(SurvivalOf(7, 1.0), 0.0);
  EXPECT_NEAR(SurvivalOf(10, 0.1), std::pow(0.9, 10), 1e-15);
  EXPECT_NEAR(SurvivalOf(3, 1.0 / 30), std::pow(29.0 / 30, 3), 1e-15);
  // 1 - 1e-17 is 1 in double; the product of a billion such blocks is not.
  EXPECT_NEAR(SurvivalOf(1'000'000'000, 1e-17), 1 - 1e-8, 1e-15);
  EXPECT_LT(SurvivalOf(1'000'000'000, 1e-17), 1.0);
}

}  // namespace
}  // namespace vcsnap
