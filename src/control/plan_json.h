#pragma once

#include <map>
#include <string>

#include <nlohmann/json.hpp>

#include "control/flow_simulation.h"
#include "core/config.h"
#include "lb/planner.h"

namespace meshgate::control {

// Every hop's SelectionTable digest together, as 16 hex digits: equal on two nodes exactly
// when they send every new flow of the service to the same endpoint.
std::string tables_hash(const lb::ServicePlan& plan);

// The `plan --json` document of interfaces.md. `flows`, when given, is per service index.
nlohmann::json plan_to_json(const Config& config, const lb::Plan& plan,
                            const std::map<uint32_t, FlowCounts>* flows = nullptr);
// The same for plans held elsewhere (a live snapshot's).
nlohmann::json plan_to_json(const Config& config, const std::vector<const lb::ServicePlan*>& services,
                            const std::vector<std::string>& warnings, const std::map<uint32_t, FlowCounts>* flows = nullptr);

}  // namespace meshgate::control
