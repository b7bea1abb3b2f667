#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "core/locality.h"
#include "lb/mode.h"

namespace meshgate::lb {

enum class Scope : uint8_t { network, region, zone, subzone, node, cluster };

const char* to_string(Scope scope);
// Whether two localities agree on one scope (plain string equality; "" equals "").
bool scope_matches(Scope scope, const Locality& a, const Locality& b);

// A mode as ztunnel encodes it: an ordered scope list, FAILOVER or STRICT.
struct ScopePolicy {
    std::vector<Scope> scopes;
    bool strict = false;
};

// The scope list of a traffic-distribution mode (semantics.md §3). Not for destination_rule.
ScopePolicy scope_policy(TrafficMode mode);

// ztunnel's prefix rank (reference §3.3): higher is closer. nullopt: STRICT dropped it.
std::optional<uint32_t> ztunnel_rank(const Locality& selector, const Locality& endpoint,
                                     const ScopePolicy& policy);

// Priority levels from per-candidate ranks where a higher rank is better: distinct ranks,
// best first, become 0, 1, … ; nullopt stays nullopt (not in any level).
std::vector<std::optional<uint32_t>> levels_from_ranks(
    const std::vector<std::optional<uint32_t>>& ranks);

// The same for Envoy priorities where a lower raw value is better (compaction, reference §6).
std::vector<std::optional<uint32_t>> compact_priorities(
    const std::vector<std::optional<uint32_t>>& raw);

}  // namespace meshgate::lb
