#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <type_traits>
#include <vector>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include <rte_build_config.h>
#include <rte_byteorder.h>
#include <rte_ether.h>

#include "core/config.h"
#include "core/duration.h"
#include "dataplane/address_key.h"
#include "dataplane/crc_hash.h"
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

// The tuple of a parsed TCP/UDP packet, written in place (a burst's array: no temporary to
// copy); fixed-size copies, the family picks 4 or 16 bytes.
inline void fill_flow_tuple(const PacketView& v, FlowTuple& t) {
    std::memset(&t, 0, sizeof t);
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
}

inline FlowTuple flow_tuple_of(const PacketView& v) {
    FlowTuple t;
    fill_flow_tuple(v, t);
    return t;
}

// The VIP, port and protocol a client → VIP tuple is addressed to.
inline VipKey vip_key(const FlowTuple& to_vip) {
    VipKey key{};
    std::memcpy(key.address, to_vip.destination, 16);
    key.port = to_vip.destination_port;
    key.protocol = to_vip.protocol;
    key.family = to_vip.family;
    return key;
}

// A half-closed connection (one side's FIN) still carries data the other way, so each side's
// FIN is its own state; `closing` is FINs both ways, `closed` a RST.
enum class FlowState : uint8_t { syn_sent, established, fin_from_client, fin_from_endpoint, closing, closed, udp };
inline constexpr size_t flow_state_count = 7;

// Past a FIN or RST from either side: a SYN on the tuple starts a new connection.
inline bool past_fin(FlowState s) { return s >= FlowState::fin_from_client && s <= FlowState::closed; }
// The client sends nothing more: its FIN, or a RST.
inline bool client_done(FlowState s) { return s == FlowState::fin_from_client || s == FlowState::closing || s == FlowState::closed; }
// No more data either way: FINs both ways, or a RST. Flows that remain (drain, drain-node)
// are the others.
inline bool winding_down(FlowState s) { return s == FlowState::closing || s == FlowState::closed; }

// The TCP state a segment with `flags` moves its flow to; `from_client` tells the direction.
inline FlowState next_state(FlowState state, uint8_t flags, bool from_client) {
    constexpr uint8_t fin = 0x01, syn = 0x02, rst = 0x04, ack = 0x10;  // as rte_tcp.h
    if (flags & rst) return FlowState::closed;
    if (flags & fin) {
        if (state == FlowState::closed || state == FlowState::closing) return state;
        const FlowState other_side_done = from_client ? FlowState::fin_from_endpoint : FlowState::fin_from_client;
        if (state == other_side_done) return FlowState::closing;
        return from_client ? FlowState::fin_from_client : FlowState::fin_from_endpoint;
    }
    if (!from_client && state == FlowState::syn_sent && (flags & syn) && (flags & ack)) return FlowState::established;
    return state;
}

// Per-state idle timeouts ([dataplane.flow_timeouts]); the worker converts them to flow ticks.
using FlowTimeouts = FlowTimeoutConfig;

// A flow's clock: the TSC in units of 2^20 cycles (about half a millisecond at 2 GHz), 32
// bits wide, so a record keeps 4 bytes instead of 8. Differences are taken modulo 2^32, which
// holds while every timeout is under half the wrap (days); flow_ticks() caps them there.
inline constexpr unsigned flow_tick_shift = 20;
inline uint32_t flow_clock(uint64_t tsc) { return static_cast<uint32_t>(tsc >> flow_tick_shift); }
inline uint32_t flow_ticks(uint64_t cycles) {
    const uint64_t ticks = (cycles >> flow_tick_shift) + 1;
    return static_cast<uint32_t>(ticks < (uint64_t{1} << 31) ? ticks : (uint64_t{1} << 31) - 1);
}

// One direction's addresses and ports: the part of a FlowTuple a flow keeps per direction
// (protocol and family are the flow's), laid out as the tuple's first 36 bytes.
struct FlowEnds {
    uint8_t source[16];
    uint8_t destination[16];
    rte_be16_t source_port;
    rte_be16_t destination_port;
};
static_assert(sizeof(FlowEnds) == 36 && offsetof(FlowTuple, protocol) == sizeof(FlowEnds));

// A pinned, full-NAT'ed flow in 112 bytes. `forward` arrives client → VIP, `reverse` endpoint
// → SNAT; each direction's rewrite takes its new addresses from the other. The next hop's
// MAC towards the endpoint is the snapshot's (Snapshot::endpoint_macs), copied here when the
// flow is made and whenever its snapshot changes.
struct Flow {
    FlowEnds forward;
    FlowEnds reverse;
    uint8_t protocol = 0;
    uint8_t family = 0;  // 4 or 6; 0 marks a free slot
    FlowState state = FlowState::udp;
    bool endpoint_mac_known = false;
    uint8_t client_port = 0;     // ethdev port towards the client
    uint8_t endpoint_port = 0;   // ethdev port towards the endpoint
    uint16_t service = 0;        // index in the snapshot's services
    uint32_t endpoint = 0;       // endpoint id in the snapshot it was last found in (no_endpoint: none)
    uint32_t snapshot_generation = 0;  // that snapshot's generation, low 32 bits
    uint32_t last_seen = 0;      // flow_clock()
    NatDeltas16 to_endpoint;     // the checksum changes of the client → endpoint rewrite
    rte_ether_addr client_mac{};    // the hop the client's packets came from
    rte_ether_addr endpoint_mac{};  // next hop towards the endpoint, when endpoint_mac_known
    uint32_t client_fin_next = 0;   // TCP: the client's sequence number past its FIN, once it sent one

