#pragma once

#include <vector>

#include <nlohmann/json.hpp>

#include "core/config.h"
#include "dataplane/counters.h"

namespace meshgate::control {

// Sums the workers' counters (relaxed reads; workers keep running) into one document:
// totals, drops by reason, and per service and endpoint of `config`. The admin API's
// `stats` will serve it.
nlohmann::json collect_stats(const std::vector<const dataplane::WorkerCounters*>& workers, const Config& config);

}  // namespace meshgate::control
