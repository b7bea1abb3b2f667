// Maglev table build: meshgate's weighted builder vs the textbook algorithm, same inputs,
// same run. The Maglev paper (§5.3) reports 1.8 ms at M=65537 and 22.9 ms at M=655373.
#include <benchmark/benchmark.h>

#include "lb/maglev.h"
#include "textbook_maglev.h"

namespace {

std::vector<meshgate::lb::MaglevBackend> backends(int64_t n) {
    std::vector<meshgate::lb::MaglevBackend> out;
    for (int64_t i = 0; i < n; ++i) {
        out.push_back({"10.1." + std::to_string(i / 256) + "." + std::to_string(i % 256) + ":8080", 1});
    }
    return out;
}

void BM_MaglevBuild(benchmark::State& state) {
    auto b = backends(state.range(0));
    const auto m = static_cast<uint32_t>(state.range(1));
    for (auto _ : state) benchmark::DoNotOptimize(meshgate::lb::MaglevTable::build(b, m));
    state.counters["N"] = static_cast<double>(state.range(0));
    state.counters["M"] = static_cast<double>(m);
}

void BM_TextbookMaglevBuild(benchmark::State& state) {
    std::vector<std::string> keys;
    for (const auto& b : backends(state.range(0))) keys.push_back(b.key);
    const auto m = static_cast<uint32_t>(state.range(1));
    for (auto _ : state) benchmark::DoNotOptimize(meshgate::perf::textbook_maglev(keys, m));
    state.counters["N"] = static_cast<double>(state.range(0));
    state.counters["M"] = static_cast<double>(m);
}

void sizes(benchmark::internal::Benchmark* b) {
    for (int64_t m : {65537, 655373}) {
        for (int64_t n : {5, 10, 100, 1000}) b->Args({n, m});
    }
    b->Unit(benchmark::kMillisecond)->MinTime(0.5);
}

BENCHMARK(BM_MaglevBuild)->Apply(sizes);
BENCHMARK(BM_TextbookMaglevBuild)->Apply(sizes);

}  // namespace

BENCHMARK_MAIN();
