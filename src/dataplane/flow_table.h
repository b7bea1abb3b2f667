#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <type_traits>
#include <vector>

#include <rte_byteorder.h>
#include <rte_ether.h>

#include "core/config.h"
#include "core/duration.h"
#include "dataplane/address_key.h"
#include "dataplane/packet.h"
#include "dataplane/rewrite.h"


namespace meshgate::dataplane {

// One direction of a flow as its packets arrive at meshgate: the rte_hash key.
struct FlowTuple {
    uint8_t source[16];
    uint8_t destination[16];
    rte_be16_t source_port;
    rte_be16_t destination_port;
    uint8_t protocol;
    uint8_t family;
    uint8_t pad[2];
};
static_assert(sizeof(FlowTuple) == 40);

// The tuple of a parsed TCP/UDP packet (fixed-size copies: the family picks 4 or 16 bytes).
inline FlowTuple flow_tuple_of(const PacketView& v) {
    FlowTuple t{};
    if (v.family == 4) {
        std::memcpy(t.source, v.source_address(), 4);
        std::memcpy(t.destination, v.destination_address(), 4);
    } else {
        std::memcpy(t.source, v.source_address(), 16);
        std::memcpy(t.destination, v.destination_address(), 16);
    }
    std::memcpy(&t.source_port, v.at(v.l4), 4);  // both ports
    t.protocol = v.protocol;
    t.family = v.family;
    return t;
}

// The flow table's hash of a tuple: CRC32C over its 40 bytes (crc_hash.h).
uint32_t flow_tuple_hash(const void* tuple, uint32_t length, uint32_t initial);

// The VIP, port and protocol a client → VIP tuple is addressed to.
inline VipKey vip_key(const FlowTuple& to_vip) {
    VipKey key{};
    std::memcpy(key.address, to_vip.destination, 16);
    key.port = to_vip.destination_port;
    key.protocol = to_vip.protocol;
    key.family = to_vip.family;
    return key;
}

enum class FlowState : uint8_t { syn_sent, established, closing, closed, udp };

// Per-state idle timeouts ([dataplane.flow_timeouts]); the worker converts them to TSC cycles.
using FlowTimeouts = FlowTimeoutConfig;

// A pinned, full-NAT'ed flow. `forward` arrives client → VIP, `reverse` endpoint → SNAT;
// each direction's rewrite takes its new addresses from the other tuple.
struct Flow {
    FlowTuple forward;
    FlowTuple reverse;
    uint64_t last_seen = 0;  // TSC
    uint32_t endpoint = 0;   // endpoint id in the snapshot that created the flow
    uint32_t service = 0;    // VIP entry index
    uint16_t client_port = 0;    // ethdev port towards the client
    uint16_t endpoint_port = 0;  // ethdev port towards the endpoint
    rte_ether_addr client_mac{};     // the hop the client's packets came from
    rte_ether_addr endpoint_mac{};   // next hop towards the endpoint
    AddressKey endpoint_next_hop{};
    NatDeltas to_endpoint, to_client;  // the checksum changes of each direction's rewrite
    uint64_t neighbour_generation = 0;
    uint64_t snapshot_generation = 0;  // the snapshot its endpoint was last found in
    FlowState state = FlowState::udp;
    bool in_use = false;
};

static_assert(std::is_trivially_copyable_v<Flow>, "FlowTable::insert copies a blank record bytewise");

// A worker's flow table: bounded, owned by one lcore, no locks. Both tuples of a flow lead
// to the same record. When full, new flows are refused (existing flows are never evicted);
// idle flows leave through expire(), a few slots per poll loop.
//
// The index holds no keys: a 64-byte bucket has 7 signatures (the tuple's hash) and 7
// references (record slot and direction); a signature match is confirmed against the tuple in
// the record, which the packet needs next anyway. A full bucket passes entries on to the next
// one and counts them, so a lookup stops at the first bucket that passed nothing on. Sized
// for at most ~3/4 of the entries in use, chains stay short.
class FlowTable {
public:
    enum class Direction : uint8_t { forward, reverse };

