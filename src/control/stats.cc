#include "control/stats.h"

#include <unordered_map>

#include "lb/planner.h"

namespace meshgate::control {

nlohmann::json collect_stats(const CounterTotals& counters, const Config& config) {
    using nlohmann::json;
    const auto& workers = counters.workers();
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
        {"closing_flows", sum([](const auto& w) -> const auto& { return w.closing_flows; })},
        {"expired_flows", sum([](const auto& w) -> const auto& { return w.expired_flows; })},
        {"handoff", sum([](const auto& w) -> const auto& { return w.handoff_in; })},
        {"exception_packets", sum([](const auto& w) -> const auto& { return w.exception_packets; })},
        {"arp_replies", sum([](const auto& w) -> const auto& { return w.arp_replies; })},
        {"nd_advertisements", sum([](const auto& w) -> const auto& { return w.nd_advertisements; })},
        {"icmp_echo_replies", sum([](const auto& w) -> const auto& { return w.icmp_echo_replies; })},
        {"icmp_errors_translated", sum([](const auto& w) -> const auto& { return w.icmp_errors_translated; })},
        {"tcp_resets", sum([](const auto& w) -> const auto& { return w.tcp_resets; })},
        {"second_chance_sent", sum([](const auto& w) -> const auto& { return w.second_chance_sent; })},
        {"second_chance_served", sum([](const auto& w) -> const auto& { return w.second_chance_served; })},
    };
    json drops = json::object();
    for (size_t r = 1; r < static_cast<size_t>(dataplane::Drop::count_); ++r) {
        uint64_t n = 0;
        for (const auto* w : workers) n += w->drops[r].get();
        if (n) drops[dataplane::to_string(static_cast<dataplane::Drop>(r))] = n;
    }
    json endpoints = json::object();
    std::unordered_map<std::string, const Service*> by_key;  // once, not a scan per endpoint
    for (const auto& s : config.services) by_key.emplace(s.key(), &s);
    for (uint32_t id = 0; id < config.endpoints.size(); ++id) {
        const auto& e = config.endpoints[id];
        const auto it = by_key.find(e.service);
        const Service* service = it == by_key.end() ? nullptr : it->second;
        if (!service) continue;  // an empty slot
        const Totals t = counters.endpoint(id);
        endpoints[e.service + " " + lb::endpoint_key(config, *service, e)] = {
            {"packets", t.packets}, {"bytes", t.bytes}, {"new_flows", t.new_flows}, {"active_flows", t.active_flows},
            {"zone", e.locality.zone}, {"region", e.locality.region}};
    }
    json services = json::object();
    for (uint32_t i = 0; i < config.services.size(); ++i) {
        const Totals t = counters.service(i);
        services[config.services[i].key()] = {{"packets", t.packets}, {"bytes", t.bytes}, {"new_flows", t.new_flows},
                                              {"active_flows", t.active_flows}, {"refused_flows", t.refused}};
    }
    return {{"workers", workers.size()}, {"totals", totals}, {"drops", drops}, {"services", services}, {"endpoints", endpoints}};
}

}  // namespace meshgate::control
