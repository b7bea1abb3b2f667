// Per-flow selection cost: flow hash → level → Maglev slot → endpoint, the work a worker
// does once per new flow. The baseline in the same run is reading one random table slot.
#include <benchmark/benchmark.h>

#include <random>

#include "lb/flow_hash.h"
#include "lb/selection_table.h"

namespace {

using meshgate::IpAddress;
using meshgate::lb::FlowKey;
using meshgate::lb::SelectionTable;

SelectionTable two_level_table(uint32_t m) {
    std::vector<SelectionTable::Choice> choices(2);
    choices[0].percent = 70;
    choices[1].percent = 30;
    for (uint32_t i = 0; i < 100; ++i) {
        auto& c = choices[i < 50 ? 0 : 1];
        c.endpoints.push_back(i);
        c.weights.push_back(1);
        c.keys.push_back("10.0.0." + std::to_string(i) + ":80");
    }
    return SelectionTable::build(choices, m);
}

std::vector<FlowKey> flows(size_t n) {
    std::mt19937_64 rng(1);
    std::vector<FlowKey> out(n);
    for (auto& f : out) {
        f.source = IpAddress::v4(static_cast<uint32_t>(rng()));
        f.destination = IpAddress::v4(0x0a600001);
        f.source_port = static_cast<uint16_t>(rng());
        f.destination_port = 80;
        f.protocol = 6;
    }
    return out;
}

void BM_FlowHashAndPick(benchmark::State& state) {
    auto table = two_level_table(static_cast<uint32_t>(state.range(0)));
    auto keys = flows(4096);
    size_t i = 0;
    for (auto _ : state) {
        benchmark::DoNotOptimize(table.pick(meshgate::lb::hash_flow(keys[i++ & 4095])));
    }
    state.SetItemsProcessed(state.iterations());
}

void BM_FlowHashOnly(benchmark::State& state) {
    auto keys = flows(4096);
    size_t i = 0;
    for (auto _ : state) benchmark::DoNotOptimize(meshgate::lb::hash_flow(keys[i++ & 4095]));
    state.SetItemsProcessed(state.iterations());
}

// Floor: one dependent read of a random slot in a table of the same size.
void BM_RandomSlotRead(benchmark::State& state) {
    std::vector<uint32_t> slots(static_cast<size_t>(state.range(0)), 7);
    std::mt19937_64 rng(1);
    std::vector<uint64_t> hashes(4096);
    for (auto& h : hashes) h = rng();
    size_t i = 0;
    for (auto _ : state) {
        benchmark::DoNotOptimize(slots[((hashes[i++ & 4095] & 0xffffffffULL) * slots.size()) >> 32]);
    }
    state.SetItemsProcessed(state.iterations());
}

BENCHMARK(BM_FlowHashAndPick)->Arg(65537)->Arg(655373);
BENCHMARK(BM_FlowHashOnly);
BENCHMARK(BM_RandomSlotRead)->Arg(65537)->Arg(655373);

}  // namespace

BENCHMARK_MAIN();
