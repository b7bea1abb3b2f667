#include "lb/service_scope.h"

#include <algorithm>

namespace meshgate::lb {

namespace {

const std::string* find_key(const Service& s, const char* key) {
    if (auto it = s.labels.find(key); it != s.labels.end()) return &it->second;
    if (auto it = s.annotations.find(key); it != s.annotations.end()) return &it->second;
    return nullptr;
}

std::string segment_of(const std::string& cluster, const Config& config) {
    if (cluster == config.node.cluster) return config.node.segment;
    for (const auto& c : config.clusters) {
        if (c.name == cluster) return c.segment;
    }
    return "";
}

}  // namespace

const char* to_string(ServiceScope scope) {
    switch (scope) {
        case ServiceScope::unset: return "unset";
        case ServiceScope::cluster: return "cluster";
        case ServiceScope::segment: return "segment";
        case ServiceScope::global: return "global";
        case ServiceScope::global_only: return "global-only";
    }
    return "unset";
}

ScopeDecision service_scope(const Service& service) {
    ScopeDecision d;
    if (const auto* v = find_key(service, service_scope_key)) {
        if (*v == "cluster") d.scope = ServiceScope::cluster;
        else if (*v == "segment") d.scope = ServiceScope::segment;
        else if (*v == "global") d.scope = ServiceScope::global;
        else if (*v == "global-only") d.scope = ServiceScope::global_only;
        else
            d.warnings.push_back(std::string(service_scope_key) + " = \"" + *v +
                                 "\" is not cluster, segment, global or global-only; "
                                 "the service stays cluster-local");
    }
    if (const auto* v = find_key(service, service_takeover_key)) {
        if (*v == "true") {
            d.takeover = true;
            if (d.scope == ServiceScope::unset) d.scope = ServiceScope::global;
        } else if (*v != "false") {
            d.warnings.push_back(std::string(service_takeover_key) + " = \"" + *v +
                                 "\" is not \"true\" or \"false\"; ignored");
        }
    }
    return d;
}

std::vector<std::string> hostnames(const Service& service, const NodeConfig& node,
                                   const ScopeDecision& scope) {
    if (service.kind == ServiceKind::service_entry) return service.hosts;
    std::vector<std::string> names;
    if (scope.scope != ServiceScope::global_only) {
        names.push_back(service.name + "." + service.ns + ".svc." + node.cluster_domain);
    }
    if (scope.scope != ServiceScope::unset) {
        const std::string domain = node.segment_domain.empty() ? "mesh.internal" : node.segment_domain;
        names.push_back(service.name + "." + service.ns + "." + domain);
    }
    return names;
}

const char* describe(Eligibility e) {
    switch (e) {
        case Eligibility::eligible: return "eligible";
        case Eligibility::other_cluster: return "in another cluster, outside the service scope";
        case Eligibility::other_segment: return "in another segment, outside the service scope";
        case Eligibility::no_gateway: return "on another network with no network_gateway";
        case Eligibility::no_address: return "has no address and is not behind another network's gateway";
    }
    return "";
}

std::string endpoint_cluster(const Endpoint& endpoint, const NodeConfig& node) {
    return endpoint.locality.cluster.empty() ? node.cluster : endpoint.locality.cluster;
}

Eligibility endpoint_eligibility(const Endpoint& endpoint, const Config& config,
                                 const ScopeDecision& scope) {
    const auto& node = config.node;
    const auto cluster = endpoint_cluster(endpoint, node);
    switch (scope.scope) {
        case ServiceScope::unset:
        case ServiceScope::cluster:
            if (cluster != node.cluster) return Eligibility::other_cluster;
            break;
        case ServiceScope::segment:
            if (segment_of(cluster, config) != node.segment) return Eligibility::other_segment;
            break;
        case ServiceScope::global:
        case ServiceScope::global_only: break;
    }
    if (endpoint.locality.network != node.network) {
        const bool has_gateway =
            std::any_of(config.network_gateways.begin(), config.network_gateways.end(),
                        [&](const NetworkGateway& g) { return g.network == endpoint.locality.network; });
        if (!has_gateway) return Eligibility::no_gateway;
    } else if (!endpoint.address) {
        return Eligibility::no_address;
    }
    return Eligibility::eligible;
}

}  // namespace meshgate::lb