    FlowTable(uint32_t capacity, int socket);
    ~FlowTable();
    FlowTable(const FlowTable&) = delete;
    FlowTable& operator=(const FlowTable&) = delete;

    static uint32_t hash(const FlowTuple& tuple) { return flow_tuple_hash(&tuple, sizeof tuple, 0); }

    Flow* lookup(const FlowTuple& tuple, Direction& direction) const { return lookup(tuple, hash(tuple), direction); }
    Flow* lookup(const FlowTuple& tuple, uint32_t hash, Direction& direction) const;
    static constexpr uint32_t max_bulk = 64;
    // Looks up n ≤ max_bulk tuples with their hash() at once (flows[i] is nullptr for a miss) and
    // prefetches the records found. Until removals() changes, a record found stays valid.
    void lookup_bulk(const FlowTuple* tuples, const uint32_t* hashes, uint32_t n, Flow** flows, Direction* directions) const;
    // Counts every remove.
    uint64_t removals() const { return removals_; }
    bool contains(const FlowTuple& tuple, uint32_t hash) const {
        Direction d;
        return lookup(tuple, hash, d) != nullptr;
    }
    // nullptr when the table is full. The hashes are hash() of the tuples, which callers
    // have already.
    Flow* insert(const FlowTuple& forward, uint32_t forward_hash, const FlowTuple& reverse, uint32_t reverse_hash);
    Flow* insert(const FlowTuple& forward, const FlowTuple& reverse) { return insert(forward, hash(forward), reverse, hash(reverse)); }
    void remove(Flow* flow);
    // Looks at up to `budget` slots from where the last call stopped and removes the flows idle
    // longer than their state's timeout, calling `on_expire(flow)` for each first.
    template <typename OnExpire>
    uint32_t expire(uint64_t now, uint32_t budget, const uint64_t timeout_cycles[5], OnExpire&& on_expire) {
        uint32_t removed = 0;
        const uint32_t n = capacity();
        for (uint32_t i = 0; i < budget && i < n; ++i) {
            Flow& flow = flows_[sweep_];
            sweep_ = sweep_ + 1 == n ? 0 : sweep_ + 1;
            if (!flow.in_use || now - flow.last_seen <= timeout_cycles[static_cast<size_t>(flow.state)]) continue;
            on_expire(flow);
            remove(&flow);
            ++removed;
        }
        return removed;
    }

    uint32_t size() const { return size_; }
    uint32_t capacity() const { return static_cast<uint32_t>(flows_.size()); }
    size_t index_bytes() const { return size_t{mask_ + 1} * sizeof(Bucket); }
    template <typename F>
    void for_each(F&& f) const {
        for (const auto& flow : flows_) {
            if (flow.in_use) f(flow);
        }
    }

private:
    static constexpr uint32_t ways = 7;
    struct alignas(64) Bucket {
        uint32_t signature[ways];  // 0: free
        uint32_t passed_on;        // entries that found this bucket full and went further
        uint32_t reference[ways];  // slot << 1 | direction
        uint32_t pad;
    };
    static_assert(sizeof(Bucket) == 64);

    static uint32_t signature_of(uint32_t hash) { return hash ? hash : 1; }
    const FlowTuple& key_of(uint32_t reference) const {
        const Flow& f = flows_[reference >> 1];
        return (reference & 1) ? f.reverse : f.forward;
    }
    Flow* resolve(uint32_t reference, Direction& direction) const {
        direction = (reference & 1) ? Direction::reverse : Direction::forward;
        return const_cast<Flow*>(&flows_[reference >> 1]);
    }
    void place(uint32_t hash, uint32_t reference);
    void erase(uint32_t hash, uint32_t reference);

    Bucket* buckets_ = nullptr;
    uint32_t mask_ = 0;
    std::vector<Flow> flows_;
    std::vector<uint32_t> free_;  // stack of free slots
    uint32_t size_ = 0;
    uint32_t sweep_ = 0;
    uint64_t removals_ = 0;
};

}  // namespace meshgate::dataplane
