#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#include <rte_byteorder.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_tcp.h>
#include <rte_udp.h>

namespace meshgate::dataplane {

// Why a packet was dropped; every reason is counted per worker.
enum class Drop : uint8_t {
    none = 0,
    truncated_ethernet,
    truncated_vlan,
    unsupported_ethertype,
    truncated_ip,
    bad_ip_version,
    bad_ip_header_length,
    bad_ip_total_length,
    bad_ip_checksum,
    ip_fragment,
    truncated_l4,
    bad_tcp_header_length,
    bad_udp_length,
    bad_arp,
    bad_icmp_error,      // quotes too little of the packet it is about
    ttl_exceeded,
    no_endpoint,         // no healthy endpoint: TCP gets a RST
    flow_table_full,
    snat_exhausted,
    no_route,
    neighbour_unknown,
    no_flow,             // to a SNAT address, but no flow: stale or spoofed
    no_service,          // to a VIP, on a port or protocol it does not serve
    endpoint_removed,    // a pinned TCP flow whose endpoint left the configuration: reset
    exception_unavailable,  // for the kernel, but the port has no exception path
    unsupported_protocol,
    handoff_full,
    tx_full,
    bad_tunnel,        // IP-in-IP from a peer that does not hold a TCP segment for one of our VIPs
    tunnel_too_big,    // a second-chance segment that would not fit the port's MTU once tunnelled
    count_,
};

const char* to_string(Drop reason);

inline constexpr uint16_t ethertype_ipv4 = 0x0800;
inline constexpr uint16_t ethertype_ipv6 = 0x86dd;
inline constexpr uint16_t ethertype_arp = 0x0806;
inline constexpr uint16_t ethertype_vlan = 0x8100;

inline constexpr uint8_t proto_icmp = 1;
inline constexpr uint8_t proto_ipip = 4;  // IPv4 in IP
inline constexpr uint8_t proto_ipv6_in_ip = 41;
inline constexpr uint8_t proto_tcp = 6;
inline constexpr uint8_t proto_udp = 17;
inline constexpr uint8_t proto_icmpv6 = 58;

// Offsets into one received frame, as parse() found them. Addresses and ports stay in the
// packet (network order); the view only says where.
struct PacketView {
    uint8_t* frame = nullptr;
    uint32_t length = 0;     // bytes of the frame
    uint16_t ethertype = 0;  // after any VLAN tag
    uint16_t l3 = 0;         // offset of the IP/ARP header
    uint16_t l4 = 0;         // offset of the TCP/UDP/ICMP header
    uint16_t l4_length = 0;  // L4 header + payload, from the IP lengths
    uint8_t family = 0;      // 4 or 6 (0: ARP)
    uint8_t protocol = 0;    // IP protocol
    bool vlan = false;

