// The per-packet path: a burst in stages (parse, one bulk flow lookup, then act), and the
// rewrite of an established flow's packets both ways. In one translation unit so that the
// compiler can make a burst one function (callgrind: worker_bench --mode established).
#include <rte_mbuf.h>
#include <rte_prefetch.h>
#include <rte_tcp.h>

#include "dataplane/rewrite.h"
#include "dataplane/worker.h"

namespace meshgate::dataplane {

// In stages: parse every packet; look the TCP/UDP ones up in the flow table together (one
// bulk lookup, flow records prefetched); then act on each, in arrival order per flow.
static_assert(Worker::burst_size <= FlowTable::max_bulk, "one bulk lookup per burst");

void Worker::handle_burst(rte_mbuf** packets, uint16_t n, const Snapshot& s, uint64_t now, Arrival arrival, uint16_t port) {
    auto& c = *setup_.counters;
    if (arrival != Arrival::handed_off) c.rx_packets.add(n);
    uint64_t rx_bytes = 0;
    PacketView views[burst];
    FlowTuple tuples[burst];
    uint32_t hashes[burst];
    rte_mbuf* keyed[burst];
    uint16_t k = 0;
    for (uint16_t i = 0; i < n; ++i) rte_prefetch0(rte_pktmbuf_mtod(packets[i], void*));
    for (uint16_t i = 0; i < n; ++i) {
        rte_mbuf* m = packets[i];
        if (port != no_port) m->port = port;  // not every PMD stamps it (net_ring does not)
        rx_bytes += rte_pktmbuf_pkt_len(m);
        PacketView& v = views[k];
        const bool nic_checked = (m->ol_flags & RTE_MBUF_F_RX_IP_CKSUM_MASK) == RTE_MBUF_F_RX_IP_CKSUM_GOOD;
        const Drop d = parse(rte_pktmbuf_mtod(m, uint8_t*), rte_pktmbuf_data_len(m), !nic_checked, v);
        if (d != Drop::none || !v.has_ports()) {
            dispatch(m, v, d, s, now, arrival);
            continue;
        }
        hashes[k] = FlowTable::fill_and_hash(v, tuples[k]);
        if (arrival == Arrival::wire_steered) {
            if (const uint32_t owner = flow_owner(tuples[k], hashes[k], s); owner != setup_.id) {
                hand_off(m, owner);
                continue;
            }
        }
        keyed[k++] = m;
    }
    if (arrival != Arrival::handed_off) c.rx_bytes.add(rx_bytes);
    if (k == 0) return;
    Flow* flows[burst];
    FlowTable::Direction directions[burst];
    flows_.lookup_bulk(tuples, hashes, k, flows, directions);
    const uint64_t removals = flows_.removals();
    // Hashes (mod 256) of the flows this burst made: a later miss with one of them may have
    // been made meanwhile (a retransmitted SYN in the same burst).
    uint64_t made[4] = {};
    const Arrival at_owner = arrival == Arrival::wire_steered ? Arrival::handed_off : arrival;
    for (uint16_t j = 0; j < k; ++j) {
        Flow* flow = flows[j];
        const uint32_t bucket = hashes[j] & 255;
        // An earlier packet of this burst removed a flow, or may have made this one: look again.
        if (flow ? flows_.removals() != removals : (made[bucket >> 6] >> (bucket & 63) & 1) != 0) {
            flow = flows_.lookup(tuples[j], hashes[j], directions[j]);
        }
        if (!flow) {
            const uint32_t before = flows_.size();
            handle_miss(keyed[j], views[j], tuples[j], s, now, at_owner);
            if (flows_.size() != before) made[bucket >> 6] |= uint64_t{1} << (bucket & 63);
        } else if (directions[j] == FlowTable::Direction::forward) {
            forward(keyed[j], views[j], *flow, s, now);
        } else {
            reverse(keyed[j], views[j], *flow, s, now);
        }
    }
}


inline void Worker::count_packet(uint32_t endpoint, uint32_t service, uint32_t bytes) {
    if (endpoint < endpoint_counters_.size()) endpoint_counters_[endpoint].count_packet(bytes);
    if (service < service_counters_.size()) service_counters_[service].count_packet(bytes);
}

// The rewrite of each direction, and its transmission.
inline void Worker::to_endpoint(rte_mbuf* m, PacketView& v, Flow& flow) {
    // What the flow and the view say, read before the packet is written (see apply_nat).
    const uint16_t port = flow.endpoint_port;
    const uint32_t length = v.length, endpoint = flow.endpoint, service = flow.service;
    uint8_t* const frame = v.frame;
    apply_nat(v, flow.to_endpoint, flow.reverse.destination, flow.reverse.destination_port, flow.reverse.source, flow.reverse.source_port);
    set_macs(frame, port_mac_[port], flow.endpoint_mac);
    count_packet(endpoint, service, length);
    send(m, port);
}

inline void Worker::to_client(rte_mbuf* m, PacketView& v, Flow& flow) {
    // What the flow and the view say, read before the packet is written (see apply_nat).
    const uint16_t port = flow.client_port;
    const uint32_t length = v.length, endpoint = flow.endpoint, service = flow.service;
    uint8_t* const frame = v.frame;
    apply_nat(v, flow.to_client(), flow.forward.destination, flow.forward.destination_port, flow.forward.source, flow.forward.source_port);
    set_macs(frame, port_mac_[port], flow.client_mac);
    count_packet(endpoint, service, length);
    send(m, port);
}

// A client segment that the flow's connection, past its FIN or RST, cannot have sent: a SYN;
// data after a RST; data after the client's FIN that is no retransmission of what came before
// it (TCP sends nothing past its FIN). It is a newer connection on the same tuple, reused while
// the old flow lingers; when that connection's SYN went to another node (before the routers
// rehashed), this node has only its later segments.
bool Worker::newer_connection(const Flow& flow, const PacketView& v) {
    if ((tcp_flags(v) & (RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG)) == RTE_TCP_SYN_FLAG) return true;
    if (!client_done(flow.state) || tcp_payload_length(v) == 0) return false;
    if (flow.state == FlowState::closed) return true;
    // A retransmission starts within the last window before the FIN: 32 MiB covers any window
    // a Linux peer grows by default (tcp_rmem's 6 MiB), and a newer connection's random
    // sequence number falls there once in 128 reuses.
    constexpr uint32_t retransmission_reach = 32u << 20;
    return static_cast<uint32_t>(flow.client_fin_next - tcp_seq(v)) - 1 >= retransmission_reach;
}

// Out of line: rare, and kept off forward()'s registers.
[[gnu::noinline, gnu::cold]] void Worker::client_closes(Flow& flow, const PacketView& v) {
    if (tcp_flags(v) & RTE_TCP_FIN_FLAG) flow.client_fin_next = tcp_seq(v) + tcp_payload_length(v) + 1;
    set_tcp_state(flow, next_state(flow.state, tcp_flags(v), true));
}

void Worker::forward(rte_mbuf* m, PacketView& v, Flow& flow, const Snapshot& s, uint64_t now) {
    if (past_fin(flow.state) && v.protocol == proto_tcp && newer_connection(flow, v)) {
        // The plan in force places a new connection (a mid-stream segment: as for any flow this
        // node does not know), not the old connection's endpoint.
        const FlowTuple tuple = flow.forward_tuple();
        release_flow(flow);
        flows_.remove(&flow);
        if (const VipEntry* vip = s.lb->find_vip(vip_key(tuple))) return new_flow(m, v, tuple, *vip, s, now);
        return refuse(m, v, Drop::no_service);
    }
    if (flow.snapshot_generation != static_cast<uint32_t>(s.generation) && revalidate(flow, s) == Pinning::gone) {
        return endpoint_gone(m, v, flow, s, now, true);
    }
    flow.last_seen = flow_clock(now);
    if (!endpoint_mac_ready(flow, s)) return drop(m, Drop::neighbour_unknown);
    if (!ttl_allows_forwarding(v)) return drop(m, Drop::ttl_exceeded);
    // From the client only a FIN or a RST moves the state (the SYN-ACK comes the other way).
    if (v.protocol == proto_tcp && (tcp_flags(v) & (RTE_TCP_FIN_FLAG | RTE_TCP_RST_FLAG))) client_closes(flow, v);
    to_endpoint(m, v, flow);
}

void Worker::reverse(rte_mbuf* m, PacketView& v, Flow& flow, const Snapshot& s, uint64_t now) {
    if (flow.snapshot_generation != static_cast<uint32_t>(s.generation) && revalidate(flow, s) == Pinning::gone) {
        return endpoint_gone(m, v, flow, s, now, false);
    }
    flow.last_seen = flow_clock(now);
    if (!ttl_allows_forwarding(v)) return drop(m, Drop::ttl_exceeded);
    if (v.protocol == proto_tcp && (flow.state == FlowState::syn_sent || (tcp_flags(v) & (RTE_TCP_FIN_FLAG | RTE_TCP_RST_FLAG)))) {
        const FlowState before = flow.state;
        set_tcp_state(flow, next_state(flow.state, tcp_flags(v), false));
        if (before == FlowState::syn_sent && flow.state != before) {
            report_connect(flow, flow.state == FlowState::established ? Event::Kind::connect_succeeded : Event::Kind::connect_failed);
        }
    }
    to_client(m, v, flow);
}

}  // namespace meshgate::dataplane
