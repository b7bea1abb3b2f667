#include "control/flow_simulation.h"

#include <netinet/in.h>

#include "core/hash.h"
#include "lb/flow_hash.h"

namespace meshgate::control {

namespace {

// splitmix64: a tiny, fully specified generator, so every run and machine sees the same flows.
struct SplitMix {
    uint64_t state;
    uint64_t next() { return mix64(state += 0x9e3779b97f4a7c15ULL); }
};

}  // namespace

FlowCounts simulate_flows(const Config& config, const lb::ServicePlan& plan, uint64_t flows, uint64_t seed) {
    FlowCounts counts;
    const auto& service = config.services[plan.service_index];
    const auto& hop = plan.hops.front();
    SplitMix random{seed};
    const IpAddress fallback_vip = IpAddress::v4(0xc6336401);  // 198.51.100.1: a service with no VIP
    std::map<uint32_t, uint64_t> per_id;
    for (uint64_t i = 0; i < flows; ++i) {
        lb::FlowKey key;
        uint64_t r = random.next();
        key.source = IpAddress::v4(0xc6120000u | static_cast<uint32_t>(r & 0x1ffff));  // 198.18.0.0/15
        key.source_port = static_cast<uint16_t>(1024 + ((r >> 17) % 64512));
        const auto& port = service.ports[(r >> 33) % service.ports.size()];
        key.destination = service.vips.empty() ? fallback_vip : service.vips[(r >> 40) % service.vips.size()];
        key.destination_port = port.port;
        key.protocol = port.protocol == Protocol::tcp ? IPPROTO_TCP : IPPROTO_UDP;

        ++counts.total;
        uint32_t id = hop.table.pick(lb::hash_flow(key));
        if (id == lb::SelectionTable::no_endpoint) {
            ++counts.refused;
            continue;
        }
        ++per_id[id];
    }
    const auto* target = config.find_service(hop.target);
    for (const auto& [id, n] : per_id) counts.per_endpoint[lb::endpoint_key(config, *target, config.endpoints[id])] = n;
    return counts;
}

}  // namespace meshgate::control
