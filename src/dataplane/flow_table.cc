#include "dataplane/flow_table.h"

#include <rte_common.h>
#include <rte_malloc.h>
#include <rte_prefetch.h>


#include <algorithm>
#include <stdexcept>

#include "dataplane/crc_hash.h"

namespace meshgate::dataplane {

uint32_t flow_tuple_hash(const void* tuple, uint32_t, uint32_t initial) { return crc_hash(tuple, sizeof(FlowTuple), initial); }

namespace {

bool same_tuple(const FlowTuple& a, const FlowTuple& b) {
    uint64_t x[5], y[5];
    std::memcpy(x, &a, sizeof x);
    std::memcpy(y, &b, sizeof y);
    return ((x[0] ^ y[0]) | (x[1] ^ y[1]) | (x[2] ^ y[2]) | (x[3] ^ y[3]) | (x[4] ^ y[4])) == 0;
}

}  // namespace

FlowTable::FlowTable(uint32_t capacity, int socket) : flows_(capacity) {
    // Two entries per flow, buckets filled to at most ~3/4 of their 7 ways.
    const uint64_t wanted = (uint64_t{capacity} * 2 * 4 + ways * 3 - 1) / (ways * 3);
    const uint64_t buckets = rte_align64pow2(std::max<uint64_t>(wanted, 2));
    buckets_ = static_cast<Bucket*>(rte_zmalloc_socket("flow_index", buckets * sizeof(Bucket), 64, socket));
    if (!buckets_) throw std::runtime_error("flow table: no memory for " + std::to_string(buckets) + " index buckets");
    mask_ = static_cast<uint32_t>(buckets - 1);
    free_.reserve(capacity);
    for (uint32_t i = capacity; i > 0; --i) free_.push_back(i - 1);
}

FlowTable::~FlowTable() { rte_free(buckets_); }

Flow* FlowTable::lookup(const FlowTuple& tuple, uint32_t hash, Direction& direction) const {
    const uint32_t signature = signature_of(hash);
    for (uint32_t b = hash & mask_;; b = (b + 1) & mask_) {
        const Bucket& bucket = buckets_[b];
        for (uint32_t i = 0; i < ways; ++i) {
            if (bucket.signature[i] == signature && same_tuple(key_of(bucket.reference[i]), tuple)) {
                return resolve(bucket.reference[i], direction);
            }
        }
        if (bucket.passed_on == 0) return nullptr;
    }
}

void FlowTable::lookup_bulk(const FlowTuple* tuples, const uint32_t* hashes, uint32_t n, Flow** flows,
                            Direction* directions) const {
    // Stage 1: every home bucket on its way into the cache.
    for (uint32_t i = 0; i < n; ++i) rte_prefetch0(&buckets_[hashes[i] & mask_]);
    // Stage 2: the first signature match in the home bucket, its record on its way.
    uint32_t candidate[max_bulk];
    for (uint32_t i = 0; i < n; ++i) {
        const Bucket& bucket = buckets_[hashes[i] & mask_];
        const uint32_t signature = signature_of(hashes[i]);
        candidate[i] = UINT32_MAX;
        for (uint32_t w = 0; w < ways; ++w) {
            if (bucket.signature[w] == signature) {
                candidate[i] = bucket.reference[w];
                rte_prefetch0(&flows_[candidate[i] >> 1]);
                break;
            }
        }
    }
    // Stage 3: confirm against the record's tuple. No match in a home bucket that passed
    // nothing on is a miss; anything else takes the full walk.
    for (uint32_t i = 0; i < n; ++i) {
        if (candidate[i] != UINT32_MAX && same_tuple(key_of(candidate[i]), tuples[i])) {
            flows[i] = resolve(candidate[i], directions[i]);
        } else if (candidate[i] == UINT32_MAX && buckets_[hashes[i] & mask_].passed_on == 0) {
            flows[i] = nullptr;
        } else {
            flows[i] = lookup(tuples[i], hashes[i], directions[i]);
        }
    }
}

void FlowTable::place(uint32_t hash, uint32_t reference) {
    for (uint32_t b = hash & mask_;; b = (b + 1) & mask_) {
        Bucket& bucket = buckets_[b];
        for (uint32_t i = 0; i < ways; ++i) {
            if (bucket.signature[i] == 0) {
                bucket.signature[i] = signature_of(hash);
                bucket.reference[i] = reference;
                return;
            }
        }
        ++bucket.passed_on;  // never all full: sized for 3/4 at most
    }
}

void FlowTable::erase(uint32_t hash, uint32_t reference) {
    const uint32_t home = hash & mask_;
    for (uint32_t b = home;; b = (b + 1) & mask_) {
        Bucket& bucket = buckets_[b];
        for (uint32_t i = 0; i < ways; ++i) {
            if (bucket.signature[i] != 0 && bucket.reference[i] == reference) {
                bucket.signature[i] = 0;
                for (uint32_t p = home; p != b; p = (p + 1) & mask_) --buckets_[p].passed_on;
                return;
            }
        }
    }
}

Flow* FlowTable::insert(const FlowTuple& forward, uint32_t forward_hash, const FlowTuple& reverse, uint32_t reverse_hash) {
    if (free_.empty()) return nullptr;
    const uint32_t slot = free_.back();
    free_.pop_back();
    // A copy of a blank record: cheaper than value-initializing a temporary and assigning it.
    static const Flow blank{};
    Flow& flow = flows_[slot];
    std::memcpy(&flow, &blank, sizeof flow);
    flow.forward = forward;
    flow.reverse = reverse;
    flow.in_use = true;
    place(forward_hash, slot << 1);
    place(reverse_hash, slot << 1 | 1);
    ++size_;
    return &flow;
}

void FlowTable::remove(Flow* flow) {
    const uint32_t slot = static_cast<uint32_t>(flow - flows_.data());
    erase(hash(flow->forward), slot << 1);
    erase(hash(flow->reverse), slot << 1 | 1);
    flow->in_use = false;
    ++removals_;
    free_.push_back(slot);
    --size_;
}

}  // namespace meshgate::dataplane
