#include "dataplane/local_replies.h"

#include <rte_arp.h>
#include <rte_ether.h>
#include <rte_icmp.h>
#include <rte_ip.h>
#include <rte_tcp.h>

#include <cstring>

#include "dataplane/checksum.h"

namespace meshgate::dataplane {

void bounce_ethernet(uint8_t* frame) {
    auto* eth = reinterpret_cast<rte_ether_hdr*>(frame);
    const rte_ether_addr previous = eth->src_addr;
    eth->src_addr = eth->dst_addr;
    eth->dst_addr = previous;
}

uint32_t make_arp_reply(const PacketView& v, const uint8_t our_mac[6]) {
    auto* arp = reinterpret_cast<rte_arp_hdr*>(v.at(v.l3));
    auto& d = arp->arp_data;
    const uint32_t asked = d.arp_tip;
    d.arp_tha = d.arp_sha;
    d.arp_tip = d.arp_sip;
    std::memcpy(d.arp_sha.addr_bytes, our_mac, 6);
    d.arp_sip = asked;
    arp->arp_opcode = rte_cpu_to_be_16(RTE_ARP_OP_REPLY);
    auto* eth = reinterpret_cast<rte_ether_hdr*>(v.frame);
    eth->dst_addr = d.arp_tha;
    std::memcpy(eth->src_addr.addr_bytes, our_mac, 6);
    return v.length;
}

namespace {

void swap_addresses(const PacketView& v) {
    uint8_t tmp[16];
    const uint8_t n = v.address_size();
    std::memcpy(tmp, v.source_address(), n);
    std::memcpy(v.source_address(), v.destination_address(), n);
    std::memcpy(v.destination_address(), tmp, n);
}

// Pseudo-header sum for an L4 checksum over `length` bytes of `protocol`.
uint32_t pseudo_header(const PacketView& v, uint32_t length, uint8_t protocol) {
    uint32_t sum = checksum_partial(v.source_address(), v.address_size());
    sum = checksum_partial(v.destination_address(), v.address_size(), sum);
    const uint16_t words[2] = {rte_cpu_to_be_16(static_cast<uint16_t>(length)), rte_cpu_to_be_16(protocol)};
    return checksum_partial(words, sizeof words, sum);
}

}  // namespace

uint32_t make_echo_reply(const PacketView& v) {
    auto* icmp = reinterpret_cast<rte_icmp_hdr*>(v.at(v.l4));
    const uint8_t reply = v.family == 4 ? RTE_IP_ICMP_ECHO_REPLY : 129;
    uint16_t old_word = 0, new_word = 0;
    std::memcpy(&old_word, &icmp->icmp_type, 2);
    icmp->icmp_type = reply;
    std::memcpy(&new_word, &icmp->icmp_type, 2);
    // Swapping addresses leaves every sum unchanged; only the type word moves.
    icmp->icmp_cksum = checksum_adjust(icmp->icmp_cksum, &old_word, &new_word, 2);
    swap_addresses(v);
    if (v.family == 4) {
        auto* ip = reinterpret_cast<rte_ipv4_hdr*>(v.at(v.l3));
        ip->time_to_live = 64;
        ip->hdr_checksum = 0;
        ip->hdr_checksum = rte_ipv4_cksum(ip);
    } else {
        reinterpret_cast<rte_ipv6_hdr*>(v.at(v.l3))->hop_limits = 64;
    }
    bounce_ethernet(v.frame);
    return v.length;
}

uint32_t make_tcp_reset(const PacketView& v) {
    auto* tcp = reinterpret_cast<rte_tcp_hdr*>(v.at(v.l4));
    const uint32_t header = (tcp->data_off >> 4) * 4u;
    uint32_t segment = v.l4_length - header;
    if (tcp->tcp_flags & RTE_TCP_SYN_FLAG) ++segment;
    if (tcp->tcp_flags & RTE_TCP_FIN_FLAG) ++segment;
    const bool had_ack = tcp->tcp_flags & RTE_TCP_ACK_FLAG;
    const uint32_t their_seq = rte_be_to_cpu_32(tcp->sent_seq);
    const uint32_t their_ack = rte_be_to_cpu_32(tcp->recv_ack);
    const rte_be16_t their_port = tcp->src_port;
    tcp->src_port = tcp->dst_port;
    tcp->dst_port = their_port;
    // RFC 9293 §3.10.7.1: answer an ACK with its ack number as seq; otherwise seq 0 and ACK.
    tcp->sent_seq = rte_cpu_to_be_32(had_ack ? their_ack : 0);
    tcp->recv_ack = rte_cpu_to_be_32(their_seq + segment);
    tcp->tcp_flags = had_ack ? RTE_TCP_RST_FLAG : (RTE_TCP_RST_FLAG | RTE_TCP_ACK_FLAG);
    tcp->data_off = (sizeof(rte_tcp_hdr) / 4) << 4;
    tcp->rx_win = 0;
    tcp->tcp_urp = 0;
    swap_addresses(v);
    const uint32_t l4_length = sizeof(rte_tcp_hdr);
    if (v.family == 4) {
        auto* ip = reinterpret_cast<rte_ipv4_hdr*>(v.at(v.l3));
        ip->total_length = rte_cpu_to_be_16(static_cast<uint16_t>(v.l4 - v.l3 + l4_length));
        ip->time_to_live = 64;
        ip->hdr_checksum = 0;
        ip->hdr_checksum = rte_ipv4_cksum(ip);
    } else {
        auto* ip = reinterpret_cast<rte_ipv6_hdr*>(v.at(v.l3));
        ip->payload_len = rte_cpu_to_be_16(static_cast<uint16_t>(l4_length));
        ip->hop_limits = 64;
    }
    tcp->cksum = 0;
    tcp->cksum = checksum_fold(checksum_partial(tcp, l4_length, pseudo_header(v, l4_length, proto_tcp)));
    bounce_ethernet(v.frame);
    return v.l4 + l4_length;
}

}  // namespace meshgate::dataplane
