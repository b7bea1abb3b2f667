#include "daemon/hbone_companion.h"

#include "hbone/verified_chains.h"

namespace meshgate::daemon {

namespace {

// A snapshot's load-balancing state as the HBONE proxy reads it.
class LbCatalog final : public hbone::Catalog {
public:
    LbCatalog(uint64_t generation, std::shared_ptr<const dataplane::LbState> lb) : generation_(generation), lb_(std::move(lb)) {}
    uint64_t generation() const override { return generation_; }
    const Config& config() const override { return lb_->config(); }
    const lb::SelectionTable& backends(uint32_t service) const override { return lb_->service_plan(service).hops.back().table; }
    const lb::SelectionTable* waypoint_hop(uint32_t service) const override {
        const auto& hops = lb_->service_plan(service).hops;
        return hops.size() > 1 && hops.front().hop == lb::Hop::waypoint ? &hops.front().table : nullptr;
    }

private:
    uint64_t generation_;
    std::shared_ptr<const dataplane::LbState> lb_;
};

}  // namespace

HboneCompanion::HboneCompanion(const dataplane::Snapshot& running, const cpu_set_t& cpus)
    : followed_(running.lb.get()),
      proxy_(std::make_unique<hbone::Proxy>(*running.lb->config().hbone, std::make_shared<LbCatalog>(running.generation, running.lb))) {
    proxy_->start(&cpus);
}

HboneCompanion::~HboneCompanion() { proxy_->stop(); }

void HboneCompanion::published(const dataplane::Snapshot& snapshot) {
    if (snapshot.lb.get() == followed_) return;  // new neighbours only: the same plan
    followed_ = snapshot.lb.get();
    proxy_->update(std::make_shared<LbCatalog>(snapshot.generation, snapshot.lb));
}

void HboneCompanion::add_stats(nlohmann::json& doc) {
    const auto t = proxy_->totals();
    const auto chains = hbone::VerifiedChains::totals();
    nlohmann::json failures = nlohmann::json::object();
    for (size_t i = 0; i < t.handshake_failures.size(); ++i) {
        failures[hbone::to_string(static_cast<hbone::HandshakeFailure>(i))] = t.handshake_failures[i];
    }
    doc["hbone"] = {
        {"connections", t.connections},
        {"connections_open", t.connections_open},
        {"connections_refused", t.connections_refused},
        {"tunnels", t.tunnels},
        {"handshake_failures", failures},
        {"streams", t.streams},
        {"streams_open", t.streams_open},
        {"answers", {{"400", t.answered_400}, {"401", t.answered_401}, {"503", t.answered_503}, {"other", t.answered_other}}},
        {"upstream_connect_failures", t.upstream_connect_failures},
        {"bytes_to_upstream", t.bytes_to_upstream},
        {"bytes_from_upstream", t.bytes_from_upstream},
        {"protocol_errors", t.protocol_errors},
        {"keepalive_timeouts", t.keepalive_timeouts},
        {"tls_reloads", t.tls_reloads},
        {"tls_reload_failures", t.tls_reload_failures},
        {"chain_verifications", {{"verified", chains.verified}, {"remembered", chains.remembered}}},
        {"outcomes_dropped", t.outcomes_dropped},
        {"identities", proxy_->identities()},
        {"pool", {{"connections", t.pool_connections}, {"connections_open", t.pool_connections_open},
                  {"connect_failures", t.pool_connect_failures}, {"handshake_failures", t.pool_handshake_failures},
                  {"refused_streams", t.pool_refused_streams}, {"double_hbone_streams", t.double_hbone_streams}}},
        {"gateway", {{"listeners", t.gateway_listeners}, {"connections", t.gateway_connections},
                     {"connections_open", t.gateway_connections_open}}},
    };
}

void HboneCompanion::add_metrics(control::PrometheusWriter& w) {
    const auto t = proxy_->totals();
    w.counter("meshgate_hbone_connections_total", "TCP connections accepted on the HBONE port", t.connections);
    w.gauge("meshgate_hbone_connections_open", "HBONE connections open", static_cast<double>(t.connections_open));
    w.counter("meshgate_hbone_connections_refused_total", "HBONE connections refused: too many open", t.connections_refused);
    w.counter("meshgate_hbone_tunnels_total", "HBONE connections whose mutual TLS handshake and checks passed", t.tunnels);
    for (size_t i = 0; i < t.handshake_failures.size(); ++i) {
        w.counter("meshgate_hbone_handshake_failures_total", "HBONE clients refused at the TLS handshake, by reason", t.handshake_failures[i],
                  {{"reason", hbone::to_string(static_cast<hbone::HandshakeFailure>(i))}});
    }
    w.counter("meshgate_hbone_streams_total", "CONNECT streams answered 200", t.streams);
    w.gauge("meshgate_hbone_streams_open", "CONNECT streams open", static_cast<double>(t.streams_open));
    for (const auto& [status, n] : {std::pair{"400", t.answered_400}, {"401", t.answered_401}, {"503", t.answered_503}, {"other", t.answered_other}}) {
        w.counter("meshgate_hbone_refused_streams_total", "CONNECT streams refused, by status", n, {{"status", status}});
    }
    w.counter("meshgate_hbone_upstream_connect_failures_total", "upstream connections that failed or timed out", t.upstream_connect_failures);
    w.counter("meshgate_hbone_bytes_total", "bytes spliced through CONNECT streams", t.bytes_to_upstream, {{"direction", "to_upstream"}});
    w.counter("meshgate_hbone_bytes_total", "bytes spliced through CONNECT streams", t.bytes_from_upstream, {{"direction", "from_upstream"}});
    w.counter("meshgate_hbone_protocol_errors_total", "HBONE clients closed for breaking HTTP/2 or for a flood of premature stream resets", t.protocol_errors);
    w.counter("meshgate_hbone_keepalive_timeouts_total", "HBONE connections closed: a PING unanswered for 20 s", t.keepalive_timeouts);
    w.counter("meshgate_hbone_pool_connections_total", "HBONE connections opened to ztunnels", t.pool_connections);
    w.gauge("meshgate_hbone_pool_connections_open", "HBONE connections to ztunnels open", static_cast<double>(t.pool_connections_open));
    w.counter("meshgate_hbone_pool_failures_total", "HBONE connections to ztunnels that failed, by stage", t.pool_connect_failures,
              {{"stage", "connect"}});
    w.counter("meshgate_hbone_pool_failures_total", "HBONE connections to ztunnels that failed, by stage", t.pool_handshake_failures,
              {{"stage", "handshake"}});
    w.counter("meshgate_hbone_pool_refused_streams_total", "CONNECT streams to ztunnels answered other than 200", t.pool_refused_streams);
    w.counter("meshgate_hbone_double_hbone_streams_total", "inner CONNECT streams sent through east-west gateways",
              t.double_hbone_streams);
    w.counter("meshgate_hbone_gateway_connections_total", "plain TCP connections accepted on forwarding = \"hbone\" VIPs",
              t.gateway_connections);
    w.gauge("meshgate_hbone_gateway_connections_open", "plain TCP connections open on forwarding = \"hbone\" VIPs",
            static_cast<double>(t.gateway_connections_open));
    w.counter("meshgate_hbone_tls_reloads_total", "times the TLS files were read again after a change", t.tls_reloads);
    w.counter("meshgate_hbone_tls_reload_failures_total", "changed TLS files that could not be used", t.tls_reload_failures);
    const auto chains = hbone::VerifiedChains::totals();
    for (const auto& [result, n] : {std::pair{"verified", chains.verified}, {"remembered", chains.remembered}}) {
        w.counter("meshgate_hbone_tls_chain_verifications_total",
                  "peer certificate chains at TLS handshakes, both roles: verified in full, or answered from an earlier verification",
                  n, {{"result", result}});
    }
}

}  // namespace meshgate::daemon
