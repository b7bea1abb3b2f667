#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include <rte_build_config.h>
#include <rte_ether.h>

#include "dataplane/counters.h"
#include "dataplane/events.h"
#include "dataplane/flow_table.h"
#include "dataplane/packet.h"
#include "dataplane/queue_layout.h"
#include "dataplane/snapshot.h"
#include "dataplane/tx_inbox.h"

struct rte_mbuf;
struct rte_ring;
struct rte_rcu_qsbr;

namespace meshgate::dataplane {

// A (port, rx queue) a worker polls, and whether it must steer what it reads (queue_layout.h).
using RxQueue = RxAssignment;

// Everything a worker is given; it owns none of it but its flow table.
struct WorkerSetup {
    uint32_t id = 0;     // worker index, 0..count-1; also its RCU thread id
    uint32_t count = 1;  // workers in all
    std::vector<RxQueue> rx;
    // Tx queue `id` on every port that has one for it; the inbox rings for the rest, and for
    // what other threads hand this worker to send.
    TxInboxes tx;
    std::vector<uint16_t> exception_port;  // by data port id: its tap port, or UINT16_MAX
    uint32_t flow_capacity = 65536;
    FlowTimeouts timeouts;
    const std::atomic<const Snapshot*>* snapshot = nullptr;
    rte_rcu_qsbr* rcu = nullptr;
    std::vector<rte_ring*> handoff;  // one per worker, multi-producer, single-consumer
    rte_ring* events = nullptr;      // to the control thread
    WorkerCounters* counters = nullptr;
    Duration idle_sleep{};  // after a pass that found nothing ([dataplane].idle_sleep); 0: yield the core
};

// One poll-mode worker: rx burst → parse → classify → act → tx burst, on its own queues,
// with its own flow table, no locks. The loop reports an RCU quiescent state every pass.
class Worker {
public:
    explicit Worker(WorkerSetup setup);
    void run(const std::atomic<bool>& stop);
    // One pass of the loop (tests drive it directly); how many packets it took in.
    uint32_t poll_once();
    const FlowTable& flows() const { return flows_; }
    static constexpr uint16_t burst_size = 32;

private:
    static constexpr uint16_t burst = burst_size;
    static constexpr uint16_t no_queue = UINT16_MAX;
    struct TxBuffer {
        uint16_t count = 0;
        uint16_t queue = no_queue;  // ours on this port, or no_queue: through another worker's inbox
        bool listed = false;        // in dirty_ until the next flush
        std::array<rte_mbuf*, 64> packets{};
    };
    // How a packet reached this worker: from a queue the device spread by flow, from a queue
    // it must spread itself, or from another worker (already at the flow's owner).
    enum class Arrival : uint8_t { wire, wire_steered, handed_off };

