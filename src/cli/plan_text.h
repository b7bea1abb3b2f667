#pragma once

#include <map>
#include <ostream>

#include "control/flow_simulation.h"
#include "core/config.h"
#include "lb/planner.h"

namespace meshgate::cli {

// The readable form of a plan: levels, loads, shares, which setting won and why, warnings.
void print_plan(std::ostream& out, const Config& config, const lb::Plan& plan,
                const std::map<uint32_t, control::FlowCounts>* flows);

}  // namespace meshgate::cli
