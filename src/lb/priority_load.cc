#include "lb/priority_load.h"

#include <algorithm>

namespace meshgate::lb {

namespace {

uint32_t availability(uint64_t hosts, uint64_t host_count, uint32_t opf) {
    if (host_count == 0) return 0;
    return static_cast<uint32_t>(std::min<uint64_t>(100, opf * hosts / host_count));
}

bool in_panic(const LevelHealth& l, uint32_t panic_threshold) {
    double healthy = l.total == 0 ? 0.0 : 100.0 * static_cast<double>(l.healthy) / static_cast<double>(l.total);
    double degraded = l.total == 0 ? 0.0 : 100.0 * static_cast<double>(l.degraded) / static_cast<double>(l.total);
    return healthy + degraded < static_cast<double>(panic_threshold);
}

// All levels in panic: load by host count, remainder to the first non-empty level.
void total_panic_load(const std::vector<LevelHealth>& levels, PriorityLoad& load) {
    uint64_t hosts = 0;
    for (const auto& l : levels) hosts += l.total;
    std::fill(load.healthy_load.begin(), load.healthy_load.end(), 0);
    std::fill(load.degraded_load.begin(), load.degraded_load.end(), 0);
    if (hosts == 0) {
        load.healthy_load[0] = 100;
        return;
    }
    uint32_t assigned = 0;
    for (size_t p = 0; p < levels.size(); ++p) {
        load.healthy_load[p] = static_cast<uint32_t>(100 * levels[p].total / hosts);
        assigned += load.healthy_load[p];
    }
    for (size_t p = 0; p < levels.size(); ++p) {
        if (levels[p].total > 0) {
            load.healthy_load[p] += 100 - assigned;
            break;
        }
    }
}

}  // namespace

PriorityLoad graded_priority_load(const std::vector<LevelHealth>& levels,
                                  uint32_t overprovisioning_factor, uint32_t panic_threshold) {
    const size_t n = levels.size();
    PriorityLoad load{std::vector<uint32_t>(n, 0), std::vector<uint32_t>(n, 0),
                      std::vector<bool>(n, false), false};
    if (n == 0) return load;

    std::vector<uint32_t> health(n), degraded(n);
    uint32_t sum = 0;
    for (size_t p = 0; p < n; ++p) {
        health[p] = availability(levels[p].healthy, levels[p].total, overprovisioning_factor);
        degraded[p] = availability(levels[p].degraded, levels[p].total, overprovisioning_factor);
        sum += health[p] + degraded[p];
    }
    const uint32_t nta = std::min<uint32_t>(100, sum);

    if (nta > 0) {
        uint32_t remaining = 100;
        for (size_t p = 0; p < n; ++p) {
            load.healthy_load[p] = std::min(remaining, health[p] * 100 / nta);
            remaining -= load.healthy_load[p];
        }
        for (size_t p = 0; p < n; ++p) {
            load.degraded_load[p] = std::min(remaining, degraded[p] * 100 / nta);
            remaining -= load.degraded_load[p];
        }
        if (remaining > 0) {
            auto first_healthy = std::find_if(health.begin(), health.end(), [](uint32_t h) { return h > 0; });
            if (first_healthy != health.end()) {
                load.healthy_load[first_healthy - health.begin()] += remaining;
            } else {
                auto first_degraded = std::find_if(degraded.begin(), degraded.end(), [](uint32_t d) { return d > 0; });
                load.degraded_load[first_degraded - degraded.begin()] += remaining;
            }
        }
    }

    if (panic_threshold == 0) {
        // Panic disabled: with nothing available the flow is refused, P0 keeps the (empty) load.
        if (nta == 0) load.healthy_load[0] = 100;
        return load;
    }
    if (nta == 100) return load;
    bool all = true;
    for (size_t p = 0; p < n; ++p) {
        load.panic[p] = in_panic(levels[p], panic_threshold);
        all = all && load.panic[p];
    }
    if (all) {
        load.total_panic = true;
        total_panic_load(levels, load);
    }
    return load;
}

PriorityLoad strict_priority_load(const std::vector<LevelHealth>& levels) {
    const size_t n = levels.size();
    PriorityLoad load{std::vector<uint32_t>(n, 0), std::vector<uint32_t>(n, 0),
                      std::vector<bool>(n, false), false};
    for (size_t p = 0; p < n; ++p) {
        if (levels[p].healthy > 0) {
            load.healthy_load[p] = 100;
            return load;
        }
    }
    for (size_t p = 0; p < n; ++p) {
        if (levels[p].degraded > 0) {
            load.degraded_load[p] = 100;
            return load;
        }
    }
    return load;
}

}  // namespace meshgate::lb
