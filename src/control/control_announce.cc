// Scale-out: which addresses the node's routing daemon announces, drain-node, and shutdown.
#include <rte_byteorder.h>

#include <cstring>
#include <iostream>

#include "control/control_thread.h"
#include "lb/planner.h"

namespace meshgate::control {

namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

}  // namespace

void ControlThread::open_announcer() {
    const auto& a = live_.config().announce;
    if (!a.enabled()) return;
    routes_ = std::make_unique<netlink::HostRoutes>(a.device, a.table);
    std::cerr << "meshgated: announcing through table " << a.table << " (interface " << a.device << ")\n";
}

void ControlThread::update_announcements() {
    // Once per snapshot or change of mode (workers see a snapshot within microseconds, routers
    // react in milliseconds); a route the kernel refused is tried again once a second.
    if (!routes_) return;  // [announce] is off: nothing to decide
    const auto now = Clock::now();
    const bool retry = !announce_errors_.empty() && now - last_announce_attempt_ >= std::chrono::seconds(1);
    if (announced_generation_ == generation_ && announced_mode_ == mode_ && !retry) return;
    last_announce_attempt_ = now;
    const auto& lb = *setup_.publisher->latest().lb;
    announcements_ = plan_announcements(lb.config(), lb.plan(), mode_);
    announced_generation_ = generation_;
    announced_mode_ = mode_;
    std::set<IpAddress> wanted;
    for (const auto& a : announcements_) {
        if (a.announce) wanted.insert(a.address);
    }
    const auto before = routes_->routes();
    announce_errors_ = routes_->set(wanted);
    for (const auto& e : announce_errors_) std::cerr << "meshgated: " << e << "\n";
    for (auto& a : announcements_) {
        const bool in_table = routes_->routes().count(a.address) > 0;
        if (a.announce && !in_table) a.why += "; the kernel refused the route";
        a.announce = in_table;
        if (in_table != (before.count(a.address) > 0)) {
            std::cerr << "meshgated: " << (in_table ? "announcing " : "withdrew ") << a.address.to_string() << " (" << a.why << ")\n";
        }
    }
}

void ControlThread::progress_node_drain() {
    const auto now = Clock::now();
    if (!node_drain_.active() || now - last_drain_look_ < std::chrono::milliseconds(100)) return;
    last_drain_look_ = now;
    uint64_t new_flows = 0, open = 0;
    for (const auto* w : setup_.counters) {
        new_flows += w->new_flows.get();
        open += w->active_flows.get() - std::min(w->active_flows.get(), w->closing_flows.get());
    }
    if (node_drain_.progress(now, new_flows, open, live_.config().announce)) {
        std::cerr << "meshgated: drain-node done: " << node_drain_.to_json(now, live_.config().announce).dump() << "\n";
        setup_.signals->stop.store(true);
    }
}

void ControlThread::begin_stop() {
    bool vips_announced = false;
    for (const auto& a : announcements_) vips_announced = vips_announced || (a.vip && a.announce);
    mode_ = NodeMode::stopping;
    notifier_.stopping();
    update_announcements();
    // Serve on while the routers hear the withdrawal; a drained node has nothing to wait for.
    stop_at_ = Clock::now() + (routes_ && vips_announced ? live_.config().announce.withdraw_delay : Duration{});
    if (routes_ && vips_announced) {
        std::cerr << "meshgated: VIPs withdrawn; serving for " << format_duration(live_.config().announce.withdraw_delay)
                  << " more before stopping\n";
    }
}

bool ControlThread::stop_done() const { return mode_ == NodeMode::stopping && Clock::now() >= *stop_at_; }

json ControlThread::drain_node(bool cancel) {
    if (mode_ == NodeMode::stopping) throw AdminError{"conflict", "meshgated is stopping"};
    if (!routes_) {
        throw AdminError{"failed", "nothing is announced: [announce].table is not set in " + setup_.config_path};
    }
    if (cancel) {
        if (mode_ != NodeMode::draining) throw AdminError{"conflict", "the node is not draining"};
        node_drain_.cancel();
        mode_ = ready_ ? NodeMode::serving : NodeMode::starting;
        update_announcements();
        std::cerr << "meshgated: drain-node cancelled\n";
        return announce_status();
    }
    if (mode_ != NodeMode::draining) {
        uint64_t new_flows = 0;
        for (const auto* w : setup_.counters) new_flows += w->new_flows.get();
        node_drain_.start(Clock::now(), new_flows);
        mode_ = NodeMode::draining;
        update_announcements();
        std::cerr << "meshgated: drain-node: VIPs withdrawn\n";
    }
    return announce_status();
}

// Second chance's ring follows the peers whose data planes answer (peer_liveness.h).
void ControlThread::probe_peers() {
    const auto& running = setup_.publisher->latest();
    if (!peers_->tick(*running.lb, *running.neighbours, monotonic_now())) return;
    if (!live_.dirty()) publish_neighbours();  // else the pending publish carries the new ring
    const auto ring = peers_->ring(*running.lb);
    std::string said;
    if (!ring.unusable_because.empty()) said = ring.unusable_because;
    else if (ring.enabled) said = "second chance: next node " + ring.next.to_address().to_string() + ", " +
                                  std::to_string(ring.members - 1) + " of " + std::to_string(ring.peers.size()) + " peers answer";
    else said = "second chance: no peer answers; unknown connections are reset here";
    if (said != ring_said_) std::cerr << "meshgated: " << said << "\n";
    ring_said_ = said;
}

json ControlThread::announce_status() {
    const auto& a = live_.config().announce;
    json j = {{"mode", to_string(mode_)},
              {"enabled", a.enabled()},
              {"routes", announcements_json(announcements_)}};
    if (routes_) {
        j["table"] = routes_->table();
        j["device"] = routes_->device();
    }
    if (!announce_errors_.empty()) j["errors"] = announce_errors_;
    if (node_drain_.active()) j["drain"] = node_drain_.to_json(Clock::now(), a);
    if (!a.peers.empty()) j["peers"] = peers_->status(monotonic_now());
    return j;
}

json ControlThread::lookup(const std::vector<lb::FlowKey>& flows) {
    const auto& s = setup_.publisher->latest();
    const auto& config = s.lb->config();
    json list = json::array();
    for (const auto& f : flows) {
        dataplane::VipKey key{};
        std::memcpy(key.address, f.destination.bytes().data(), 16);
        key.port = rte_cpu_to_be_16(f.destination_port);
        key.protocol = f.protocol;
        key.family = f.destination.is_v4() ? 4 : 6;
        const dataplane::VipEntry* vip = s.lb->find_vip(key);
        if (!vip) {
            list.push_back({{"service", nullptr}, {"endpoint", nullptr}, {"why", "no VIP at that address and port"}});
            continue;
        }
        // The data plane's own choice for a new flow: the same hash, the same table.
        const uint32_t id = vip->table->pick(lb::hash_flow(f));
        const auto& service = config.services[vip->service];
        if (id == lb::SelectionTable::no_endpoint) {
            list.push_back({{"service", service.key()}, {"endpoint", nullptr}, {"why", "refused: no endpoint can be chosen"}});
            continue;
        }
        const auto& endpoint = config.endpoints[id];  // of the service, or of its waypoint
        const Service* owner = config.find_service(endpoint.service);
        list.push_back({{"service", service.key()}, {"endpoint", owner ? lb::endpoint_key(config, *owner, endpoint) : ""}});
    }
    return {{"generation", s.generation}, {"flows", std::move(list)}};
}

}  // namespace meshgate::control
