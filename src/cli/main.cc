// meshgatectl: the admin CLI. `plan --config` and `check` work offline on a TOML file; every
// other command asks a running meshgated through its admin socket.
#include <CLI/CLI.hpp>

#include <iostream>

#include "cli/admin_client.h"
#include "cli/commands.h"

namespace {

using namespace meshgate::cli;

// Commands that name one endpoint: NS/NAME ADDRESS[:PORT].
struct EndpointArgs {
    std::string service, address;
    void add_to(CLI::App* command) {
        command->add_option("service", service, "the service, NAMESPACE/NAME")->required();
        command->add_option("address", address, "the endpoint, ADDRESS or ADDRESS:PORT ([V6]:PORT)")->required();
    }
};

bool parse_bool(const std::string& text, std::optional<bool>& out) {
    if (text == "true" || text == "yes" || text == "1") out = true;
    else if (text == "false" || text == "no" || text == "0") out = false;
    else return false;
    return true;
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"meshgatectl: plan, check and control meshgate (interfaces.md)", "meshgatectl"};
    app.require_subcommand(1);
    app.fallthrough();  // global options are accepted after the command too
    GlobalOptions global;
    global.socket = default_socket();
    app.add_flag("--json", global.json, "machine output: one JSON document on stdout");
    app.add_option("--socket", global.socket, "the daemon's admin socket (default $MESHGATE_SOCKET or /run/meshgate/admin.sock)");

    std::string config, service_filter, healthy_text;
    uint64_t flows = 0;
    auto* plan = app.add_subcommand("plan", "the load-balancing decision for every service: levels, loads, shares, why; "
                                            "offline with --config, else the running daemon's live plan");
    plan->add_option("--config", config, "plan this TOML file offline (no daemon, no DPDK)");
    plan->add_option("--service", service_filter, "only this service, NAMESPACE/NAME");
    auto* flows_option = plan->add_option("--flows", flows, "push N synthetic flows through the data plane's lookup (offline)")
                             ->check(CLI::Range(uint64_t{0}, uint64_t{100'000'000}));

    auto* check = app.add_subcommand("check", "validate a configuration; prints warnings; exit 2 on an error");
    check->add_option("--config", config, "the TOML file")->required();

    auto* status = app.add_subcommand("status", "daemon: version, uptime, workers, ports, snapshot generation, update latency");
    auto* endpoints = app.add_subcommand("endpoints", "daemon: endpoints with source, weight, health, ejection, level, share, flows");
    endpoints->add_option("service", service_filter, "only this service, NAMESPACE/NAME");

    auto* endpoint = app.add_subcommand("endpoint", "daemon: add, change or remove an endpoint (live; kept until restart)");
    endpoint->require_subcommand(1);
    EndpointArgs named;
    EndpointChange change;
    std::vector<std::string> labels;
    uint32_t weight = 1;
    auto add_change_options = [&](CLI::App* c, bool full) {
        c->add_option("--healthy", healthy_text, "declared health: true or false");
        c->add_option("--weight", weight, "relative weight; 0 drains")->check(CLI::Range(0u, 1'000'000u));
        if (!full) return;
        c->add_flag("--hbone", change.hbone, "reached through its ztunnel on 15008");
        c->add_option("--identity", change.identity, "its SPIFFE identity");
        for (const char* key : {"network", "region", "zone", "subzone", "cluster", "node"}) {
            c->add_option(std::string("--") + key, change.locality[key], std::string("its locality: ") + key);
        }
        c->add_option("--label", labels, "KEY=VALUE, repeatable");
    };
    auto* add = endpoint->add_subcommand("add", "add an endpoint to a service");
    named.add_to(add);
    add_change_options(add, true);
    auto* set = endpoint->add_subcommand("set", "change an endpoint's declared health and/or weight");
    named.add_to(set);
    add_change_options(set, false);
    auto* remove = endpoint->add_subcommand("remove", "remove an endpoint (its flows follow the service's on_endpoint_down)");
    named.add_to(remove);

