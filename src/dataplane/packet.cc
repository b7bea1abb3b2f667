#include "dataplane/packet.h"

#include <cstring>

#include <rte_arp.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_tcp.h>
#include <rte_udp.h>

namespace meshgate::dataplane {

const char* to_string(Drop reason) {
    switch (reason) {
        case Drop::none: return "none";
        case Drop::truncated_ethernet: return "truncated_ethernet";
        case Drop::truncated_vlan: return "truncated_vlan";
        case Drop::unsupported_ethertype: return "unsupported_ethertype";
        case Drop::truncated_ip: return "truncated_ip";
        case Drop::bad_ip_version: return "bad_ip_version";
        case Drop::bad_ip_header_length: return "bad_ip_header_length";
        case Drop::bad_ip_total_length: return "bad_ip_total_length";
        case Drop::bad_ip_checksum: return "bad_ip_checksum";
        case Drop::ip_fragment: return "ip_fragment";
        case Drop::truncated_l4: return "truncated_l4";
        case Drop::bad_tcp_header_length: return "bad_tcp_header_length";
        case Drop::bad_udp_length: return "bad_udp_length";
        case Drop::bad_arp: return "bad_arp";
        case Drop::bad_icmp_error: return "bad_icmp_error";
        case Drop::ttl_exceeded: return "ttl_exceeded";
        case Drop::no_endpoint: return "no_endpoint";
        case Drop::flow_table_full: return "flow_table_full";
        case Drop::snat_exhausted: return "snat_exhausted";
        case Drop::no_route: return "no_route";
        case Drop::neighbour_unknown: return "neighbour_unknown";
        case Drop::no_flow: return "no_flow";
        case Drop::no_service: return "no_service";
        case Drop::endpoint_removed: return "endpoint_removed";
        case Drop::exception_unavailable: return "exception_unavailable";
        case Drop::unsupported_protocol: return "unsupported_protocol";
        case Drop::handoff_full: return "handoff_full";
        case Drop::tx_full: return "tx_full";
        case Drop::bad_tunnel: return "bad_tunnel";
        case Drop::tunnel_too_big: return "tunnel_too_big";
        case Drop::count_: break;
    }
    return "unknown";
}

static_assert(offsetof(rte_ipv4_hdr, src_addr) == 12 && offsetof(rte_ipv4_hdr, dst_addr) == 16);
static_assert(offsetof(rte_ipv6_hdr, src_addr) == 8 && offsetof(rte_ipv6_hdr, dst_addr) == 24);

namespace {

// parse() is one function on the per-packet path: its parts are inlined into it.
[[gnu::always_inline]] inline Drop parse_l4(PacketView& v) {
    const uint32_t available = v.length - v.l4;
    if (available < v.l4_length) return Drop::truncated_l4;
    switch (v.protocol) {
        case proto_tcp: {
            if (v.l4_length < sizeof(rte_tcp_hdr)) return Drop::truncated_l4;
            const auto* tcp = reinterpret_cast<const rte_tcp_hdr*>(v.at(v.l4));
            const uint32_t header = (tcp->data_off >> 4) * 4u;
            if (header < sizeof(rte_tcp_hdr) || header > v.l4_length) return Drop::bad_tcp_header_length;
            return Drop::none;
        }
        case proto_udp: {
            if (v.l4_length < sizeof(rte_udp_hdr)) return Drop::truncated_l4;
            const auto* udp = reinterpret_cast<const rte_udp_hdr*>(v.at(v.l4));
            const uint16_t udp_length = rte_be_to_cpu_16(udp->dgram_len);
            if (udp_length < sizeof(rte_udp_hdr) || udp_length > v.l4_length) return Drop::bad_udp_length;
            return Drop::none;
        }
        case proto_icmp:
        case proto_icmpv6:
            return v.l4_length < 8 ? Drop::truncated_l4 : Drop::none;
        default:
            return Drop::none;  // not ours to check; classify decides
    }
}

[[gnu::always_inline]] inline Drop parse_ipv4(PacketView& v, bool verify_checksum) {
    if (v.length - v.l3 < sizeof(rte_ipv4_hdr)) return Drop::truncated_ip;
    auto* ip = reinterpret_cast<rte_ipv4_hdr*>(v.at(v.l3));
    uint32_t header = sizeof(rte_ipv4_hdr);
    if (ip->version_ihl != 0x45) {  // 0x45, version 4 without options, is nearly every packet
        if ((ip->version_ihl >> 4) != 4) return Drop::bad_ip_version;
        header = (ip->version_ihl & 0x0f) * 4u;
        if (header < sizeof(rte_ipv4_hdr)) return Drop::bad_ip_header_length;
    }
    const uint32_t total = rte_be_to_cpu_16(ip->total_length);
    if (total < header || total > v.length - v.l3) return Drop::bad_ip_total_length;
    // Summed with its own checksum field, a valid header folds to zero.
    if (verify_checksum && !detail::ipv4_header_checksum_valid(ip, header)) return Drop::bad_ip_checksum;
    // Non-first fragments carry no L4 header, so no flow can be found for them.
    if (rte_be_to_cpu_16(ip->fragment_offset) & (RTE_IPV4_HDR_MF_FLAG | RTE_IPV4_HDR_OFFSET_MASK)) {
        return Drop::ip_fragment;
    }
    v.family = 4;
    v.protocol = ip->next_proto_id;
    v.l4 = static_cast<uint16_t>(v.l3 + header);
    v.l4_length = static_cast<uint16_t>(total - header);
    return parse_l4(v);
}

[[gnu::always_inline]] inline Drop parse_ipv6(PacketView& v) {
    if (v.length - v.l3 < sizeof(rte_ipv6_hdr)) return Drop::truncated_ip;
    const auto* ip = reinterpret_cast<const rte_ipv6_hdr*>(v.at(v.l3));
    if ((rte_be_to_cpu_32(ip->vtc_flow) >> 28) != 6) return Drop::bad_ip_version;
    const uint32_t payload = rte_be_to_cpu_16(ip->payload_len);
    if (payload > v.length - v.l3 - sizeof(rte_ipv6_hdr)) return Drop::bad_ip_total_length;
    v.family = 6;
    v.protocol = ip->proto;
    v.l4 = static_cast<uint16_t>(v.l3 + sizeof(rte_ipv6_hdr));
    v.l4_length = static_cast<uint16_t>(payload);
    return parse_l4(v);
}

}  // namespace

Drop parse_in_full(uint8_t* frame, uint32_t length, bool verify_ipv4_checksum, PacketView& v) {
    v = PacketView{};
    v.frame = frame;
    v.length = length;
    if (length < sizeof(rte_ether_hdr)) return Drop::truncated_ethernet;
    const auto* eth = reinterpret_cast<const rte_ether_hdr*>(frame);
    uint16_t type = rte_be_to_cpu_16(eth->ether_type);
    uint16_t offset = sizeof(rte_ether_hdr);
    if (type == ethertype_vlan) {
        if (length < offset + sizeof(rte_vlan_hdr)) return Drop::truncated_vlan;
        const auto* tag = reinterpret_cast<const rte_vlan_hdr*>(frame + offset);
        type = rte_be_to_cpu_16(tag->eth_proto);
        offset = static_cast<uint16_t>(offset + sizeof(rte_vlan_hdr));
        v.vlan = true;
    }
    v.ethertype = type;
    v.l3 = offset;
    switch (type) {
        case ethertype_ipv4: return parse_ipv4(v, verify_ipv4_checksum);
        case ethertype_ipv6: return parse_ipv6(v);
        case ethertype_arp: {
            if (length - offset < sizeof(rte_arp_hdr)) return Drop::bad_arp;
            const auto* arp = reinterpret_cast<const rte_arp_hdr*>(frame + offset);
            if (arp->arp_hardware != rte_cpu_to_be_16(RTE_ARP_HRD_ETHER) ||
                arp->arp_protocol != rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4) || arp->arp_hlen != 6 || arp->arp_plen != 4) {
                return Drop::bad_arp;
            }
            return Drop::none;
        }
        default: return Drop::unsupported_ethertype;
    }
}

Drop parse_ip(uint8_t* frame, uint32_t length, uint16_t l3, uint8_t family, bool verify_ipv4_checksum, PacketView& v) {
    v = PacketView{};
    v.frame = frame;
    v.length = length;
    v.l3 = l3;
    if (length < l3) return Drop::truncated_ip;
    v.ethertype = family == 4 ? ethertype_ipv4 : ethertype_ipv6;
    return family == 4 ? parse_ipv4(v, verify_ipv4_checksum) : parse_ipv6(v);
}

}  // namespace meshgate::dataplane
