#pragma once

#include <vector>

#include <nlohmann/json.hpp>

#include "control/counter_totals.h"
#include "core/config.h"

namespace meshgate::control {

// Sums the workers' counters (relaxed reads; workers keep running) into one document:
// totals, drops by reason, and per service and endpoint of `config` (endpoints by slot).
nlohmann::json collect_stats(const CounterTotals& counters, const Config& config);

}  // namespace meshgate::control
