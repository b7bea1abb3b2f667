#include "dataplane/peer_probe.h"

#include <cstring>

#include <rte_icmp.h>
#include <rte_ip.h>
#include <rte_mbuf.h>

#include "dataplane/checksum.h"
#include "dataplane/ip_in_ip.h"
#include "dataplane/rewrite.h"

namespace meshgate::dataplane {

namespace {

constexpr uint16_t probe_identifier = 0x6d67;  // "mg"
constexpr uint16_t payload_size = 8;

}  // namespace

bool write_peer_probe(rte_mbuf* m, const rte_ether_addr& source_mac, const rte_ether_addr& next_hop_mac,
                      const AddressKey& self, const AddressKey& peer, uint16_t sequence) {
    const bool v4 = self.family == 4;
    const uint16_t ip_size = v4 ? sizeof(rte_ipv4_hdr) : sizeof(rte_ipv6_hdr);
    const uint16_t icmp_size = sizeof(rte_icmp_hdr) + payload_size;
    const uint16_t length = sizeof(rte_ether_hdr) + ip_size + icmp_size;
    auto* frame = reinterpret_cast<uint8_t*>(rte_pktmbuf_append(m, length));
    if (!frame) return false;
    std::memset(frame, 0, length);
    auto* eth = reinterpret_cast<rte_ether_hdr*>(frame);
    eth->ether_type = rte_cpu_to_be_16(v4 ? RTE_ETHER_TYPE_IPV4 : RTE_ETHER_TYPE_IPV6);
    auto* icmp = reinterpret_cast<rte_icmp_hdr*>(frame + sizeof(rte_ether_hdr) + ip_size);
    icmp->icmp_type = v4 ? RTE_IP_ICMP_ECHO_REQUEST : 128;
    icmp->icmp_ident = rte_cpu_to_be_16(probe_identifier);
    icmp->icmp_seq_nb = rte_cpu_to_be_16(sequence);
    std::memset(icmp + 1, 'm', payload_size);
    uint32_t sum = 0;
    if (v4) {
        auto* ip = reinterpret_cast<rte_ipv4_hdr*>(eth + 1);
        ip->version_ihl = RTE_IPV4_VHL_DEF;
        ip->total_length = rte_cpu_to_be_16(static_cast<uint16_t>(ip_size + icmp_size));
        ip->fragment_offset = rte_cpu_to_be_16(RTE_IPV4_HDR_DF_FLAG);
        ip->time_to_live = 64;
        ip->next_proto_id = IPPROTO_ICMP;
        std::memcpy(&ip->src_addr, self.address, 4);
        std::memcpy(&ip->dst_addr, peer.address, 4);
        ip->hdr_checksum = rte_ipv4_cksum(ip);
    } else {
        auto* ip = reinterpret_cast<rte_ipv6_hdr*>(eth + 1);
        ip->vtc_flow = rte_cpu_to_be_32(6u << 28);
        ip->payload_len = rte_cpu_to_be_16(icmp_size);
        ip->proto = IPPROTO_ICMPV6;
        ip->hop_limits = 64;
        std::memcpy(ip->src_addr, self.address, 16);
        std::memcpy(ip->dst_addr, peer.address, 16);
        sum = rte_ipv6_phdr_cksum(ip, 0);  // ICMPv6 covers a pseudo-header, ICMP does not
    }
    icmp->icmp_cksum = checksum_fold(checksum_partial(icmp, icmp_size, sum));
    PacketView v;
    if (parse(frame, length, false, v) != Drop::none || !encapsulate(m, v, self, peer)) return false;
    set_macs(rte_pktmbuf_mtod(m, uint8_t*), source_mac, next_hop_mac);
    return true;
}

}  // namespace meshgate::dataplane
