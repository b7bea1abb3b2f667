#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/destination_rule.h"
#include "core/service.h"

namespace meshgate::lb {

// A traffic-distribution mode: how endpoints are ranked into priority levels.
enum class TrafficMode : uint8_t {
    any,
    prefer_network,
    prefer_region,
    prefer_same_zone,  // PreferClose is its alias
    prefer_same_node,
    local,             // internal_traffic_policy = Local: STRICT on node
    destination_rule,  // a DestinationRule's localityLbSetting replaced the mode
};

// Which setting decided the mode; names are the plan --json "mode_source" values.
enum class ModeSource : uint8_t {
    spec,
    service_annotation,
    serviceentry_annotation,
    internal_traffic_policy,
    destination_rule,
    hop_default,
};

// The two kinds of hop a gateway decides (semantics.md §1).
enum class Hop : uint8_t { backend, waypoint };

struct ModeDecision {
    TrafficMode mode = TrafficMode::any;
    std::string name;  // as the user spelled the winning value, canonically cased
    ModeSource source = ModeSource::hop_default;
    std::string reason;
    std::vector<std::string> warnings;
};

inline constexpr const char* traffic_distribution_annotation =
    "networking.istio.io/traffic-distribution";

const char* to_string(ModeSource source);
const char* to_string(Hop hop);

// Parses an annotation value (case-insensitive, every mode meshgate knows).
std::optional<std::pair<TrafficMode, std::string>> parse_annotation_mode(std::string_view value);
// Parses Service spec.trafficDistribution (case-sensitive Kubernetes enum).
std::optional<std::pair<TrafficMode, std::string>> parse_spec_mode(std::string_view value);

// Precedence of semantics.md §2 for one hop towards `target`. `rule` is the DestinationRule
// for the target's host, if any.
ModeDecision resolve_mode(const Service& target, Hop hop, const DestinationRule* rule);

}  // namespace meshgate::lb
