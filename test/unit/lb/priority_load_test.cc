// Envoy priority load: reference §5, TV15, TV16 and the §5.5 worked example.
#include "lb/priority_load.h"

#include <gtest/gtest.h>

namespace meshgate::lb {
namespace {

std::vector<uint32_t> healthy_load(std::vector<LevelHealth> levels, uint32_t panic = 0) {
    return graded_priority_load(levels, 140, panic).healthy_load;
}

TEST(GradedPriorityLoad, TV15Table) {
    EXPECT_EQ(healthy_load({{4, 4, 0}, {4, 4, 0}}), (std::vector<uint32_t>{100, 0}));
    EXPECT_EQ(healthy_load({{10, 8, 0}, {5, 5, 0}}), (std::vector<uint32_t>{100, 0}));
    EXPECT_EQ(healthy_load({{100, 71, 0}, {10, 10, 0}}), (std::vector<uint32_t>{99, 1}));
    EXPECT_EQ(healthy_load({{4, 2, 0}, {4, 4, 0}}), (std::vector<uint32_t>{70, 30}));
    EXPECT_EQ(healthy_load({{4, 1, 0}, {4, 2, 0}, {2, 2, 0}}), (std::vector<uint32_t>{35, 65, 0}));
    EXPECT_EQ(healthy_load({{4, 0, 0}, {4, 1, 0}, {2, 2, 0}}), (std::vector<uint32_t>{0, 35, 65}));
}

TEST(GradedPriorityLoad, TV15LowHealthWithPanicDisabledUsesOnlyHealthyHosts) {
    auto load = graded_priority_load({{4, 1, 0}, {4, 1, 0}}, 140, 0);
    EXPECT_EQ(load.healthy_load, (std::vector<uint32_t>{50, 50}));
    EXPECT_EQ(load.panic, (std::vector<bool>{false, false}));
    EXPECT_FALSE(load.total_panic);
}

TEST(GradedPriorityLoad, TV15LowHealthWithEnvoyDefaultPanicIsTotalPanicByHostCount) {
    auto load = graded_priority_load({{4, 1, 0}, {4, 1, 0}}, 140, 50);
    EXPECT_TRUE(load.total_panic);
    EXPECT_EQ(load.panic, (std::vector<bool>{true, true}));
    EXPECT_EQ(load.healthy_load, (std::vector<uint32_t>{50, 50}));
}

TEST(GradedPriorityLoad, TV15NothingHealthyWithPanicDisabledLeavesNoHost) {
    auto load = graded_priority_load({{4, 0, 0}, {4, 0, 0}}, 140, 0);
    EXPECT_EQ(load.healthy_load, (std::vector<uint32_t>{100, 0}));
    EXPECT_FALSE(load.total_panic);
    EXPECT_EQ(load.panic, (std::vector<bool>{false, false}));
}

TEST(GradedPriorityLoad, NoPanicWhileTotalAvailabilityIsFull) {
    auto load = graded_priority_load({{4, 1, 0}, {4, 4, 0}}, 140, 30);
    EXPECT_EQ(load.panic, (std::vector<bool>{false, false}));
    EXPECT_EQ(load.healthy_load, (std::vector<uint32_t>{35, 65}));
}

TEST(GradedPriorityLoad, EnvoyDocTableTwoLevels) {
    // [ENV-DOC-PRIO]: P0 healthy % → traffic to P0/P1 with P1 fully healthy.
    EXPECT_EQ(healthy_load({{100, 100, 0}, {100, 100, 0}}), (std::vector<uint32_t>{100, 0}));
    EXPECT_EQ(healthy_load({{100, 72, 0}, {100, 100, 0}}), (std::vector<uint32_t>{100, 0}));
    EXPECT_EQ(healthy_load({{100, 71, 0}, {100, 100, 0}}), (std::vector<uint32_t>{99, 1}));
    EXPECT_EQ(healthy_load({{100, 50, 0}, {100, 100, 0}}), (std::vector<uint32_t>{70, 30}));
    EXPECT_EQ(healthy_load({{100, 25, 0}, {100, 100, 0}}), (std::vector<uint32_t>{35, 65}));
    EXPECT_EQ(healthy_load({{100, 0, 0}, {100, 100, 0}}), (std::vector<uint32_t>{0, 100}));
}

TEST(GradedPriorityLoad, WorkedExampleSection55) {
    EXPECT_EQ(healthy_load({{4, 4, 0}, {4, 4, 0}, {2, 2, 0}}), (std::vector<uint32_t>{100, 0, 0}));
    EXPECT_EQ(healthy_load({{4, 3, 0}, {4, 4, 0}, {2, 2, 0}}), (std::vector<uint32_t>{100, 0, 0}));
    EXPECT_EQ(healthy_load({{4, 2, 0}, {4, 4, 0}, {2, 2, 0}}), (std::vector<uint32_t>{70, 30, 0}));
    EXPECT_EQ(healthy_load({{4, 1, 0}, {4, 2, 0}, {2, 2, 0}}), (std::vector<uint32_t>{35, 65, 0}));
    EXPECT_EQ(healthy_load({{4, 0, 0}, {4, 1, 0}, {2, 2, 0}}), (std::vector<uint32_t>{0, 35, 65}));
    EXPECT_EQ(healthy_load({{4, 0, 0}, {4, 0, 0}, {2, 1, 0}}), (std::vector<uint32_t>{0, 0, 100}));
}

TEST(GradedPriorityLoad, TV16DegradedHostsTakeWhatHealthyCannot) {
    auto load = graded_priority_load({{100, 25, 65}}, 140, 0);
    EXPECT_EQ(load.healthy_load, (std::vector<uint32_t>{35}));
    EXPECT_EQ(load.degraded_load, (std::vector<uint32_t>{65}));
}

TEST(GradedPriorityLoad, OverprovisioningFactorIsConfigurable) {
    // With factor 100 a level spills as soon as one host is down.
    auto load = graded_priority_load({{4, 3, 0}, {4, 4, 0}}, 100, 0);
    EXPECT_EQ(load.healthy_load, (std::vector<uint32_t>{75, 25}));
}

TEST(GradedPriorityLoad, PanicInOneLevelOnlyKeepsTheComputedLoad) {
    // NTA = 35 + 56 = 91 < 100. P0 at 25 % healthy is below a 30 % threshold, P1 at 40 % is not:
    // P0 is in panic (uses all its hosts), no total panic; loads 38 + 61, remainder to P0.
    auto load = graded_priority_load({{4, 1, 0}, {10, 4, 0}}, 140, 30);
    EXPECT_EQ(load.panic, (std::vector<bool>{true, false}));
    EXPECT_FALSE(load.total_panic);
    EXPECT_EQ(load.healthy_load, (std::vector<uint32_t>{39, 61}));
}

TEST(StrictPriorityLoad, EverythingToTheBestLevelWithAHealthyHost) {
    EXPECT_EQ(strict_priority_load({{4, 1, 0}, {4, 4, 0}}).healthy_load, (std::vector<uint32_t>{100, 0}));
    EXPECT_EQ(strict_priority_load({{4, 0, 0}, {4, 1, 0}}).healthy_load, (std::vector<uint32_t>{0, 100}));
    EXPECT_EQ(strict_priority_load({{4, 0, 0}, {4, 0, 0}}).healthy_load, (std::vector<uint32_t>{0, 0}));
}

}  // namespace
}  // namespace meshgate::lb