    // `port`: where the burst came in (stamped on each mbuf), or no_port when handed off.
    void handle_burst(rte_mbuf** packets, uint16_t n, const Snapshot& s, uint64_t now, Arrival arrival, uint16_t port);
    static constexpr uint16_t no_port = UINT16_MAX;
    void dispatch(rte_mbuf* m, PacketView& v, Drop parsed, const Snapshot& s, uint64_t now, Arrival arrival);
    void handle_miss(rte_mbuf* m, PacketView& v, const FlowTuple& tuple, const Snapshot& s, uint64_t now, Arrival arrival);
    void handle_unmatched(rte_mbuf* m, PacketView& v, const Snapshot& s, uint64_t now, Arrival arrival);
    uint32_t flow_owner(const FlowTuple& tuple, uint32_t hash, const Snapshot& s) const;
    void hand_off(rte_mbuf* m, uint32_t owner);
    void new_flow(rte_mbuf* m, PacketView& v, const FlowTuple& tuple, const VipEntry& vip, const Snapshot& s, uint64_t now);
    void forward(rte_mbuf* m, PacketView& v, Flow& flow, const Snapshot& s, uint64_t now);
    void reverse(rte_mbuf* m, PacketView& v, Flow& flow, const Snapshot& s, uint64_t now);
    // The per-packet path's own pieces (worker_burst.cc only).
    [[gnu::always_inline]] inline void to_endpoint(rte_mbuf* m, PacketView& v, Flow& flow);
    [[gnu::always_inline]] inline void to_client(rte_mbuf* m, PacketView& v, Flow& flow);
    void handle_arp(rte_mbuf* m, PacketView& v, const Snapshot& s);
    void handle_icmp(rte_mbuf* m, PacketView& v, const Snapshot& s, uint8_t roles, bool handed_off);
    void handle_neighbour_discovery(rte_mbuf* m, PacketView& v, const Snapshot& s, uint8_t type);
    void handle_icmp_error(rte_mbuf* m, PacketView& v, const Snapshot& s, uint8_t roles, bool handed_off);
    void refuse(rte_mbuf* m, PacketView& v, Drop reason);
    // Turns a TCP segment into the RST that answers it, counting `reason`; false when there is
    // nothing to answer (it was a RST: freed).
    bool make_reset(rte_mbuf* m, PacketView& v, Drop reason);
    // Second chance (worker_second_chance.cc, peer_ring.h).
    void start_second_chance(rte_mbuf* m, PacketView& v, const Snapshot& s);
    void handle_tunnelled(rte_mbuf* m, PacketView& outer, const Snapshot& s, uint64_t now, Arrival arrival);
    void pass_on(rte_mbuf* m, PacketView& outer, const PacketView& inner, const Snapshot& s);
    void answer_peer_probe(rte_mbuf* m, PacketView& outer, const PacketView& inner);
    void reset_at_ring_end(rte_mbuf* m, PacketView& outer, const PacketView& inner, const Snapshot& s);
    const rte_ether_addr* next_peer_mac(const Snapshot& s);
    void to_exception_path(rte_mbuf* m);
    // The next hop's MAC towards the flow's endpoint is in the record, or in the snapshot (then
    // copied); false, and the control thread asked to resolve it, while it is unknown.
    bool endpoint_mac_ready(Flow& flow, const Snapshot& s) { return flow.endpoint_mac_known || learn_endpoint_mac(flow, s); }
    bool learn_endpoint_mac(Flow& flow, const Snapshot& s);
    enum class Pinning : uint8_t { kept, gone };
    Pinning revalidate(Flow& flow, const Snapshot& s);
    void endpoint_gone(rte_mbuf* m, PacketView& v, Flow& flow, const Snapshot& s, uint64_t now, bool from_client);
    void post(const Event& e);
    void ask_for_neighbour(uint16_t port, const AddressKey& address);  // the control thread resolves it
    void send(rte_mbuf* m, uint16_t port) {
        auto& b = tx_[port];
        if (!b.listed) {  // at most once per pass, even when the buffer fills and starts again
            b.listed = true;
            dirty_[dirty_count_++] = port;
        }
        b.packets[b.count++] = m;
        if (b.count == b.packets.size()) transmit(port);
    }
    void transmit(uint16_t port);
    void drop(rte_mbuf* m, Drop reason);
    void flush();
    void release_flow(Flow& flow);
    void set_tcp_state(Flow& flow, FlowState next);
    static bool newer_connection(const Flow& flow, const PacketView& v);
    void client_closes(Flow& flow, const PacketView& v);  // a FIN or RST from the client
    void expire_flow(Flow& flow);  // its idle timeout passed
    void report_connect(const Flow& flow, Event::Kind outcome);
    // Per endpoint and service, both directions (worker_burst.cc only).
    [[gnu::always_inline]] inline void count_packet(uint32_t endpoint, uint32_t service, uint32_t bytes);

    WorkerSetup setup_;
    FlowTable flows_;
    std::vector<TxBuffer> tx_;
    std::array<uint16_t, RTE_MAX_ETHPORTS> dirty_{};  // ports with frames buffered since the last flush
    uint16_t dirty_count_ = 0;
    std::array<rte_ether_addr, RTE_MAX_ETHPORTS> port_mac_{};
    uint32_t timeout_ticks_[flow_state_count];  // by FlowState, in flow_clock() ticks
    // Idle flows are looked for at a pace set by the clock, not by packets: the whole table
    // once per sweep period, so a busy worker spends per second what an idle one does.
    uint64_t sweep_period_cycles_ = 0;
    uint64_t swept_at_ = 0;  // TSC of the last sweep step
    void sweep(uint64_t now);
    // The per-endpoint and per-service counters, fixed in size: spans spare the per-packet
    // path the vectors' size arithmetic.
    std::span<EndpointCounters> endpoint_counters_, service_counters_;
    // The SNAT ports this worker owns: first + k * count for k < span (p % count == id, so
    // replies can be steered to it), from 1024 up.
    struct SnatPorts {
        uint32_t first = 0, span = 0;
    } snat_ports_;
    uint32_t snat_cursor_ = 0;
};

}  // namespace meshgate::dataplane
