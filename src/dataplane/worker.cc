// The poll loop and classification. The per-packet path of a burst in worker_burst.cc, NAT in
// worker_nat.cc, local answers in worker_local.cc.
#include "dataplane/worker.h"

#include <sched.h>
#include <time.h>

#include <algorithm>
#include <iterator>

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_prefetch.h>
#include <rte_rcu_qsbr.h>
#include <rte_ring.h>

namespace meshgate::dataplane {

Worker::Worker(WorkerSetup setup)
    : setup_(std::move(setup)),
      flows_(setup_.flow_capacity, static_cast<int>(rte_socket_id())),
      tx_(RTE_MAX_ETHPORTS),
      endpoint_counters_(setup_.counters->endpoints),
      service_counters_(setup_.counters->services) {
    const double hz = static_cast<double>(rte_get_tsc_hz());
    auto cycles = [&](Duration d) { return static_cast<uint64_t>(std::chrono::duration<double>(d).count() * hz); };
    const auto& t = setup_.timeouts;
    // In FlowState order; a half-closed flow idles out as a closing one does.
    const uint64_t timeout_cycles[flow_state_count] = {cycles(t.tcp_syn),     cycles(t.tcp_established), cycles(t.tcp_closing),
                                                       cycles(t.tcp_closing), cycles(t.tcp_closing),     cycles(t.tcp_closed),
                                                       cycles(t.udp)};
    static_assert(static_cast<size_t>(FlowState::udp) + 1 == flow_state_count);
    for (size_t i = 0; i < flow_state_count; ++i) timeout_ticks_[i] = flow_ticks(timeout_cycles[i]);
    // Half the shortest timeout, so a flow outlives its timeout by at most half of it; at most
    // a second, at least a millisecond.
    const uint64_t shortest = *std::min_element(std::begin(timeout_cycles), std::end(timeout_cycles));
    sweep_period_cycles_ = std::clamp<uint64_t>(shortest / 2, cycles(std::chrono::milliseconds(1)), cycles(std::chrono::seconds(1)));
    swept_at_ = rte_rdtsc();
    constexpr uint32_t lowest_snat_port = 1024;
    const uint32_t count = setup_.count;
    snat_ports_.first = lowest_snat_port + (setup_.id + count - lowest_snat_port % count) % count;
    snat_ports_.span = (65536 - snat_ports_.first + count - 1) / count;
    for (uint16_t port = 0; port < RTE_MAX_ETHPORTS; ++port) {
        if (rte_eth_dev_is_valid_port(port)) rte_eth_macaddr_get(port, &port_mac_[port]);
        if (setup_.id < setup_.tx.tx_queues(port)) tx_[port].queue = static_cast<uint16_t>(setup_.id);
    }
}

void Worker::run(const std::atomic<bool>& stop) {
    rte_rcu_qsbr_thread_register(setup_.rcu, setup_.id);
    rte_rcu_qsbr_thread_online(setup_.rcu, setup_.id);
    const timespec idle{0, static_cast<long>(setup_.idle_sleep.count())};
    while (!stop.load(std::memory_order_relaxed)) {
        if (poll_once() != 0) continue;
        // A pass that found nothing offers the core to anything else runnable on it: alone on
        // its core the worker polls again at once (a syscall's wait), on a shared one the
        // kernel's softirqs, the node's proxies and other workers get it instead of a spin.
        if (idle.tv_nsec != 0) nanosleep(&idle, nullptr);
        else sched_yield();
    }
    rte_rcu_qsbr_thread_offline(setup_.rcu, setup_.id);
    rte_rcu_qsbr_thread_unregister(setup_.rcu, setup_.id);
}

uint32_t Worker::poll_once() {
    const Snapshot& s = *setup_.snapshot->load(std::memory_order_acquire);
    const uint64_t now = rte_rdtsc();
    rte_mbuf* packets[burst];
    uint32_t taken = 0;
    for (const auto& q : setup_.rx) {
        const uint16_t n = rte_eth_rx_burst(q.port, q.queue, packets, burst);
        taken += n;
        if (n) handle_burst(packets, n, s, now, q.steer ? Arrival::wire_steered : Arrival::wire, q.port);
    }
    if (rte_ring* mine = setup_.handoff.empty() ? nullptr : setup_.handoff[setup_.id]) {
        const unsigned n = rte_ring_sc_dequeue_burst(mine, reinterpret_cast<void**>(packets), burst, nullptr);
        setup_.counters->handoff_in.add(n);
        taken += n;
        if (n) handle_burst(packets, static_cast<uint16_t>(n), s, now, Arrival::handed_off, no_port);
    }
    if (!setup_.tx.empty()) {
        // Frames others could not send themselves; m->port is where they go.
        const unsigned n = rte_ring_sc_dequeue_burst(setup_.tx.inbox(setup_.id), reinterpret_cast<void**>(packets), burst, nullptr);
        taken += n;
        for (unsigned i = 0; i < n; ++i) send(packets[i], packets[i]->port);
    }
    flush();
    sweep(now);
    rte_rcu_qsbr_quiescent(setup_.rcu, setup_.id);
    return taken;
}

void Worker::sweep(uint64_t now) {
    const uint64_t elapsed = std::min(now - swept_at_, sweep_period_cycles_);
    // Slots due since the last step; a step too small to be due waits for the next pass.
    const uint64_t due = elapsed * flows_.capacity() / sweep_period_cycles_;
    if (due == 0) return;
    swept_at_ = now;
    constexpr uint64_t most_per_pass = 1024;  // bounds one pass's latency
    flows_.expire(flow_clock(now), static_cast<uint32_t>(std::min(due, most_per_pass)), timeout_ticks_,
                  [this](Flow& f) { expire_flow(f); });
}

// Everything but a TCP/UDP packet: parse errors, the kernel's protocols, ARP, ICMP.
void Worker::dispatch(rte_mbuf* m, PacketView& v, Drop parsed, const Snapshot& s, uint64_t now, Arrival arrival) {
    if (parsed == Drop::unsupported_ethertype) return to_exception_path(m);
    if (parsed != Drop::none) return drop(m, parsed);
    if (v.ethertype == ethertype_arp) return handle_arp(m, v, s);
    handle_unmatched(m, v, s, now, arrival);
}

// The worker that owns (or will own) the flow of `tuple`: replies to a SNAT address by their
// port (SNAT ports are split by worker), anything else by a hash of its tuple.
uint32_t Worker::flow_owner(const FlowTuple& tuple, uint32_t hash, const Snapshot& s) const {
    const uint32_t count = setup_.count;
    if (s.lb->roles(AddressKey::from(tuple.family, tuple.destination)) & role_snat) {
        return rte_be_to_cpu_16(tuple.destination_port) % count;
    }
    return hash % count;
}

void Worker::hand_off(rte_mbuf* m, uint32_t owner) {
    if (rte_ring_mp_enqueue(setup_.handoff[owner], m) != 0) return drop(m, Drop::handoff_full);
    setup_.counters->handoff_out.add();
}

// A TCP/UDP packet of no known flow: a new flow to a VIP, or whatever its address says.
void Worker::handle_miss(rte_mbuf* m, PacketView& v, const FlowTuple& tuple, const Snapshot& s, uint64_t now,
                         Arrival arrival) {
    if (const VipEntry* vip = s.lb->find_vip(vip_key(tuple))) return new_flow(m, v, tuple, *vip, s, now);
    handle_unmatched(m, v, s, now, arrival);
}

void Worker::handle_unmatched(rte_mbuf* m, PacketView& v, const Snapshot& s, uint64_t now, Arrival arrival) {
    const uint8_t roles = s.lb->roles(AddressKey::from(v.family, v.destination_address()));
    if ((v.protocol == proto_ipip || v.protocol == proto_ipv6_in_ip) && (roles & role_node)) {
        return handle_tunnelled(m, v, s, now, arrival);
    }
    if (v.protocol == proto_icmp || v.protocol == proto_icmpv6) return handle_icmp(m, v, s, roles, arrival == Arrival::handed_off);
    if ((roles & role_snat) && v.has_ports()) {
        // A reply to a flow another worker owns: SNAT ports are split by worker.
        const uint32_t owner = rte_be_to_cpu_16(*v.destination_port()) % setup_.count;
        if (owner == setup_.id || arrival == Arrival::handed_off) return drop(m, Drop::no_flow);
        return hand_off(m, owner);
    }
    if (roles & role_vip) return refuse(m, v, Drop::no_service);
    to_exception_path(m);  // the node's own traffic, or not addressed to us: the kernel decides
}

void Worker::transmit(uint16_t port) {
    auto& b = tx_[port];
    uint16_t sent = 0;
    if (b.queue != no_queue) {
        sent = rte_eth_tx_burst(port, b.queue, b.packets.data(), b.count);
        setup_.counters->tx_packets.add(sent);
    } else {
        while (sent < b.count && setup_.tx.send(b.packets[sent], port, setup_.id)) ++sent;
    }
    for (uint16_t i = sent; i < b.count; ++i) drop(b.packets[i], Drop::tx_full);
    b.count = 0;
}

void Worker::flush() {
    for (uint16_t i = 0; i < dirty_count_; ++i) {
        if (tx_[dirty_[i]].count != 0) transmit(dirty_[i]);
        tx_[dirty_[i]].listed = false;
    }
    dirty_count_ = 0;
}

void Worker::drop(rte_mbuf* m, Drop reason) {
    setup_.counters->drop(reason);
    rte_pktmbuf_free(m);
}

void Worker::post(const Event& e) {
    // A full event ring loses a hint (the control thread asks again), never a packet.
    if (setup_.events) rte_ring_sp_enqueue_elem(setup_.events, const_cast<Event*>(&e), sizeof(Event));
}

void Worker::ask_for_neighbour(uint16_t port, const AddressKey& address) {
    Event e;
    e.kind = Event::Kind::resolve_neighbour;
    e.port = port;
    e.address = address;
    post(e);
}

void Worker::to_exception_path(rte_mbuf* m) {
    const uint16_t tap = m->port < setup_.exception_port.size() ? setup_.exception_port[m->port] : UINT16_MAX;
    if (tap == UINT16_MAX) return drop(m, Drop::exception_unavailable);
    setup_.counters->exception_packets.add();
    send(m, tap);
}

}  // namespace meshgate::dataplane
