#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/config.h"
#include "lb/mode.h"

namespace meshgate::lb {

// How one hop's eligible endpoints fall into priority levels under the decided mode
// (ztunnel prefix ranking, or the DestinationRule's Envoy priorities).
struct LevelAssignment {
    std::vector<std::optional<uint32_t>> level;  // per candidate; nullopt: in no level
    std::vector<std::string> dropped_reason;     // per candidate, when level is nullopt
    std::vector<std::string> level_why;          // per level
    // With `distribute`: each candidate's locality and that locality's weight.
    bool locality_weighted = false;
    std::vector<std::string> locality;
    std::vector<uint64_t> locality_weight;
    std::vector<std::string> notes;     // how the rule was applied
    std::vector<std::string> warnings;  // settings that had no effect
};

LevelAssignment assign_levels(const Config& config, const ModeDecision& mode,
                              const DestinationRule* rule,
                              const std::vector<const Endpoint*>& candidates);

}  // namespace meshgate::lb
