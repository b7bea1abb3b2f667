#include "dataplane/icmp_error.h"

#include <rte_icmp.h>
#include <rte_ip.h>
#include <rte_tcp.h>
#include <rte_udp.h>

#include <cstring>

#include "dataplane/checksum.h"

namespace meshgate::dataplane {

bool quoted_packet(const PacketView& e, PacketView& q) {
    q = PacketView{};
    q.frame = e.frame;
    q.length = e.l4 + e.l4_length;  // the quote ends where the ICMP message ends
    q.family = e.family;
    q.ethertype = e.ethertype;
    q.l3 = static_cast<uint16_t>(e.l4 + 8);
    uint32_t header = 0;
    if (e.family == 4) {
        if (q.l3 + sizeof(rte_ipv4_hdr) > q.length) return false;
        const auto* ip = reinterpret_cast<const rte_ipv4_hdr*>(q.at(q.l3));
        header = (ip->version_ihl & 0x0f) * 4u;
        if ((ip->version_ihl >> 4) != 4 || header < sizeof(rte_ipv4_hdr)) return false;
        q.protocol = ip->next_proto_id;
    } else {
        header = sizeof(rte_ipv6_hdr);
        if (q.l3 + header > q.length) return false;
        q.protocol = reinterpret_cast<const rte_ipv6_hdr*>(q.at(q.l3))->proto;
    }
    q.l4 = static_cast<uint16_t>(q.l3 + header);
    if (q.l4 + 8u > q.length || !q.has_ports()) return false;  // ports are in the first 8 bytes
    q.l4_length = static_cast<uint16_t>(q.length - q.l4);
    return true;
}

namespace {

void set_field(uint8_t* field, const void* value, size_t size, uint16_t* ip_checksum) {
    if (ip_checksum) *ip_checksum = checksum_adjust(*ip_checksum, field, value, size);
    std::memcpy(field, value, size);
}

// Adjusts the quoted L4 checksum for a changed field, when the quote includes the checksum.
void adjust_quoted_l4(const PacketView& q, const void* old_bytes, const void* new_bytes, size_t size) {
    const uint16_t offset = q.protocol == proto_tcp ? 16 : 6;
    if (q.l4 + offset + 2u > q.length) return;
    uint16_t c;
    std::memcpy(&c, q.at(static_cast<uint16_t>(q.l4 + offset)), 2);
    if (q.protocol == proto_udp && c == 0) return;
    c = checksum_adjust(c, old_bytes, new_bytes, size);
    std::memcpy(q.at(static_cast<uint16_t>(q.l4 + offset)), &c, 2);
}

void rewrite_quoted(const PacketView& q, uint8_t* field, const void* value, size_t size, bool in_ip_header) {
    uint8_t old[16];
    std::memcpy(old, field, size);
    adjust_quoted_l4(q, old, value, size);
    uint16_t* ip_checksum = nullptr;
    uint16_t check = 0;
    if (in_ip_header && q.family == 4) {
        std::memcpy(&check, q.at(static_cast<uint16_t>(q.l3 + 10)), 2);
        ip_checksum = &check;
    }
    set_field(field, value, size, ip_checksum);
    if (ip_checksum) std::memcpy(q.at(static_cast<uint16_t>(q.l3 + 10)), &check, 2);
}

}  // namespace

void translate_icmp_error(const PacketView& e, const PacketView& q, const uint8_t* outer_source,
                          const uint8_t* outer_destination, const uint8_t* quoted_source, rte_be16_t quoted_source_port,
                          const uint8_t* quoted_destination, rte_be16_t quoted_destination_port) {
    const uint8_t n = e.address_size();
    rewrite_quoted(q, q.source_address(), quoted_source, n, true);
    rewrite_quoted(q, q.destination_address(), quoted_destination, n, true);
    rewrite_quoted(q, q.at(q.l4), &quoted_source_port, 2, false);
    rewrite_quoted(q, q.at(static_cast<uint16_t>(q.l4 + 2)), &quoted_destination_port, 2, false);

    uint16_t outer_check = 0;
    if (e.family == 4) std::memcpy(&outer_check, e.at(static_cast<uint16_t>(e.l3 + 10)), 2);
    set_field(e.source_address(), outer_source, n, e.family == 4 ? &outer_check : nullptr);
    set_field(e.destination_address(), outer_destination, n, e.family == 4 ? &outer_check : nullptr);
    if (e.family == 4) std::memcpy(e.at(static_cast<uint16_t>(e.l3 + 10)), &outer_check, 2);

    // The message changed in many places; a rare path, so the checksum is recomputed.
    auto* icmp = reinterpret_cast<rte_icmp_hdr*>(e.at(e.l4));
    icmp->icmp_cksum = 0;
    uint32_t sum = 0;
    if (e.family == 6) {
        sum = checksum_partial(e.source_address(), 16);
        sum = checksum_partial(e.destination_address(), 16, sum);
        const uint16_t words[2] = {rte_cpu_to_be_16(e.l4_length), rte_cpu_to_be_16(proto_icmpv6)};
        sum = checksum_partial(words, sizeof words, sum);
    }
    icmp->icmp_cksum = checksum_fold(checksum_partial(icmp, e.l4_length, sum));
}

}  // namespace meshgate::dataplane
