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

// Replaces `size` bytes at `field` and fixes the L4 checksum (and the IPv4 header checksum
// when `in_ip_header`). A UDP checksum of 0 means "none" and stays 0.
inline void replace_field(const PacketView& v, void* field, const void* value, size_t size, bool in_ip_header) {
    if (std::memcmp(field, value, size) == 0) return;
    if (uint8_t* l4 = l4_checksum(v)) {
        uint16_t c;
        std::memcpy(&c, l4, 2);
        if (!(v.protocol == proto_udp && c == 0)) {
            c = checksum_adjust(c, field, value, size);
            if (v.protocol == proto_udp && c == 0) c = 0xffff;
            std::memcpy(l4, &c, 2);
        }
    }
    if (in_ip_header && v.family == 4) {
        auto* ip = reinterpret_cast<rte_ipv4_hdr*>(v.at(v.l3));
        ip->hdr_checksum = checksum_adjust(ip->hdr_checksum, field, value, size);
    }
    std::memcpy(field, value, size);
}

// Full NAT of one packet: both addresses and both ports. Addresses are `v.address_size()`
// bytes in network order; ports in network order.
inline void rewrite_tuple(const PacketView& v, const uint8_t* source, rte_be16_t source_port,
                          const uint8_t* destination, rte_be16_t destination_port) {
    replace_field(v, v.source_address(), source, v.address_size(), true);
    replace_field(v, v.destination_address(), destination, v.address_size(), true);
    if (v.has_ports()) {
        replace_field(v, v.source_port(), &source_port, 2, false);
        replace_field(v, v.destination_port(), &destination_port, 2, false);
    }
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
