#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "lb/maglev.h"

namespace meshgate::lb {

// The compact, immutable per-hop result a data plane consults for a new flow:
// flow hash → level (high bits, in whole percents) → Maglev table → slot (low bits) → endpoint.
class SelectionTable {
public:
    static constexpr uint32_t no_endpoint = UINT32_MAX;

    // One way to pick: `percent` of flows go to a Maglev table over `endpoints`.
    struct Choice {
        uint32_t percent = 0;
        std::vector<uint32_t> endpoints;  // endpoint ids (indices into Config::endpoints)
        std::vector<uint32_t> weights;
        std::vector<std::string> keys;    // stable keys (address:port) for the Maglev order
    };

    SelectionTable() { bucket_table_.fill(no_table); }
    // Choices are walked in order; their percents sum to at most 100 (the rest refuses flows).
    // A choice whose endpoints, weights and keys are those of one of `previous`'s tables shares
    // that table instead of building it again: a live update re-makes only the levels it
    // changed, and copies none of the others.
    static SelectionTable build(const std::vector<Choice>& choices, uint32_t maglev_size,
                                const SelectionTable* previous = nullptr);

    uint32_t pick(uint64_t flow_hash) const {
        const auto bucket = static_cast<uint32_t>(((flow_hash >> 32) * 100) >> 32);
        const uint8_t t = bucket_table_[bucket];
        if (t == no_table) return no_endpoint;
        const Level& level = tables_[t];
        return level.slots[((flow_hash & 0xffffffffULL) * level.size) >> 32];
    }

    // Fraction of flows (0..1) each endpoint id receives, from the actual slot counts.
    const std::vector<std::pair<uint32_t, double>>& shares() const { return shares_; }
    size_t table_count() const { return tables_.size(); }
    // A hash of what the table decides: the level of each percent and, per level, which
    // endpoint (by key) owns each slot. Endpoint ids and the order endpoints were added in do
    // not enter it, so two nodes that would send every flow alike have the same digest.
    uint64_t digest() const;
    size_t memory_bytes() const;

private:
    static constexpr uint8_t no_table = 0xff;
    std::array<uint8_t, 100> bucket_table_;
    // One Maglev table, slot → endpoint id. pick() reads `slots` and `size` from here, as
    // directly as from a vector; `owner` keeps the array alive in every SelectionTable sharing it.
    struct Level {
        const uint32_t* slots;
        uint64_t size;
        std::shared_ptr<const std::vector<uint32_t>> owner;
    };
    static Level level_of(std::vector<uint32_t> slots);
    std::vector<Level> tables_;
    // What each table was made from, and the slots each of its endpoints holds: a later
    // build with the same members reuses the table.
    struct Origin {
        Choice choice;  // percent aside
        std::vector<uint32_t> slot_counts;
        // Its part of digest(), made on first use; only the control thread asks (workers
        // never read origins_), and a table reused by a later build keeps it.
        mutable std::optional<uint64_t> digest;
    };
    static uint64_t table_digest(const Origin& origin, const std::vector<uint32_t>& slots);
    std::vector<Origin> origins_;
    std::vector<std::pair<uint32_t, double>> shares_;  // endpoint id → fraction, sorted by id
};

}  // namespace meshgate::lb