    auto* drain = app.add_subcommand("drain", "daemon: weight 0 for one endpoint (no new flows), then its remaining flows");
    named.add_to(drain);
    bool prometheus = false, discard_admin = false;
    auto* stats = app.add_subcommand("stats", "daemon: counters per worker, service and endpoint");
    stats->add_flag("--prometheus", prometheus, "the Prometheus text exposition format");
    auto* reload = app.add_subcommand("reload", "daemon: re-read the TOML file; on error keep the running config and say why");
    reload->add_flag("--discard-admin", discard_admin, "drop every change made through the admin API");

    bool cancel_drain = false, no_wait = false;
    auto* drain_node = app.add_subcommand("drain-node", "daemon: withdraw every VIP from the routers, serve established flows, "
                                                        "exit once the routers moved away and no flow remains");
    drain_node->add_flag("--cancel", cancel_drain, "announce the VIPs again and serve on");
    drain_node->add_flag("--no-wait", no_wait, "return at once instead of following the drain until meshgated exits");
    std::string lookup_protocol, lookup_source, lookup_destination;
    auto* lookup = app.add_subcommand("lookup", "daemon: the endpoint the running snapshot picks for a new flow");
    lookup->add_option("protocol", lookup_protocol, "tcp or udp")->required();
    lookup->add_option("source", lookup_source, "the client, ADDRESS:PORT ([V6]:PORT)")->required();
    lookup->add_option("destination", lookup_destination, "the VIP, ADDRESS:PORT")->required();

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        const int code = app.exit(e);  // prints the help or the error
        return code == 0 ? exit_ok : exit_usage;
    }

    auto endpoint_name = [&]() -> std::optional<EndpointName> {
        auto name = parse_endpoint_name(named.service, named.address);
        if (!name) std::cerr << "meshgatectl: expected NAMESPACE/NAME ADDRESS[:PORT], got '" << named.service << " " << named.address << "'\n";
        return name;
    };
    auto read_change = [&](CLI::App* c) -> bool {
        if (c->count("--weight")) change.weight = weight;
        if (!healthy_text.empty() && !parse_bool(healthy_text, change.healthy)) {
            std::cerr << "meshgatectl: --healthy expects true or false, got '" << healthy_text << "'\n";
            return false;
        }
        std::erase_if(change.locality, [](const auto& kv) { return kv.second.empty(); });
        for (const auto& l : labels) {
            const auto eq = l.find('=');
            if (eq == std::string::npos || eq == 0) {
                std::cerr << "meshgatectl: --label expects KEY=VALUE, got '" << l << "'\n";
                return false;
            }
            change.labels[l.substr(0, eq)] = l.substr(eq + 1);
        }
        return true;
    };
    const std::optional<std::string> service = service_filter.empty() ? std::nullopt : std::optional(service_filter);

    if (*plan) {
        if (!config.empty()) return run_plan_offline(global, config, service, *flows_option ? std::optional(flows) : std::nullopt);
        if (*flows_option) {
            std::cerr << "meshgatectl plan: --flows needs --config FILE (it simulates offline)\n";
            return exit_usage;
        }
        return run_plan_live(global, service);
    }
    if (*check) return run_check(global, config);
    if (*status) return run_status(global);
    if (*endpoints) return run_endpoints(global, service);
    if (*stats) return run_stats(global, prometheus);
    if (*reload) return run_reload(global, discard_admin);
    if (*drain_node) return run_drain_node(global, cancel_drain, !no_wait);
    if (*lookup) return run_lookup(global, lookup_protocol, lookup_source, lookup_destination);
    const auto name = endpoint_name();
    if (!name) return exit_usage;
    if (*drain) return run_drain(global, *name);
    if (*remove) return run_endpoint_remove(global, *name);
    if (*add) return read_change(add) ? run_endpoint_add(global, *name, change) : exit_usage;
    if (*set) {
        if (!read_change(set)) return exit_usage;
        if (!change.weight && !change.healthy) {
            std::cerr << "meshgatectl endpoint set: give --healthy and/or --weight\n";
            return exit_usage;
        }
        return run_endpoint_set(global, *name, change);
    }
    return exit_usage;
}
