// Commands answered by a running meshgated through its admin socket.
#include <algorithm>
#include <cstdio>
#include <iostream>

#include "cli/admin_client.h"
#include "cli/commands.h"
#include "cli/plan_text.h"
#include "cli/text_format.h"
#include "core/address.h"

namespace meshgate::cli {

namespace {

using nlohmann::json;

// Sends the request and hands a successful result to `print` (or prints it as JSON).
template <typename Print>
int ask(const GlobalOptions& global, const std::string& command, const json& args, Print print) {
    json reply;
    try {
        reply = admin_request(global.socket, command, args);
    } catch (const AdminUnreachable& e) {
        std::cerr << "meshgatectl: " << e.message << "\n";
        return exit_failed;
    }
    if (!reply.value("ok", false)) {
        const auto& error = reply["error"];
        std::cerr << "meshgatectl " << command << ": " << error.value("message", std::string("failed")) << "\n";
        return exit_failed;
    }
    if (global.json) std::cout << reply["result"].dump(2) << "\n";
    else print(reply["result"]);
    return exit_ok;
}

json endpoint_args(const EndpointName& name) {
    json args = {{"service", name.service}, {"address", name.address}};
    if (name.port) args["port"] = name.port;
    return args;
}

std::string health_text(const json& e) {
    std::string text = e.value("declared_healthy", true) ? "healthy" : "unhealthy";
    if (e.value("check_down", false)) text += ",check-down";
    if (e.value("ejected", false)) text += ",ejected";
    return text;
}

void print_endpoint_line(const json& e) {
    const bool planned = e.contains("priority");
    std::cout << printf_string("%-28s %-26s %-6s %6u %-24s %3s %7s %8llu %8llu\n", e["service"].get<std::string>().c_str(),
                               e["key"].get<std::string>().c_str(), e["source"].get<std::string>().c_str(),
                               e["weight"].get<unsigned>(), health_text(e).c_str(),
                               planned ? ("P" + std::to_string(e["priority"].get<unsigned>())).c_str() : "-",
                               planned ? printf_string("%.2f%%", e["share_percent"].get<double>()).c_str() : "-",
                               static_cast<unsigned long long>(e["active_flows"].get<uint64_t>()),
                               static_cast<unsigned long long>(e["new_flows"].get<uint64_t>()));
    if (e.contains("ejection")) {
        const auto& x = e["ejection"];
        std::cout << "    ejected: " << x.value("reason", std::string()) << ", for " << x.value("remaining_ms", uint64_t{0}) << " ms more\n";
    }
}

void print_endpoint_header() {
    std::cout << printf_string("%-28s %-26s %-6s %6s %-24s %3s %7s %8s %8s\n", "SERVICE", "ENDPOINT", "SOURCE", "WEIGHT",
                               "HEALTH", "LVL", "SHARE", "ACTIVE", "FLOWS");
}

}  // namespace

std::optional<EndpointName> parse_endpoint_name(const std::string& service, const std::string& text) {
    if (service.find('/') == std::string::npos) return std::nullopt;
    if (auto address = IpAddress::parse(text)) return EndpointName{service, address->to_string(), 0};
    if (auto socket = SocketAddress::parse(text)) return EndpointName{service, socket->address.to_string(), socket->port};
    return std::nullopt;
}

int run_status(const GlobalOptions& global) {
    return ask(global, "status", json::object(), [](const json& s) {
        std::cout << "meshgated " << s["version"].get<std::string>() << " on node " << s["node"].get<std::string>() << ", up "
                  << s["uptime_seconds"].get<uint64_t>() << " s, config " << s["config"].get<std::string>() << "\n";
        std::cout << "workers: " << s["workers"].get<uint64_t>() << "\n";
        for (const auto& p : s["ports"]) std::cout << "port " << p.get<std::string>() << "\n";
        std::cout << "snapshot: generation " << s["generation"].get<uint64_t>() << " (every worker sees "
                  << s["visible_generation"].get<uint64_t>() << ")\n";
        std::cout << "services: " << s["services"].get<uint64_t>() << ", endpoints: " << s["endpoints"].get<uint64_t>()
                  << " (" << s["admin_changes"].get<uint64_t>() << " changed through the admin API)\n";
        const auto& u = s["update_latency"];
        std::cout << "update to visible: " << u["count"].get<uint64_t>() << " batches, p50 <= " << u["p50_us"].get<uint64_t>()
                  << " us, p99 <= " << u["p99_us"].get<uint64_t>() << " us, max " << u["max_us"].get<uint64_t>() << " us\n";
        for (const auto& [service, hash] : s["tables_hash"].items()) {
            std::cout << "tables " << service << ": " << hash.get<std::string>() << "\n";
        }
        print_announce(std::cout, s["announce"]);
    });
}

int run_plan_live(const GlobalOptions& global, const std::optional<std::string>& service) {
    json args = json::object();
    if (service) args["service"] = *service;
    return ask(global, "plan", args, [](const json& plan) { print_plan(std::cout, plan); });
}

int run_endpoints(const GlobalOptions& global, const std::optional<std::string>& service) {
    json args = json::object();
    if (service) args["service"] = *service;
    return ask(global, "endpoints", args, [](const json& result) {
        print_endpoint_header();
        for (const auto& e : result["endpoints"]) print_endpoint_line(e);
    });
}

int run_endpoint_add(const GlobalOptions& global, const EndpointName& name, const EndpointChange& change) {
    json args = endpoint_args(name);
    if (change.weight) args["weight"] = *change.weight;
    if (change.healthy) args["healthy"] = *change.healthy;
    if (change.hbone) args["hbone"] = true;
    if (!change.identity.empty()) args["identity"] = change.identity;
    if (!change.locality.empty()) args["locality"] = change.locality;
    if (!change.labels.empty()) args["labels"] = change.labels;
    return ask(global, "endpoint.add", args, [](const json& r) {
        std::cout << "added ";
        print_endpoint_header();
        print_endpoint_line(r["endpoint"]);
    });
}

int run_endpoint_set(const GlobalOptions& global, const EndpointName& name, const EndpointChange& change) {
    json args = endpoint_args(name);
    if (change.weight) args["weight"] = *change.weight;
    if (change.healthy) args["healthy"] = *change.healthy;
    return ask(global, "endpoint.set", args, [](const json& r) {
        print_endpoint_header();
        print_endpoint_line(r["endpoint"]);
    });
}

int run_endpoint_remove(const GlobalOptions& global, const EndpointName& name) {
    return ask(global, "endpoint.remove", endpoint_args(name), [](const json& r) {
        std::cout << "removed " << r["removed"]["service"].get<std::string>() << " " << r["removed"]["key"].get<std::string>()
                  << " (" << r["removed"]["active_flows"].get<uint64_t>() << " flows were pinned to it)\n";
    });
}

int run_drain(const GlobalOptions& global, const EndpointName& name) {
    return ask(global, "drain", endpoint_args(name), [](const json& r) {
        const auto& e = r["endpoint"];
        // Connections closed both ways or reset are pinned only until their closing timeout.
        const uint64_t active = e["active_flows"].get<uint64_t>(), closing = e.value("closing_flows", uint64_t{0});
        std::cout << "draining " << e["service"].get<std::string>() << " " << e["key"].get<std::string>()
                  << ": weight 0, no new flows; " << active - std::min(active, closing) << " flows remain";
        if (closing) std::cout << " (and " << closing << " closing)";
        std::cout << "\n";
    });
}

int run_stats(const GlobalOptions& global, bool prometheus) {
    if (prometheus) {
        GlobalOptions raw = global;
        raw.json = false;  // the exposition is text either way
        return ask(raw, "stats", {{"format", "prometheus"}}, [](const json& r) { std::cout << r["prometheus"].get<std::string>(); });
    }
    return ask(global, "stats", json::object(), [](const json& s) {
        std::cout << "totals:\n";
        for (const auto& [k, v] : s["totals"].items()) std::cout << printf_string("  %-24s %llu\n", k.c_str(), static_cast<unsigned long long>(v.get<uint64_t>()));
        if (!s["drops"].empty()) std::cout << "drops:\n";
        for (const auto& [k, v] : s["drops"].items()) std::cout << printf_string("  %-24s %llu\n", k.c_str(), static_cast<unsigned long long>(v.get<uint64_t>()));
        std::cout << printf_string("%-32s %12s %12s %10s %8s %8s\n", "SERVICE", "PACKETS", "BYTES", "FLOWS", "ACTIVE", "REFUSED");
        for (const auto& [k, v] : s["services"].items()) {
            std::cout << printf_string("%-32s %12llu %12llu %10llu %8llu %8llu\n", k.c_str(),
                                       static_cast<unsigned long long>(v["packets"].get<uint64_t>()),
                                       static_cast<unsigned long long>(v["bytes"].get<uint64_t>()),
                                       static_cast<unsigned long long>(v["new_flows"].get<uint64_t>()),
                                       static_cast<unsigned long long>(v["active_flows"].get<uint64_t>()),
                                       static_cast<unsigned long long>(v["refused_flows"].get<uint64_t>()));
        }
        std::cout << printf_string("%-48s %12s %12s %10s %8s\n", "ENDPOINT", "PACKETS", "BYTES", "FLOWS", "ACTIVE");
        for (const auto& [k, v] : s["endpoints"].items()) {
            std::cout << printf_string("%-48s %12llu %12llu %10llu %8llu\n", k.c_str(),
                                       static_cast<unsigned long long>(v["packets"].get<uint64_t>()),
                                       static_cast<unsigned long long>(v["bytes"].get<uint64_t>()),
                                       static_cast<unsigned long long>(v["new_flows"].get<uint64_t>()),
                                       static_cast<unsigned long long>(v["active_flows"].get<uint64_t>()));
        }
    });
}

int run_reload(const GlobalOptions& global, bool discard_admin) {
    return ask(global, "reload", {{"discard_admin", discard_admin}}, [](const json& r) {
        std::cout << "reloaded: services " << r["services"]["before"].get<uint64_t>() << " -> " << r["services"]["after"].get<uint64_t>()
                  << "; endpoints +" << r["endpoints"]["added"].get<uint64_t>() << " -" << r["endpoints"]["removed"].get<uint64_t>()
                  << " ~" << r["endpoints"]["changed"].get<uint64_t>() << "; admin changes kept: " << r["admin_changes_kept"].get<uint64_t>()
                  << "\n";
        for (const auto& d : r["admin_changes_dropped"]) std::cout << "  admin change dropped: " << d.get<std::string>() << "\n";
        for (const auto& n : r["notes"]) std::cout << "  note: " << n.get<std::string>() << "\n";
    });
}

}  // namespace meshgate::cli
