#include "lb/maglev.h"

#include <algorithm>
#include <array>
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

// The last sqrt(M)/2 slots are filled by place.
uint32_t tail_slots(uint32_t size) { return static_cast<uint32_t>(std::sqrt(static_cast<double>(size)) / 2); }

// Maglev's fill: backends take turns, each claiming the next empty slot of its permutation
// (offset + j·skip mod M) until it holds its target. Three ways to find that slot, each exact,
// each for the part of the fill where it is cheapest:
//   batches  while many slots are empty: each backend lists its next free slots in one
//            branch-free walk, then rounds claim from the lists (fill_in_batches);
//   probing  walking the permutation one claim at a time (probe_round);
//   places   once few slots are left: each claim looks at every empty slot once (fill_by_place).
// Slots are found in a bitmap (M/8 bytes, cache resident), not the slot array.
class Fill {
public:
    Fill(std::span<const Turn> turns, uint32_t size, std::vector<uint32_t>& slots)
        : turns_(turns), size_(size), slots_(slots), taken_((size + 63) / 64, 0), held_(turns.size(), 0) {
        for (uint32_t i = 0; i < turns.size(); ++i) {
            if (turns[i].target > 0) active_.push_back(i);
        }
        next_.reserve(turns.size());
        for (const auto& t : turns) next_.push_back(t.offset);
    }

    void run() {
        fill_in_batches();
        const uint32_t tail = tail_slots(size_);
        while (size_ - filled_ > tail) probe_round();
        if (filled_ < size_ && !fill_by_place()) {
            while (filled_ < size_) probe_round();
        }
    }

private:
    uint32_t plus(uint32_t a, uint32_t b) const { return a + b >= size_ ? a + b - size_ : a + b; }
    uint32_t is_taken(uint32_t c) const { return static_cast<uint32_t>(taken_[c >> 6] >> (c & 63)) & 1; }
    uint32_t is_free(uint32_t c) const { return is_taken(c) ^ 1; }

    void claim(uint32_t t, uint32_t slot, size_t& keep) {
        taken_[slot >> 6] |= uint64_t{1} << (slot & 63);
        slots_[slot] = turns_[t].input_index;
        ++filled_;
        if (++held_[t] < turns_[t].target) active_[keep++] = t;
    }

    // Backend t's next empty slot, walking its permutation from where it last stopped.
    uint32_t walk_to_empty(uint32_t t) {
        uint32_t c = next_[t];
        while (is_taken(c)) c = plus(c, turns_[t].skip);
        next_[t] = plus(c, turns_[t].skip);
        return c;
    }

    void probe_round() {
        size_t keep = 0;
        for (uint32_t t : active_) claim(t, walk_to_empty(t), keep);
        active_.resize(keep);
    }

