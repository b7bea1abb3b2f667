// meshgated: wiring only. EAL and ports from [dataplane], one worker per worker lcore, the
// control thread on the main lcore.
#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_ring.h>
#include <sched.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <iostream>
#include <memory>

#include "config/load_config.h"
#include "control/allocator_tuning.h"
#include "control/control_thread.h"
#include "control/neighbour_resolver.h"
#include "control/stats.h"
#include "dataplane/eal.h"
#include "dataplane/exception_path.h"
#include "dataplane/ports.h"
#include "dataplane/snapshot_publisher.h"
#include "dataplane/worker.h"
#include "dataplane/xdp_steering.h"
#include "daemon/hbone_companion.h"

namespace {

meshgate::control::ControlSignals signals;

void on_signal(int number) {
    if (number == SIGHUP) signals.reload.store(true);
    else signals.stop.store(true);
}

struct WorkerLaunch {
    meshgate::dataplane::Worker* worker;
};

int worker_main(void* arg) {
    static_cast<WorkerLaunch*>(arg)->worker->run(signals.stop);
    return 0;
}

constexpr const char* usage =
    "usage: meshgated --config FILE [--stats-file FILE]\n"
    "\n"
    "  --config FILE      the TOML configuration (EAL, ports, services, endpoints)\n"
    "  --stats-file FILE  rewrite the counters as JSON to FILE every second\n"
    "  -h, --help         this text\n"
    "\n"
    "SIGHUP re-reads the configuration; SIGINT or SIGTERM stops cleanly and prints the counters.\n";

}  // namespace

