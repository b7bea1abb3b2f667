#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/destination_rule.h"
#include "core/locality.h"

namespace meshgate::lb {

// DestinationRule localityLbSetting, as Istio translates it for Envoy (reference §6).

// §6.3 base priority: 0 region+zone+subzone match, 1 region+zone, 2 region, 3 otherwise.
// Network is not considered.
uint32_t envoy_locality_priority(const Locality& proxy, const Locality& endpoint);

// §6.3 with `failover`: a base of 3 becomes 4 unless the endpoint's region is the `to` of
// the first rule whose `from` is the proxy's region.
uint32_t locality_failover_priority(const Locality& proxy, const Locality& endpoint,
                                    const std::vector<FailoverRule>& failover);

// §6.4: 0 when every key matches; N−j when key j is the first mismatch; a network
// mismatch on the first key adds N and keeps evaluating.
uint32_t failover_priority(const Labels& proxy, const Labels& endpoint,
                           const std::vector<std::string>& keys);

// util.LocalityMatch: "region/zone/subzone"; "*" matches any value of its segment, and a
// missing or empty zone or subzone matches anything.
bool locality_matches(std::string_view pattern, const Locality& locality);

// §6.2: the first rule whose `from` matches the proxy, applied to the endpoints' localities.
// Returns, per locality key "region/zone/subzone", its new weight (0: removed), or nullopt
// when no rule applies.
struct LocalityWeight {
    std::string locality;  // "region/zone/subzone"
    uint64_t original = 0; // Σ endpoint weights (a weight of 0 counts as 1)
    uint64_t weight = 0;   // after distribute; 0: its endpoints get no traffic
    std::string matched_by;
};
struct DistributeResult {
    size_t rule_index = 0;
    std::vector<LocalityWeight> localities;
};
std::optional<DistributeResult> apply_distribute(const Locality& proxy,
                                                 const std::vector<DistributeRule>& rules,
                                                 const std::vector<Locality>& endpoint_localities,
                                                 const std::vector<uint32_t>& endpoint_weights);

std::string locality_key(const Locality& l);

// Envoy's locality-weighted share inside one priority (reference §5.4): effective weight is
// weight × min(100, OPF × available / total). Returns effective weights in input order.
struct LocalityAvailability {
    uint64_t weight = 0;
    uint64_t available = 0;
    uint64_t total = 0;
};
std::vector<double> effective_locality_weights(const std::vector<LocalityAvailability>& localities,
                                               uint32_t overprovisioning_factor);

}  // namespace meshgate::lb