    uint8_t* at(uint16_t offset) const { return frame + offset; }
    // Source / destination address (4 or 16 bytes) and L4 ports, in the packet.
    // IPv4 addresses sit at 12/16 in the header, IPv6 at 8/24.
    uint8_t* source_address() const { return frame + l3 + (family == 4 ? 12 : 8); }
    uint8_t* destination_address() const { return frame + l3 + (family == 4 ? 16 : 24); }
    uint8_t address_size() const { return family == 4 ? 4 : 16; }
    bool has_ports() const { return protocol == proto_tcp || protocol == proto_udp; }
    rte_be16_t* source_port() const { return reinterpret_cast<rte_be16_t*>(frame + l4); }
    rte_be16_t* destination_port() const { return reinterpret_cast<rte_be16_t*>(frame + l4 + 2); }
};

// The flags byte of a TCP segment the view holds.
inline uint8_t tcp_flags(const PacketView& v) { return v.frame[v.l4 + 13]; }
// Its sequence number.
inline uint32_t tcp_seq(const PacketView& v) {
    rte_be32_t seq;
    std::memcpy(&seq, v.frame + v.l4 + 4, sizeof seq);  // a frame's TCP header need not be 4-byte aligned
    return rte_be_to_cpu_32(seq);
}
// The bytes of data it carries, past its header and options.
inline uint32_t tcp_payload_length(const PacketView& v) {
    const uint32_t header = (v.frame[v.l4 + 12] >> 4) * 4u;
    return v.l4_length > header ? v.l4_length - header : 0;
}

// parse() below, without its one-pass path for the usual packet: the same answer for every
// frame, more slowly.
Drop parse_in_full(uint8_t* frame, uint32_t length, bool verify_ipv4_checksum, PacketView& view);

namespace detail {

// Summed with its own checksum field, a valid header folds to 0xffff: its words sum to a
// nonzero multiple of 0xffff. A sum of wider words, with their carries added back in, keeps
// that remainder (2^16 ≡ 1 mod 0xffff, and 0xffff divides 2^64 − 1), so no fold is needed.
inline bool ipv4_header_checksum_valid(const rte_ipv4_hdr* ip, uint32_t header_length) {
    const auto* p = reinterpret_cast<const uint8_t*>(ip);
    uint64_t sum = 0;
    if (header_length == sizeof(rte_ipv4_hdr)) {  // no options: 8 + 8 + 4 bytes, carries back in
        uint64_t a, b;
        uint32_t c;
        std::memcpy(&a, p, 8);
        std::memcpy(&b, p + 8, 8);
        std::memcpy(&c, p + 16, 4);
        sum = a + b;
        sum += sum < a;
        sum += c;
        sum += sum < c;
    } else {
        for (uint32_t i = 0; i < header_length; i += 4) {  // at most 15 words: no carry out
            uint32_t word;
            std::memcpy(&word, p + i, 4);
            sum += word;
        }
    }
    return sum != 0 && sum % 0xffff == 0;
}

// Nearly every packet: untagged IPv4 without options, not a fragment, carrying TCP or UDP.
// This only accepts, in one pass; anything else, valid or not, takes parse_in_full(), which
// names what is wrong. The fuzz target checks that the two agree.
inline bool parse_common(uint8_t* frame, uint32_t length, bool verify_checksum, PacketView& v) {
    constexpr uint16_t l3 = sizeof(rte_ether_hdr), l4 = l3 + sizeof(rte_ipv4_hdr);
    if (length < l4 + sizeof(rte_udp_hdr)) return false;
    if (reinterpret_cast<const rte_ether_hdr*>(frame)->ether_type != rte_cpu_to_be_16(ethertype_ipv4)) return false;
    const auto* ip = reinterpret_cast<const rte_ipv4_hdr*>(frame + l3);
    if (ip->version_ihl != 0x45 || (ip->fragment_offset & rte_cpu_to_be_16(RTE_IPV4_HDR_MF_FLAG | RTE_IPV4_HDR_OFFSET_MASK))) {
        return false;
    }
    const uint32_t total = rte_be_to_cpu_16(ip->total_length);
    if (total < sizeof(rte_ipv4_hdr) || total > length - l3) return false;
    const uint32_t l4_length = total - uint32_t{sizeof(rte_ipv4_hdr)};  // all in the frame: total fits
    const uint8_t protocol = ip->next_proto_id;
    if (protocol == proto_tcp) {
        if (l4_length < sizeof(rte_tcp_hdr)) return false;
        const uint32_t header = (reinterpret_cast<const rte_tcp_hdr*>(frame + l4)->data_off >> 4) * 4u;
        if (header < sizeof(rte_tcp_hdr) || header > l4_length) return false;
    } else if (protocol == proto_udp) {
        if (l4_length < sizeof(rte_udp_hdr)) return false;
        const uint32_t udp_length = rte_be_to_cpu_16(reinterpret_cast<const rte_udp_hdr*>(frame + l4)->dgram_len);
        if (udp_length < sizeof(rte_udp_hdr) || udp_length > l4_length) return false;
    } else {
        return false;
    }
    if (verify_checksum && !ipv4_header_checksum_valid(ip, sizeof(rte_ipv4_hdr))) return false;
    v = PacketView{frame, length, ethertype_ipv4, l3, l4, static_cast<uint16_t>(l4_length), 4, protocol, false};
    return true;
}

}  // namespace detail

// Parses Ethernet (one optional 802.1Q tag), ARP, IPv4 (with options) and IPv6 (fixed
// header; extension headers other than none are reported as their protocol), and checks
// that the TCP/UDP/ICMP header is there. `verify_ipv4_checksum` is false when the NIC
// already checked it. Inline: the per-packet path saves the call and what it must reload.
inline Drop parse(uint8_t* frame, uint32_t length, bool verify_ipv4_checksum, PacketView& view) {
    if (detail::parse_common(frame, length, verify_ipv4_checksum, view)) return Drop::none;
    return parse_in_full(frame, length, verify_ipv4_checksum, view);
}
// The same from an IP header of `family` at `l3`, inside the frame's first `length` bytes (a
// packet inside another: ip_in_ip.h). The view keeps `frame`'s L2 header for its offsets.
Drop parse_ip(uint8_t* frame, uint32_t length, uint16_t l3, uint8_t family, bool verify_ipv4_checksum, PacketView& view);

}  // namespace meshgate::dataplane