int main(int argc, char** argv) {
    using namespace meshgate;
    std::string config_path, stats_file;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "--help" || a == "-h") {
            std::cout << usage;
            return 0;
        }
        if (a == "--config" && i + 1 < argc) config_path = argv[++i];
        else if (a == "--stats-file" && i + 1 < argc) stats_file = argv[++i];
        else {
            std::cerr << usage;
            return 2;
        }
    }
    if (config_path.empty()) {
        std::cerr << usage;
        return 2;
    }
    control::keep_table_memory_in_the_heap();
    // The CPUs meshgated may use, before EAL pins this thread to the control lcore: the HBONE
    // proxy's threads are kernel-socket work and go where the scheduler finds room, as any
    // other process (isolate the worker cores with isolcpus to keep them to themselves).
    cpu_set_t process_cpus;
    CPU_ZERO(&process_cpus);
    sched_getaffinity(0, sizeof process_cpus, &process_cpus);
    // A peer that goes away mid-write (an HBONE client, an admin client) is an error to handle
    // where it happens, not a reason for the whole node to die.
    std::signal(SIGPIPE, SIG_IGN);
    auto loaded = config::load_config_file(config_path);
    for (const auto& d : loaded.diagnostics.items) std::cerr << d.to_string() << "\n";
    if (!loaded.config) return 2;
    Config config = std::move(*loaded.config);
    if (config.dataplane.ports.empty()) {
        std::cerr << config_path << ": error: dataplane.port: meshgated needs at least one [[dataplane.port]]\n";
        return 2;
    }

    const std::string file_prefix = "meshgate-" + std::to_string(getpid());
    // EAL leaves its runtime directory behind; remove ours however we leave.
    auto cleanup = [&] {
        rte_eal_cleanup();
        std::filesystem::remove_all("/var/run/dpdk/" + file_prefix);
    };
    try {
        // AF_XDP ports get our steering program: their interface keeps the node's own stack.
        std::vector<std::string> steered;
        for (auto& port : config.dataplane.ports) {
            port.device = dataplane::with_device_defaults(port.device);
            port.device = dataplane::with_steering_program(port.device, MESHGATE_XDP_PROGRAM);
            if (auto interface = dataplane::steered_interface(port.device, MESHGATE_XDP_PROGRAM)) {
                if (auto note = dataplane::remove_stale_program(*interface); !note.empty()) std::cerr << "meshgated: " << note << "\n";
                port.exception_interface.clear();
                steered.push_back(*interface);
            }
        }
        dataplane::init_eal(dataplane::eal_arguments(config.dataplane, "meshgated", file_prefix));
        const uint32_t workers = rte_lcore_count() - 1;
        if (workers == 0) throw std::runtime_error("dataplane.lcores: needs at least two lcores (control + one worker)");

        const auto ports = dataplane::find_ports(config.dataplane, workers);
        const unsigned mbufs = dataplane::packet_pool_size(ports, workers);
        rte_mempool* pool = rte_pktmbuf_pool_create("packets", mbufs, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE, static_cast<int>(rte_socket_id()));
        if (!pool) {
            throw std::runtime_error("packet pool of " + std::to_string(mbufs) + " buffers: out of memory (raise dataplane.memory_mb)");
        }
        dataplane::start_ports(ports, pool);
        for (const auto& p : ports) std::cerr << "meshgated: " << dataplane::describe(p.name, p.queues, workers) << "\n";
        const auto exception_ports = dataplane::start_exception_ports(config.dataplane, ports, workers, pool);
        std::vector<dataplane::SteeringMaps> steering;
        for (const auto& interface : steered) {
            steering.emplace_back(interface);
            std::cerr << "meshgated: " << interface << ": XDP steering program attached; the kernel keeps the rest\n";
        }

        // Rings between threads: handoff (packets to the worker that owns their flow), tx
        // inboxes (frames to send for a thread without a queue there), events (to the control thread).
        std::vector<rte_ring*> handoff, inboxes, events;
        // Per-endpoint counters by endpoint slot: room for this many endpoints (config and admin).
        constexpr size_t max_endpoints = 262144;
        std::vector<std::unique_ptr<dataplane::WorkerCounters>> counters;
        for (uint32_t w = 0; w < workers; ++w) {
            const std::string n = std::to_string(w);
            handoff.push_back(rte_ring_create(("handoff" + n).c_str(), 4096, SOCKET_ID_ANY, RING_F_SC_DEQ));
            inboxes.push_back(rte_ring_create(("txinbox" + n).c_str(), 4096, SOCKET_ID_ANY, RING_F_SC_DEQ));
            events.push_back(rte_ring_create_elem(("events" + n).c_str(), sizeof(dataplane::Event), 4096,
                                                  SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ));
            if (!handoff.back() || !inboxes.back() || !events.back()) throw std::runtime_error("rings: out of memory");
            counters.push_back(std::make_unique<dataplane::WorkerCounters>(max_endpoints, 4096));
        }
        std::vector<uint16_t> tx_queues(RTE_MAX_ETHPORTS, 0);
        for (const auto& p : ports) tx_queues[p.port_id] = p.queues.tx_queues;
        for (const auto& e : exception_ports) tx_queues[e.tap_port] = e.queues.tx_queues;
        const dataplane::TxInboxes tx(inboxes, tx_queues);

        dataplane::SnapshotPublisher publisher(workers);
        control::NeighbourResolver resolver(&tx, pool);
        control::ControlSetup cs;
        cs.config_path = config_path;
        cs.stats_file = stats_file;
        cs.publisher = &publisher;
        cs.resolver = &resolver;
        cs.pool = pool;
        cs.events = events;
        cs.ports = dataplane::port_info(config.dataplane, ports);
        for (const auto& p : ports) cs.port_descriptions.push_back(dataplane::describe(p.name, p.queues, workers));
        cs.exception_ports = exception_ports;
        cs.tx = tx;
        cs.steering = &steering;
        for (auto& c : counters) cs.counters.push_back(c.get());
        cs.signals = &signals;
        const dataplane::FlowTimeouts timeouts = config.dataplane.flow_timeouts;
        const uint32_t flow_capacity = config.dataplane.flow_table_size;
        const Duration idle_sleep = config.dataplane.idle_sleep;
        const bool hbone = config.hbone.has_value();
        control::ControlThread control(cs, std::move(config));
        // The HBONE proxy listens on the node's own stack (the exception path's taps, or an
        // AF_XDP port's interface) and picks endpoints from the same snapshots as the workers.
        std::unique_ptr<daemon::HboneCompanion> hbone_proxy;
        if (hbone) {
            hbone_proxy = std::make_unique<daemon::HboneCompanion>(publisher.latest(), process_cpus);
            control.add_companion(*hbone_proxy);
            std::cerr << "meshgated: hbone: listening on " << publisher.latest().lb->config().hbone->listen.to_string() << "\n";
        }

        std::vector<std::pair<uint16_t, dataplane::QueueLayout>> layouts;
        for (const auto& p : ports) layouts.emplace_back(p.port_id, p.queues);
        const auto rx = dataplane::assign_rx_queues(layouts, workers);
        std::vector<std::unique_ptr<dataplane::Worker>> worker_loops;
        std::vector<WorkerLaunch> launches(workers);
        for (uint32_t w = 0; w < workers; ++w) {
            dataplane::WorkerSetup s;
            s.id = w;
            s.count = workers;
            s.rx = rx[w];
            s.tx = tx;
            s.flow_capacity = flow_capacity;
            s.timeouts = timeouts;
            s.snapshot = &publisher.pointer();
            s.rcu = publisher.rcu();
            s.handoff = handoff;
            s.events = events[w];
            s.counters = counters[w].get();
            s.idle_sleep = idle_sleep;
            s.exception_port = dataplane::exception_map(exception_ports);
            worker_loops.push_back(std::make_unique<dataplane::Worker>(std::move(s)));
            launches[w].worker = worker_loops.back().get();
        }

        std::signal(SIGINT, on_signal);
        std::signal(SIGTERM, on_signal);
        std::signal(SIGHUP, on_signal);
        uint32_t w = 0;
        unsigned lcore;
        RTE_LCORE_FOREACH_WORKER(lcore) {
            rte_eal_remote_launch(worker_main, &launches[w++], lcore);
        }
        std::cerr << "meshgated: " << workers << " worker(s), " << ports.size() << " port(s); running\n";
        control.run();
        rte_eal_mp_wait_lcore();

        std::cout << control.counters().dump(2) << "\n";
        hbone_proxy.reset();  // after the counters: they include its own
        worker_loops.clear();
        for (const auto& e : exception_ports) {
            rte_eth_dev_stop(e.tap_port);
            rte_eth_dev_close(e.tap_port);
        }
        dataplane::stop_ports(ports);
    } catch (const std::exception& e) {
        std::cerr << "meshgated: " << e.what() << "\n";
        cleanup();
        return 1;
    }
    cleanup();
    return 0;
}
