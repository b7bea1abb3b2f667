#include "lb/selection_table.h"

#include <map>

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
            if (previous->tables_[t].size() == maglev_size && same_members(previous->origins_[t].choice, choice)) {
                same = &previous->origins_[t];
                st.tables_.push_back(previous->tables_[t]);
            }
        }
        if (any_weight) {
            Origin origin;
            if (same) {
                origin.slot_counts = same->slot_counts;
            } else {
                std::vector<MaglevBackend> backends;
                backends.reserve(choice.endpoints.size());
                for (size_t i = 0; i < choice.endpoints.size(); ++i) backends.push_back({choice.keys[i], choice.weights[i]});
                auto maglev = MaglevTable::build(backends, maglev_size);
                origin.slot_counts = maglev.slot_counts(backends.size());
                // Backend index → endpoint id, in place: no second table to allocate and fill.
                std::vector<uint32_t> slots = std::move(maglev).take_slots();
                for (auto& slot : slots) slot = choice.endpoints[slot];
                st.tables_.push_back(std::move(slots));
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

size_t SelectionTable::memory_bytes() const {
    size_t bytes = sizeof(*this);
    for (const auto& t : tables_) bytes += t.size() * sizeof(uint32_t);
    return bytes;
}

}  // namespace meshgate::lb
