#include "dataplane/flow_table.h"

#include <rte_common.h>
#include <rte_malloc.h>
#include <rte_prefetch.h>


#include <algorithm>
#include <stdexcept>

namespace meshgate::dataplane {

FlowTable::FlowTable(uint32_t capacity, int socket) : flows_(capacity) {
    // Two entries per flow, buckets filled to at most 4/5 of their ways.
    const uint64_t wanted = (uint64_t{capacity} * 2 * 5 + ways * 4 - 1) / (ways * 4);
    buckets_count_ = static_cast<uint32_t>(std::max<uint64_t>(wanted, 2));
    buckets_ = static_cast<Bucket*>(rte_zmalloc_socket("flow_index", size_t{buckets_count_} * sizeof(Bucket), 64, socket));
    if (!buckets_) throw std::runtime_error("flow table: no memory for " + std::to_string(buckets_count_) + " index buckets");
    for (uint32_t i = capacity; i > 0; --i) {
        flows_[i - 1].endpoint = free_;
        free_ = i - 1;
    }
}

FlowTable::~FlowTable() { rte_free(buckets_); }

Flow* FlowTable::lookup(const FlowTuple& tuple, uint32_t hash, Direction& direction) const {
    const uint16_t signature = signature_of(hash);
    // At most once round: after churn, every bucket may have passed something on.
    uint32_t b = home_of(hash);
    for (uint32_t left = buckets_count_; left != 0; --left, b = next_bucket(b)) {
        const Bucket& bucket = buckets_[b];
        for (uint32_t m = ways_matching(bucket, signature); m != 0; m &= m - 1) {
            const uint32_t reference = bucket.reference[__builtin_ctz(m)];
            if (matches(reference, tuple)) return resolve(reference, direction);
        }
        if (bucket.passed_on == 0) return nullptr;
    }
    return nullptr;
}

void FlowTable::lookup_bulk(const FlowTuple* tuples, const uint32_t* hashes, uint32_t n, Flow** flows,
                            Direction* directions) const {
    // Stage 1: every home bucket on its way into the cache.
    uint32_t home[max_bulk];
    for (uint32_t i = 0; i < n; ++i) {
        home[i] = home_of(hashes[i]);
        rte_prefetch0(&buckets_[home[i]]);
    }
    // Stage 2: the first signature match in the home bucket, its record on its way (all of
    // its cache lines: the ends to confirm, and what the rewrite reads).
    uint32_t candidate[max_bulk];
    for (uint32_t i = 0; i < n; ++i) {
        const Bucket& bucket = buckets_[home[i]];
        const uint32_t m = ways_matching(bucket, signature_of(hashes[i]));
        candidate[i] = UINT32_MAX;
        if (m != 0) {
            candidate[i] = bucket.reference[__builtin_ctz(m)];
            const auto* record = reinterpret_cast<const char*>(&flows_[candidate[i] >> 1]);
            rte_prefetch0(record);
            rte_prefetch0(record + 64);
            rte_prefetch0(record + sizeof(Flow) - 1);
        }
    }
    // Stage 3: confirm against the record. No match in a home bucket that passed nothing on
    // is a miss; anything else takes the full walk.
    for (uint32_t i = 0; i < n; ++i) {
        if (candidate[i] != UINT32_MAX && matches(candidate[i], tuples[i])) {
            flows[i] = resolve(candidate[i], directions[i]);
        } else if (candidate[i] == UINT32_MAX && buckets_[home[i]].passed_on == 0) {
            flows[i] = nullptr;
        } else {
            flows[i] = lookup(tuples[i], hashes[i], directions[i]);
        }
    }
}

void FlowTable::place(uint32_t hash, uint32_t reference) {
    for (uint32_t b = home_of(hash);; b = next_bucket(b)) {
        Bucket& bucket = buckets_[b];
        for (uint32_t i = 0; i < ways; ++i) {
            if (bucket.signature[i] == 0) {
                bucket.signature[i] = signature_of(hash);
                bucket.reference[i] = reference;
                return;
            }
        }
        ++bucket.passed_on;  // never all full: sized for 4/5 at most
    }
}

void FlowTable::erase(uint32_t hash, uint32_t reference) {
    const uint32_t home = home_of(hash);
    for (uint32_t b = home;; b = next_bucket(b)) {
        Bucket& bucket = buckets_[b];
        for (uint32_t i = 0; i < ways; ++i) {
            if (bucket.signature[i] != 0 && bucket.reference[i] == reference) {
                bucket.signature[i] = 0;
                for (uint32_t p = home; p != b; p = next_bucket(p)) --buckets_[p].passed_on;
                return;
            }
        }
    }
}

Flow* FlowTable::insert(const FlowTuple& forward, uint32_t forward_hash, const FlowTuple& reverse, uint32_t reverse_hash) {
    if (free_ == end_of_free) return nullptr;
    const uint32_t slot = free_;
    Flow& flow = flows_[slot];
    free_ = flow.endpoint;
    // A copy of a blank record: cheaper than value-initializing a temporary and assigning it.
    static const Flow blank{};
    std::memcpy(&flow, &blank, sizeof flow);
    std::memcpy(&flow.forward, &forward, sizeof flow.forward);
    std::memcpy(&flow.reverse, &reverse, sizeof flow.reverse);
    flow.protocol = forward.protocol;
    flow.family = forward.family;
    place(forward_hash, slot << 1);
    place(reverse_hash, slot << 1 | 1);
    ++size_;
    return &flow;
}

void FlowTable::remove(Flow* flow) {
    const uint32_t slot = static_cast<uint32_t>(flow - flows_.data());
    erase(hash(flow->forward_tuple()), slot << 1);
    erase(hash(flow->reverse_tuple()), slot << 1 | 1);
    flow->family = 0;
    flow->endpoint = free_;
    free_ = slot;
    ++removals_;
    --size_;
}

}  // namespace meshgate::dataplane
