// The control thread as the admin API sees it: what each command reads and changes.
#include <malloc.h>

#include <iostream>

#include "config/load_config.h"
#include "control/control_thread.h"
#include "control/plan_json.h"
#include "control/prometheus.h"
#include "control/stats.h"

namespace meshgate::control {

namespace {

// Bytes the C++ heap holds for meshgated now (glibc's count: what is allocated, not what the
// process happens to have resident).
uint64_t heap_in_use() {
    const auto m = mallinfo2();
    return m.uordblks + m.hblkhd;
}

using nlohmann::json;

uint64_t seconds_since(std::chrono::steady_clock::time_point t) {
    return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - t).count());
}

json latency_json(const LatencyHistogram& h) {
    return {{"count", h.count()}, {"p50_us", h.quantile(0.5)}, {"p99_us", h.quantile(0.99)}, {"max_us", h.max()}};
}

// The plan entry of endpoint `slot` in its service's first hop: its level and share.
const lb::PlannedEndpoint* planned(const lb::ServicePlan& plan, uint32_t slot, uint32_t* priority) {
    for (const auto& level : plan.hops.back().levels) {
        for (const auto& e : level.endpoints) {
            if (e.id == slot) {
                *priority = level.priority;
                return &e;
            }
        }
    }
    return nullptr;
}

}  // namespace

uint64_t ControlThread::next_generation() {
    if (!batch_started_) batch_started_ = std::chrono::steady_clock::now();
    return generation_ + 1;
}

json ControlThread::status() {
    const auto& config = live_.config();
    size_t endpoints = 0;
    for (uint32_t slot = 0; slot < config.endpoints.size(); ++slot) endpoints += live_.occupied(slot);
    // Equal on two nodes exactly when they send every new flow alike (scale-out).
    json tables = json::object();
    for (const auto* plan : setup_.publisher->latest().lb->plan()) tables[plan->service] = tables_hash(*plan);
    return {{"version", MESHGATE_VERSION},
            {"node", config.node.name},
            {"config", setup_.config_path},
            {"uptime_seconds", seconds_since(started_)},
            {"workers", setup_.counters.size()},
            {"ports", setup_.port_descriptions},
            {"generation", generation_},
            {"visible_generation", visible_generation_},
            {"services", config.services.size()},
            {"endpoints", endpoints},
            {"admin_changes", live_.admin_changes()},
            {"admin_clients", admin_ ? admin_->clients() : 0},
            {"update_latency", latency_json(update_latency_)},
            {"rebuild_latency", latency_json(rebuild_latency_)},
            {"tables_hash", std::move(tables)},
            {"announce", announce_status()}};
}

json ControlThread::plan(const std::optional<std::string>& service) {
    const auto& lb = *setup_.publisher->latest().lb;
    auto plans = lb.plan();
    if (service) {
        std::erase_if(plans, [&](const lb::ServicePlan* p) { return p->service != *service; });
        if (plans.empty()) throw AdminError{"not_found", "no service " + *service};
    }
    json doc = plan_to_json(lb.config(), plans, lb.plan_warnings());
    doc["generation"] = setup_.publisher->latest().generation;
    return doc;
}

json ControlThread::endpoint_runtime(uint32_t slot) {
    const Totals t = totals_.endpoint(slot);
    json j = {{"active_flows", t.active_flows}, {"closing_flows", t.closing_flows}, {"new_flows", t.new_flows},
              {"packets", t.packets}, {"bytes", t.bytes}};
    if (auto check = health_.state(slot)) {
        j["check"] = {{"down", check->down}, {"last", check->last}, {"consecutive_successes", check->consecutive_successes},
                      {"consecutive_failures", check->consecutive_failures}};
    }
    if (auto x = outliers_.ejection(slot)) {
        const auto now = monotonic_now();
        const auto ms = [](Duration d) { return std::max<int64_t>(0, std::chrono::duration_cast<std::chrono::milliseconds>(d).count()); };
        j["ejection"] = {{"reason", x->reason}, {"for_ms", ms(now - x->since)}, {"remaining_ms", ms(x->until - now)}};
    }
    // What the running snapshot does with it (a change just made shows once published).
    const auto& lb = *setup_.publisher->latest().lb;
    const auto service = live_.service_index(live_.config().endpoints[slot].service);
    // (Right after a reload the live state is ahead of the snapshot: check it is the same service.)
    if (service && *service < lb.config().services.size() && lb.config().services[*service].key() == live_.config().endpoints[slot].service) {
        uint32_t priority = 0;
        if (const auto* p = planned(lb.service_plan(*service), slot, &priority)) {
            j["selectable"] = p->healthy && p->effective_weight > 0;
            j["priority"] = priority;
            j["share_percent"] = p->share_percent;
            if (!p->health_reason.empty()) j["reason"] = p->health_reason;
        } else {
            j["selectable"] = false;
        }
    }
    return j;
}

