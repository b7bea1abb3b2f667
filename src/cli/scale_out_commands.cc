// Scale-out commands: drain-node and lookup (docs/scale-out.md).
#include <chrono>
#include <iostream>
#include <thread>

#include "cli/admin_client.h"
#include "cli/commands.h"
#include "core/address.h"

namespace meshgate::cli {

namespace {

using nlohmann::json;

std::string drain_line(const json& d) {
    std::string line = std::to_string(d.value("open_flows", uint64_t{0})) + " open flows, " +
                       std::to_string(d.value("new_flows_since_start", uint64_t{0})) + " new since the drain began, last new flow " +
                       std::to_string(d.value("last_new_flow_ms_ago", int64_t{0})) + " ms ago; routers moved away: " +
                       (d.value("routers_moved", false) ? "yes" : "no");
    if (d.value("done", false)) line += "; done: " + d.value("exit_reason", std::string());
    return line;
}

}  // namespace

namespace {

void print_peers(std::ostream& out, const json& a) {
    if (!a.contains("peers")) return;
    out << "second chance, peers of the tier:\n";
    for (const auto& p : a["peers"]) {
        out << "  " << p["address"].get<std::string>() << " " << (p["live"].get<bool>() ? "answers" : "silent");
        if (p.contains("last_answer_ms")) out << " (last answer " << p["last_answer_ms"].get<int64_t>() << " ms ago)";
        else out << " (never answered)";
        out << "\n";
    }
}

}  // namespace

void print_announce(std::ostream& out, const json& a) {
    if (!a.value("enabled", false)) {
        out << "announce: off ([announce].table is not set)\n";
        print_peers(out, a);
        return;
    }
    out << "announce: node " << a.value("mode", std::string()) << ", routes in table " << a.value("table", 0u) << " via "
        << a.value("device", std::string()) << "\n";
    for (const auto& r : a["routes"]) {
        out << "  " << r["address"].get<std::string>() << " (" << r["kind"].get<std::string>() << ") announced: "
            << (r["announced"].get<bool>() ? "yes" : "no") << ", " << r["why"].get<std::string>() << "\n";
    }
    if (a.contains("drain")) out << "  drain-node: " << drain_line(a["drain"]) << "\n";
    print_peers(out, a);
}

int run_drain_node(const GlobalOptions& global, bool cancel, bool wait) {
    json last;
    try {
        json reply = admin_request(global.socket, "drain_node", {{"cancel", cancel}});
        if (!reply.value("ok", false)) {
            std::cerr << "meshgatectl drain-node: " << reply["error"].value("message", std::string("failed")) << "\n";
            return exit_failed;
        }
        last = reply["result"];
        if (!global.json) print_announce(std::cout, last);
        if (cancel || !wait) {
            if (global.json) std::cout << last.dump(2) << "\n";
            return exit_ok;
        }
        // Until meshgated exits: one line whenever the picture changes.
        std::string shown;
        while (true) {
            std::this_thread::sleep_for(std::chrono::milliseconds(500));
            reply = admin_request(global.socket, "status");
            if (!reply.value("ok", false) || !reply["result"]["announce"].contains("drain")) {
                std::cerr << "meshgatectl drain-node: the drain was cancelled\n";
                return exit_failed;
            }
            last = reply["result"]["announce"];
            const auto& d = last["drain"];
            const std::string line = drain_line(d);
            if (!global.json && line.substr(line.find(';')) != shown) {
                std::cout << line << "\n" << std::flush;
                shown = line.substr(line.find(';'));
            }
        }
    } catch (const AdminUnreachable& e) {
        if (last.is_null()) {
            std::cerr << "meshgatectl: " << e.message << "\n";
            return exit_failed;
        }
        // The daemon finished the drain and exited: its socket went with it.
        if (global.json) std::cout << last.dump(2) << "\n";
        else std::cout << "meshgated has exited\n";
        return exit_ok;
    }
}

int run_lookup(const GlobalOptions& global, const std::string& protocol, const std::string& source, const std::string& destination) {
    const auto from = SocketAddress::parse(source), to = SocketAddress::parse(destination);
    if (!from || !to || (protocol != "tcp" && protocol != "udp")) {
        std::cerr << "meshgatectl lookup: expected tcp|udp SOURCE:PORT VIP:PORT (IPv6 as [ADDRESS]:PORT)\n";
        return exit_usage;
    }
    const json args = {{"flows", json::array({json::array({protocol, from->address.to_string(), from->port, to->address.to_string(), to->port})})}};
    try {
        const json reply = admin_request(global.socket, "lookup", args);
        if (!reply.value("ok", false)) {
            std::cerr << "meshgatectl lookup: " << reply["error"].value("message", std::string("failed")) << "\n";
            return exit_failed;
        }
        const auto& r = reply["result"];
        if (global.json) {
            std::cout << r.dump(2) << "\n";
            return exit_ok;
        }
        const auto& f = r["flows"][0];
        if (f["endpoint"].is_null()) {
            std::cout << (f["service"].is_null() ? std::string("-") : f["service"].get<std::string>()) << ": "
                      << f.value("why", std::string()) << "\n";
            return exit_failed;
        }
        std::cout << f["service"].get<std::string>() << " -> " << f["endpoint"].get<std::string>() << " (snapshot "
                  << r["generation"].get<uint64_t>() << ")\n";
        return exit_ok;
    } catch (const AdminUnreachable& e) {
        std::cerr << "meshgatectl: " << e.message << "\n";
        return exit_failed;
    }
}

}  // namespace meshgate::cli
