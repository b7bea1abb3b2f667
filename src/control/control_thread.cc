#include "control/control_thread.h"

#include <linux/rtnetlink.h>

#include <set>

#include <rte_ring.h>

#include <fstream>
#include <iostream>

#include "config/load_config.h"
#include "control/allocator_tuning.h"
#include "control/stats.h"

namespace meshgate::control {

MonotonicTime monotonic_now() { return std::chrono::steady_clock::now().time_since_epoch(); }

namespace {

uint64_t monotonic_ns() {
    return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                     std::chrono::steady_clock::now().time_since_epoch()).count());
}

uint64_t microseconds(std::chrono::steady_clock::duration d) {
    return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(d).count());
}

}  // namespace

ControlThread::ControlThread(ControlSetup setup, Config config)
    : setup_(std::move(setup)), totals_(setup_.counters), live_(std::move(config)),
      idle_(std::chrono::microseconds(200),
            std::chrono::microseconds(dataplane::kernel_wake_fds(setup_.exception_ports) ? 2000 : 200)),
      kernel_wake_(dataplane::kernel_wake_fds(setup_.exception_ports).value_or(std::vector<int>{})),
      peers_(std::make_unique<PeerLiveness>(&setup_.tx, setup_.pool)) {
    update_steering();
    open_announcer();
    follow_membership();
    publish();
    warm_table_heap(live_.config().lb.maglev_table_size);
    const auto& admin = live_.config().admin;
    listener_ = std::make_unique<UnixListener>(admin.socket, static_cast<mode_t>(admin.socket_mode), admin.socket_group);
    admin_ = std::make_unique<AdminServer>(listener_->fd(), [this](std::string_view request) {
        auto reply = handle_admin_request(request, *this);
        admin_errors_ += !reply.ok;
        return reply;
    });
    std::cerr << "meshgated: admin socket " << admin.socket << "\n";
    if (admin.metrics_listen) {
        metrics_ = std::make_unique<MetricsServer>(*admin.metrics_listen, [this](const std::string& path) -> HttpAnswer {
            if (path == "/metrics") return {200, "text/plain; version=0.0.4; charset=utf-8", prometheus()};
            if (path == "/healthz") return {200, "text/plain; charset=utf-8", "ok\n"};
            if (path == "/readyz") {
                // Ready once every worker sees a snapshot: ports are up and new flows are placed.
                if (visible_generation_ >= 1) return {200, "text/plain; charset=utf-8", "ready\n"};
                return {503, "text/plain; charset=utf-8", "starting\n"};
            }
            return {404, "text/plain; charset=utf-8", "try /metrics, /healthz or /readyz\n"};
        });
        std::cerr << "meshgated: metrics on http://" << admin.metrics_listen->to_string() << "/metrics\n";
    }
}

namespace {

// The gateway role's VIPs (forwarding = "hbone", with [hbone]): the node's kernel takes their
// connections, for the HBONE proxy. `only`: those no NAT service shares, which the data plane
// need not see at all.
std::set<IpAddress> gateway_vips(const Config& config, bool only) {
    std::set<IpAddress> hbone, nat;
    for (const auto& s : config.services) {
        auto& into = s.forwarding == Forwarding::hbone && config.hbone ? hbone : nat;
        into.insert(s.vips.begin(), s.vips.end());
    }
    if (only) std::erase_if(hbone, [&](const IpAddress& a) { return nat.count(a) > 0; });
    return hbone;
}

}  // namespace

void ControlThread::update_gateway_vips() {
    const auto vips = gateway_vips(live_.config(), false);
    if (vips.empty() && !local_vips_) return;
    if (!local_vips_) {
        try {
            local_vips_ = std::make_unique<netlink::HostRoutes>(gateway_vip_device, RT_TABLE_LOCAL, netlink::HostRoutes::Kind::local);
        } catch (const std::exception& e) {
            if (generation_ == 0) throw;  // at start: meshgated says why and does not run
            // A reload that first brings gateway VIPs must not take the running daemon down.
            std::cerr << "meshgated: gateway VIPs: " << e.what() << "; their connections fail until this is fixed\n";
            return;
        }
    }
    for (const auto& e : local_vips_->set(vips)) std::cerr << "meshgated: gateway VIPs: " << e << "\n";
}