json ControlThread::stats() {
    auto doc = collect_stats(totals_, live_.config());
    doc["generation"] = generation_;
    doc["heap_bytes"] = heap_in_use();
    doc["neighbours"] = setup_.resolver->known();
    doc["update_latency"] = latency_json(update_latency_);
    doc["rebuild_latency"] = latency_json(rebuild_latency_);
    doc["health_checks"] = {{"targets", health_.targets()}, {"ok", health_.probes("ok")}, {"failed", health_.probes("failed")},
                            {"timeout", health_.probes("timeout")}};
    doc["outlier_detection"] = {{"ejections", outliers_.ejections_total()}, {"refused", outliers_.overflows()}};
    if (admin_) {
        const auto& a = admin_->counters();
        doc["admin"] = {{"connections", a.accepted}, {"refused", a.refused}, {"requests", a.requests},
                        {"errors", admin_errors_}, {"closed_oversized", a.closed_oversized}, {"closed_timeout", a.closed_timeout}};
    }
    for (auto* c : companions_) c->add_stats(doc);
    return doc;
}

std::string ControlThread::prometheus() {
    PrometheusWriter w;
    const auto& config = live_.config();
    w.gauge("meshgate_info", "meshgated's version and node", 1, {{"version", MESHGATE_VERSION}, {"node", config.node.name}});
    w.gauge("meshgate_uptime_seconds", "seconds since meshgated started", static_cast<double>(seconds_since(started_)));
    w.gauge("meshgate_heap_bytes", "bytes allocated on meshgated's heap (not counting DPDK's memory)", static_cast<double>(heap_in_use()));
    w.gauge("meshgate_snapshot_generation", "generation of the newest published snapshot", static_cast<double>(generation_));
    w.gauge("meshgate_snapshot_visible_generation", "newest snapshot generation every worker sees", static_cast<double>(visible_generation_));
    w.gauge("meshgate_node_draining", "1 while meshgatectl drain-node is in progress", mode_ == NodeMode::draining ? 1 : 0);
    for (const auto& a : announcements_) {
        w.gauge("meshgate_announced", "1 while the address's route is in the announce table", a.announce ? 1 : 0,
                {{"address", a.address.to_string()}, {"kind", a.vip ? "vip" : "snat"}});
    }
    for (size_t i = 0; i < setup_.counters.size(); ++i) {
        const auto& c = *setup_.counters[i];
        const MetricLabels worker = {{"worker", std::to_string(i)}};
        w.counter("meshgate_worker_rx_packets_total", "packets received from the ports", c.rx_packets.get(), worker);
        w.counter("meshgate_worker_rx_bytes_total", "bytes received from the ports", c.rx_bytes.get(), worker);
        w.counter("meshgate_worker_tx_packets_total", "packets sent", c.tx_packets.get(), worker);
        w.counter("meshgate_worker_new_flows_total", "flows pinned to an endpoint", c.new_flows.get(), worker);
        w.counter("meshgate_worker_expired_flows_total", "flows removed after their idle timeout", c.expired_flows.get(), worker);
        w.gauge("meshgate_worker_active_flows", "flows in the worker's flow table", static_cast<double>(c.active_flows.get()), worker);
        w.gauge("meshgate_worker_closing_flows", "of those, TCP flows closed both ways (FINs) or reset", static_cast<double>(c.closing_flows.get()), worker);
        w.counter("meshgate_worker_handoff_total", "packets handed over from another worker", c.handoff_in.get(), worker);
        w.counter("meshgate_worker_exception_packets_total", "packets passed to the node's kernel", c.exception_packets.get(), worker);
        w.counter("meshgate_worker_second_chance_sent_total", "segments of unknown connections passed to the next node of the tier",
                  c.second_chance_sent.get(), worker);
        w.counter("meshgate_worker_second_chance_served_total", "segments from another node whose flow this node had",
                  c.second_chance_served.get(), worker);
        for (size_t r = 1; r < static_cast<size_t>(dataplane::Drop::count_); ++r) {
            if (const uint64_t n = c.drops[r].get()) {
                w.counter("meshgate_worker_drops_total", "packets dropped, by reason", n,
                          {{"worker", std::to_string(i)}, {"reason", dataplane::to_string(static_cast<dataplane::Drop>(r))}});
            }
        }
    }
    for (uint32_t s = 0; s < config.services.size(); ++s) {
        const Totals t = totals_.service(s);
        const uint64_t packets = t.packets, bytes = t.bytes, new_flows = t.new_flows, active = t.active_flows, refused = t.refused;
        const MetricLabels service = {{"service", config.services[s].key()}};
        w.counter("meshgate_service_packets_total", "packets of the service's flows, both directions", packets, service);
        w.counter("meshgate_service_bytes_total", "bytes of the service's flows, both directions", bytes, service);
        w.counter("meshgate_service_new_flows_total", "new flows to the service", new_flows, service);
        w.counter("meshgate_service_refused_flows_total", "new flows refused: no endpoint, route, SNAT port or table room", refused, service);
        w.gauge("meshgate_service_active_flows", "flows of the service", static_cast<double>(active), service);
    }
    for (uint32_t slot = 0; slot < config.endpoints.size(); ++slot) {
        if (!live_.occupied(slot)) continue;
        const auto& e = config.endpoints[slot];
        const Service* service = live_.service(e.service);
        const MetricLabels labels = {{"service", e.service}, {"endpoint", lb::endpoint_key(config, *service, e)},
                                     {"zone", e.locality.zone}, {"region", e.locality.region}};
        const json runtime = endpoint_runtime(slot);
        const auto& health = live_.health()[slot];
        w.counter("meshgate_endpoint_packets_total", "packets of the endpoint's flows", runtime["packets"].get<uint64_t>(), labels);
        w.counter("meshgate_endpoint_bytes_total", "bytes of the endpoint's flows", runtime["bytes"].get<uint64_t>(), labels);
        w.counter("meshgate_endpoint_new_flows_total", "new flows sent to the endpoint", runtime["new_flows"].get<uint64_t>(), labels);
        w.gauge("meshgate_endpoint_active_flows", "flows pinned to the endpoint", runtime["active_flows"].get<double>(), labels);
        w.gauge("meshgate_endpoint_weight", "the endpoint's weight (0: draining)", e.weight, labels);
        w.gauge("meshgate_endpoint_healthy", "1 when declared healthy and passing health checks", e.healthy && !health.check_down, labels);
        w.gauge("meshgate_endpoint_ejected", "1 while outlier detection ejects the endpoint", health.ejected, labels);
        w.gauge("meshgate_endpoint_selectable", "1 when new flows can be sent to the endpoint",
                runtime.value("selectable", false) ? 1 : 0, labels);
    }
    for (const char* result : {"ok", "failed", "timeout"}) {
        w.counter("meshgate_health_checks_total", "active health check probes, by result", health_.probes(result), {{"result", result}});
    }
    w.counter("meshgate_outlier_ejections_total", "endpoints ejected by outlier detection", outliers_.ejections_total());
    w.counter("meshgate_outlier_ejections_refused_total", "ejections refused by max_ejection_percent", outliers_.overflows());
    w.histogram_seconds("meshgate_update_visible_seconds", "from an update's arrival to its snapshot being seen by every worker", update_latency_);
    w.histogram_seconds("meshgate_snapshot_rebuild_seconds", "time to plan and build one snapshot", rebuild_latency_);
    if (admin_) {
        const auto& a = admin_->counters();
        w.counter("meshgate_admin_connections_total", "admin socket connections accepted", a.accepted);
        w.counter("meshgate_admin_refused_total", "admin connections refused: too many clients", a.refused);
        w.counter("meshgate_admin_requests_total", "admin requests", a.requests);
        w.counter("meshgate_admin_errors_total", "admin requests answered with an error", admin_errors_);
    }
    for (auto* c : companions_) c->add_metrics(w);
    return w.text();
}

