#pragma once

#include <cstdint>
#include <cstring>

#include <rte_ether.h>
#include <rte_icmp.h>
#include <rte_ip.h>
#include <rte_tcp.h>
#include <rte_udp.h>

#include "dataplane/checksum.h"
#include "dataplane/packet.h"

namespace meshgate::dataplane {

// In-place header rewrites of the per-packet path. Checksums are adjusted incrementally,
// never recomputed over the payload.

// Where the L4 checksum sits, or nullptr (ICMPv4 has no pseudo-header: addresses do not matter).
inline uint8_t* l4_checksum(const PacketView& v) {
    switch (v.protocol) {
        case proto_tcp: return v.at(static_cast<uint16_t>(v.l4 + offsetof(rte_tcp_hdr, cksum)));
        case proto_udp: return v.at(static_cast<uint16_t>(v.l4 + offsetof(rte_udp_hdr, dgram_cksum)));
        case proto_icmpv6: return v.at(static_cast<uint16_t>(v.l4 + offsetof(rte_icmp_hdr, icmp_cksum)));
        default: return nullptr;
    }
}

namespace detail {

// Adds ~old + new over the 16-bit words of a field (RFC 1624), to fold into checksums later.
template <size_t Size>
inline void add_delta(uint32_t& sum, const uint8_t* old_bytes, const uint8_t* new_bytes) {
    uint16_t o[Size / 2], n[Size / 2];
    std::memcpy(o, old_bytes, Size);
    std::memcpy(n, new_bytes, Size);
    for (size_t i = 0; i < Size / 2; ++i) sum += static_cast<uint16_t>(~o[i]) + uint32_t{n[i]};
}

// The same for a delta already folded to 16 bits: one fold is enough.
inline uint16_t apply_folded_delta(uint16_t check, uint16_t delta) {
    uint32_t sum = static_cast<uint16_t>(~check) + uint32_t{delta};
    sum = (sum & 0xffff) + (sum >> 16);
    return static_cast<uint16_t>(~sum);
}

inline uint16_t apply_delta(uint16_t check, uint32_t delta) {
    uint32_t sum = static_cast<uint16_t>(~check) + delta;
    sum = (sum & 0xffff) + (sum >> 16);
    sum = (sum & 0xffff) + (sum >> 16);
    return static_cast<uint16_t>(~sum);
}

template <size_t AddressSize>
inline void rewrite_tuple(const PacketView& v, const uint8_t* source, rte_be16_t source_port,
                          const uint8_t* destination, rte_be16_t destination_port) {
    uint32_t addresses = 0;
    add_delta<AddressSize>(addresses, v.source_address(), source);
    add_delta<AddressSize>(addresses, v.destination_address(), destination);
    std::memcpy(v.source_address(), source, AddressSize);
    std::memcpy(v.destination_address(), destination, AddressSize);
    if constexpr (AddressSize == 4) {
        auto* ip = reinterpret_cast<rte_ipv4_hdr*>(v.at(v.l3));
        ip->hdr_checksum = apply_delta(ip->hdr_checksum, addresses);
    }
    uint8_t* l4 = l4_checksum(v);
    if (!l4) return;
    uint32_t delta = addresses;  // the pseudo-header carries the addresses
    if (v.has_ports()) {
        const rte_be16_t ports[2] = {source_port, destination_port};
        add_delta<4>(delta, v.at(v.l4), reinterpret_cast<const uint8_t*>(ports));
        std::memcpy(v.at(v.l4), ports, 4);
    }
    uint16_t check;
    std::memcpy(&check, l4, 2);
    if (v.protocol == proto_udp && check == 0) return;  // UDP over IPv4 without a checksum
    check = apply_delta(check, delta);
    if (v.protocol == proto_udp && check == 0) check = 0xffff;
    std::memcpy(l4, &check, 2);
}

}  // namespace detail

// Full NAT of one packet in one pass: both addresses, both ports, one checksum delta for the
// IPv4 header (addresses) and one for the L4 checksum (addresses in the pseudo-header and
// ports). Addresses are `v.address_size()` bytes in network order; ports in network order.
inline void rewrite_tuple(const PacketView& v, const uint8_t* source, rte_be16_t source_port,
                          const uint8_t* destination, rte_be16_t destination_port) {
    if (v.family == 4) detail::rewrite_tuple<4>(v, source, source_port, destination, destination_port);
    else detail::rewrite_tuple<16>(v, source, source_port, destination, destination_port);
}

// One direction of a NAT'ed flow, worked out once when the flow is made: the old and new
// addresses and ports are the same for every packet of that direction, so the checksums
// change by constant one's-complement sums (RFC 1624). A packet then needs only copies, a
// TTL decrement and two additions.
struct NatDeltas {
    uint32_t ip = 0;  // IPv4 header checksum: both addresses and the TTL decrement
    uint32_t l4 = 0;  // TCP/UDP checksum: both addresses (pseudo-header) and both ports
};

// The same folded to 16 bits each, as a flow record keeps them: a folded one's-complement
// sum adds to a checksum as the unfolded one does.
struct NatDeltas16 {
    uint16_t ip = 0, l4 = 0;

