#include "lb/ranking.h"

#include <algorithm>
#include <map>

namespace meshgate::lb {

ScopePolicy scope_policy(TrafficMode mode) {
    switch (mode) {
        case TrafficMode::prefer_network: return {{Scope::network}, false};
        case TrafficMode::prefer_region: return {{Scope::network, Scope::region}, false};
        case TrafficMode::prefer_same_zone:
            return {{Scope::network, Scope::region, Scope::zone}, false};
        case TrafficMode::prefer_same_node:
            return {{Scope::network, Scope::region, Scope::zone, Scope::subzone, Scope::node}, false};
        case TrafficMode::local: return {{Scope::node}, true};
        case TrafficMode::any:
        case TrafficMode::destination_rule: return {{}, false};
    }
    return {{}, false};
}

const char* to_string(Scope scope) {
    switch (scope) {
        case Scope::network: return "network";
        case Scope::region: return "region";
        case Scope::zone: return "zone";
        case Scope::subzone: return "subzone";
        case Scope::node: return "node";
        case Scope::cluster: return "cluster";
    }
    return "";
}

bool scope_matches(Scope scope, const Locality& a, const Locality& b) {
    switch (scope) {
        case Scope::network: return a.network == b.network;
        case Scope::region: return a.region == b.region;
        case Scope::zone: return a.zone == b.zone;
        case Scope::subzone: return a.subzone == b.subzone;
        case Scope::node: return a.node == b.node;
        case Scope::cluster: return a.cluster == b.cluster;
    }
    return false;
}

std::optional<uint32_t> ztunnel_rank(const Locality& selector, const Locality& endpoint,
                                     const ScopePolicy& policy) {
    const auto& scopes = policy.scopes;
    const bool network_first = !scopes.empty() && scopes.front() == Scope::network;
    uint32_t rank = 0;
    uint32_t adjust = 0;
    for (Scope scope : scopes) {
        bool m = scope_matches(scope, selector, endpoint);
        if (scope == Scope::network && network_first) {
            // A network mismatch does not end the prefix; it only withholds the bonus that
            // puts every same-network endpoint above every other-network one.
            if (m) {
                adjust = static_cast<uint32_t>(scopes.size() - 1);
            } else {
                continue;
            }
        }
        if (!m) break;
        ++rank;
    }
    if (policy.strict && rank != scopes.size()) return std::nullopt;
    return rank + adjust;
}

std::vector<std::optional<uint32_t>> levels_from_ranks(
    const std::vector<std::optional<uint32_t>>& ranks) {
    std::vector<std::optional<uint32_t>> inverted;
    inverted.reserve(ranks.size());
    for (const auto& r : ranks) {
        inverted.push_back(r ? std::optional<uint32_t>(UINT32_MAX - *r) : std::nullopt);
    }
    return compact_priorities(inverted);
}

std::vector<std::optional<uint32_t>> compact_priorities(
    const std::vector<std::optional<uint32_t>>& raw) {
    std::map<uint32_t, uint32_t> dense;
    for (const auto& r : raw) {
        if (r) dense.emplace(*r, 0);
    }
    uint32_t next = 0;
    for (auto& [value, level] : dense) level = next++;
    std::vector<std::optional<uint32_t>> out;
    out.reserve(raw.size());
    for (const auto& r : raw) out.push_back(r ? std::optional<uint32_t>(dense[*r]) : std::nullopt);
    return out;
}

}  // namespace meshgate::lb
