#pragma once

#include <map>

#include <nlohmann/json.hpp>

#include "control/flow_simulation.h"
#include "core/config.h"
#include "lb/planner.h"

namespace meshgate::control {

// The `plan --json` document of interfaces.md. `flows`, when given, is per service index.
nlohmann::json plan_to_json(const Config& config, const lb::Plan& plan,
                            const std::map<uint32_t, FlowCounts>* flows = nullptr);

}  // namespace meshgate::control