    static constexpr uint32_t no_endpoint = UINT32_MAX;
    bool in_use() const { return family != 0; }
    FlowTuple forward_tuple() const { return tuple_of(forward); }
    FlowTuple reverse_tuple() const { return tuple_of(reverse); }
    // The way back reverses the way there (rewrite.h).
    NatDeltas16 to_client() const { return NatDeltas16::fold(reversed(to_endpoint.expand())); }

private:
    FlowTuple tuple_of(const FlowEnds& ends) const {
        FlowTuple t{};
        std::memcpy(&t, &ends, sizeof ends);
        t.protocol = protocol;
        t.family = family;
        return t;
    }
};

static_assert(sizeof(Flow) == 112, "the record is sized for bytes per flow (perf/worker_bench --mode bytes)");
static_assert(RTE_MAX_ETHPORTS <= 256, "Flow keeps ethdev port ids in a byte");
static_assert(std::is_trivially_copyable_v<Flow>, "FlowTable::insert copies a blank record bytewise");

// A worker's flow table: bounded, owned by one lcore, no locks. Both tuples of a flow lead
// to the same record. When full, new flows are refused (existing flows are never evicted);
// idle flows leave through expire(), a few slots at a time.
//
// The index holds no keys: a 64-byte bucket has 10 16-bit signatures (15 bits of the tuple's hash)
// and 10 references (record slot and direction); a signature match is confirmed against the
// ends in the record, which the packet needs next anyway. A full bucket passes entries on to
// the next one and counts them, so a lookup stops at the first bucket that passed nothing on.
// Any number of buckets (not a power of two), for at most 4/5 of the ways in use: chains
// stay short (a bucket's load is Poisson, mean 8 of 10, when the table is full) and the index
// costs 16 bytes per flow. Free records are chained through their own `endpoint` field, so
// the free list costs nothing.
class FlowTable {
public:
    enum class Direction : uint8_t { forward, reverse };

    FlowTable(uint32_t capacity, int socket);
    ~FlowTable();
    FlowTable(const FlowTable&) = delete;
    FlowTable& operator=(const FlowTable&) = delete;

    // CRC32C over the tuple's 40 bytes (crc_hash.h).
    static uint32_t hash(const FlowTuple& tuple) { return crc_hash(&tuple, sizeof tuple, 0); }
    // Writes the tuple of a parsed TCP/UDP packet into `t` (fill_flow_tuple) and returns its
    // hash(). For IPv4 the CRC takes the tuple's words from the registers that wrote them:
    // reading back a tuple just written in smaller pieces waits for those stores (a third of
    // a burst's first loop, in cycles).
    static uint32_t fill_and_hash(const PacketView& v, FlowTuple& t) {
#if defined(__SSE4_2__) && defined(__x86_64__)
        if (v.family == 4) {
            uint32_t source, destination, ports;
            std::memcpy(&source, v.source_address(), 4);
            std::memcpy(&destination, v.destination_address(), 4);
            std::memcpy(&ports, v.at(v.l4), 4);
            // The tuple's five 8-byte words as they sit in memory (little-endian): stored
            // whole, and hashed from the same registers.
            const uint64_t first = source, third = destination, zero = 0;
            const uint64_t last = ports | uint64_t{v.protocol} << 32 | uint64_t{4} << 40;
            auto* out = reinterpret_cast<uint8_t*>(&t);
            std::memcpy(out, &first, 8);
            std::memcpy(out + 8, &zero, 8);
            std::memcpy(out + 16, &third, 8);
            std::memcpy(out + 24, &zero, 8);
            std::memcpy(out + 32, &last, 8);
            uint64_t h = _mm_crc32_u64(0, first);
            h = _mm_crc32_u64(h, zero);
            h = _mm_crc32_u64(h, third);
            h = _mm_crc32_u64(h, zero);
            h = _mm_crc32_u64(h, last);
            return static_cast<uint32_t>(h);
        }
#endif
        fill_flow_tuple(v, t);
        return hash(t);
    }

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
    // have already; both tuples have the same protocol and family.
    Flow* insert(const FlowTuple& forward, uint32_t forward_hash, const FlowTuple& reverse, uint32_t reverse_hash);
    Flow* insert(const FlowTuple& forward, const FlowTuple& reverse) { return insert(forward, hash(forward), reverse, hash(reverse)); }
    void remove(Flow* flow);
    // Looks at up to `budget` slots from where the last call stopped and removes the flows idle
    // longer than their state's timeout (in flow ticks), calling `on_expire(flow)` for each first.
    template <typename OnExpire>
    uint32_t expire(uint32_t now, uint32_t budget, const uint32_t timeout_ticks[flow_state_count], OnExpire&& on_expire) {
        uint32_t removed = 0;
        const uint32_t n = capacity();
        for (uint32_t i = 0; i < budget && i < n; ++i) {
            Flow& flow = flows_[sweep_];
            sweep_ = sweep_ + 1 == n ? 0 : sweep_ + 1;
            if (!flow.in_use() || now - flow.last_seen <= timeout_ticks[static_cast<size_t>(flow.state)]) continue;
            on_expire(flow);
            remove(&flow);
            ++removed;
        }
        return removed;
    }

