#include "lb/selection_table.h"

#include <map>

namespace meshgate::lb {

SelectionTable SelectionTable::build(const std::vector<Choice>& choices, uint32_t maglev_size) {
    SelectionTable st;
    std::map<uint32_t, double> share;
    uint32_t bucket = 0;
    for (const auto& choice : choices) {
        if (choice.percent == 0) continue;
        uint8_t table = no_table;
        bool any_weight = false;
        for (auto w : choice.weights) any_weight = any_weight || w > 0;
        if (any_weight) {
            std::vector<MaglevBackend> backends;
            backends.reserve(choice.endpoints.size());
            for (size_t i = 0; i < choice.endpoints.size(); ++i) {
                backends.push_back({choice.keys[i], choice.weights[i]});
            }
            auto maglev = MaglevTable::build(backends, maglev_size);
            std::vector<uint32_t> slots(maglev.slots().size());
            for (size_t s = 0; s < slots.size(); ++s) slots[s] = choice.endpoints[maglev.slots()[s]];
            table = static_cast<uint8_t>(st.tables_.size());
            st.tables_.push_back(std::move(slots));
            const auto counts = maglev.slot_counts(backends.size());
            for (size_t i = 0; i < counts.size(); ++i) {
                if (counts[i] > 0) share[choice.endpoints[i]] += choice.percent / 100.0 * counts[i] / maglev_size;
            }
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
