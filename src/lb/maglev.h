#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace meshgate::lb {

// One backend of a Maglev table: a stable key (its address) and a relative weight.
struct MaglevBackend {
    std::string key;
    uint32_t weight = 1;  // M·weight must fit 64 bits
};

// Weighted Maglev consistent hashing (Eisenbud et al., NSDI 2016, §3.4). Backends take
// turns claiming their next preferred empty slot; a backend stops once it holds its share
// of the table (proportional to its weight, to within one slot). Turns go in the order of
// the backends' key hashes, so the table depends only on the set of (key, weight) pairs,
// never on the order they were given in.
class MaglevTable {
public:
    static constexpr uint32_t no_backend = UINT32_MAX;

    // One backend's turn: its permutation of the slots (offset + j·skip mod M) and the number
    // of slots it stops at.
    struct Turn {
        uint64_t order;
        uint32_t input_index;
        uint32_t offset;
        uint32_t skip;
        uint32_t target;
    };
    // The turns build() takes, in turn order; backends with weight 0 have none.
    static std::vector<Turn> turns(std::span<const MaglevBackend> backends, uint32_t size);

    MaglevTable() = default;
    // `size` must be prime. Backends with weight 0 get no slots.
    static MaglevTable build(std::span<const MaglevBackend> backends, uint32_t size);

    uint32_t size() const { return static_cast<uint32_t>(slots_.size()); }
    bool empty() const { return backend_count_ == 0; }
    // Index into the `backends` given to build(), or no_backend for an empty table.
    uint32_t lookup(uint32_t hash32) const {
        if (backend_count_ == 0) return no_backend;
        return slots_[(uint64_t{hash32} * slots_.size()) >> 32];
    }
    const std::vector<uint32_t>& slots() const { return slots_; }
    // The slot array itself, for a caller that rewrites it in place (the table is empty after).
    std::vector<uint32_t> take_slots() && { return std::move(slots_); }
    // Slots held by each of the `backends` given to build(), in input order, counted.
    std::vector<uint32_t> slot_counts(size_t backends) const;
    // The same without a pass over the table: build() fills every slot, so each backend holds
    // exactly its turn's target.
    const std::vector<uint32_t>& held() const { return held_; }

private:
    std::vector<uint32_t> slots_;
    std::vector<uint32_t> held_;
    uint32_t backend_count_ = 0;
};

}  // namespace meshgate::lb
