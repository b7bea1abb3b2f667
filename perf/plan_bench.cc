// A full plan: 1,000 services × 100 endpoints over three zones, two regions and two networks,
// with some endpoints down, at M=65537: what the control thread rebuilds on a full reload.
#include <benchmark/benchmark.h>

#include "lb/planner.h"

namespace {

meshgate::Config big_config(int services, int endpoints_per_service) {
    using namespace meshgate;
    Config c;
    c.node.name = "gw-1";
    c.node.cluster = "c1";
    c.node.network = "n1";
    c.node.region = "r1";
    c.node.zone = "z1";
    c.network_gateways.push_back({"n2", *IpAddress::parse("10.255.0.1"), 15008, ""});
    const char* zones[] = {"z1", "z2", "z3"};
    for (int s = 0; s < services; ++s) {
        Service svc;
        svc.name = "svc-" + std::to_string(s);
        svc.ns = "bench";
        svc.vips.push_back(IpAddress::v4(0x0a600000u + static_cast<uint32_t>(s)));
        svc.ports.push_back({80, 8080, Protocol::tcp});
        svc.traffic_distribution = "PreferClose";
        c.services.push_back(svc);
        for (int e = 0; e < endpoints_per_service; ++e) {
            Endpoint ep;
            ep.service = svc.key();
            ep.address = IpAddress::v4(0x0b000000u + static_cast<uint32_t>(s * endpoints_per_service + e));
            ep.locality = {e % 10 == 9 ? "n2" : "n1", e % 4 == 3 ? "r2" : "r1", zones[e % 3], "", "", "c1"};
            ep.healthy = e % 7 != 0;
            c.endpoints.push_back(ep);
        }
    }
    return c;
}

void BM_FullPlan(benchmark::State& state) {
    const auto config = big_config(static_cast<int>(state.range(0)), static_cast<int>(state.range(1)));
    const auto health = meshgate::lb::declared_health(config);
    size_t tables = 0;
    for (auto _ : state) {
        auto plan = meshgate::lb::build_plan(config, health);
        tables = 0;
        for (const auto& s : plan.services) tables += s.hops.back().table.table_count();
        benchmark::DoNotOptimize(plan);
    }
    state.counters["services"] = static_cast<double>(state.range(0));
    state.counters["endpoints"] = static_cast<double>(config.endpoints.size());
    state.counters["maglev_tables"] = static_cast<double>(tables);
}

BENCHMARK(BM_FullPlan)->Args({1000, 100})->Unit(benchmark::kMillisecond)->Iterations(3);

}  // namespace

BENCHMARK_MAIN();
