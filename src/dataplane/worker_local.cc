// What the worker answers itself (ARP, ICMP echo to VIPs) and what it learns on the way.
#include <rte_arp.h>
#include <rte_icmp.h>
#include <rte_mbuf.h>

#include "dataplane/local_replies.h"
#include "dataplane/worker.h"

namespace meshgate::dataplane {

void Worker::handle_arp(rte_mbuf* m, PacketView& v, const Snapshot& s) {
    const auto* arp = reinterpret_cast<const rte_arp_hdr*>(v.at(v.l3));
    const auto& d = arp->arp_data;
    if (d.arp_sip != 0) {
        Event e;
        e.kind = Event::Kind::neighbour_seen;
        e.port = m->port;
        e.address = AddressKey::from(4, reinterpret_cast<const uint8_t*>(&d.arp_sip));
        e.mac = d.arp_sha;
        post(e);
    }
    const bool request = arp->arp_opcode == rte_cpu_to_be_16(RTE_ARP_OP_REQUEST);
    if (request && s.lb->roles(AddressKey::from(4, reinterpret_cast<const uint8_t*>(&d.arp_tip))) != 0) {
        make_arp_reply(v, port_mac_[m->port].addr_bytes);
        setup_.counters->arp_replies.add();
        return send(m, m->port);
    }
    if (request) {  // for somebody else: not ours to answer, not an error
        rte_pktmbuf_free(m);
        return;
    }
    to_exception_path(m);  // replies: the kernel may have asked too
}

void Worker::handle_icmp(rte_mbuf* m, PacketView& v, const Snapshot&, uint8_t roles) {
    const auto* icmp = reinterpret_cast<const rte_icmp_hdr*>(v.at(v.l4));
    const bool echo = (v.family == 4 && icmp->icmp_type == RTE_IP_ICMP_ECHO_REQUEST) ||
                      (v.family == 6 && icmp->icmp_type == 128);
    if (echo && (roles & role_vip)) {
        make_echo_reply(v);
        setup_.counters->icmp_echo_replies.add();
        return send(m, m->port);
    }
    to_exception_path(m);
}

}  // namespace meshgate::dataplane
