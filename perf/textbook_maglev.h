#pragma once

// The baseline for maglev_bench: Maglev's Pseudocode 1 as most implementations write it
// (Katran's among them): per-backend offset/skip, a modulo per probe, probing the slot array
// itself. Unweighted. Only for measuring against; meshgate uses src/lb/maglev.cc.

#include <cstdint>
#include <string>
#include <vector>

#include "core/hash.h"

namespace meshgate::perf {

inline std::vector<int32_t> textbook_maglev(const std::vector<std::string>& keys, uint32_t m) {
    const size_t n = keys.size();
    std::vector<uint32_t> offset(n), skip(n), next(n, 0);
    for (size_t i = 0; i < n; ++i) {
        offset[i] = static_cast<uint32_t>(hash_string(keys[i], 1) % m);
        skip[i] = static_cast<uint32_t>(hash_string(keys[i], 2) % (m - 1) + 1);
    }
    std::vector<int32_t> entry(m, -1);
    uint32_t filled = 0;
    while (true) {
        for (size_t i = 0; i < n; ++i) {
            uint32_t c = static_cast<uint32_t>((offset[i] + uint64_t{next[i]} * skip[i]) % m);
            while (entry[c] >= 0) {
                ++next[i];
                c = static_cast<uint32_t>((offset[i] + uint64_t{next[i]} * skip[i]) % m);
            }
            entry[c] = static_cast<int32_t>(i);
            ++next[i];
            if (++filled == m) return entry;
        }
    }
}

}  // namespace meshgate::perf
