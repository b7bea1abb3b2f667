#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "control/neighbour_resolver.h"
#include "dataplane/counters.h"
#include "dataplane/exception_path.h"
#include "dataplane/snapshot_publisher.h"
#include "dataplane/xdp_steering.h"

struct rte_ring;

namespace meshgate::control {

// Set from signal handlers; read by the control thread.
struct ControlSignals {
    std::atomic<bool> stop{false};
    std::atomic<bool> reload{false};
};

struct ControlSetup {
    std::string config_path;
    std::string stats_file;  // rewritten every second when set
    dataplane::SnapshotPublisher* publisher = nullptr;
    NeighbourResolver* resolver = nullptr;
    std::vector<rte_ring*> events;  // one per worker
    std::vector<dataplane::PortInfo> ports;
    std::vector<dataplane::ExceptionPort> exception_ports;
    dataplane::TxInboxes tx;  // the control thread sends through the workers
    std::vector<dataplane::SteeringMaps>* steering = nullptr;  // AF_XDP ports' owned addresses
    std::vector<const dataplane::WorkerCounters*> counters;
    ControlSignals* signals = nullptr;
};

// The slow path on the main lcore: consumes worker events, resolves neighbours, carries the
// kernel's packets from the exception taps to the wire, reloads the
// configuration on SIGHUP (keeping the running one if the file is bad), publishes snapshots
// and frees old ones after their grace period. Sleeps between rounds: it is not a poller.
class ControlThread {
public:
    explicit ControlThread(ControlSetup setup);
    void run();

    // Builds and publishes the snapshot of `config` (plan, tables, routes) with the known neighbours.
    void publish_config(Config config);

private:
    void drain_events();
    void reload();
    void publish(std::shared_ptr<const dataplane::LbState> lb);
    void write_stats() const;

    ControlSetup setup_;
    uint64_t generation_ = 0;
};

}  // namespace meshgate::control
