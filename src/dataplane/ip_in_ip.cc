#include "dataplane/ip_in_ip.h"

#include <cstring>

#include <rte_ip.h>
#include <rte_mbuf.h>

namespace meshgate::dataplane {

namespace {

void set_ethertype(uint8_t* frame, uint16_t l3, uint8_t family) {
    const rte_be16_t type = rte_cpu_to_be_16(family == 4 ? ethertype_ipv4 : ethertype_ipv6);
    std::memcpy(frame + l3 - 2, &type, 2);  // the last field of the L2 header, tagged or not
}

}  // namespace

bool encapsulate(rte_mbuf* m, const PacketView& v, const AddressKey& source, const AddressKey& destination) {
    const uint16_t add = outer_header_size(source.family);
    const uint32_t inner_length = v.l4 - v.l3 + v.l4_length;
    // Ethernet padding after a short packet would end up inside the tunnel: cut it first.
    if (rte_pktmbuf_data_len(m) > v.l3 + inner_length) {
        rte_pktmbuf_trim(m, static_cast<uint16_t>(rte_pktmbuf_data_len(m) - v.l3 - inner_length));
    }
    auto* frame = reinterpret_cast<uint8_t*>(rte_pktmbuf_prepend(m, add));
    if (!frame) return false;
    std::memmove(frame, frame + add, v.l3);
    set_ethertype(frame, v.l3, source.family);
    const uint8_t protocol = v.family == 4 ? proto_ipip : proto_ipv6_in_ip;
    if (source.family == 4) {
        auto* ip = reinterpret_cast<rte_ipv4_hdr*>(frame + v.l3);
        std::memset(ip, 0, sizeof *ip);
        ip->version_ihl = RTE_IPV4_VHL_DEF;
        ip->total_length = rte_cpu_to_be_16(static_cast<uint16_t>(add + inner_length));
        ip->fragment_offset = rte_cpu_to_be_16(RTE_IPV4_HDR_DF_FLAG);  // the links between nodes must carry it whole
        ip->time_to_live = 64;
        ip->next_proto_id = protocol;
        std::memcpy(&ip->src_addr, source.address, 4);
        std::memcpy(&ip->dst_addr, destination.address, 4);
        ip->hdr_checksum = rte_ipv4_cksum(ip);
    } else {
        auto* ip = reinterpret_cast<rte_ipv6_hdr*>(frame + v.l3);
        ip->vtc_flow = rte_cpu_to_be_32(6u << 28);
        ip->payload_len = rte_cpu_to_be_16(static_cast<uint16_t>(inner_length));
        ip->proto = protocol;
        ip->hop_limits = 64;
        std::memcpy(ip->src_addr, source.address, 16);
        std::memcpy(ip->dst_addr, destination.address, 16);
    }
    return true;
}

Drop parse_inner(const PacketView& outer, PacketView& inner) {
    const uint8_t family = outer.protocol == proto_ipip ? 4 : 6;
    // The inner packet ends where the outer one does, whatever padding follows.
    const Drop d = parse_ip(outer.frame, outer.l4 + outer.l4_length, outer.l4, family, true, inner);
    inner.vlan = outer.vlan;
    return d;
}

void decapsulate(rte_mbuf* m, const PacketView& outer, const PacketView& inner) {
    const uint16_t cut = static_cast<uint16_t>(inner.l3 - outer.l3);
    uint8_t* frame = outer.frame;
    std::memmove(frame + cut, frame, outer.l3);
    set_ethertype(frame + cut, outer.l3, inner.family);
    rte_pktmbuf_adj(m, cut);
    const uint32_t end = inner.l4 + inner.l4_length - cut;  // the inner packet's end, in the new frame
    if (rte_pktmbuf_data_len(m) > end) rte_pktmbuf_trim(m, static_cast<uint16_t>(rte_pktmbuf_data_len(m) - end));
}

void readdress(const PacketView& outer, const AddressKey& destination) {
    if (outer.family == 4) {
        auto* ip = reinterpret_cast<rte_ipv4_hdr*>(outer.at(outer.l3));
        std::memcpy(&ip->dst_addr, destination.address, 4);
        --ip->time_to_live;
        ip->packet_id = rte_cpu_to_be_16(static_cast<uint16_t>(rte_be_to_cpu_16(ip->packet_id) + 1));
        ip->hdr_checksum = 0;
        ip->hdr_checksum = rte_ipv4_cksum(ip);
    } else {
        auto* ip = reinterpret_cast<rte_ipv6_hdr*>(outer.at(outer.l3));
        std::memcpy(ip->dst_addr, destination.address, 16);
        --ip->hop_limits;
        const uint32_t flow = rte_be_to_cpu_32(ip->vtc_flow);
        ip->vtc_flow = rte_cpu_to_be_32((flow & ~0xfffffu) | ((flow + 1) & 0xfffffu));
    }
}

uint32_t outer_hops(const PacketView& outer) {
    if (outer.family == 4) return rte_be_to_cpu_16(reinterpret_cast<const rte_ipv4_hdr*>(outer.at(outer.l3))->packet_id);
    return rte_be_to_cpu_32(reinterpret_cast<const rte_ipv6_hdr*>(outer.at(outer.l3))->vtc_flow) & 0xfffffu;
}

void reverse_outer(const PacketView& outer) {
    uint8_t* source = outer.source_address();
    uint8_t* destination = outer.destination_address();
    uint8_t held[16];
    const uint8_t size = outer.address_size();
    std::memcpy(held, source, size);
    std::memcpy(source, destination, size);
    std::memcpy(destination, held, size);
    if (outer.family == 4) {
        auto* ip = reinterpret_cast<rte_ipv4_hdr*>(outer.at(outer.l3));
        ip->time_to_live = 64;
        ip->hdr_checksum = 0;
        ip->hdr_checksum = rte_ipv4_cksum(ip);
    } else {
        reinterpret_cast<rte_ipv6_hdr*>(outer.at(outer.l3))->hop_limits = 64;
    }
}

uint8_t outer_ttl(const PacketView& outer) {
    return outer.family == 4 ? reinterpret_cast<const rte_ipv4_hdr*>(outer.at(outer.l3))->time_to_live
                             : reinterpret_cast<const rte_ipv6_hdr*>(outer.at(outer.l3))->hop_limits;
}

}  // namespace meshgate::dataplane
