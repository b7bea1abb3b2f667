#include "control/stats.h"

#include "lb/planner.h"

namespace meshgate::control {

nlohmann::json collect_stats(const std::vector<const dataplane::WorkerCounters*>& workers, const Config& config) {
    using nlohmann::json;
    auto sum = [&](auto field) {
        uint64_t n = 0;
        for (const auto* w : workers) n += field(*w).get();
        return n;
    };
    json totals = {
        {"rx_packets", sum([](const auto& w) -> const auto& { return w.rx_packets; })},
        {"rx_bytes", sum([](const auto& w) -> const auto& { return w.rx_bytes; })},
        {"tx_packets", sum([](const auto& w) -> const auto& { return w.tx_packets; })},
        {"new_flows", sum([](const auto& w) -> const auto& { return w.new_flows; })},
        {"active_flows", sum([](const auto& w) -> const auto& { return w.active_flows; })},
        {"expired_flows", sum([](const auto& w) -> const auto& { return w.expired_flows; })},
        {"handoff", sum([](const auto& w) -> const auto& { return w.handoff_in; })},
        {"exception_packets", sum([](const auto& w) -> const auto& { return w.exception_packets; })},
        {"arp_replies", sum([](const auto& w) -> const auto& { return w.arp_replies; })},
        {"nd_advertisements", sum([](const auto& w) -> const auto& { return w.nd_advertisements; })},
        {"icmp_echo_replies", sum([](const auto& w) -> const auto& { return w.icmp_echo_replies; })},
        {"icmp_errors_translated", sum([](const auto& w) -> const auto& { return w.icmp_errors_translated; })},
        {"tcp_resets", sum([](const auto& w) -> const auto& { return w.tcp_resets; })},
    };
    json drops = json::object();
    for (size_t r = 1; r < static_cast<size_t>(dataplane::Drop::count_); ++r) {
        uint64_t n = 0;
        for (const auto* w : workers) n += w->drops[r].get();
        if (n) drops[dataplane::to_string(static_cast<dataplane::Drop>(r))] = n;
    }
    json endpoints = json::object();
    for (size_t id = 0; id < config.endpoints.size(); ++id) {
        uint64_t packets = 0, bytes = 0, new_flows = 0, active = 0;
        for (const auto* w : workers) {
            if (id >= w->endpoints.size()) continue;
            packets += w->endpoints[id].packets.get();
            bytes += w->endpoints[id].bytes.get();
            new_flows += w->endpoints[id].new_flows.get();
            active += w->endpoints[id].active_flows.get();
        }
        const auto& e = config.endpoints[id];
        const auto* service = config.find_service(e.service);
        if (!service) continue;
        endpoints[e.service + " " + lb::endpoint_key(config, *service, e)] = {
            {"packets", packets}, {"bytes", bytes}, {"new_flows", new_flows}, {"active_flows", active},
            {"zone", e.locality.zone}, {"region", e.locality.region}};
    }
    json services = json::object();
    for (size_t i = 0; i < config.services.size(); ++i) {
        uint64_t packets = 0, bytes = 0, new_flows = 0, active = 0, refused = 0;
        for (const auto* w : workers) {
            if (i >= w->services.size()) continue;
            packets += w->services[i].packets.get();
            bytes += w->services[i].bytes.get();
            new_flows += w->services[i].new_flows.get();
            active += w->services[i].active_flows.get();
            refused += w->services[i].refused.get();
        }
        services[config.services[i].key()] = {{"packets", packets}, {"bytes", bytes}, {"new_flows", new_flows},
                                              {"active_flows", active}, {"refused_flows", refused}};
    }
    return {{"workers", workers.size()}, {"totals", totals}, {"drops", drops}, {"services", services}, {"endpoints", endpoints}};
}

}  // namespace meshgate::control
