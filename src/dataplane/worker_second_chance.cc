// Second chance (peer_ring.h): a segment of a connection this node does not know goes round
// the tier's ring, IP-in-IP, to the node that has its flow, instead of being reset.
#include <rte_mbuf.h>

#include <cstring>

#include "dataplane/ip_in_ip.h"
#include "dataplane/local_replies.h"
#include "dataplane/rewrite.h"
#include "dataplane/worker.h"

namespace meshgate::dataplane {

const rte_ether_addr* Worker::next_peer_mac(const Snapshot& s) {
    const PeerRing& ring = s.peers;
    if (const rte_ether_addr* mac = s.neighbours->find(ring.port, ring.next_hop)) return mac;
    ask_for_neighbour(ring.port, ring.next_hop);
    return nullptr;
}

// A mid-connection TCP segment to a VIP, straight from a client, that no flow here knows: the
// routers may have moved its connection away from the node that has it.
void Worker::start_second_chance(rte_mbuf* m, PacketView& v, const Snapshot& s) {
    const PeerRing& ring = s.peers;
    if (!ring.enabled) return refuse(m, v, Drop::no_flow);
    if (v.l4 - v.l3 + v.l4_length + outer_header_size(ring.family) > ring.mtu) {
        return drop(m, Drop::tunnel_too_big);
    }
    const rte_ether_addr* mac = next_peer_mac(s);
    if (!mac) return drop(m, Drop::neighbour_unknown);
    if (!encapsulate(m, v, ring.self, ring.next)) return drop(m, Drop::tunnel_too_big);
    set_macs(rte_pktmbuf_mtod(m, uint8_t*), port_mac_[ring.port], *mac);
    setup_.counters->second_chance_sent.add();
    send(m, ring.port);
}

// IP-in-IP to one of this node's addresses. From a peer, it is a second-chance segment: served
// when a worker here has its flow, passed on otherwise. From anyone else it is the kernel's.
void Worker::handle_tunnelled(rte_mbuf* m, PacketView& outer, const Snapshot& s, uint64_t now, Arrival arrival) {
    const PeerRing& ring = s.peers;
    if (outer.family != ring.family || !ring.is_peer(AddressKey::from(outer.family, outer.source_address()))) {
        return to_exception_path(m);
    }
    PacketView inner;
    if (parse_inner(outer, inner) != Drop::none) return drop(m, Drop::bad_tunnel);
    if (inner.protocol == proto_icmp || inner.protocol == proto_icmpv6) return answer_peer_probe(m, outer, inner);
    if (inner.protocol != proto_tcp) return drop(m, Drop::bad_tunnel);
    const FlowTuple tuple = flow_tuple_of(inner);
    if (!s.lb->find_vip(vip_key(tuple))) return drop(m, Drop::bad_tunnel);
    const uint32_t hash = FlowTable::hash(tuple);
    // Which worker has the flow, if any: where ports are steered in software, the one the
    // tuple's hash names; where the NIC spread flows by its own hash, any. So each is asked in
    // turn, from the first, the count kept in the mbuf while it travels between workers.
    const uint32_t count = setup_.count;
    const uint32_t asked = arrival == Arrival::handed_off ? m->hash.usr : 0;
    if (arrival != Arrival::handed_off && hash % count != setup_.id) {
        m->hash.usr = 0;
        return hand_off(m, hash % count);
    }
    FlowTable::Direction direction;
    if (Flow* flow = flows_.lookup(tuple, hash, direction); flow && direction == FlowTable::Direction::forward) {
        setup_.counters->second_chance_served.add();
        decapsulate(m, outer, inner);
        PacketView v;
        if (parse(rte_pktmbuf_mtod(m, uint8_t*), rte_pktmbuf_data_len(m), false, v) != Drop::none) return drop(m, Drop::bad_tunnel);
        return forward(m, v, *flow, s, now);
    }
    if (asked + 1 < count) {
        m->hash.usr = asked + 1;
        return hand_off(m, (hash + asked + 1) % count);
    }
    pass_on(m, outer, inner, s);
}

// No worker here has the flow: on to the next node, unless the ring is back where it began.
void Worker::pass_on(rte_mbuf* m, PacketView& outer, const PacketView& inner, const Snapshot& s) {
    const PeerRing& ring = s.peers;
    const AddressKey origin = AddressKey::from(outer.family, outer.source_address());
    // Views of the ring may differ for a moment while a node dies or returns: hops are bounded.
    if (!ring.enabled || ring.next == origin || outer_hops(outer) + 1 >= ring.members || outer_ttl(outer) <= 1) {
        return reset_at_ring_end(m, outer, inner, s);
    }
    const rte_ether_addr* mac = next_peer_mac(s);
    if (!mac) return drop(m, Drop::neighbour_unknown);
    readdress(outer, ring.next);
    set_macs(outer.frame, port_mac_[ring.port], *mac);
    setup_.counters->second_chance_sent.add();
    send(m, ring.port);
}

// The control threads of the tier probe each other through the tunnel, so that a peer counts
// as alive only while its data plane answers (its kernel may outlive it): an echo request from
// the peer's address to ours inside is answered the way it came; an echo reply is reported.
void Worker::answer_peer_probe(rte_mbuf* m, PacketView& outer, const PacketView& inner) {
    const bool same_ends = inner.family == outer.family &&
                           std::memcmp(inner.source_address(), outer.source_address(), outer.address_size()) == 0 &&
                           std::memcmp(inner.destination_address(), outer.destination_address(), outer.address_size()) == 0;
    if (!same_ends) return drop(m, Drop::bad_tunnel);
    const uint8_t type = *inner.at(inner.l4);
    if (type == (inner.family == 4 ? 8 : 128)) {  // echo request
        make_echo_reply(inner);                    // the inner packet, and the Ethernet header bounced
        reverse_outer(outer);
        return send(m, m->port);
    }
    if (type == (inner.family == 4 ? 0 : 129)) {  // echo reply
        Event e;
        e.kind = Event::Kind::peer_answered;
        e.address = AddressKey::from(outer.family, outer.source_address());
        post(e);
        rte_pktmbuf_free(m);
        return;
    }
    drop(m, Drop::bad_tunnel);
}

// Every node was asked and none has the connection: the client gets the RST one node alone
// would have sent, routed to it from here.
void Worker::reset_at_ring_end(rte_mbuf* m, PacketView& outer, const PacketView& inner, const Snapshot& s) {
    decapsulate(m, outer, inner);
    PacketView v;
    if (parse(rte_pktmbuf_mtod(m, uint8_t*), rte_pktmbuf_data_len(m), false, v) != Drop::none) return drop(m, Drop::bad_tunnel);
    const auto route = s.lb->route(AddressKey::from(v.family, v.source_address()));
    const rte_ether_addr* mac = route ? s.neighbours->find(route->port, route->next_hop) : nullptr;
    if (!mac) return drop(m, Drop::no_flow);
    if (!make_reset(m, v, Drop::no_flow)) return;
    set_macs(v.frame, port_mac_[route->port], *mac);
    send(m, route->port);
}

}  // namespace meshgate::dataplane
