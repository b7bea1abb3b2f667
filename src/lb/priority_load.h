#pragma once

#include <cstdint>
#include <vector>

namespace meshgate::lb {

// Host counts of one priority level. Excluded hosts (draining) are not counted at all.
struct LevelHealth {
    uint64_t total = 0;
    uint64_t healthy = 0;
    uint64_t degraded = 0;
};

// Percent of new flows each level gets (healthy and degraded hosts separately), and which
// levels are in panic (then every host of the level is used, whatever its health).
struct PriorityLoad {
    std::vector<uint32_t> healthy_load;
    std::vector<uint32_t> degraded_load;
    std::vector<bool> panic;
    bool total_panic = false;
};

// Envoy's priority load (reference §5.2, §5.3): overprovisioning factor in percent, panic
// threshold in percent (0 disables panic).
PriorityLoad graded_priority_load(const std::vector<LevelHealth>& levels,
                                  uint32_t overprovisioning_factor, uint32_t panic_threshold);

// ztunnel: everything to the best level that still has a healthy host (reference §2.3).
PriorityLoad strict_priority_load(const std::vector<LevelHealth>& levels);

}  // namespace meshgate::lb
