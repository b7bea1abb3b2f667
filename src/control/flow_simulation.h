#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "core/config.h"
#include "lb/planner.h"

namespace meshgate::control {

// Where synthetic new flows went, pushed through the same hash and SelectionTable the data
// plane uses (`meshgatectl plan --flows N`).
struct FlowCounts {
    uint64_t total = 0;
    uint64_t refused = 0;  // no endpoint could be chosen
    std::map<std::string, uint64_t> per_endpoint;  // endpoint key → flows
};

// `flows` deterministic pseudo-random flows from client addresses in 198.18.0.0/15 to the
// service's VIPs and ports, through the service's first hop. `seed` varies the clients.
FlowCounts simulate_flows(const Config& config, const lb::ServicePlan& plan, uint64_t flows, uint64_t seed = 1);

}  // namespace meshgate::control
