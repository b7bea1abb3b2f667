#include "cli/plan_text.h"
#include "cli/text_format.h"

#include <cstdio>
#include <string>

namespace meshgate::cli {

namespace {

using nlohmann::json;

std::string or_dash(const json& j, const char* key) {
    const auto v = j.value(key, std::string());
    return v.empty() ? "-" : v;
}

std::string locality_text(const json& node, const json& e) {
    std::string text = or_dash(e, "network") + "/" + or_dash(e, "region") + "/" + or_dash(e, "zone");
    if (!e.value("node", std::string()).empty()) text += "/" + e.value("node", std::string());
    const auto cluster = e.value("cluster", std::string());
    if (cluster != node.value("cluster", std::string())) text += " (" + cluster + ")";
    return text;
}

void print_hop(std::ostream& out, const json& node, const json& hop, const json* flows) {
    out << "  " << hop["hop"].get<std::string>() << " hop -> " << hop["target"].get<std::string>() << ": "
        << hop["mode"].get<std::string>() << " (from " << hop["mode_source"].get<std::string>() << ": "
        << hop["reason"].get<std::string>() << "), spillover " << hop["spillover"].get<std::string>()
        << (hop.value("total_panic", false) ? ", TOTAL PANIC" : "") << "\n";
    for (const auto& level : hop["levels"]) {
        out << printf_string("    P%-2u load %3u%%%s  %s\n", level["priority"].get<unsigned>(), level["load_percent"].get<unsigned>(),
                             level.value("panic", false) ? " PANIC" : "", level.value("why", std::string()).c_str());
        for (const auto& e : level["endpoints"]) {
            std::string state = e["healthy"].get<bool>() ? "healthy" : "UNHEALTHY";
            if (e.contains("health_reason")) state += " (" + e["health_reason"].get<std::string>() + ")";
            const auto key = e["key"].get<std::string>();
            std::string flow_text;
            if (flows) {
                const auto& per = (*flows)["per_endpoint"];
                flow_text = printf_string("  flows %llu", static_cast<unsigned long long>(per.value(key, uint64_t{0})));
            }
            out << printf_string("        %-24s w%-4u share %6.2f%%  %-28s %s%s\n", key.c_str(), e["weight"].get<unsigned>(),
                                 e["share_percent"].get<double>(), locality_text(node, e).c_str(), state.c_str(), flow_text.c_str());
        }
    }
    for (const auto& x : hop["excluded"]) {
        out << "    not eligible: " << x["key"].get<std::string>() << " - " << x["reason"].get<std::string>() << "\n";
    }
    if (flows) {
        out << printf_string("    flows: %llu synthetic, %llu refused\n", static_cast<unsigned long long>((*flows)["total"].get<uint64_t>()),
                             static_cast<unsigned long long>((*flows)["refused"].get<uint64_t>()));
    }
}

}  // namespace

void print_plan(std::ostream& out, const json& plan) {
    const auto& n = plan["node"];
    out << "node " << n.value("name", std::string()) << ": cluster " << or_dash(n, "cluster") << ", network " << or_dash(n, "network")
        << ", region " << or_dash(n, "region") << ", zone " << or_dash(n, "zone");
    if (plan.contains("generation")) out << " (live, snapshot " << plan["generation"].get<uint64_t>() << ")";
    out << "\n";
    for (const auto& sp : plan["services"]) {
        out << "\n" << sp["service"].get<std::string>();
        if (sp.value("scope", std::string("unset")) != "unset") out << " [scope " << sp["scope"].get<std::string>() << "]";
        out << "  (";
        const auto& hostnames = sp["hostnames"];
        for (size_t i = 0; i < hostnames.size(); ++i) out << (i ? ", " : "") << hostnames[i].get<std::string>();
        out << ")\n";
        const json* flows = sp.contains("flows") ? &sp["flows"] : nullptr;
        const auto& hops = sp["hops"];
        for (size_t h = 0; h < hops.size(); ++h) print_hop(out, n, hops[h], h == 0 ? flows : nullptr);
        for (const auto& w : sp["warnings"]) out << "  warning: " << w.get<std::string>() << "\n";
    }
    for (const auto& w : plan["warnings"]) out << "\nwarning: " << w.get<std::string>() << "\n";
}

}  // namespace meshgate::cli
