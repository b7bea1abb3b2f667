// What the worker answers itself (ARP, ICMP echo to VIPs) and what it learns on the way.
#include <rte_arp.h>
#include <rte_icmp.h>
#include <rte_mbuf.h>

#include <rte_ring.h>

#include <cstring>

#include "dataplane/icmp_error.h"
#include "dataplane/local_replies.h"
#include "dataplane/neighbour_discovery.h"
#include "dataplane/rewrite.h"
#include "dataplane/worker.h"

namespace meshgate::dataplane {

namespace {

// ARP/ND answers to a VIP or SNAT address that is not also the node's answer meshgate's own
// requests (the control thread asks from a SNAT address): the kernel never asked.
bool answers_meshgate(uint8_t roles) { return (roles & (role_snat | role_vip)) != 0 && (roles & role_node) == 0; }

}  // namespace

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
    const uint8_t roles = s.lb->roles(AddressKey::from(4, reinterpret_cast<const uint8_t*>(&d.arp_tip)));
    if (request && roles != 0) {
        make_arp_reply(v, port_mac_[m->port].addr_bytes);
        setup_.counters->arp_replies.add();
        return send(m, m->port);
    }
    if (request || answers_meshgate(roles)) {  // for somebody else, or learnt above: done
        rte_pktmbuf_free(m);
        return;
    }
    to_exception_path(m);  // replies to the node: the kernel asked
}

void Worker::handle_icmp(rte_mbuf* m, PacketView& v, const Snapshot& s, uint8_t roles, bool handed_off) {
    const auto* icmp = reinterpret_cast<const rte_icmp_hdr*>(v.at(v.l4));
    if (is_neighbour_discovery(v, icmp->icmp_type)) return handle_neighbour_discovery(m, v, s, icmp->icmp_type);
    if (is_icmp_error(v.family, icmp->icmp_type) && (roles & (role_snat | role_vip))) {
        return handle_icmp_error(m, v, s, roles, handed_off);
    }
    const bool echo = (v.family == 4 && icmp->icmp_type == RTE_IP_ICMP_ECHO_REQUEST) ||
                      (v.family == 6 && icmp->icmp_type == 128);
    if (echo && (roles & role_vip)) {
        make_echo_reply(v);
        setup_.counters->icmp_echo_replies.add();
        return send(m, m->port);
    }
    to_exception_path(m);
}

void Worker::handle_neighbour_discovery(rte_mbuf* m, PacketView& v, const Snapshot& s, uint8_t type) {
    const uint8_t* target = nd_target(v);
    if (!target) return drop(m, Drop::truncated_l4);
    // Learn: the asker's link-layer address (NS), or the target's (NA).
    rte_ether_addr mac;
    const uint8_t* address = type == nd_solicitation ? v.source_address() : target;
    static constexpr uint8_t unspecified[16] = {};
    if (nd_link_layer_option(v, type == nd_solicitation ? 1 : 2, mac) && std::memcmp(address, unspecified, 16) != 0) {
        Event e;
        e.kind = Event::Kind::neighbour_seen;
        e.port = m->port;
        e.address = AddressKey::from(6, address);
        e.mac = mac;
        post(e);
    }
    if (type == nd_solicitation && s.lb->roles(AddressKey::from(6, target)) != 0) {
        const uint32_t length = make_neighbour_advertisement(v, port_mac_[m->port]);
        rte_pktmbuf_trim(m, static_cast<uint16_t>(rte_pktmbuf_data_len(m) - length));
        setup_.counters->nd_advertisements.add();
        return send(m, m->port);
    }
    if (type == nd_solicitation || answers_meshgate(s.lb->roles(AddressKey::from(6, v.destination_address())))) {
        rte_pktmbuf_free(m);  // for somebody else, or an answer to meshgate, learnt above
        return;
    }
    to_exception_path(m);
}

void Worker::handle_icmp_error(rte_mbuf* m, PacketView& v, const Snapshot& s, uint8_t roles, bool handed_off) {
    PacketView q;
    if (!quoted_packet(v, q)) return drop(m, Drop::bad_icmp_error);
    // The quoted packet went the other way: its reversed tuple is how the flow table knows it.
    FlowTuple tuple{};
    std::memcpy(tuple.source, q.destination_address(), q.address_size());
    std::memcpy(tuple.destination, q.source_address(), q.address_size());
    tuple.source_port = *q.destination_port();
    tuple.destination_port = *q.source_port();
    tuple.protocol = q.protocol;
    tuple.family = q.family;
    FlowTable::Direction direction;
    Flow* flow = flows_.lookup(tuple, direction);
    if (!flow) {
        // About a packet we sent from a SNAT port another worker owns: that worker has the flow.
        const uint32_t owner = rte_be_to_cpu_16(*q.source_port()) % setup_.count;
        if ((roles & role_snat) && owner != setup_.id && !handed_off) return hand_off(m, owner);
        return drop(m, Drop::no_flow);
    }
    if (!decrement_ttl(v)) return drop(m, Drop::ttl_exceeded);
    setup_.counters->icmp_errors_translated.add();
    if (direction == FlowTable::Direction::reverse) {
        const auto* icmp = reinterpret_cast<const rte_icmp_hdr*>(v.at(v.l4));
        if (is_unreachable(v.family, icmp->icmp_type) && flow->state == FlowState::syn_sent) report_connect(*flow, Event::Kind::connect_failed);
        // From the endpoint's side, about [SNAT → endpoint]: the client must see it about
        // [client → VIP], from the VIP.
        translate_icmp_error(v, q, flow->forward.destination, flow->forward.source, flow->forward.source,
                             flow->forward.source_port, flow->forward.destination, flow->forward.destination_port);
        set_macs(v.frame, port_mac_[flow->client_port], flow->client_mac);
        return send(m, flow->client_port);
    }
    // From the client's side, about [VIP → client]: the endpoint must see it about
    // [endpoint → SNAT], from the SNAT address.
    if (!endpoint_mac_ready(*flow, s)) return drop(m, Drop::neighbour_unknown);
    translate_icmp_error(v, q, flow->reverse.destination, flow->reverse.source, flow->reverse.source,
                         flow->reverse.source_port, flow->reverse.destination, flow->reverse.destination_port);
    set_macs(v.frame, port_mac_[flow->endpoint_port], flow->endpoint_mac);
    send(m, flow->endpoint_port);
}

}  // namespace meshgate::dataplane
