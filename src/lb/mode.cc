#include "lb/mode.h"

#include <algorithm>
#include <cctype>

namespace meshgate::lb {

const char* to_string(ModeSource source) {
    switch (source) {
        case ModeSource::spec: return "spec.trafficDistribution";
        case ModeSource::service_annotation: return "service-annotation";
        case ModeSource::serviceentry_annotation: return "serviceentry-annotation";
        case ModeSource::internal_traffic_policy: return "internal-traffic-policy";
        case ModeSource::destination_rule: return "destination-rule";
        case ModeSource::hop_default: return "default";
    }
    return "default";
}

const char* to_string(Hop hop) { return hop == Hop::backend ? "backend" : "waypoint"; }

std::optional<std::pair<TrafficMode, std::string>> parse_annotation_mode(std::string_view value) {
    std::string lower(value);
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    struct Known { const char* lower; TrafficMode mode; const char* name; };
    static constexpr Known known[] = {
        {"any", TrafficMode::any, "Any"},
        {"prefernetwork", TrafficMode::prefer_network, "PreferNetwork"},
        {"preferregion", TrafficMode::prefer_region, "PreferRegion"},
        {"preferclose", TrafficMode::prefer_same_zone, "PreferClose"},
        {"prefersamezone", TrafficMode::prefer_same_zone, "PreferSameZone"},
        {"prefersamenode", TrafficMode::prefer_same_node, "PreferSameNode"},
    };
    for (const auto& k : known) {
        if (lower == k.lower) return std::pair{k.mode, std::string(k.name)};
    }
    return std::nullopt;
}

std::optional<std::pair<TrafficMode, std::string>> parse_spec_mode(std::string_view value) {
    if (value == "PreferClose") return std::pair{TrafficMode::prefer_same_zone, std::string(value)};
    if (value == "PreferSameZone") return std::pair{TrafficMode::prefer_same_zone, std::string(value)};
    if (value == "PreferSameNode") return std::pair{TrafficMode::prefer_same_node, std::string(value)};
    return std::nullopt;
}

namespace {

ModeDecision hop_default(Hop hop, std::string reason) {
    ModeDecision d;
    d.source = ModeSource::hop_default;
    if (hop == Hop::backend) {
        d.mode = TrafficMode::prefer_network;
        d.name = "PreferNetwork";
    } else {
        d.mode = TrafficMode::prefer_same_zone;
        d.name = "PreferClose";
    }
    d.reason = std::move(reason);
    return d;
}

}  // namespace

ModeDecision resolve_mode(const Service& target, Hop hop, const DestinationRule* rule) {
    std::vector<std::string> warnings;
    auto finish = [&](ModeDecision d) {
        d.warnings.insert(d.warnings.begin(), warnings.begin(), warnings.end());
        return d;
    };

    // Local is a restriction, not a preference: it wins over every mode and over a DR.
    if (target.internal_traffic_policy == InternalTrafficPolicy::local) {
        ModeDecision d{TrafficMode::local, "Local", ModeSource::internal_traffic_policy,
                       "internal_traffic_policy = \"Local\" allows only endpoints on this node", {}};
        if (rule && rule->locality_lb_setting) {
            warnings.push_back("destination_rule for " + rule->host +
                               " ignored: internal_traffic_policy = \"Local\" takes precedence");
        }
        return finish(std::move(d));
    }
    if (rule && rule->locality_lb_setting) {
        return finish({TrafficMode::destination_rule, "DestinationRule", ModeSource::destination_rule,
                       "destination_rule for host " + rule->host + " sets locality_lb_setting", {}});
    }

    if (target.traffic_distribution) {
        if (auto m = parse_spec_mode(*target.traffic_distribution)) {
            return finish({m->first, m->second, ModeSource::spec,
                           "traffic_distribution = \"" + *target.traffic_distribution + "\"", {}});
        }
        warnings.push_back("traffic_distribution = \"" + *target.traffic_distribution +
                           "\" is not one of PreferClose, PreferSameZone, PreferSameNode "
                           "(case-sensitive); falling through to the annotation");
    }

    auto annotation = target.annotations.find(traffic_distribution_annotation);
    if (annotation != target.annotations.end() && !annotation->second.empty()) {
        const bool entry = target.kind == ServiceKind::service_entry;
        const char* where = entry ? "service_entry" : "service";
        if (auto m = parse_annotation_mode(annotation->second)) {
            return finish({m->first, m->second,
                           entry ? ModeSource::serviceentry_annotation : ModeSource::service_annotation,
                           std::string(where) + " annotation " + traffic_distribution_annotation +
                               " = \"" + annotation->second + "\"",
                           {}});
        }
        warnings.push_back(std::string(where) + " annotation " + traffic_distribution_annotation +
                           " = \"" + annotation->second + "\" is not a known mode; using the " +
                           to_string(hop) + " hop default");
        return finish(hop_default(hop, "unknown annotation value; hop default"));
    }

    return finish(hop_default(hop, std::string("nothing set; the ") + to_string(hop) + " hop default"));
}

}  // namespace meshgate::lb