json ControlThread::reload(bool discard_admin) {
    // The service manager hears of the reload, and of its end whether it worked or not.
    notifier_.reloading();
    struct Done {
        ServiceNotifier& n;
        ~Done() { n.ready(); }
    } done{notifier_};
    auto loaded = config::load_config_file(setup_.config_path);
    if (!loaded.config) {
        std::string why = "reload of " + setup_.config_path + " failed; keeping snapshot " + std::to_string(generation_) + ":";
        for (const auto& d : loaded.diagnostics.errors()) why += "\n  " + d.to_string();
        throw AdminError{"failed", why};
    }
    json notes = json::array();
    const auto& running = live_.config();
    if (loaded.config->dataplane.ports.size() != running.dataplane.ports.size() ||
        loaded.config->admin.socket != running.admin.socket) {
        notes.push_back("[dataplane] ports and [admin] changes need a restart; the rest is applied");
    }
    const auto& announce = loaded.config->announce;
    if (announce.table != running.announce.table || announce.device != running.announce.device) {
        notes.push_back("[announce] table and device changes need a restart; its other settings are applied");
        loaded.config->announce.table = running.announce.table;
        loaded.config->announce.device = running.announce.device;
    }
    loaded.config->dataplane = running.dataplane;
    loaded.config->admin = running.admin;
    const auto report = live_.reload(std::move(*loaded.config), discard_admin);
    update_steering();
    return {{"services", {{"before", report.services_before}, {"after", report.services_after}}},
            {"endpoints", {{"added", report.endpoints_added}, {"removed", report.endpoints_removed}, {"changed", report.endpoints_changed}}},
            {"admin_changes_kept", report.admin_changes_kept},
            {"admin_changes_dropped", report.admin_changes_dropped},
            {"notes", notes}};
}

}  // namespace meshgate::control
