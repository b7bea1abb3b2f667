#include "control/control_thread.h"

#include <rte_ring.h>

#include <chrono>
#include <fstream>
#include <iostream>
#include <thread>

#include "config/load_config.h"
#include "control/stats.h"
#include "lb/planner.h"

namespace meshgate::control {

namespace {

uint64_t monotonic_ns() {
    return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                     std::chrono::steady_clock::now().time_since_epoch()).count());
}

}  // namespace

ControlThread::ControlThread(ControlSetup setup) : setup_(std::move(setup)) {}

void ControlThread::publish(std::shared_ptr<const dataplane::LbState> lb) {
    auto next = std::make_unique<dataplane::Snapshot>();
    next->generation = ++generation_;
    next->lb = std::move(lb);
    next->neighbours = setup_.resolver->table(generation_);
    next->endpoint_macs = dataplane::endpoint_macs(*next->lb, *next->neighbours);
    setup_.publisher->publish(std::move(next));
}

void ControlThread::publish_config(Config config) {
    const auto health = lb::declared_health(config);
    auto plan = lb::build_plan(config, health);
    const size_t services = config.services.size(), endpoints = config.endpoints.size();
    if (setup_.steering) {
        // What the XDP programs send to meshgated: every VIP and SNAT address.
        std::vector<IpAddress> owned;
        for (const auto& service : config.services) owned.insert(owned.end(), service.vips.begin(), service.vips.end());
        for (const auto& port : config.dataplane.ports) owned.insert(owned.end(), port.snat.begin(), port.snat.end());
        for (auto& maps : *setup_.steering) maps.update(owned);
    }
    publish(std::make_shared<const dataplane::LbState>(std::move(config), std::move(plan), setup_.ports, health));
    std::cerr << "meshgated: snapshot " << generation_ << " published (" << services << " services, " << endpoints
              << " endpoints)\n";
}

void ControlThread::drain_events() {
    bool changed = false;
    dataplane::Event e;
    for (auto* ring : setup_.events) {
        while (rte_ring_sc_dequeue_elem(ring, &e, sizeof e) == 0) changed = setup_.resolver->learn(e) || changed;
    }
    if (changed) publish(setup_.publisher->latest().lb);
}

void ControlThread::reload() {
    auto loaded = config::load_config_file(setup_.config_path);
    if (!loaded.config) {
        std::cerr << "meshgated: reload of " << setup_.config_path << " failed; keeping snapshot " << generation_ << ":\n";
        for (const auto& d : loaded.diagnostics.errors()) std::cerr << "  " << d.to_string() << "\n";
        return;
    }
    const auto& running = setup_.publisher->latest().lb->config();
    if (loaded.config->dataplane.ports.size() != running.dataplane.ports.size()) {
        std::cerr << "meshgated: reload: [[dataplane.port]] changes need a restart; applying the rest\n";
    }
    loaded.config->dataplane = running.dataplane;
    publish_config(std::move(*loaded.config));
}

void ControlThread::write_stats() const {
    if (setup_.stats_file.empty()) return;
    auto doc = collect_stats(setup_.counters, setup_.publisher->latest().lb->config());
    doc["generation"] = generation_;
    doc["neighbours"] = setup_.resolver->known();
    const auto tmp = setup_.stats_file + ".tmp";
    {
        std::ofstream out(tmp);
        out << doc.dump(2) << "\n";
    }
    std::rename(tmp.c_str(), setup_.stats_file.c_str());
}

void ControlThread::run() {
    auto last_stats = std::chrono::steady_clock::now();
    while (!setup_.signals->stop.load()) {
        if (setup_.signals->reload.exchange(false)) reload();
        drain_events();
        setup_.resolver->solicit(*setup_.publisher->latest().lb, monotonic_ns());
        setup_.publisher->reclaim();
        if (std::chrono::steady_clock::now() - last_stats > std::chrono::seconds(1)) {
            write_stats();
            last_stats = std::chrono::steady_clock::now();
        }
        // Sleep only when idle: the kernel's traffic waits at most one round.
        if (dataplane::forward_from_kernel(setup_.exception_ports, setup_.tx) == 0) {
            std::this_thread::sleep_for(std::chrono::microseconds(200));
        }
    }
    write_stats();
}

}  // namespace meshgate::control
