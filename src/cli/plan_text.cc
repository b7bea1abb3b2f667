#include "cli/plan_text.h"

#include <cstdio>
#include <string>

#include "lb/service_scope.h"

namespace meshgate::cli {

namespace {

std::string printf_string(const char* format, auto... args) {
    char buf[512];
    std::snprintf(buf, sizeof buf, format, args...);
    return buf;
}

std::string locality_text(const Config& config, const Endpoint& e) {
    const auto& l = e.locality;
    std::string text = (l.network.empty() ? "-" : l.network) + "/" + (l.region.empty() ? "-" : l.region) + "/" +
                       (l.zone.empty() ? "-" : l.zone);
    if (!l.node.empty()) text += "/" + l.node;
    const auto cluster = lb::endpoint_cluster(e, config.node);
    if (cluster != config.node.cluster) text += " (" + cluster + ")";
    return text;
}

void print_hop(std::ostream& out, const Config& config, const lb::HopPlan& hop, const control::FlowCounts* flows) {
    out << "  " << lb::to_string(hop.hop) << " hop -> " << hop.target << ": " << hop.mode.name << " (from "
        << lb::to_string(hop.mode.source) << ": " << hop.mode.reason << "), spillover "
        << (hop.spillover == Spillover::graded ? "graded" : "strict") << (hop.total_panic ? ", TOTAL PANIC" : "")
        << "\n";
    for (const auto& level : hop.levels) {
        out << printf_string("    P%-2u load %3u%%%s  %s\n", level.priority, level.load_percent,
                             level.panic ? " PANIC" : "", level.why.c_str());
        for (const auto& pe : level.endpoints) {
            const auto& e = config.endpoints[pe.id];
            std::string state = pe.healthy ? "healthy" : "UNHEALTHY";
            if (!pe.health_reason.empty()) state += " (" + pe.health_reason + ")";
            std::string flow_text;
            if (flows) {
                auto it = flows->per_endpoint.find(pe.key);
                flow_text = printf_string("  flows %llu", static_cast<unsigned long long>(
                                                              it == flows->per_endpoint.end() ? 0 : it->second));
            }
            out << printf_string("        %-24s w%-4u share %6.2f%%  %-28s %s%s\n", pe.key.c_str(), pe.weight,
                                 pe.share_percent, locality_text(config, e).c_str(), state.c_str(), flow_text.c_str());
        }
    }
    for (const auto& x : hop.excluded) out << "    not eligible: " << x.key << " - " << x.reason << "\n";
    if (flows) {
        out << printf_string("    flows: %llu synthetic, %llu refused\n", static_cast<unsigned long long>(flows->total),
                             static_cast<unsigned long long>(flows->refused));
    }
}

}  // namespace

void print_plan(std::ostream& out, const Config& config, const lb::Plan& plan,
                const std::map<uint32_t, control::FlowCounts>* flows) {
    const auto& n = config.node;
    out << "node " << n.name << ": cluster " << (n.cluster.empty() ? "-" : n.cluster) << ", network "
        << (n.network.empty() ? "-" : n.network) << ", region " << (n.region.empty() ? "-" : n.region) << ", zone "
        << (n.zone.empty() ? "-" : n.zone) << "\n";
    for (const auto& sp : plan.services) {
        out << "\n" << sp.service;
        if (sp.scope.scope != lb::ServiceScope::unset) out << " [scope " << lb::to_string(sp.scope.scope) << "]";
        out << "  (";
        for (size_t i = 0; i < sp.hostnames.size(); ++i) out << (i ? ", " : "") << sp.hostnames[i];
        out << ")\n";
        const control::FlowCounts* service_flows = nullptr;
        if (flows) {
            if (auto it = flows->find(sp.service_index); it != flows->end()) service_flows = &it->second;
        }
        for (size_t h = 0; h < sp.hops.size(); ++h) print_hop(out, config, sp.hops[h], h == 0 ? service_flows : nullptr);
        for (const auto& w : sp.warnings) out << "  warning: " << w << "\n";
    }
    for (const auto& w : plan.warnings) out << "\nwarning: " << w << "\n";
}

}  // namespace meshgate::cli
