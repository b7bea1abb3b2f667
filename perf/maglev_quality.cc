// Deterministic Maglev figures (no timing): balance and disruption when one backend leaves.
// Prints JSON lines; perf/run includes them.
#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "lb/maglev.h"

int main() {
    using meshgate::lb::MaglevBackend;
    using meshgate::lb::MaglevTable;
    for (uint32_t m : {65537u, 655373u}) {
        for (size_t n : {100u, 1000u}) {
            std::vector<MaglevBackend> b;
            for (size_t i = 0; i < n; ++i) b.push_back({"10.1." + std::to_string(i / 256) + "." + std::to_string(i % 256) + ":8080", 1});
            auto before = MaglevTable::build(b, m);
            auto counts = before.slot_counts(n);
            auto [lo, hi] = std::minmax_element(counts.begin(), counts.end());
            auto after_b = b;
            after_b.erase(after_b.begin() + static_cast<long>(n / 2));
            auto after = MaglevTable::build(after_b, m);
            size_t moved = 0;
            for (uint32_t s = 0; s < m; ++s) moved += b[before.slots()[s]].key != after_b[after.slots()[s]].key;
            const double minimum = static_cast<double>(m) / static_cast<double>(n);
            std::printf("{\"benchmark\": \"maglev_quality\", \"N\": %zu, \"M\": %u, \"slots_min\": %u, \"slots_max\": %u, "
                        "\"max_over_avg\": %.5f, \"moved_on_removal\": %zu, \"moved_minimum\": %.1f, \"moved_ratio\": %.3f}\n",
                        n, m, *lo, *hi, *hi / (static_cast<double>(m) / static_cast<double>(n)), moved, minimum,
                        static_cast<double>(moved) / minimum);
        }
    }
}
