#pragma once

#include <cstdint>

#include <rte_byteorder.h>

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

// Parses Ethernet (one optional 802.1Q tag), ARP, IPv4 (with options) and IPv6 (fixed
// header; extension headers other than none are reported as their protocol), and checks
// that the TCP/UDP/ICMP header is there. `verify_ipv4_checksum` is false when the NIC
// already checked it.
Drop parse(uint8_t* frame, uint32_t length, bool verify_ipv4_checksum, PacketView& view);
// The same without the one-pass path for the usual packet (untagged IPv4, no options, TCP or
// UDP) that parse() tries first: the same answer for every frame, more slowly.
Drop parse_in_full(uint8_t* frame, uint32_t length, bool verify_ipv4_checksum, PacketView& view);
// The same from an IP header of `family` at `l3`, inside the frame's first `length` bytes (a
// packet inside another: ip_in_ip.h). The view keeps `frame`'s L2 header for its offsets.
Drop parse_ip(uint8_t* frame, uint32_t length, uint16_t l3, uint8_t family, bool verify_ipv4_checksum, PacketView& view);

}  // namespace meshgate::dataplane
