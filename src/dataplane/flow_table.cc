#include "dataplane/flow_table.h"

#include <rte_errno.h>
#include <rte_hash.h>
#include <rte_hash_crc.h>
#include <rte_prefetch.h>

#if defined(__SSE4_2__) && defined(__x86_64__)
#include <nmmintrin.h>
#endif

#include <stdexcept>

namespace meshgate::dataplane {

uint32_t flow_tuple_hash(const void* tuple, uint32_t length, uint32_t initial) {
#if defined(__SSE4_2__) && defined(__x86_64__)
    // DPDK's x86 baseline has SSE4.2; rte_hash_crc_8byte would re-check that on every call.
    (void)length;
    uint64_t words[sizeof(FlowTuple) / 8];
    std::memcpy(words, tuple, sizeof words);
    uint64_t h = initial;
    for (uint64_t w : words) h = _mm_crc32_u64(h, w);
    return static_cast<uint32_t>(h);
#else
    return rte_hash_crc(tuple, length, initial);
#endif
}

namespace {
// Data stored in rte_hash: flow slot and direction in one pointer-sized value.
void* encode(uint32_t slot, FlowTable::Direction d) {
    return reinterpret_cast<void*>((uintptr_t{slot} << 1) | (d == FlowTable::Direction::reverse ? 1u : 0u));
}
}  // namespace

FlowTable::FlowTable(const std::string& name, uint32_t capacity, int socket) : flows_(capacity) {
    rte_hash_parameters params{};
    params.name = name.c_str();
    params.entries = capacity * 2;  // two tuples per flow
    params.key_len = sizeof(FlowTuple);
    params.hash_func = flow_tuple_hash;
    params.socket_id = socket;
    // Extendable buckets: an insert never fails below `entries` (no cuckoo dead ends).
    params.extra_flag = RTE_HASH_EXTRA_FLAGS_EXT_TABLE;
    hash_ = rte_hash_create(&params);
    if (!hash_) throw std::runtime_error("flow table " + name + ": " + rte_strerror(rte_errno));
    free_.reserve(capacity);
    for (uint32_t i = capacity; i > 0; --i) free_.push_back(i - 1);
}

FlowTable::~FlowTable() { rte_hash_free(hash_); }

Flow* FlowTable::lookup(const FlowTuple& tuple, uint32_t hash, Direction& direction) const {
    void* data = nullptr;
    if (rte_hash_lookup_with_hash_data(hash_, &tuple, hash, &data) < 0) return nullptr;
    const auto value = reinterpret_cast<uintptr_t>(data);
    direction = (value & 1) ? Direction::reverse : Direction::forward;
    return const_cast<Flow*>(&flows_[value >> 1]);
}

void FlowTable::lookup_bulk(const FlowTuple* tuples, const uint32_t* hashes, uint32_t n, Flow** flows,
                            Direction* directions) const {
    const void* keys[RTE_HASH_LOOKUP_BULK_MAX];
    void* data[RTE_HASH_LOOKUP_BULK_MAX];
    for (uint32_t i = 0; i < n; ++i) keys[i] = &tuples[i];
    uint64_t hits = 0;
    hash_sig_t signatures[RTE_HASH_LOOKUP_BULK_MAX];  // DPDK 22.11 takes them non-const
    std::memcpy(signatures, hashes, n * sizeof *hashes);
    rte_hash_lookup_with_hash_bulk_data(hash_, keys, signatures, n, &hits, data);
    for (uint32_t i = 0; i < n; ++i) {
        if (!(hits >> i & 1)) {
            flows[i] = nullptr;
            continue;
        }
        const auto value = reinterpret_cast<uintptr_t>(data[i]);
        directions[i] = (value & 1) ? Direction::reverse : Direction::forward;
        flows[i] = const_cast<Flow*>(&flows_[value >> 1]);
        rte_prefetch0(flows[i]);
    }
}

bool FlowTable::contains(const FlowTuple& tuple) const { return rte_hash_lookup(hash_, &tuple) >= 0; }

Flow* FlowTable::insert(const FlowTuple& forward, const FlowTuple& reverse) {
    if (free_.empty()) return nullptr;
    const uint32_t slot = free_.back();
    if (rte_hash_add_key_data(hash_, &forward, encode(slot, Direction::forward)) < 0) return nullptr;
    if (rte_hash_add_key_data(hash_, &reverse, encode(slot, Direction::reverse)) < 0) {
        rte_hash_del_key(hash_, &forward);
        return nullptr;
    }
    free_.pop_back();
    Flow& flow = flows_[slot];
    flow = Flow{};
    flow.forward = forward;
    flow.reverse = reverse;
    flow.in_use = true;
    ++size_;
    return &flow;
}

void FlowTable::remove(Flow* flow) {
    rte_hash_del_key(hash_, &flow->forward);
    rte_hash_del_key(hash_, &flow->reverse);
    flow->in_use = false;
    ++removals_;
    free_.push_back(static_cast<uint32_t>(flow - flows_.data()));
    --size_;
}

}  // namespace meshgate::dataplane
