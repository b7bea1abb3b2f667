#include "lb/planner.h"

#include <algorithm>
#include <cmath>
#include <map>

#include "lb/level_assignment.h"
#include "lb/locality_lb.h"

namespace meshgate::lb {

std::vector<EndpointHealth> declared_health(const Config& config) {
    std::vector<EndpointHealth> health;
    health.reserve(config.endpoints.size());
    for (const auto& e : config.endpoints) health.push_back({e.healthy, false, false});
    return health;
}

EndpointIndex::EndpointIndex(const Config& config) {
    for (uint32_t id = 0; id < config.endpoints.size(); ++id) by_service_[config.endpoints[id].service].push_back(id);
}

const std::vector<uint32_t>& EndpointIndex::of(const std::string& service) const {
    auto it = by_service_.find(service);
    return it == by_service_.end() ? none_ : it->second;
}

uint16_t endpoint_port(const Service& service, const Endpoint& endpoint) {
    if (endpoint.port) return *endpoint.port;
    return service.ports.empty() ? 0 : service.ports.front().target_port;
}

std::string endpoint_key(const Config& config, const Service& service, const Endpoint& endpoint) {
    if (endpoint.address) return SocketAddress{*endpoint.address, endpoint_port(service, endpoint)}.to_string();
    for (const auto& g : config.network_gateways) {
        if (g.network == endpoint.locality.network) {
            return endpoint.locality.network + "@" + SocketAddress{g.address, g.port}.to_string();
        }
    }
    return endpoint.locality.network + "@no-gateway";
}

const DestinationRule* find_destination_rule(const Config& config, const Service& service) {
    const auto names = hostnames(service, config.node, service_scope(service));
    for (const auto& rule : config.destination_rules) {
        if (rule.host == service.name || rule.host == service.name + "." + service.ns ||
            std::find(names.begin(), names.end(), rule.host) != names.end()) {
            return &rule;
        }
    }
    return nullptr;
}

namespace {

struct Candidate {
    uint32_t id;
    const Endpoint* endpoint;
};

// The weight each endpoint of a choice gets in its Maglev table. With `distribute`, a
// locality's share follows Envoy's locality-weighted LB (weight × availability) and is split
// among its chosen endpoints by their own weights.
std::vector<uint32_t> choice_weights(const std::vector<size_t>& members,
                                     const std::vector<Candidate>& candidates,
                                     const LevelAssignment& assignment,
                                     const std::vector<bool>& healthy, uint32_t opf) {
    std::vector<uint32_t> out;
    if (!assignment.locality_weighted) {
        for (size_t m : members) out.push_back(candidates[m].endpoint->weight);
        return out;
    }
    struct Group { uint64_t weight = 0, available = 0, total = 0, chosen_weight = 0; };
    std::map<std::string, Group> groups;
    for (size_t i = 0; i < candidates.size(); ++i) {
        if (!assignment.level[i] || candidates[i].endpoint->weight == 0) continue;
        auto& g = groups[assignment.locality[i]];
        g.weight = assignment.locality_weight[i];
        g.total += 1;
        g.available += healthy[i] ? 1 : 0;
    }
    for (size_t m : members) groups[assignment.locality[m]].chosen_weight += candidates[m].endpoint->weight;
    std::vector<LocalityAvailability> avail;
    std::vector<std::string> keys;
    for (const auto& [key, g] : groups) {
        avail.push_back({g.weight, g.available, g.total});
        keys.push_back(key);
    }
    auto effective = effective_locality_weights(avail, opf);
    std::map<std::string, double> locality_effective;
    double max_weight = 0;
    for (size_t i = 0; i < keys.size(); ++i) locality_effective[keys[i]] = effective[i];
    std::vector<double> raw;
    for (size_t m : members) {
        const auto& g = groups[assignment.locality[m]];
        double w = g.chosen_weight == 0 ? 0.0
                                        : locality_effective[assignment.locality[m]] *
                                              candidates[m].endpoint->weight / static_cast<double>(g.chosen_weight);
        raw.push_back(w);
        max_weight = std::max(max_weight, w);
    }
    // Maglev takes integer weights: a million steps keeps shares exact to 1e-6.
    for (double w : raw) {
        out.push_back(w <= 0 ? 0 : std::max<uint32_t>(1, static_cast<uint32_t>(std::lround(w / max_weight * 1e6))));
    }
    return out;
}

HopPlan plan_hop(const Config& config, const EndpointIndex& index, const std::vector<EndpointHealth>& health,
                 const Service& target, Hop hop, AddressFamily family, std::vector<std::string>& warnings,
                 const ServicePlan* previous) {
    HopPlan plan;
    plan.hop = hop;
    plan.target = target.key();
    const auto scope = service_scope(target);
    const auto* rule = find_destination_rule(config, target);
    plan.mode = resolve_mode(target, hop, rule);
    for (const auto& w : plan.mode.warnings) warnings.push_back(w);
    plan.spillover = config.lb.spillover;

    std::vector<Candidate> candidates;
    std::vector<const Endpoint*> endpoints;
    for (uint32_t id : index.of(plan.target)) {
        const auto& e = config.endpoints[id];
        if (family != AddressFamily::any && e.address && e.address->is_v4() != (family == AddressFamily::v4)) {
            plan.excluded.push_back({id, endpoint_key(config, target, e), "another address family than the VIP"});
            continue;
        }
        auto eligibility = endpoint_eligibility(e, config, scope);
        if (eligibility != Eligibility::eligible) {
            plan.excluded.push_back({id, endpoint_key(config, target, e), describe(eligibility)});
            continue;
        }
        candidates.push_back({id, &e});
        endpoints.push_back(&e);
    }

    const auto assignment = assign_levels(config, plan.mode, rule, endpoints);
    for (const auto& w : assignment.warnings) warnings.push_back(plan.target + ": " + w);
    if (!assignment.notes.empty()) {
        for (const auto& n : assignment.notes) plan.mode.reason += "; " + n;
    }

    const size_t level_count = assignment.level_why.size();
    plan.levels.resize(level_count);
    std::vector<LevelHealth> level_health(level_count);
    std::vector<bool> healthy(candidates.size(), false);
    for (size_t i = 0; i < candidates.size(); ++i) {
        const auto& e = *candidates[i].endpoint;
        if (!assignment.level[i]) {
            plan.excluded.push_back({candidates[i].id, endpoint_key(config, target, e), assignment.dropped_reason[i]});
            continue;
        }
        const auto& h = health[candidates[i].id];
        PlannedEndpoint pe;
        pe.id = candidates[i].id;
        pe.key = endpoint_key(config, target, e);
        pe.port = endpoint_port(target, e);
        pe.weight = e.weight;
        if (!h.declared_healthy && !target.publish_not_ready_addresses) pe.health_reason = "declared unhealthy";
        else if (h.check_down) pe.health_reason = "failing health checks";
        else if (h.ejected) pe.health_reason = "ejected by outlier detection";
        pe.healthy = pe.health_reason.empty();
        healthy[i] = pe.healthy;
        if (e.weight == 0) pe.health_reason = pe.healthy ? "draining (weight 0)" : pe.health_reason + "; draining";
        auto level = *assignment.level[i];
        if (e.weight > 0) {
            level_health[level].total += 1;
            level_health[level].healthy += pe.healthy ? 1 : 0;
        }
        plan.levels[level].endpoints.push_back(std::move(pe));
    }

    uint32_t panic_threshold = config.lb.panic_threshold;
    if (rule && rule->outlier_detection) panic_threshold = rule->outlier_detection->min_health_percent;
    if (plan.mode.mode == TrafficMode::local) panic_threshold = 0;  // Local never leaves the node
    const auto load = plan.spillover == Spillover::strict
                          ? strict_priority_load(level_health)
                          : graded_priority_load(level_health, config.lb.overprovisioning_factor, panic_threshold);
    plan.total_panic = load.total_panic;

    std::map<uint32_t, PlannedEndpoint*> planned;  // endpoint id → its entry in a level
    for (auto& level : plan.levels) {
        for (auto& pe : level.endpoints) planned[pe.id] = &pe;
    }

    std::vector<SelectionTable::Choice> choices;
    for (size_t p = 0; p < level_count; ++p) {
        auto& level = plan.levels[p];
        level.priority = static_cast<uint32_t>(p);
        level.why = assignment.level_why[p];
        level.panic = load.panic[p];
        level.load_percent = load.healthy_load[p] + load.degraded_load[p];
        if (load.healthy_load[p] == 0) continue;
        std::vector<size_t> members;
        for (size_t i = 0; i < candidates.size(); ++i) {
            if (assignment.level[i] != p || candidates[i].endpoint->weight == 0) continue;
            if (healthy[i] || level.panic) members.push_back(i);
        }
        SelectionTable::Choice choice;
        choice.percent = load.healthy_load[p];
        choice.weights = choice_weights(members, candidates, assignment, healthy, config.lb.overprovisioning_factor);
        for (size_t m : members) {
            choice.endpoints.push_back(candidates[m].id);
            choice.keys.push_back(endpoint_key(config, target, *candidates[m].endpoint));
        }
        for (size_t k = 0; k < choice.endpoints.size(); ++k) {
            planned[choice.endpoints[k]]->effective_weight = choice.weights[k];
        }
        choices.push_back(std::move(choice));
    }
    const SelectionTable* before = nullptr;
    if (previous) {
        for (const auto& h : previous->hops) {
            if (h.hop == hop && h.target == plan.target) before = &h.table;
        }
    }
    plan.table = SelectionTable::build(choices, config.lb.maglev_table_size, before);

    double total_share = 0;
    for (const auto& [id, share] : plan.table.shares()) {
        planned[id]->share_percent = share * 100.0;
        total_share += share;
    }
    if (total_share == 0) {
        warnings.push_back(plan.target + ": no endpoint can be chosen (" + to_string(hop) +
                           " hop): new flows are refused");
    }
    for (const auto& level : plan.levels) {
        if (level.endpoints.size() > config.lb.maglev_table_size) {
            warnings.push_back(plan.target + ": a level has more endpoints than maglev_table_size slots");
        }
    }
    return plan;
}

}  // namespace

ServicePlan plan_service(const Config& config, const std::vector<EndpointHealth>& health,
                         uint32_t service_index) {
    return plan_service(config, EndpointIndex(config), health, service_index);
}

ServicePlan plan_service(const Config& config, const EndpointIndex& index,
                         const std::vector<EndpointHealth>& health, uint32_t service_index, AddressFamily family,
                         const ServicePlan* previous) {
    const auto& service = config.services[service_index];
    ServicePlan sp;
    sp.service_index = service_index;
    sp.service = service.key();
    sp.scope = service_scope(service);
    sp.hostnames = hostnames(service, config.node, sp.scope);
    sp.warnings = sp.scope.warnings;
    if (sp.scope.scope == ServiceScope::unset) {
        const auto& ids = index.of(sp.service);
        const bool remote = std::any_of(ids.begin(), ids.end(), [&](uint32_t id) {
            const auto& cluster = config.endpoints[id].locality.cluster;
            return !cluster.empty() && cluster != config.node.cluster;
        });
        if (remote) {
            sp.warnings.push_back("endpoints in other clusters are not addressable: the service has no " +
                                  std::string(service_scope_key));
        }
    }
    if (!service.waypoint.empty()) {
        if (const auto* waypoint = config.find_service(service.waypoint)) {
            sp.hops.push_back(plan_hop(config, index, health, *waypoint, Hop::waypoint, family, sp.warnings, previous));
        } else {
            sp.warnings.push_back("waypoint " + service.waypoint + " is not a known service");
        }
    }
    sp.hops.push_back(plan_hop(config, index, health, service, Hop::backend, family, sp.warnings, previous));
    // Full NAT keeps the family: a VIP needs endpoints of its own family.
    for (const auto& vip : service.vips) {
        const auto& ids = index.of(service.key());
        const bool any = std::any_of(ids.begin(), ids.end(), [&](uint32_t id) {
            const auto& a = config.endpoints[id].address;
            return a && a->is_v4() == vip.is_v4();
        });
        if (!any && !ids.empty()) {
            sp.warnings.push_back("VIP " + vip.to_string() + " has no " + (vip.is_v4() ? "IPv4" : "IPv6") +
                                  " endpoint: its flows are refused");
        }
    }
    return sp;
}

Plan build_plan(const Config& config, const std::vector<EndpointHealth>& health) {
    Plan plan;
    plan.services.reserve(config.services.size());
    const EndpointIndex index(config);
    for (uint32_t i = 0; i < config.services.size(); ++i) plan.services.push_back(plan_service(config, index, health, i));
    plan.warnings = plan_warnings(config);
    return plan;
}

std::vector<std::string> plan_warnings(const Config& config) {
    std::vector<std::string> warnings;
    for (const auto& rule : config.destination_rules) {
        const bool used = std::any_of(config.services.begin(), config.services.end(),
                                      [&](const Service& s) { return find_destination_rule(config, s) == &rule; });
        if (!used) warnings.push_back("destination_rule host \"" + rule.host + "\" names no service; it has no effect");
    }
    return warnings;
}

}  // namespace meshgate::lb
