#include "lb/maglev.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <numeric>

#include "core/hash.h"

namespace meshgate::lb {

namespace {

using Turn = MaglevTable::Turn;

// Seeds of the three independent hashes: turn order, offset, skip.
constexpr uint64_t order_seed = 0x6d65736867617465ULL;  // "meshgate"
constexpr uint64_t offset_seed = 0x6f66667365742121ULL;
constexpr uint64_t skip_seed = 0x736b697021212121ULL;

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

// Arithmetic modulo the table size without a division: a product of two residues (< 2^48 for
// any table size meshgate accepts) is reduced through a double, exact to within one multiple.
class Residues {
public:
    explicit Residues(uint32_t m) : m_(m), inverse_m_(1.0 / m) {}

    uint32_t reduce(uint64_t a) const {
        const auto q = static_cast<uint64_t>(static_cast<double>(a) * inverse_m_);
        auto r = static_cast<int64_t>(a - q * m_);
        if (r < 0) r += m_;
        if (r >= static_cast<int64_t>(m_)) r -= m_;
        return static_cast<uint32_t>(r);
    }
    // x^(m-2): x's inverse when m is prime (the caller checks the product).
    uint32_t inverse(uint32_t x) const {
        uint32_t result = 1;
        for (uint32_t e = m_ - 2; e; e >>= 1) {
            if (e & 1) result = reduce(uint64_t{result} * x);
            x = reduce(uint64_t{x} * x);
        }
        return result;
    }

private:
    uint32_t m_;
    double inverse_m_;
};

// Probing slows down as the table fills: with E slots empty, a claim costs M/E probes, and the
// last few hundred slots take over half of all probes. From here on each claim instead looks
// at every empty slot once and takes the one earliest in the backend's permutation, which is
// its next empty slot because every slot it passed is taken. Same table, fewer steps.
uint32_t tail_slots(uint32_t size) { return static_cast<uint32_t>(std::sqrt(static_cast<double>(size)) / 2); }

}  // namespace

std::vector<Turn> MaglevTable::turns(std::span<const MaglevBackend> backends, uint32_t size) {
    std::vector<Turn> turns;
    turns.reserve(backends.size());
    for (uint32_t i = 0; i < backends.size(); ++i) {
        if (backends[i].weight == 0) continue;
        const auto& key = backends[i].key;
        turns.push_back({hash_string(key, order_seed), i, static_cast<uint32_t>(hash_string(key, offset_seed) % size),
                         static_cast<uint32_t>(hash_string(key, skip_seed) % (size - 1) + 1), 0});
    }
    std::sort(turns.begin(), turns.end(), [&](const Turn& a, const Turn& b) {
        if (a.order != b.order) return a.order < b.order;
        return backends[a.input_index].key < backends[b.input_index].key;
    });
    if (!turns.empty()) assign_targets(turns, backends, size);
    return turns;
}

MaglevTable MaglevTable::build(std::span<const MaglevBackend> backends, uint32_t size) {
    MaglevTable table;
    const auto turns = MaglevTable::turns(backends, size);
    table.backend_count_ = static_cast<uint32_t>(turns.size());
    table.slots_.assign(size, no_backend);
    table.held_.assign(backends.size(), 0);
    if (turns.empty()) return table;
    for (const auto& t : turns) table.held_[t.input_index] = t.target;

    std::vector<uint32_t> active;  // backends still short of their target, in turn order
    active.reserve(turns.size());
    for (uint32_t i = 0; i < turns.size(); ++i) {
        if (turns[i].target > 0) active.push_back(i);
    }
    std::vector<uint32_t> held(turns.size(), 0);
    uint32_t filled = 0;
    auto claim = [&](uint32_t t, uint32_t slot, size_t& keep) {
        table.slots_[slot] = turns[t].input_index;
        ++filled;
        if (++held[t] < turns[t].target) active[keep++] = t;
    };

    // Probing a bitmap (M/8 bytes, cache resident) instead of the slot array keeps the
    // probe loop out of main memory.
    std::vector<uint64_t> taken((size + 63) / 64, 0);
    auto is_taken = [&](uint32_t c) { return static_cast<uint32_t>(taken[c >> 6] >> (c & 63)) & 1; };
    std::vector<uint32_t> next(turns.size());
    for (size_t i = 0; i < turns.size(); ++i) next[i] = turns[i].offset;
    auto round_by_probing = [&] {
        size_t keep = 0;
        for (uint32_t t : active) {
            uint32_t c = next[t];
            const uint32_t skip = turns[t].skip;
            while (is_taken(c)) {
                c += skip;
                if (c >= size) c -= size;
            }
            taken[c >> 6] |= uint64_t{1} << (c & 63);
            next[t] = c + skip >= size ? c + skip - size : c + skip;
            claim(t, c, keep);
        }
        active.resize(keep);
    };
    const uint32_t tail = tail_slots(size);
    while (size - filled > tail) round_by_probing();
    if (filled == size) return table;

    // A slot's place in backend t's permutation is (slot - offset)·skip⁻¹ mod M. Each inverse is
    // checked, so a table size that is not prime falls back to probing instead of going wrong.
    const Residues residues(size);
    std::vector<uint32_t> skip_inverse(turns.size());
    for (uint32_t t : active) {
        skip_inverse[t] = residues.inverse(turns[t].skip);
        if (residues.reduce(uint64_t{skip_inverse[t]} * turns[t].skip) != 1) {
            while (filled < size) round_by_probing();
            return table;
        }
    }
    std::vector<uint32_t> empty;
    empty.reserve(size - filled);
    for (uint32_t c = 0; c < size; ++c) {
        if (!is_taken(c)) empty.push_back(c);
    }
    while (filled < size) {
        size_t keep = 0;
        for (uint32_t t : active) {
            const uint32_t offset = turns[t].offset;
            const uint64_t inverse = skip_inverse[t];
            size_t earliest = 0;
            uint32_t earliest_place = UINT32_MAX;
            for (size_t k = 0; k < empty.size(); ++k) {
                const uint32_t from_offset = empty[k] >= offset ? empty[k] - offset : empty[k] + size - offset;
                const uint32_t place = residues.reduce(from_offset * inverse);
                if (place < earliest_place) {
                    earliest_place = place;
                    earliest = k;
                }
            }
            const uint32_t slot = empty[earliest];
            empty[earliest] = empty.back();
            empty.pop_back();
            claim(t, slot, keep);
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
