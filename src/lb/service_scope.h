#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/config.h"

namespace meshgate::lb {

// solo.io/service-scope (label or annotation), reference §7 and semantics.md §7.
enum class ServiceScope : uint8_t {
    unset,        // cluster-local, no global hostname
    cluster,
    segment,
    global,
    global_only,
};

struct ScopeDecision {
    ServiceScope scope = ServiceScope::unset;
    bool takeover = false;  // solo.io/service-takeover: the local name resolves to the global set
    std::vector<std::string> warnings;
};

inline constexpr const char* service_scope_key = "solo.io/service-scope";
inline constexpr const char* service_takeover_key = "solo.io/service-takeover";

ScopeDecision service_scope(const Service& service);
const char* to_string(ServiceScope scope);

// The names the service answers to, seen from this node.
std::vector<std::string> hostnames(const Service& service, const NodeConfig& node,
                                   const ScopeDecision& scope);

// Why an endpoint can or cannot be addressed by a hop from this node.
enum class Eligibility : uint8_t {
    eligible,
    other_cluster,   // the service scope does not reach that cluster
    other_segment,   // segment scope, another segment
    no_gateway,      // another network without an east-west gateway
    no_address,      // no address and not behind another network's gateway
};

const char* describe(Eligibility e);

Eligibility endpoint_eligibility(const Endpoint& endpoint, const Config& config,
                                 const ScopeDecision& scope);

// An endpoint that names no cluster is in this node's cluster.
std::string endpoint_cluster(const Endpoint& endpoint, const NodeConfig& node);

}  // namespace meshgate::lb
