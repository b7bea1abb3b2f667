#include "lb/selection_table.h"

#include <algorithm>
#include <map>
#include <numeric>
#include <unordered_map>

#include "core/hash.h"

namespace meshgate::lb {

namespace {

bool same_members(const SelectionTable::Choice& a, const SelectionTable::Choice& b) {
    return a.endpoints == b.endpoints && a.weights == b.weights && a.keys == b.keys;
}

}  // namespace

SelectionTable SelectionTable::build(const std::vector<Choice>& choices, uint32_t maglev_size, const SelectionTable* previous) {
    SelectionTable st;
    std::map<uint32_t, double> share;
    uint32_t bucket = 0;
    for (const auto& choice : choices) {
        if (choice.percent == 0) continue;
        uint8_t table = no_table;
        bool any_weight = false;
        for (auto w : choice.weights) any_weight = any_weight || w > 0;
        const Origin* same = nullptr;
        for (size_t t = 0; previous && !same && t < previous->origins_.size(); ++t) {
            if (previous->tables_[t].size == maglev_size && same_members(previous->origins_[t].choice, choice)) {
                same = &previous->origins_[t];
                st.tables_.push_back(previous->tables_[t]);
            }
        }
        if (any_weight) {
            Origin origin;
            if (same) {
                origin.slot_counts = same->slot_counts;
                origin.digest = same->digest;
            } else {
                std::vector<MaglevBackend> backends;
                backends.reserve(choice.endpoints.size());
                for (size_t i = 0; i < choice.endpoints.size(); ++i) backends.push_back({choice.keys[i], choice.weights[i]});
                auto maglev = MaglevTable::build(backends, maglev_size);
                origin.slot_counts = maglev.held();
                // Backend index → endpoint id, in place: no second table to allocate and fill.
                std::vector<uint32_t> slots = std::move(maglev).take_slots();
                for (auto& slot : slots) slot = choice.endpoints[slot];
                st.tables_.push_back(level_of(std::move(slots)));
            }
            table = static_cast<uint8_t>(st.tables_.size() - 1);
            for (size_t i = 0; i < origin.slot_counts.size(); ++i) {
                const auto n = origin.slot_counts[i];
                if (n > 0) share[choice.endpoints[i]] += choice.percent / 100.0 * n / maglev_size;
            }
            origin.choice = choice;
            origin.choice.percent = 0;
            st.origins_.push_back(std::move(origin));
        } else if (same) {
            st.tables_.pop_back();
        }
        for (uint32_t i = 0; i < choice.percent && bucket < 100; ++i) st.bucket_table_[bucket++] = table;
    }
    st.shares_.assign(share.begin(), share.end());
    return st;
}

SelectionTable::Level SelectionTable::level_of(std::vector<uint32_t> slots) {
    auto owner = std::make_shared<const std::vector<uint32_t>>(std::move(slots));
    return {owner->data(), owner->size(), owner};
}

uint64_t SelectionTable::table_digest(const Origin& origin, const std::vector<uint32_t>& slots) {
    constexpr uint64_t seed = 0x7461626c65732121ULL;
    const Choice& c = origin.choice;
    // Members in key order; a slot is hashed as its owner's rank in that order.
    std::vector<uint32_t> order(c.keys.size());
    std::iota(order.begin(), order.end(), 0u);
    std::sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) { return c.keys[a] < c.keys[b]; });
    std::unordered_map<uint32_t, uint32_t> rank;
    uint64_t h = seed;
    for (uint32_t r = 0; r < order.size(); ++r) {
        rank.emplace(c.endpoints[order[r]], r);
        h = mix64(h ^ hash_string(c.keys[order[r]], seed)) + c.weights[order[r]];
    }
    std::vector<uint32_t> ranks;
    ranks.reserve(slots.size());
    for (uint32_t id : slots) ranks.push_back(rank.at(id));
    return mix64(h ^ hash_bytes(ranks.data(), ranks.size() * sizeof(uint32_t), seed));
}

uint64_t SelectionTable::digest() const {
    uint64_t h = hash_bytes(bucket_table_.data(), bucket_table_.size(), 0x6275636b657473ULL);
    for (size_t t = 0; t < tables_.size(); ++t) {
        if (!origins_[t].digest) origins_[t].digest = table_digest(origins_[t], *tables_[t].owner);
        h = mix64(h ^ *origins_[t].digest);
    }
    return h;
}

size_t SelectionTable::memory_bytes() const {
    size_t bytes = sizeof(*this);
    for (const auto& t : tables_) bytes += t.size * sizeof(uint32_t);
    return bytes;
}

}  // namespace meshgate::lb
