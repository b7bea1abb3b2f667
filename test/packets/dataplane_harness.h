#pragma once

// Runs the real Worker over in-process net_ring ports: a test puts frames into a port's rx
// ring, polls the worker once, and reads what it transmitted from the tx rings.

#include <atomic>
#include <memory>
#include <vector>

#include <gtest/gtest.h>

#include "dataplane/worker.h"
#include "frame_builder.h"

struct rte_mempool;
struct rte_ring;
struct rte_rcu_qsbr;

namespace meshgate::testing {

// Starts EAL once per test program (--no-huge, in-process ports only).
class EalEnvironment : public ::testing::Environment {
public:
    void SetUp() override;
    void TearDown() override;  // EAL cleanup and its runtime directory
    static rte_mempool* pool();
};

struct RingPort {
    uint16_t id = 0;
    Mac mac{};
    std::vector<rte_ring*> rx;            // the test enqueues here (queue 0 unless told)
    std::vector<rte_ring*> tx;            // one per tx queue
    rte_ring* rx_ring() const { return rx[0]; }
};

// How the bench's ring ports look. By default each port has one rx queue and one tx queue per
// worker, and with two workers worker 0 polls the client port and worker 1 the endpoint port
// (every reply is handed off). With `daemon_layout`, each port has `rx_queues` and `tx_queues`
// and the queues are laid out, assigned and steered as meshgated does (queue_layout.h).
struct BenchQueues {
    bool daemon_layout = false;
    uint16_t rx_queues = 1;
    uint16_t tx_queues = 1;
};

class DataplaneBench {
public:
    // `config` has two [[dataplane.port]]s, [0] facing clients and [1] endpoints (two-arm), or
    // one that faces both (one-arm).
    DataplaneBench(Config config, uint32_t workers = 1, dataplane::FlowTimeouts timeouts = {},
                   uint32_t flow_capacity = 1024, BenchQueues queues = {});
    ~DataplaneBench();

    const RingPort& client() const { return ports_[0]; }
    const RingPort& backend() const { return ports_.back(); }
    void inject(const RingPort& port, const Bytes& frame, uint16_t queue = 0);
    void poll(uint32_t worker = 0);
    void poll_all();
    // Frames transmitted on `port` (all tx queues) since the last call.
    std::vector<Bytes> sent(const RingPort& port);
    // Inject, poll every worker, and return what left on each port.
    std::pair<std::vector<Bytes>, std::vector<Bytes>> exchange(const RingPort& port, const Bytes& frame);

    dataplane::WorkerCounters& counters(uint32_t worker = 0) { return *counters_[worker]; }
    uint64_t drops(dataplane::Drop reason) const;
    dataplane::Worker& worker(uint32_t i = 0) { return *workers_[i]; }
    std::vector<dataplane::Event> events(uint32_t worker = 0);
    // Publishes a snapshot of a new configuration (same ports and neighbours).
    void publish(Config config);
    // With health beyond the declared (active checks, ejections), by endpoint index.
    void publish(Config config, const std::vector<lb::EndpointHealth>& health);
    const Config& config() const { return snapshot_->lb->config(); }
    // Resolves `address` on the endpoint side (as the control thread's resolver would) and
    // publishes the running configuration again with it.
    void learn_neighbour(const std::string& address);

    static Mac mac_of(const std::string& address);  // the neighbour MAC the bench gives an address

private:
    std::vector<RingPort> ports_;
    std::vector<dataplane::NeighbourEntry> neighbour_entries_;
    std::vector<std::unique_ptr<dataplane::WorkerCounters>> counters_;
    std::vector<rte_ring*> handoff_;
    std::vector<rte_ring*> inboxes_;
    std::vector<rte_ring*> events_;
    rte_rcu_qsbr* rcu_ = nullptr;
    std::shared_ptr<const dataplane::Neighbours> neighbours_;
    std::vector<dataplane::PortInfo> port_info_;
    std::unique_ptr<dataplane::Snapshot> snapshot_;
    std::vector<std::unique_ptr<dataplane::Snapshot>> retired_;
    std::atomic<const dataplane::Snapshot*> current_{nullptr};
    std::vector<std::unique_ptr<dataplane::Worker>> workers_;
};

// The configuration most packet vectors use: clients on 10.0.0.0/24 and fd00::/64 behind port 0,
// endpoints on 10.1.0.0/24 and fd01::/64 behind port 1 with SNAT 10.1.0.3 / fd01::3.
// Services: web 10.96.0.1 (tcp 80 → 8080, udp 53 → 5353) with endpoints 10.1.0.11 and
// 10.1.0.12; web6 [fd96::1]:80 → [fd01::11]:8080.
Config bench_config();

// One-arm: one port on 10.0.0.0/24 and fd00::/64 where clients, endpoints (10.0.0.11, .12,
// fd00::11), the node (10.0.0.2) and the SNAT addresses (10.0.0.3, fd00::3) all live.
// Same services as bench_config().
Config one_arm_config();

}  // namespace meshgate::testing
