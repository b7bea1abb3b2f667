#pragma once

#include <ostream>

#include <nlohmann/json.hpp>

namespace meshgate::cli {

// The readable form of a `plan --json` document (offline or a daemon's live plan): levels,
// loads, shares, which setting won and why, warnings.
void print_plan(std::ostream& out, const nlohmann::json& plan);

}  // namespace meshgate::cli
