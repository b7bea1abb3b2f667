#pragma once

#include <atomic>
#include <chrono>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "control/admin_commands.h"
#include "control/announcement.h"
#include "control/companion.h"
#include "control/admin_server.h"
#include "control/counter_totals.h"
#include "control/health_checker.h"
#include "control/idle_sleep.h"
#include "control/latency_histogram.h"
#include "control/live_state.h"
#include "control/metrics_server.h"
#include "control/neighbour_resolver.h"
#include "control/node_drain.h"
#include "control/outlier_tracker.h"
#include "control/peer_liveness.h"
#include "control/service_notify.h"
#include "control/unix_listener.h"
#include "dataplane/counters.h"
#include "dataplane/exception_path.h"
#include "dataplane/snapshot_publisher.h"
#include "dataplane/xdp_steering.h"
#include "netlink/host_routes.h"

struct rte_mempool;
struct rte_ring;

namespace meshgate::control {

// The control thread's clock for health checks, outlier detection and peer probes.
MonotonicTime monotonic_now();

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
    std::vector<std::string> port_descriptions;  // one line per port: name, queues, workers
    std::vector<dataplane::ExceptionPort> exception_ports;
    dataplane::TxInboxes tx;  // the control thread sends through the workers
    std::vector<dataplane::SteeringMaps>* steering = nullptr;  // AF_XDP ports' owned addresses
    std::vector<const dataplane::WorkerCounters*> counters;
    ControlSignals* signals = nullptr;
    rte_mempool* pool = nullptr;  // for the frames the control thread makes (peer probes)
};

// The slow path on the main lcore. Each round it serves the admin socket, applies what
// changed (admin updates, reloads, neighbours learnt) as one batch, publishes one snapshot
// for it, tracks when every worker sees it, carries the kernel's packets from the exception
// taps to the wire, and frees old snapshots after their grace period. Sleeps between idle
// rounds: it is not a poller.
class ControlThread : private AdminContext {
public:
    // Plans `config`, publishes its snapshot and opens the admin socket.
    ControlThread(ControlSetup setup, Config config);
    void run();

    // The counters document of `meshgatectl stats`, for the exit report.
    nlohmann::json counters() { return stats(); }
    // `c` follows every snapshot from now on (the newest one at once); it must outlive run().
    void add_companion(Companion& c);
    // Update-to-visible latency of each batch, in µs.
    const LatencyHistogram& update_latency() const { return update_latency_; }

private:
    void publish();  // the live state's changes since the last publish
    void follow_membership();  // counters, health checks and outlier detection follow the live endpoints
    void note_update();        // something changed the live state: a batch starts if none has
    void publish_neighbours();  // new neighbours or a new peer ring; the same plan
    void track_visibility();
    // Worker events taken from the rings this round.
    size_t drain_events();
    void reload_on_signal();
    void update_steering();      // also the gateway VIPs
    void update_gateway_vips();  // local routes: the kernel takes the gateway role's VIPs
    void write_stats();

    // Scale-out (control_announce.cc): the routes a routing daemon announces, drain-node, and
    // the withdraw-then-wait of a shutdown.
    void open_announcer();
    void update_announcements();
    void progress_node_drain();
    void begin_stop();
    bool stop_done() const;
    void probe_peers();
    nlohmann::json announce_status();

    // AdminContext (control_admin.cc)
    LiveState& live() override { return live_; }
    uint64_t next_generation() override;
    nlohmann::json status() override;
    nlohmann::json plan(const std::optional<std::string>& service) override;
    nlohmann::json endpoint_runtime(uint32_t slot) override;
    nlohmann::json stats() override;
    std::string prometheus() override;
    nlohmann::json reload(bool discard_admin) override;
    nlohmann::json drain_node(bool cancel) override;
    nlohmann::json lookup(const std::vector<lb::FlowKey>& flows) override;

    ControlSetup setup_;
    std::vector<Companion*> companions_;
    CounterTotals totals_;
    LiveState live_;
    OutlierTracker outliers_;
    HealthChecker health_;
    uint64_t followed_membership_ = UINT64_MAX;
    uint64_t generation_ = 0;
    uint64_t visible_generation_ = 0;
    struct InFlight {
        uint64_t generation, token;
        std::optional<std::chrono::steady_clock::time_point> first_update;
    };
    std::deque<InFlight> in_flight_;  // published, not yet seen by every worker
    IdleSleep idle_;  // longer only where the kernel's packets wake the thread: see idle_sleep.h
    KernelWake kernel_wake_;
    std::optional<std::chrono::steady_clock::time_point> batch_started_;  // first update not yet published
    LatencyHistogram update_latency_, rebuild_latency_;
    uint64_t admin_errors_ = 0;
    std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
    std::unique_ptr<UnixListener> listener_;
    std::unique_ptr<AdminServer> admin_;
    std::unique_ptr<MetricsServer> metrics_;  // when [admin].metrics_listen is set
    ServiceNotifier notifier_;
    bool ready_ = false;

    NodeMode mode_ = NodeMode::starting;
    std::unique_ptr<netlink::HostRoutes> routes_;  // when [announce].table is set
    // The gateway role's VIPs as the kernel's own, through this interface; gone with meshgated.
    static constexpr const char* gateway_vip_device = "mg-gateway-vip";
    std::unique_ptr<netlink::HostRoutes> local_vips_;
    std::vector<Announcement> announcements_;
    std::vector<std::string> announce_errors_;         // what the kernel last refused
    std::chrono::steady_clock::time_point last_announce_attempt_{};
    uint64_t announced_generation_ = 0;
    NodeMode announced_mode_ = NodeMode::starting;
    NodeDrain node_drain_;
    std::unique_ptr<PeerLiveness> peers_;
    std::string ring_said_;  // what the log last said of the peer ring
    std::chrono::steady_clock::time_point last_drain_look_{};
    std::optional<std::chrono::steady_clock::time_point> stop_at_;
};

}  // namespace meshgate::control