    uint32_t size() const { return size_; }
    uint32_t capacity() const { return static_cast<uint32_t>(flows_.size()); }
    size_t index_bytes() const { return size_t{buckets_count_} * sizeof(Bucket); }
    template <typename F>
    void for_each(F&& f) const {
        for (const auto& flow : flows_) {
            if (flow.in_use()) f(flow);
        }
    }

private:
    static constexpr uint32_t ways = 10;
    struct alignas(64) Bucket {
        uint16_t signature[ways];  // 0: free
        uint32_t passed_on;        // entries that found this bucket full and went further
        uint32_t reference[ways];  // slot << 1 | direction
    };
    static_assert(sizeof(Bucket) == 64);

    // 15 bits of the hash; never 0, which marks a free way.
    static uint16_t signature_of(uint32_t hash) { return static_cast<uint16_t>(hash | 1); }
    // The ways of `bucket` whose signature is `signature`, as bits (way w: bit w).
    static uint32_t ways_matching(const Bucket& bucket, uint16_t signature) {
#if defined(__SSE2__)
        // Ways 0-7 and 2-9 in two 16-byte loads, compared at once, packed to one mask.
        const __m128i want = _mm_set1_epi16(static_cast<short>(signature));
        const __m128i low = _mm_loadu_si128(reinterpret_cast<const __m128i*>(bucket.signature));
        const __m128i high = _mm_loadu_si128(reinterpret_cast<const __m128i*>(bucket.signature + 2));
        const auto mask = static_cast<uint32_t>(_mm_movemask_epi8(_mm_packs_epi16(_mm_cmpeq_epi16(low, want), _mm_cmpeq_epi16(high, want))));
        return (mask & 0xff) | ((mask >> 6) & 0x300);
#else
        uint32_t mask = 0;
        for (uint32_t w = 0; w < ways; ++w) mask |= uint32_t{bucket.signature[w] == signature} << w;
        return mask;
#endif
    }
    // The home bucket: the hash's high bits scaled to the bucket count (no power of two needed).
    uint32_t home_of(uint32_t hash) const { return static_cast<uint32_t>((uint64_t{hash} * buckets_count_) >> 32); }
    uint32_t next_bucket(uint32_t b) const { return b + 1 == buckets_count_ ? 0 : b + 1; }
    static bool same_ends(const FlowEnds& ends, uint8_t protocol, uint8_t family, const FlowTuple& t) {
#if defined(__SSE2__)
        // Addresses in two 16-byte compares; then the ports, protocol and family.
        const auto* a = reinterpret_cast<const __m128i*>(&ends);
        const auto* b = reinterpret_cast<const __m128i*>(&t);
        const __m128i equal = _mm_and_si128(_mm_cmpeq_epi8(_mm_loadu_si128(a), _mm_loadu_si128(b)),
                                            _mm_cmpeq_epi8(_mm_loadu_si128(a + 1), _mm_loadu_si128(b + 1)));
        if (_mm_movemask_epi8(equal) != 0xffff) return false;
#else
        if (std::memcmp(&ends, &t, 32) != 0) return false;
#endif
        uint32_t x, y;
        std::memcpy(&x, &ends.source_port, 4);
        std::memcpy(&y, &t.source_port, 4);
        return x == y && protocol == t.protocol && family == t.family;
    }
    bool matches(uint32_t reference, const FlowTuple& t) const {
        const Flow& f = flows_[reference >> 1];
        return same_ends((reference & 1) ? f.reverse : f.forward, f.protocol, f.family, t);
    }
    Flow* resolve(uint32_t reference, Direction& direction) const {
        direction = (reference & 1) ? Direction::reverse : Direction::forward;
        return const_cast<Flow*>(&flows_[reference >> 1]);
    }
    void place(uint32_t hash, uint32_t reference);
    void erase(uint32_t hash, uint32_t reference);

    Bucket* buckets_ = nullptr;
    uint32_t buckets_count_ = 0;
    std::vector<Flow> flows_;
    static constexpr uint32_t end_of_free = UINT32_MAX;
    uint32_t free_ = end_of_free;  // first free slot; each links the next through its `endpoint`
    uint32_t size_ = 0;
    uint32_t sweep_ = 0;
    uint64_t removals_ = 0;
};

}  // namespace meshgate::dataplane
