#include "control/counter_totals.h"

namespace meshgate::control {

Totals CounterTotals::sum(const std::vector<const dataplane::WorkerCounters*>& workers,
                          const std::vector<dataplane::EndpointCounters> dataplane::WorkerCounters::*table, uint32_t index) {
    Totals t;
    for (const auto* w : workers) {
        const auto& counters = w->*table;
        if (index >= counters.size()) continue;
        const auto& c = counters[index];
        t.packets += c.packets.get();
        t.bytes += c.bytes.get();
        t.new_flows += c.new_flows.get();
        t.active_flows += c.active_flows.get();
        t.closing_flows += c.closing_flows.get();
        t.refused += c.refused.get();
    }
    return t;
}

Totals CounterTotals::minus(Totals a, const Totals& b) {
    a.packets -= b.packets;
    a.bytes -= b.bytes;
    a.new_flows -= b.new_flows;
    a.refused -= b.refused;
    return a;  // active_flows, closing_flows: gauges, kept as counted
}

void CounterTotals::follow(const std::vector<std::string>& endpoints, const std::vector<std::string>& services) {
    auto rebase = [&](const std::vector<std::string>& owners, std::vector<std::string>& known, std::vector<Totals>& base,
                      const std::vector<dataplane::EndpointCounters> dataplane::WorkerCounters::*table) {
        if (known.size() < owners.size()) {
            known.resize(owners.size());
            base.resize(owners.size());
        }
        for (uint32_t i = 0; i < owners.size(); ++i) {
            if (owners[i] == known[i]) continue;
            // Never held (known empty and nothing counted yet) or changed hands: start from here.
            base[i] = sum(workers_, table, i);
            known[i] = owners[i];
        }
    };
    rebase(endpoints, endpoint_owner_, endpoint_base_, &dataplane::WorkerCounters::endpoints);
    rebase(services, service_owner_, service_base_, &dataplane::WorkerCounters::services);
}

Totals CounterTotals::endpoint(uint32_t slot) const {
    const Totals now = sum(workers_, &dataplane::WorkerCounters::endpoints, slot);
    return slot < endpoint_base_.size() ? minus(now, endpoint_base_[slot]) : now;
}

Totals CounterTotals::service(uint32_t index) const {
    const Totals now = sum(workers_, &dataplane::WorkerCounters::services, index);
    return index < service_base_.size() ? minus(now, service_base_[index]) : now;
}

}  // namespace meshgate::control