    // While empty slots are many, a batch of R rounds claims from lists each backend made first:
    // its next free slots in permutation order, found by a walk with no branch on the bitmap
    // (four independent strides, so the loads overlap). A listed slot another backend took in
    // the meantime is skipped; the slots between listed ones were taken when listed, and stay
    // so. R keeps those collisions rare: a batch claims a sixteenth of the empty slots. With
    // fewer than 8 rounds a batch is not worth its lists, and probing goes on.
    void fill_in_batches() {
        constexpr uint32_t share = 16, fewest_rounds = 8, stride = 64;
        auto rounds_now = [&] { return active_.empty() ? 0 : (size_ - filled_) / (share * static_cast<uint32_t>(active_.size())); };
        if (rounds_now() < fewest_rounds) return;
        const uint32_t most_rounds = rounds_now();
        const uint32_t room = most_rounds + 2 * stride;
        std::vector<uint32_t> lists(turns_.size() * size_t{room});
        std::vector<uint32_t> head(turns_.size(), 0), count(turns_.size(), 0);
        std::vector<std::array<uint32_t, 4>> strides(turns_.size());  // 1, 2, 3 and 4 skips
        for (size_t t = 0; t < turns_.size(); ++t) {
            const uint32_t s = turns_[t].skip, s2 = plus(s, s);
            strides[t] = {s, s2, plus(s2, s), plus(s2, s2)};
        }
        for (uint32_t rounds; (rounds = std::min(rounds_now(), most_rounds)) >= fewest_rounds;) {
            for (uint32_t t : active_) {
                uint32_t* list = &lists[t * size_t{room}];
                uint32_t k = count[t] - head[t];
                if (head[t] > 0) std::copy(list + head[t], list + count[t], list);  // the unclaimed ones, to the front
                head[t] = 0;
                const auto& st = strides[t];
                uint32_t c0 = next_[t], c1 = plus(c0, st[0]), c2 = plus(c0, st[1]), c3 = plus(c0, st[2]);
                while (k < rounds && k + stride <= room) {
                    for (uint32_t j = 0; j < stride / 4; ++j) {
                        list[k] = c0;
                        k += is_free(c0);
                        list[k] = c1;
                        k += is_free(c1);
                        list[k] = c2;
                        k += is_free(c2);
                        list[k] = c3;
                        k += is_free(c3);
                        c0 = plus(c0, st[3]), c1 = plus(c1, st[3]), c2 = plus(c2, st[3]), c3 = plus(c3, st[3]);
                    }
                }
                count[t] = k;
                next_[t] = c0;
            }
            for (uint32_t r = 0; r < rounds && !active_.empty(); ++r) {
                size_t keep = 0;
                for (uint32_t t : active_) {
                    const uint32_t* list = &lists[t * size_t{room}];
                    while (head[t] < count[t] && is_taken(list[head[t]])) ++head[t];
                    claim(t, head[t] < count[t] ? list[head[t]++] : walk_to_empty(t), keep);
                }
                active_.resize(keep);
            }
        }
        // Probing goes on from each backend's first listed slot not yet claimed.
        for (size_t t = 0; t < turns_.size(); ++t) {
            if (head[t] < count[t]) next_[t] = lists[t * size_t{room} + head[t]];
        }
    }

    // Probing slows down as the table fills: with E slots empty, a claim costs M/E probes, and
    // the last few hundred slots take over half of all probes. From here on each claim instead
    // looks at every empty slot once and takes the one earliest in the backend's permutation,
    // which is its next empty slot because every slot it passed is taken. A slot's place in
    // backend t's permutation is (slot - offset)·skip⁻¹ mod M. Each inverse is checked: false
    // when the table size is not prime, and nothing was claimed.
    bool fill_by_place() {
        const Residues residues(size_);
        std::vector<uint32_t> skip_inverse(turns_.size());
        for (uint32_t t : active_) {
            skip_inverse[t] = residues.inverse(turns_[t].skip);
            if (residues.reduce(uint64_t{skip_inverse[t]} * turns_[t].skip) != 1) return false;
        }
        std::vector<uint32_t> empty;
        empty.reserve(size_ - filled_);
        for (uint32_t c = 0; c < size_; ++c) {
            if (!is_taken(c)) empty.push_back(c);
        }
        while (filled_ < size_) {
            size_t keep = 0;
            for (uint32_t t : active_) {
                const uint32_t offset = turns_[t].offset;
                const uint64_t inverse = skip_inverse[t];
                size_t earliest = 0;
                uint32_t earliest_place = UINT32_MAX;
                for (size_t k = 0; k < empty.size(); ++k) {
                    const uint32_t from_offset = empty[k] >= offset ? empty[k] - offset : empty[k] + size_ - offset;
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
            active_.resize(keep);
        }
        return true;
    }

    std::span<const Turn> turns_;
    uint32_t size_;
    std::vector<uint32_t>& slots_;
    std::vector<uint64_t> taken_;
    std::vector<uint32_t> held_;
    std::vector<uint32_t> active_;  // backends still short of their target, in turn order
    std::vector<uint32_t> next_;    // each backend's next permutation slot not yet looked at
    uint32_t filled_ = 0;
};

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
    Fill(turns, size, table.slots_).run();
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