void ControlThread::update_steering() {
    update_gateway_vips();
    if (!setup_.steering) return;
    // What the XDP programs send to meshgated: every VIP and SNAT address, but the gateway
    // role's VIPs, which stay with the kernel.
    std::vector<IpAddress> owned;
    const auto& config = live_.config();
    const auto kernels = gateway_vips(config, true);
    for (const auto& service : config.services) {
        for (const auto& vip : service.vips) {
            if (!kernels.count(vip)) owned.push_back(vip);
        }
    }
    for (const auto& port : config.dataplane.ports) owned.insert(owned.end(), port.snat.begin(), port.snat.end());
    for (auto& maps : *setup_.steering) maps.update(owned, config.announce.peers);
}

void ControlThread::follow_membership() {
    if (live_.membership_version() == followed_membership_) return;
    followed_membership_ = live_.membership_version();
    std::vector<std::string> endpoints(live_.config().endpoints.size()), services;
    for (uint32_t slot = 0; slot < endpoints.size(); ++slot) endpoints[slot] = live_.slot_identity(slot);
    for (const auto& s : live_.config().services) services.push_back(s.key());
    totals_.follow(endpoints, services);
    outliers_.sync(live_);
    health_.sync(live_, monotonic_now());
}

void ControlThread::note_update() {
    if (live_.dirty() && !batch_started_) batch_started_ = std::chrono::steady_clock::now();
}

void ControlThread::add_companion(Companion& c) {
    companions_.push_back(&c);
    if (auto* p = c.prober()) health_.set_remote(p);
    c.published(setup_.publisher->latest());
}

void ControlThread::publish() {
    const auto begin = std::chrono::steady_clock::now();
    const auto replan = live_.take_replan();
    const dataplane::Snapshot* running = generation_ ? &setup_.publisher->latest() : nullptr;
    const dataplane::LbState* previous = running ? running->lb.get() : nullptr;
    auto lb = std::make_shared<const dataplane::LbState>(live_.config(), setup_.ports, live_.health(), previous, &replan,
                                                         live_.membership_version());
    auto next = std::make_unique<dataplane::Snapshot>();
    next->generation = ++generation_;
    next->lb = std::move(lb);
    next->neighbours = setup_.resolver->table(generation_);
    next->endpoint_macs = dataplane::endpoint_macs(*next->lb, next->neighbours, running);
    next->peers = peers_->ring(*next->lb);
    const uint64_t token = setup_.publisher->publish(std::move(next));
    for (auto* c : companions_) c->published(setup_.publisher->latest());
    rebuild_latency_.record(microseconds(std::chrono::steady_clock::now() - begin));
    setup_.resolver->want_next_hops(*setup_.publisher->latest().lb);
    in_flight_.push_back({generation_, token, batch_started_});
    batch_started_.reset();
}

// New neighbours only: the load-balancing state is shared with the running snapshot.
void ControlThread::publish_neighbours() {
    const auto& running = setup_.publisher->latest();
    auto next = std::make_unique<dataplane::Snapshot>();
    next->generation = ++generation_;
    next->lb = running.lb;
    next->neighbours = setup_.resolver->table(generation_);
    next->endpoint_macs = dataplane::endpoint_macs(*next->lb, next->neighbours, &running);
    next->peers = peers_->ring(*next->lb);
    const uint64_t token = setup_.publisher->publish(std::move(next));
    for (auto* c : companions_) c->published(setup_.publisher->latest());
    in_flight_.push_back({generation_, token, std::nullopt});
}

void ControlThread::track_visibility() {
    const auto now = std::chrono::steady_clock::now();
    while (!in_flight_.empty() && setup_.publisher->visible(in_flight_.front().token)) {
        const auto& done = in_flight_.front();
        visible_generation_ = done.generation;
        if (done.first_update) update_latency_.record(microseconds(now - *done.first_update));
        in_flight_.pop_front();
    }
}

