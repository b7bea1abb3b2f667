#include "lb/level_assignment.h"

#include <map>

#include "lb/locality_lb.h"
#include "lb/ranking.h"
#include "lb/service_scope.h"

namespace meshgate::lb {

namespace {

// "same network, region; other zone": what the prefix rank of a level means.
std::string describe_rank(const Locality& selector, const Locality& endpoint, const ScopePolicy& policy) {
    if (policy.scopes.empty()) return "all eligible endpoints";
    std::string same_part, other_part;
    for (size_t i = 0; i < policy.scopes.size(); ++i) {
        Scope s = policy.scopes[i];
        if (scope_matches(s, selector, endpoint)) {
            same_part += (same_part.empty() ? "same " : ", ") + std::string(to_string(s));
        } else {
            other_part += (other_part.empty() ? "other " : ", ") + std::string(to_string(s));
            if (!(i == 0 && s == Scope::network)) break;
        }
    }
    if (same_part.empty()) return other_part;
    return other_part.empty() ? same_part : same_part + "; " + other_part;
}

std::string describe_locality_priority(uint32_t p, const LocalityLbSetting& setting, const Locality& proxy) {
    switch (p) {
        case 0: return "same region, zone, subzone";
        case 1: return "same region and zone";
        case 2: return "same region";
        case 3:
            for (const auto& rule : setting.failover) {
                if (rule.from == proxy.region) return "failover region " + rule.to;
            }
            return "other region";
        default: return "other region, not the failover target";
    }
}

Locality endpoint_locality(const Endpoint& e, const NodeConfig& node) {
    Locality l = e.locality;
    if (l.cluster.empty()) l.cluster = node.cluster;
    return l;
}

LevelAssignment one_level(size_t n, std::string why) {
    LevelAssignment a;
    a.level.assign(n, 0u);
    a.dropped_reason.assign(n, "");
    a.level_why.push_back(std::move(why));
    return a;
}

LevelAssignment by_prefix_rank(const Config& config, const ModeDecision& mode,
                               const std::vector<const Endpoint*>& candidates) {
    const auto selector = config.node.locality();
    const auto policy = scope_policy(mode.mode);
    std::vector<std::optional<uint32_t>> ranks;
    LevelAssignment a;
    a.dropped_reason.assign(candidates.size(), "");
    for (size_t i = 0; i < candidates.size(); ++i) {
        ranks.push_back(ztunnel_rank(selector, endpoint_locality(*candidates[i], config.node), policy));
        if (!ranks.back()) a.dropped_reason[i] = "not on this node (internal_traffic_policy = \"Local\")";
    }
    a.level = levels_from_ranks(ranks);
    for (size_t i = 0; i < candidates.size(); ++i) {
        if (!a.level[i]) continue;
        if (a.level_why.size() <= *a.level[i]) a.level_why.resize(*a.level[i] + 1);
        if (a.level_why[*a.level[i]].empty()) {
            a.level_why[*a.level[i]] =
                describe_rank(selector, endpoint_locality(*candidates[i], config.node), policy);
        }
    }
    return a;
}

LevelAssignment by_distribute(const Config& config, const LocalityLbSetting& setting,
                              const std::vector<const Endpoint*>& candidates) {
    std::vector<Locality> localities;
    std::vector<uint32_t> weights;
    for (const auto* e : candidates) {
        localities.push_back(e->locality);
        weights.push_back(e->weight);
    }
    auto result = apply_distribute(config.node.locality(), setting.distribute, localities, weights);
    if (!result) {
        auto a = one_level(candidates.size(), "all eligible endpoints");
        a.warnings.push_back("no distribute rule's `from` matches this node's locality " +
                             locality_key(config.node.locality()) + "; endpoints keep their weights");
        return a;
    }
    auto a = one_level(candidates.size(), "localities weighted by distribute");
    a.locality_weighted = true;
    a.notes.push_back("distribute rule " + std::to_string(result->rule_index) + " (from \"" +
                      setting.distribute[result->rule_index].from + "\") applies");
    std::map<std::string, uint64_t> weight_of;
    for (const auto& lw : result->localities) weight_of[lw.locality] = lw.weight;
    for (size_t i = 0; i < candidates.size(); ++i) {
        auto key = locality_key(candidates[i]->locality);
        a.locality.push_back(key);
        a.locality_weight.push_back(weight_of[key]);
        if (weight_of[key] == 0) {
            a.level[i] = std::nullopt;
            a.dropped_reason[i] = "locality " + key + " is in no `to` of the distribute rule";
        }
    }
    return a;
}

LevelAssignment by_failover(const Config& config, const LocalityLbSetting& setting,
                            const std::vector<const Endpoint*>& candidates) {
    const auto proxy = config.node.locality();
    const auto proxy_labels = with_topology_labels(config.node.labels, proxy);
    std::vector<std::optional<uint32_t>> raw;
    std::vector<uint32_t> locality_part;
    for (const auto* e : candidates) {
        const auto locality = endpoint_locality(*e, config.node);
        uint32_t lp = locality_failover_priority(proxy, locality, setting.failover);
        locality_part.push_back(lp);
        if (!setting.failover_priority.empty()) {
            uint32_t p = failover_priority(proxy_labels, with_topology_labels(e->labels, locality),
                                           setting.failover_priority);
            raw.push_back(setting.failover.empty() ? p : p * 5 + lp);
        } else {
            raw.push_back(lp);
        }
    }
    LevelAssignment a;
    a.level = compact_priorities(raw);
    a.dropped_reason.assign(candidates.size(), "");
    for (size_t i = 0; i < candidates.size(); ++i) {
        uint32_t level = *a.level[i];
        if (a.level_why.size() <= level) a.level_why.resize(level + 1);
        if (!a.level_why[level].empty()) continue;
        if (setting.failover_priority.empty()) {
            a.level_why[level] = describe_locality_priority(*raw[i], setting, proxy);
        } else {
            a.level_why[level] = "failover_priority value " + std::to_string(*raw[i]);
        }
    }
    a.notes.push_back(setting.failover_priority.empty()
                          ? "locality failover (region, zone, subzone)"
                          : "failover_priority over " + std::to_string(setting.failover_priority.size()) + " labels");
    return a;
}

}  // namespace

LevelAssignment assign_levels(const Config& config, const ModeDecision& mode,
                              const DestinationRule* rule,
                              const std::vector<const Endpoint*>& candidates) {
    if (mode.mode != TrafficMode::destination_rule) return by_prefix_rank(config, mode, candidates);

    const auto& setting = *rule->locality_lb_setting;
    if (!setting.enabled) {
        auto a = one_level(candidates.size(), "all eligible endpoints");
        a.notes.push_back("locality_lb_setting.enabled = false: no locality preference");
        return a;
    }
    const bool wants_failover = !setting.failover.empty() || !setting.failover_priority.empty();
    if (!setting.distribute.empty()) {
        auto a = by_distribute(config, setting, candidates);
        if (wants_failover) a.warnings.push_back("distribute takes precedence; failover settings ignored");
        return a;
    }
    if (rule->outlier_detection) return by_failover(config, setting, candidates);

    auto a = one_level(candidates.size(), "all eligible endpoints");
    if (wants_failover) {
        a.warnings.push_back("failover and failover_priority need outlier_detection in the same "
                             "destination_rule; without it every endpoint stays in one level");
    }
    return a;
}

}  // namespace meshgate::lb
