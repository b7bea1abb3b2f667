#include "lb/maglev.h"

#include <algorithm>
#include <numeric>

#include "core/hash.h"

namespace meshgate::lb {

namespace {

// Seeds of the three independent hashes: turn order, offset, skip.
constexpr uint64_t order_seed = 0x6d65736867617465ULL;  // "meshgate"
constexpr uint64_t offset_seed = 0x6f66667365742121ULL;
constexpr uint64_t skip_seed = 0x736b697021212121ULL;

struct Turn {
    uint64_t order;
    uint32_t input_index;
    uint32_t offset;
    uint32_t skip;
    uint32_t target;
};

// Slots per backend: floor(M·w/W) each, then one more to the backends with the largest
// remainders (ties in turn order). Equal weights reproduce classic Maglev's ⌊M/N⌋/⌈M/N⌉.
void assign_targets(std::vector<Turn>& turns, std::span<const MaglevBackend> backends, uint32_t size) {
    uint64_t total = 0;
    for (const auto& t : turns) total += backends[t.input_index].weight;
    std::vector<std::pair<uint64_t, size_t>> remainders;
    remainders.reserve(turns.size());
    uint64_t assigned = 0;
    for (size_t i = 0; i < turns.size(); ++i) {
        const uint64_t scaled = uint64_t{size} * backends[turns[i].input_index].weight;
        turns[i].target = static_cast<uint32_t>(scaled / total);
        assigned += turns[i].target;
        remainders.emplace_back(scaled % total, i);
    }
    std::stable_sort(remainders.begin(), remainders.end(),
                     [](const auto& a, const auto& b) { return a.first > b.first; });
    for (uint64_t k = 0; assigned + k < size; ++k) ++turns[remainders[k].second].target;
}

}  // namespace

MaglevTable MaglevTable::build(std::span<const MaglevBackend> backends, uint32_t size) {
    MaglevTable table;
    std::vector<Turn> turns;
    turns.reserve(backends.size());
    for (uint32_t i = 0; i < backends.size(); ++i) {
        if (backends[i].weight == 0) continue;
        const auto& key = backends[i].key;
        turns.push_back({hash_string(key, order_seed), i,
                         static_cast<uint32_t>(hash_string(key, offset_seed) % size),
                         static_cast<uint32_t>(hash_string(key, skip_seed) % (size - 1) + 1), 0});
    }
    std::sort(turns.begin(), turns.end(), [&](const Turn& a, const Turn& b) {
        if (a.order != b.order) return a.order < b.order;
        return backends[a.input_index].key < backends[b.input_index].key;
    });
    table.backend_count_ = static_cast<uint32_t>(turns.size());
    table.slots_.assign(size, no_backend);
    if (turns.empty()) return table;
    assign_targets(turns, backends, size);

    // Probing a bitmap (M/8 bytes, cache resident) instead of the slot array keeps the
    // O(M log M) probe loop out of main memory.
    std::vector<uint64_t> taken((size + 63) / 64, 0);
    std::vector<uint32_t> next(turns.size());
    for (size_t i = 0; i < turns.size(); ++i) next[i] = turns[i].offset;
    std::vector<uint32_t> active;
    active.reserve(turns.size());
    for (uint32_t i = 0; i < turns.size(); ++i) {
        if (turns[i].target > 0) active.push_back(i);
    }
    std::vector<uint32_t> held(turns.size(), 0);

    uint32_t filled = 0;
    while (filled < size) {
        size_t keep = 0;
        for (uint32_t t : active) {
            uint32_t c = next[t];
            const uint32_t skip = turns[t].skip;
            while (taken[c >> 6] & (uint64_t{1} << (c & 63))) {
                c += skip;
                if (c >= size) c -= size;
            }
            taken[c >> 6] |= uint64_t{1} << (c & 63);
            table.slots_[c] = turns[t].input_index;
            c += skip;
            next[t] = c >= size ? c - size : c;
            ++filled;
            if (++held[t] < turns[t].target) active[keep++] = t;
        }
        active.resize(keep);
    }
    return table;
}

std::vector<uint32_t> MaglevTable::slot_counts(size_t backends) const {
    std::vector<uint32_t> counts(backends, 0);
    for (uint32_t s : slots_) {
        if (s != no_backend) ++counts[s];
    }
    return counts;
}

}  // namespace meshgate::lb
