// Full NAT: a new flow picks its endpoint from the snapshot and a SNAT port this worker owns;
// its packets then take the per-packet path (worker_burst.cc). Flow life: revalidation on a
// new snapshot, TCP state, expiry, resets.
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_tcp.h>

#include "dataplane/local_replies.h"
#include "dataplane/rewrite.h"
#include "dataplane/worker.h"
#include "lb/flow_hash.h"

namespace meshgate::dataplane {

// Flows closed both ways or reset are counted apart: "flows that remain" (drain, drain-node)
// are the others, not connections the TIME_WAIT-like timeouts keep pinned a while. A
// half-closed flow remains: the other side may still be sending.
void Worker::set_tcp_state(Flow& flow, FlowState next) {
    if (next == flow.state) return;
    if (!winding_down(flow.state) && winding_down(next)) {
        setup_.counters->closing_flows.add();
        if (flow.endpoint < endpoint_counters_.size()) endpoint_counters_[flow.endpoint].closing_flows.add();
    }
    flow.state = next;
}

void Worker::new_flow(rte_mbuf* m, PacketView& v, const FlowTuple& tuple, const VipEntry& vip, const Snapshot& s,
                      uint64_t now) {
    if (vip.to_kernel) return to_exception_path(m);  // the node's HBONE proxy tunnels it (gateway role)
    if (v.protocol == proto_tcp && (tcp_flags(v) & (RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG | RTE_TCP_RST_FLAG)) != RTE_TCP_SYN_FLAG) {
        return start_second_chance(m, v, s);  // mid-connection segment of a flow we do not know
    }
    // The tuple holds its addresses as IpAddress does (IPv4 in the first four bytes, zeros after).
    const uint64_t hash = lb::hash_flow(tuple.source, tuple.destination, rte_be_to_cpu_16(tuple.source_port),
                                        rte_be_to_cpu_16(tuple.destination_port), v.protocol);
    const uint32_t id = vip.table->pick(hash);
    auto& c = *setup_.counters;
    auto refused = [&] {
        if (vip.service < service_counters_.size()) service_counters_[vip.service].refused.add();
    };
    if (id == lb::SelectionTable::no_endpoint) {
        refused();
        return refuse(m, v, Drop::no_endpoint);
    }
    const EndpointTarget& target = s.lb->endpoint(id);
    if (!target.usable || target.address.family != v.family) {
        refused();
        return drop(m, Drop::no_route);
    }
    const IpAddress* snat = s.lb->snat_address(target.out_port, v.family, mix64(hash));
    if (!snat) {
        refused();
        return drop(m, Drop::snat_exhausted);
    }

    FlowTuple back{};
    std::memcpy(back.source, target.address.address, 16);
    std::memcpy(back.destination, snat->bytes().data(), 16);
    back.source_port = target.port != 0 ? target.port : vip.target_port;
    back.protocol = tuple.protocol;
    back.family = tuple.family;
    const uint32_t count = setup_.count, first = snat_ports_.first, span = snat_ports_.span;
    bool found = false;
    uint32_t back_hash = 0;
    for (int attempt = 0; attempt < 64 && !found; ++attempt) {
        snat_cursor_ = snat_cursor_ + 1 >= span ? 0 : snat_cursor_ + 1;
        back.destination_port = rte_cpu_to_be_16(static_cast<uint16_t>(first + snat_cursor_ * count));
        back_hash = FlowTable::hash(back);
        found = !flows_.contains(back, back_hash);
    }
    if (!found) {
        refused();
        return drop(m, Drop::snat_exhausted);
    }

    const uint32_t forward_hash = FlowTable::hash(tuple);
    Flow* flow = flows_.insert(tuple, forward_hash, back, back_hash);
    if (!flow) {
        // Full: sweep harder for idle flows once, then refuse. Live flows are never evicted.
        flows_.expire(flow_clock(now), 4096, timeout_ticks_, [this](Flow& f) { expire_flow(f); });
        flow = flows_.insert(tuple, forward_hash, back, back_hash);
        if (!flow) {
            refused();
            return drop(m, Drop::flow_table_full);
        }
    }
    flow->endpoint = id;
    flow->service = static_cast<uint16_t>(vip.service);  // config: at most max_services
    flow->to_endpoint = NatDeltas16::fold(nat_deltas(tuple.family, tuple.source, tuple.destination, tuple.source_port,
                                                     tuple.destination_port, back.destination, back.destination_port,
                                                     back.source, back.source_port));
    flow->client_port = static_cast<uint8_t>(m->port);
    flow->endpoint_port = static_cast<uint8_t>(target.out_port);
    flow->client_mac = reinterpret_cast<const rte_ether_hdr*>(v.frame)->src_addr;
    flow->state = v.protocol == proto_tcp ? FlowState::syn_sent : FlowState::udp;
    flow->last_seen = flow_clock(now);
    flow->snapshot_generation = static_cast<uint32_t>(s.generation);
    if (const rte_ether_addr* mac = id < s.endpoint_macs.size() ? s.endpoint_macs[id] : nullptr) {
        flow->endpoint_mac = *mac;
        flow->endpoint_mac_known = true;
    }

    c.new_flows.add();
    c.active_flows.add();
    if (id < endpoint_counters_.size()) {
        endpoint_counters_[id].new_flows.add();
        endpoint_counters_[id].active_flows.add();
    }
    if (vip.service < service_counters_.size()) {
        service_counters_[vip.service].new_flows.add();
        service_counters_[vip.service].active_flows.add();
    }
    forward(m, v, *flow, s, now);
}

void Worker::expire_flow(Flow& flow) {
    setup_.counters->expired_flows.add();
    if (flow.state == FlowState::syn_sent) report_connect(flow, Event::Kind::connect_timed_out);
    release_flow(flow);
}

void Worker::report_connect(const Flow& flow, Event::Kind outcome) {
    const Snapshot& s = *setup_.snapshot->load(std::memory_order_acquire);
    if (flow.endpoint == Flow::no_endpoint || flow.service >= s.lb->config().services.size() ||
        !s.lb->observes_connects(flow.service)) {
        return;
    }
    Event e;
    e.kind = outcome;
    e.endpoint = flow.endpoint;
    post(e);
}

void Worker::release_flow(Flow& flow) {
    setup_.counters->active_flows.sub();
    if (flow.endpoint < endpoint_counters_.size()) endpoint_counters_[flow.endpoint].active_flows.sub();
    if (winding_down(flow.state)) {
        setup_.counters->closing_flows.sub();
        if (flow.endpoint < endpoint_counters_.size()) endpoint_counters_[flow.endpoint].closing_flows.sub();
    }
    if (flow.service < service_counters_.size()) service_counters_[flow.service].active_flows.sub();
}

bool Worker::learn_endpoint_mac(Flow& flow, const Snapshot& s) {
    // The endpoint id means something only in the snapshot the flow was last checked against.
    if (flow.snapshot_generation != static_cast<uint32_t>(s.generation) || flow.endpoint >= s.endpoint_macs.size()) {
        return false;
    }
    if (const rte_ether_addr* mac = s.endpoint_macs[flow.endpoint]) {
        flow.endpoint_mac = *mac;
        flow.endpoint_mac_known = true;
        return true;
    }
    const EndpointTarget& target = s.lb->endpoint(flow.endpoint);
    ask_for_neighbour(target.out_port, target.next_hop);
    return false;
}

// A new snapshot may have removed a flow's endpoint (semantics.md §6): find it again, by
// service, address and port, once per flow per snapshot.
Worker::Pinning Worker::revalidate(Flow& flow, const Snapshot& s) {
    const FlowTuple forward_tuple = flow.forward_tuple();
    const VipEntry* vip = s.lb->find_vip(vip_key(forward_tuple));
    const uint32_t id = vip ? s.lb->find_endpoint(vip->service, AddressKey::from(flow.family, flow.reverse.source),
                                                 flow.reverse.source_port)
                            : lb::SelectionTable::no_endpoint;
    const bool reset_when_down = vip && s.lb->config().services[vip->service].on_endpoint_down == OnEndpointDown::reset;
    const bool found = id != lb::SelectionTable::no_endpoint;
    if (!(found && !(s.lb->endpoint(id).down && reset_when_down)) && !(vip && !reset_when_down)) return Pinning::gone;
    // Kept: the same endpoint, perhaps under a new index, or (on_endpoint_down = "keep") one
    // that left the plan. Its flow counts move along.
    const uint32_t now_id = found ? id : Flow::no_endpoint;
    if (flow.endpoint < endpoint_counters_.size()) endpoint_counters_[flow.endpoint].active_flows.sub();
    if (now_id < endpoint_counters_.size()) endpoint_counters_[now_id].active_flows.add();
    if (winding_down(flow.state)) {
        if (flow.endpoint < endpoint_counters_.size()) endpoint_counters_[flow.endpoint].closing_flows.sub();
        if (now_id < endpoint_counters_.size()) endpoint_counters_[now_id].closing_flows.add();
    }
    flow.endpoint = now_id;
    flow.service = static_cast<uint16_t>(vip->service);
    flow.snapshot_generation = static_cast<uint32_t>(s.generation);
    // A new snapshot may bring a new neighbour table: take the endpoint's next hop from it. An
    // endpoint that left the plan keeps the MAC it had.
    if (found) {
        const rte_ether_addr* mac = id < s.endpoint_macs.size() ? s.endpoint_macs[id] : nullptr;
        if (mac) flow.endpoint_mac = *mac;
        flow.endpoint_mac_known = mac != nullptr;
    }
    return Pinning::kept;
}

// The flow's endpoint is gone: TCP is reset (the packet's sender gets the RST), a client's UDP
// datagram starts a new flow, anything else from the old endpoint is dropped.
void Worker::endpoint_gone(rte_mbuf* m, PacketView& v, Flow& flow, const Snapshot& s, uint64_t now, bool from_client) {
    const FlowTuple forward_tuple = flow.forward_tuple();
    release_flow(flow);
    flows_.remove(&flow);
    if (v.protocol == proto_tcp) return refuse(m, v, Drop::endpoint_removed);
    if (!from_client) return drop(m, Drop::endpoint_removed);
    if (const VipEntry* vip = s.lb->find_vip(vip_key(forward_tuple))) return new_flow(m, v, forward_tuple, *vip, s, now);
    drop(m, Drop::endpoint_removed);
}

void Worker::refuse(rte_mbuf* m, PacketView& v, Drop reason) {
    if (make_reset(m, v, reason)) send(m, m->port);
}

bool Worker::make_reset(rte_mbuf* m, PacketView& v, Drop reason) {
    setup_.counters->drop(reason);
    if (v.protocol != proto_tcp || (tcp_flags(v) & RTE_TCP_RST_FLAG)) {
        rte_pktmbuf_free(m);
        return false;
    }
    const uint32_t length = make_tcp_reset(v);
    rte_pktmbuf_trim(m, static_cast<uint16_t>(rte_pktmbuf_data_len(m) - length));
    setup_.counters->tcp_resets.add();
    return true;
}

}  // namespace meshgate::dataplane
