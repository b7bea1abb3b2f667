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
    rte_ring* rx = nullptr;               // the test enqueues here
    std::vector<rte_ring*> tx;            // one per worker (+1 spare)
};

class DataplaneBench {
public:
    // `config` must have two [[dataplane.port]]s: [0] faces clients, [1] faces endpoints.
    DataplaneBench(Config config, uint32_t workers = 1, dataplane::FlowTimeouts timeouts = {},
                   uint32_t flow_capacity = 1024);
    ~DataplaneBench();

    const RingPort& client() const { return ports_[0]; }
    const RingPort& backend() const { return ports_[1]; }
    void inject(const RingPort& port, const Bytes& frame);
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
    const Config& config() const { return snapshot_->lb->config(); }

    static Mac mac_of(const std::string& address);  // the neighbour MAC the bench gives an address

private:
    std::vector<RingPort> ports_;
    std::vector<std::unique_ptr<dataplane::WorkerCounters>> counters_;
    std::vector<rte_ring*> handoff_;
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

}  // namespace meshgate::testing
