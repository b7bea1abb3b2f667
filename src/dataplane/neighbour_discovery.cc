#include "dataplane/neighbour_discovery.h"

#include <rte_ip.h>

#include <cstring>

#include "dataplane/checksum.h"

namespace meshgate::dataplane {

namespace {

constexpr uint16_t nd_header = 24;  // type, code, checksum, flags/reserved, target

void set_icmpv6_checksum(uint8_t* ip6, uint16_t length) {
    uint8_t* icmp = ip6 + sizeof(rte_ipv6_hdr);
    icmp[2] = icmp[3] = 0;
    uint32_t sum = checksum_partial(ip6 + 8, 32);  // source and destination
    const uint16_t words[2] = {rte_cpu_to_be_16(length), rte_cpu_to_be_16(proto_icmpv6)};
    sum = checksum_partial(words, sizeof words, sum);
    const uint16_t c = checksum_fold(checksum_partial(icmp, length, sum));
    std::memcpy(icmp + 2, &c, 2);
}

}  // namespace

const uint8_t* nd_target(const PacketView& v) {
    if (v.l4_length < nd_header) return nullptr;
    return v.at(static_cast<uint16_t>(v.l4 + 8));
}

bool nd_link_layer_option(const PacketView& v, uint8_t option_type, rte_ether_addr& mac) {
    uint32_t at = v.l4 + nd_header;
    const uint32_t end = v.l4 + v.l4_length;
    while (at + 8 <= end) {
        const uint8_t type = v.frame[at];
        const uint32_t length = v.frame[at + 1] * 8u;
        if (length == 0 || at + length > end) return false;
        if (type == option_type && length >= 8) {
            std::memcpy(mac.addr_bytes, v.frame + at + 2, 6);
            return true;
        }
        at += length;
    }
    return false;
}

uint32_t make_neighbour_advertisement(const PacketView& v, const rte_ether_addr& our_mac) {
    auto* eth = reinterpret_cast<rte_ether_hdr*>(v.frame);
    auto* ip = reinterpret_cast<rte_ipv6_hdr*>(v.at(v.l3));
    uint8_t* icmp = v.at(v.l4);
    static constexpr uint8_t unspecified[16] = {};
    const bool from_unspecified = std::memcmp(ip->src_addr, unspecified, 16) == 0;
    uint8_t target[16];
    std::memcpy(target, icmp + 8, 16);
    // To the asker, or to all nodes when it asked from :: (duplicate address detection).
    if (from_unspecified) {
        static constexpr uint8_t all_nodes[16] = {0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
        std::memcpy(ip->dst_addr, all_nodes, 16);
        const uint8_t multicast_mac[6] = {0x33, 0x33, 0, 0, 0, 1};
        std::memcpy(eth->dst_addr.addr_bytes, multicast_mac, 6);
    } else {
        std::memcpy(ip->dst_addr, ip->src_addr, 16);
        eth->dst_addr = eth->src_addr;
    }
    std::memcpy(ip->src_addr, target, 16);
    eth->src_addr = our_mac;
    ip->hop_limits = 255;
    const uint16_t length = nd_header + 8;
    ip->payload_len = rte_cpu_to_be_16(length);
    icmp[0] = nd_advertisement;
    icmp[1] = 0;
    icmp[4] = from_unspecified ? 0x20 : 0x60;  // Solicited (unless DAD) and Override
    icmp[5] = icmp[6] = icmp[7] = 0;
    icmp[nd_header] = 2;  // target link-layer address
    icmp[nd_header + 1] = 1;
    std::memcpy(icmp + nd_header + 2, our_mac.addr_bytes, 6);
    set_icmpv6_checksum(v.at(v.l3), length);
    return v.l4 + length;
}

uint32_t write_neighbour_solicitation(uint8_t* frame, const rte_ether_addr& our_mac, const uint8_t source[16],
                                      const uint8_t target[16]) {
    auto* eth = reinterpret_cast<rte_ether_hdr*>(frame);
    // Solicited-node multicast: ff02::1:ffXX:XXXX and 33:33:ff:XX:XX:XX.
    uint8_t group[16] = {0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff, target[13], target[14], target[15]};
    const uint8_t group_mac[6] = {0x33, 0x33, 0xff, target[13], target[14], target[15]};
    std::memcpy(eth->dst_addr.addr_bytes, group_mac, 6);
    eth->src_addr = our_mac;
    eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV6);
    auto* ip = reinterpret_cast<rte_ipv6_hdr*>(eth + 1);
    const uint16_t length = nd_header + 8;
    ip->vtc_flow = rte_cpu_to_be_32(6u << 28);
    ip->payload_len = rte_cpu_to_be_16(length);
    ip->proto = proto_icmpv6;
    ip->hop_limits = 255;
    std::memcpy(ip->src_addr, source, 16);
    std::memcpy(ip->dst_addr, group, 16);
    uint8_t* icmp = reinterpret_cast<uint8_t*>(ip + 1);
    std::memset(icmp, 0, length);
    icmp[0] = nd_solicitation;
    std::memcpy(icmp + 8, target, 16);
    icmp[nd_header] = 1;  // source link-layer address
    icmp[nd_header + 1] = 1;
    std::memcpy(icmp + nd_header + 2, our_mac.addr_bytes, 6);
    set_icmpv6_checksum(reinterpret_cast<uint8_t*>(ip), length);
    return sizeof(rte_ether_hdr) + sizeof(rte_ipv6_hdr) + length;
}

}  // namespace meshgate::dataplane