size_t ControlThread::drain_events() {
    bool changed = false;
    size_t drained = 0;
    dataplane::Event e;
    const MonotonicTime now = monotonic_now();
    for (auto* ring : setup_.events) {
        while (rte_ring_sc_dequeue_elem(ring, &e, sizeof e) == 0) {
            ++drained;
            switch (e.kind) {
                case dataplane::Event::Kind::connect_succeeded:
                    outliers_.record(e.endpoint, lb::ConnectResult::success, now, live_);
                    break;
                case dataplane::Event::Kind::connect_failed:
                    outliers_.record(e.endpoint, lb::ConnectResult::failure, now, live_);
                    break;
                case dataplane::Event::Kind::connect_timed_out:
                    outliers_.record(e.endpoint, lb::ConnectResult::timeout, now, live_);
                    break;
                case dataplane::Event::Kind::peer_answered:
                    peers_->answered(e.address, now);
                    break;
                default:
                    changed = setup_.resolver->learn(e) || changed;
            }
        }
    }
    for (auto* c : companions_) {
        for (const auto& [slot, result] : c->take_connect_outcomes()) outliers_.record(slot, result, now, live_);
    }
    note_update();
    if (changed && !live_.dirty()) publish_neighbours();
    return drained;
}

void ControlThread::reload_on_signal() {
    try {
        const auto result = reload(false);
        std::cerr << "meshgated: reload: " << result.dump() << "\n";
    } catch (const AdminError& e) {
        std::cerr << "meshgated: " << e.message << "\n";
    }
}

void ControlThread::write_stats() {
    if (setup_.stats_file.empty()) return;
    const auto tmp = setup_.stats_file + ".tmp";
    {
        std::ofstream out(tmp);
        out << stats().dump(2) << "\n";
    }
    std::rename(tmp.c_str(), setup_.stats_file.c_str());
}

void ControlThread::run() {
    auto last_stats = std::chrono::steady_clock::now();
    while (!stop_done()) {
        if (setup_.signals->stop.load() && mode_ != NodeMode::stopping) begin_stop();
        if (setup_.signals->reload.exchange(false)) reload_on_signal();
        const size_t events = drain_events();
        track_visibility();
        if (!ready_ && visible_generation_ >= 1) {
            ready_ = true;
            if (mode_ == NodeMode::starting) mode_ = NodeMode::serving;
            notifier_.ready();
            notifier_.status("serving " + std::to_string(live_.config().services.size()) + " services");
        }
        notifier_.keepalive(std::chrono::steady_clock::now());
        admin_->poll(visible_generation_);
        if (metrics_) metrics_->poll();
        const MonotonicTime now = monotonic_now();
        follow_membership();  // before probing: admin updates may have added or removed endpoints
        health_.poll(now, live_, outliers_);
        outliers_.tick(now, live_);
        note_update();
        if (live_.dirty()) publish();  // everything this round changed, as one snapshot
        update_announcements();
        progress_node_drain();
        probe_peers();
        setup_.resolver->solicit(*setup_.publisher->latest().lb, monotonic_ns());
        setup_.publisher->reclaim();
        if (std::chrono::steady_clock::now() - last_stats > std::chrono::seconds(1)) {
            write_stats();
            last_stats = std::chrono::steady_clock::now();
        }
        const uint32_t from_kernel = dataplane::forward_from_kernel(setup_.exception_ports, setup_.tx);
        kernel_wake_.round(from_kernel);
        // Sleep only when idle: a snapshot waiting to be seen, packets from the kernel or worker
        // events mean another round at once. The kernel's next packet ends the sleep.
        const bool busy = !in_flight_.empty() || events > 0 || from_kernel > 0;
        if (const auto pause = idle_.after_round(busy); pause.count() > 0) kernel_wake_.sleep(pause);
    }
    write_stats();
}

}  // namespace meshgate::control
