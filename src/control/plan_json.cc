#include "control/plan_json.h"

#include <cinttypes>
#include <cmath>
#include <cstdio>

#include "core/hash.h"

#include "lb/planner.h"

namespace meshgate::control {

namespace {

using nlohmann::json;

double round3(double v) { return std::round(v * 1000.0) / 1000.0; }

json endpoint_json(const Config& config, const lb::PlannedEndpoint& pe) {
    const auto& e = config.endpoints[pe.id];
    json j = {
        {"address", e.address ? e.address->to_string() : std::string()},
        {"port", pe.port},
        {"healthy", pe.healthy},
        {"weight", pe.weight},
        {"share_percent", round3(pe.share_percent)},
        {"key", pe.key},
        {"network", e.locality.network},
        {"region", e.locality.region},
        {"zone", e.locality.zone},
        {"node", e.locality.node},
        {"cluster", lb::endpoint_cluster(e, config.node)},
    };
    if (!pe.health_reason.empty()) j["health_reason"] = pe.health_reason;
    return j;
}

std::string hex64(uint64_t v) {
    char text[17];
    std::snprintf(text, sizeof text, "%016" PRIx64, v);
    return text;
}

json hop_json(const Config& config, const lb::HopPlan& hop) {
    json levels = json::array();
    for (const auto& level : hop.levels) {
        json endpoints = json::array();
        for (const auto& pe : level.endpoints) endpoints.push_back(endpoint_json(config, pe));
        levels.push_back({{"priority", level.priority},
                          {"load_percent", level.load_percent},
                          {"panic", level.panic},
                          {"why", level.why},
                          {"endpoints", std::move(endpoints)}});
    }
    json excluded = json::array();
    for (const auto& x : hop.excluded) excluded.push_back({{"key", x.key}, {"reason", x.reason}});
    return {{"hop", lb::to_string(hop.hop)},
            {"target", hop.target},
            {"mode", hop.mode.name},
            {"mode_source", lb::to_string(hop.mode.source)},
            {"reason", hop.mode.reason},
            {"spillover", hop.spillover == Spillover::graded ? "graded" : "strict"},
            {"total_panic", hop.total_panic},
            {"levels", std::move(levels)},
            {"excluded", std::move(excluded)},
            {"tables_hash", hex64(hop.table.digest())}};
}

json flows_json(const FlowCounts& counts) {
    json per_endpoint = json::object();
    for (const auto& [key, n] : counts.per_endpoint) per_endpoint[key] = n;
    return {{"total", counts.total}, {"refused", counts.refused}, {"per_endpoint", std::move(per_endpoint)}};
}

}  // namespace

std::string tables_hash(const lb::ServicePlan& plan) {
    uint64_t h = 0x6d657368ULL;
    for (const auto& hop : plan.hops) h = mix64(h ^ hop.table.digest());
    return hex64(h);
}

json plan_to_json(const Config& config, const lb::Plan& plan, const std::map<uint32_t, FlowCounts>* flows) {
    std::vector<const lb::ServicePlan*> services;
    for (const auto& sp : plan.services) services.push_back(&sp);
    return plan_to_json(config, services, plan.warnings, flows);
}

json plan_to_json(const Config& config, const std::vector<const lb::ServicePlan*>& plans,
                  const std::vector<std::string>& warnings, const std::map<uint32_t, FlowCounts>* flows) {
    const auto& n = config.node;
    json services = json::array();
    FlowCounts all;
    for (const auto* plan : plans) {
        const auto& sp = *plan;
        json hops = json::array();
        for (const auto& hop : sp.hops) hops.push_back(hop_json(config, hop));
        json s = {{"service", sp.service},
                  {"hostnames", sp.hostnames},
                  {"scope", lb::to_string(sp.scope.scope)},
                  {"hops", std::move(hops)},
                  {"tables_hash", tables_hash(sp)},
                  {"warnings", sp.warnings}};
        if (flows) {
            if (auto it = flows->find(sp.service_index); it != flows->end()) {
                s["flows"] = flows_json(it->second);
                all.total += it->second.total;
                all.refused += it->second.refused;
                for (const auto& [key, count] : it->second.per_endpoint) all.per_endpoint[key] += count;
            }
        }
        services.push_back(std::move(s));
    }
    json doc = {{"node", {{"name", n.name}, {"network", n.network}, {"region", n.region}, {"zone", n.zone},
                          {"subzone", n.subzone}, {"cluster", n.cluster}}},
                {"services", std::move(services)},
                {"warnings", warnings}};
    if (flows) doc["flows"] = flows_json(all);
    return doc;
}

}  // namespace meshgate::control