    static NatDeltas16 fold(const NatDeltas& d) {
        auto fold16 = [](uint32_t sum) {
            sum = (sum & 0xffff) + (sum >> 16);
            sum = (sum & 0xffff) + (sum >> 16);
            return static_cast<uint16_t>(sum);
        };
        return {fold16(d.ip), fold16(d.l4)};
    }
    NatDeltas expand() const { return {ip, l4}; }
};

// A TTL decrement changes the (TTL, protocol) word by the same one's-complement sum whatever
// the TTL and protocol: take it from any pair of values, in memory order.
inline uint32_t ttl_decrement_delta() {
    static constexpr uint8_t before[2] = {1, 0}, after[2] = {0, 0};
    uint32_t d = 0;
    detail::add_delta<2>(d, before, after);
    return d;
}

inline NatDeltas nat_deltas(uint8_t family, const uint8_t* old_source, const uint8_t* old_destination,
                            rte_be16_t old_source_port, rte_be16_t old_destination_port, const uint8_t* source,
                            rte_be16_t source_port, const uint8_t* destination, rte_be16_t destination_port) {
    uint32_t addresses = 0;
    if (family == 4) {
        detail::add_delta<4>(addresses, old_source, source);
        detail::add_delta<4>(addresses, old_destination, destination);
    } else {
        detail::add_delta<16>(addresses, old_source, source);
        detail::add_delta<16>(addresses, old_destination, destination);
    }
    const rte_be16_t old_ports[2] = {old_source_port, old_destination_port}, ports[2] = {source_port, destination_port};
    NatDeltas d;
    d.ip = addresses + ttl_decrement_delta();
    d.l4 = addresses;
    detail::add_delta<4>(d.l4, reinterpret_cast<const uint8_t*>(old_ports), reinterpret_cast<const uint8_t*>(ports));
    return d;
}

// The deltas of the way back: the same words change places, so each sum is the
// one's-complement negation of the way there (~(~o + n) = ~n + o, summed); only the TTL
// decrement goes the same way in both.
inline NatDeltas reversed(const NatDeltas& there) {
    auto negate = [](uint32_t sum) {
        sum = (sum & 0xffff) + (sum >> 16);
        sum = (sum & 0xffff) + (sum >> 16);
        return uint32_t{static_cast<uint16_t>(~sum)};
    };
    const uint32_t ttl = ttl_decrement_delta();
    NatDeltas back;
    back.ip = negate(there.ip + negate(ttl)) + ttl;  // remove the TTL, negate the addresses, add it again
    back.l4 = negate(there.l4);
    return back;
}

// True when the packet may be forwarded (TTL / hop limit above 1).
inline bool ttl_allows_forwarding(const PacketView& v) {
    return v.family == 4 ? reinterpret_cast<const rte_ipv4_hdr*>(v.at(v.l3))->time_to_live > 1
                         : reinterpret_cast<const rte_ipv6_hdr*>(v.at(v.l3))->hop_limits > 1;
}

// Rewrites a TCP/UDP packet of a flow direction whose deltas are `d`: new addresses and
// ports, TTL − 1, both checksums adjusted. The packet must hold the tuple `d` was made from
// and pass ttl_allows_forwarding().
inline void apply_nat(const PacketView& v, NatDeltas16 d, const uint8_t* source, rte_be16_t source_port,
                      const uint8_t* destination, rte_be16_t destination_port) {
    // The view's fields first: once the packet's bytes are written, the compiler must assume
    // any of them changed, and would read them again.
    uint8_t* const l3 = v.at(v.l3);
    uint8_t* const l4 = v.at(v.l4);
    const bool ipv4 = v.family == 4, udp = v.protocol == proto_udp;
    if (ipv4) {
        auto* ip = reinterpret_cast<rte_ipv4_hdr*>(l3);
        std::memcpy(&ip->src_addr, source, 4);
        std::memcpy(&ip->dst_addr, destination, 4);
        --ip->time_to_live;
        ip->hdr_checksum = detail::apply_folded_delta(ip->hdr_checksum, d.ip);
    } else {
        auto* ip = reinterpret_cast<rte_ipv6_hdr*>(l3);
        std::memcpy(ip->src_addr, source, 16);
        std::memcpy(ip->dst_addr, destination, 16);
        --ip->hop_limits;
    }
    std::memcpy(l4, &source_port, 2);
    std::memcpy(l4 + 2, &destination_port, 2);
    uint8_t* at = l4 + (udp ? offsetof(rte_udp_hdr, dgram_cksum) : offsetof(rte_tcp_hdr, cksum));
    uint16_t check;
    std::memcpy(&check, at, 2);
    if (udp && check == 0) return;  // UDP over IPv4 without a checksum
    check = detail::apply_folded_delta(check, d.l4);
    if (udp && check == 0) check = 0xffff;
    std::memcpy(at, &check, 2);
}

// Decrements the IPv4 TTL / IPv6 hop limit; false when the packet must not be forwarded.
inline bool decrement_ttl(const PacketView& v) {
    if (v.family == 4) {
        auto* ip = reinterpret_cast<rte_ipv4_hdr*>(v.at(v.l3));
        if (ip->time_to_live <= 1) return false;
        uint16_t old_word, new_word;
        std::memcpy(&old_word, &ip->time_to_live, 2);  // TTL and protocol share a word
        --ip->time_to_live;
        std::memcpy(&new_word, &ip->time_to_live, 2);
        ip->hdr_checksum = checksum_adjust(ip->hdr_checksum, &old_word, &new_word, 2);
        return true;
    }
    auto* ip = reinterpret_cast<rte_ipv6_hdr*>(v.at(v.l3));
    if (ip->hop_limits <= 1) return false;
    --ip->hop_limits;
    return true;
}

inline void set_macs(uint8_t* frame, const rte_ether_addr& source, const rte_ether_addr& destination) {
    auto* eth = reinterpret_cast<rte_ether_hdr*>(frame);
    eth->src_addr = source;
    eth->dst_addr = destination;
}

}  // namespace meshgate::dataplane
