// Update-to-visible latency of the slow path: an admin-style change to the LiveState, the
// re-plan of the touched services, the new LbState and Snapshot, the RCU publish, and the wait
// until a worker (a thread passing quiescent states in a loop, as Worker::poll_once does) has
// seen it. Printed as JSON lines:
//   snapshot_update_<services>x<endpoints>  p50/p99/max of single updates (one endpoint's weight)
//   snapshot_batch_<services>x<endpoints>   one batch changing every endpoint of every service
//   snapshot_full_<services>x<endpoints>    building the whole state from nothing (the baseline)
//   snapshot_bench [--repeat N] [--small]   (--small: without the 1,000 × 100 case)
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_rcu_qsbr.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "control/allocator_tuning.h"
#include "control/live_state.h"
#include "dataplane/eal.h"
#include "dataplane/snapshot_publisher.h"

namespace {

using namespace meshgate;
using Clock = std::chrono::steady_clock;

double us(Clock::duration d) { return std::chrono::duration<double, std::micro>(d).count(); }

Config make_config(uint32_t services, uint32_t endpoints_each) {
    Config c;
    c.node.name = "gw-1";
    c.node.cluster = "c1";
    c.node.network = "n1";
    c.node.region = "r1";
    c.node.zone = "z1";
    for (uint32_t s = 0; s < services; ++s) {
        Service svc;
        svc.name = "svc" + std::to_string(s);
        svc.ns = "bench";
        svc.vips.push_back(*IpAddress::parse("10.96." + std::to_string(s / 256) + "." + std::to_string(s % 256)));
        svc.ports.push_back({80, 8080, Protocol::tcp});
        c.services.push_back(svc);
        for (uint32_t e = 0; e < endpoints_each; ++e) {
            const uint32_t n = s * endpoints_each + e;
            Endpoint ep;
            ep.service = "bench/" + svc.name;
            ep.address = IpAddress::parse("10." + std::to_string(128 + n / 65536) + "." + std::to_string(n / 256 % 256) + "." +
                                          std::to_string(n % 256));
            ep.locality = {"n1", "r1", e % 2 ? "z1" : "z2", "", "", "c1"};
            c.endpoints.push_back(ep);
        }
    }
    return c;
}

// A stand-in worker on its own lcore, as meshgated's are: reads the snapshot pointer and
// reports a quiescent state, in a loop.
class Reader {
public:
    explicit Reader(dataplane::SnapshotPublisher& p) : publisher_(p) {
        rte_eal_remote_launch(loop, this, rte_get_next_lcore(-1, 1, 0));
    }
    ~Reader() {
        stop_ = true;
        rte_eal_mp_wait_lcore();
    }

private:
    static int loop(void* arg) {
        auto& self = *static_cast<Reader*>(arg);
        rte_rcu_qsbr_thread_register(self.publisher_.rcu(), 0);
        rte_rcu_qsbr_thread_online(self.publisher_.rcu(), 0);
        while (!self.stop_.load(std::memory_order_relaxed)) {
            self.seen_ = self.publisher_.pointer().load(std::memory_order_acquire)->generation;
            rte_rcu_qsbr_quiescent(self.publisher_.rcu(), 0);
        }
        rte_rcu_qsbr_thread_offline(self.publisher_.rcu(), 0);
        rte_rcu_qsbr_thread_unregister(self.publisher_.rcu(), 0);
        return 0;
    }
    dataplane::SnapshotPublisher& publisher_;
    std::atomic<bool> stop_{false};
    std::atomic<uint64_t> seen_{0};
};

struct Timings {
    double plan_us, publish_us, visible_us;
};

// Publishes the live state's changes and waits until the reader has passed a quiescent state.
Timings publish(control::LiveState& live, dataplane::SnapshotPublisher& publisher, const std::vector<dataplane::PortInfo>& ports,
                uint64_t& generation, std::shared_ptr<const dataplane::Neighbours>& neighbours, Clock::time_point changed) {
    const auto replan = live.take_replan();
    const dataplane::Snapshot* running = generation ? &publisher.latest() : nullptr;
    const dataplane::LbState* previous = running ? running->lb.get() : nullptr;
    auto lb = std::make_shared<const dataplane::LbState>(live.config(), ports, live.health(), previous, &replan,
                                                         live.membership_version());
    const auto planned = Clock::now();
    auto next = std::make_unique<dataplane::Snapshot>();
    next->generation = ++generation;
    next->lb = std::move(lb);
    next->neighbours = neighbours;
    next->endpoint_macs = dataplane::endpoint_macs(*next->lb, next->neighbours, running);
    const uint64_t token = publisher.publish(std::move(next));
    const auto published = Clock::now();
    while (!publisher.visible(token)) std::this_thread::yield();
    const auto visible = Clock::now();
    publisher.reclaim();  // after: meshgated frees old snapshots in later rounds
    return {us(planned - changed), us(published - planned), us(visible - changed)};
}

double percentile(std::vector<double> v, double q) {
    std::sort(v.begin(), v.end());
    return v[static_cast<size_t>(q * static_cast<double>(v.size() - 1))];
}

void run(uint32_t services, uint32_t endpoints_each, int repeat) {
    std::vector<dataplane::PortInfo> ports(1);
    ports[0].prefixes.push_back(*IpPrefix::parse("10.0.0.2/8"));
    ports[0].snat.push_back(*IpAddress::parse("10.0.0.3"));
    auto neighbours = std::make_shared<const dataplane::Neighbours>(1, std::vector<dataplane::NeighbourEntry>{});
    dataplane::SnapshotPublisher publisher(1);
    control::LiveState live(make_config(services, endpoints_each));
    uint64_t generation = 0;
    const std::string shape = std::to_string(services) + "x" + std::to_string(endpoints_each);

    const auto full = publish(live, publisher, ports, generation, neighbours, Clock::now());
    control::warm_table_heap(live.config().lb.maglev_table_size);  // as meshgated does after its first snapshot
    Reader reader(publisher);
    std::vector<double> plan, visible;
    for (int i = 0; i < repeat; ++i) {
        // One endpoint's weight, in a service that changes each time.
        const uint32_t slot = static_cast<uint32_t>((static_cast<uint64_t>(i) * 7919) % live.config().endpoints.size());
        const auto changed = Clock::now();
        live.set(slot, std::nullopt, 1 + static_cast<uint32_t>(i % 3));
        const auto t = publish(live, publisher, ports, generation, neighbours, changed);
        plan.push_back(t.plan_us);
        visible.push_back(t.visible_us);
    }
    std::printf("{\"benchmark\": \"snapshot_update_%s\", \"updates\": %d, \"plan_p50_us\": %.0f, \"visible_p50_us\": %.0f, "
                "\"visible_p99_us\": %.0f, \"visible_max_us\": %.0f, \"full_build_us\": %.0f, \"ratio_p99_to_full_build\": %.3f}\n",
                shape.c_str(), repeat, percentile(plan, 0.5), percentile(visible, 0.5), percentile(visible, 0.99),
                percentile(visible, 1.0), full.plan_us, percentile(visible, 0.99) / full.plan_us);

    const auto changed = Clock::now();
    for (uint32_t slot = 0; slot < live.config().endpoints.size(); ++slot) live.set(slot, std::nullopt, 2);
    const auto applied = Clock::now();
    const auto batch = publish(live, publisher, ports, generation, neighbours, changed);
    std::printf("{\"benchmark\": \"snapshot_batch_%s\", \"updates\": %zu, \"apply_us\": %.0f, \"plan_us\": %.0f, \"publish_us\": %.0f, "
                "\"visible_us\": %.0f}\n",
                shape.c_str(), live.config().endpoints.size(), us(applied - changed), batch.plan_us, batch.publish_us, batch.visible_us);
}

}  // namespace

int main(int argc, char** argv) {
    int repeat = 200;
    bool large = true;
    for (int i = 1; i < argc; ++i) {
        if (std::strcmp(argv[i], "--repeat") == 0 && i + 1 < argc) repeat = std::max(1, std::atoi(argv[++i]));
        if (std::strcmp(argv[i], "--small") == 0) large = false;
    }
    control::keep_table_memory_in_the_heap();  // as meshgated does
    dataplane::init_eal({"snapshot_bench", "-l", "0-1", "--no-huge", "-m", "2048", "--no-pci", "--file-prefix",
                         "snapbench" + std::to_string(getpid()), "--log-level=*:warning"});
    run(1, 10, repeat);
    run(100, 10, repeat);
    if (large) run(1000, 100, std::min(repeat, 50));
    rte_eal_cleanup();
    return 0;
}
