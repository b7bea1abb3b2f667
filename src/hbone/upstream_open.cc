#include "hbone/upstream_open.h"

#include <algorithm>
#include <optional>

#include "hbone/client_pool.h"
#include "hbone/double_hbone.h"
#include "hbone/server_connection.h"
#include "hbone/tcp_upstream.h"
#include "lb/service_scope.h"

namespace meshgate::hbone {

namespace {

// As the planner sees it (lb::eligibility): an endpoint that names no network is on another
// network unless the node names none either.
bool on_another_network(const Config& config, const Endpoint& e) { return e.locality.network != config.node.network; }

// Double HBONE to `e` (istio-semantics.md §8.7): through its network's gateway, addressed to the
// service by name, the far ztunnel proving the endpoint's identity.
std::optional<DoubleHboneRoute> double_hbone_route(const Config& config, const ConnectDecision& decision, const Endpoint& e) {
    const auto gateway = std::find_if(config.network_gateways.begin(), config.network_gateways.end(),
                                      [&](const NetworkGateway& g) { return g.network == e.locality.network; });
    if (gateway == config.network_gateways.end()) return std::nullopt;
    const Service& service = config.services[decision.service];
    const auto names = lb::hostnames(service, config.node, lb::service_scope(service));
    if (names.empty()) return std::nullopt;
    return DoubleHboneRoute{SocketAddress{gateway->address, gateway->port}, gateway->identity,
                            names.front() + ":" + std::to_string(decision.service_port), e.identity};
}

// Double HBONE to `e`, another network's endpoint or waypoint, into `out.link`; false, with
// `out.why`, when that network has no gateway.
bool open_through_network_gateway(ConnectionOwner& owner, UpstreamEvents& events, int32_t stream, const ConnectDecision& decision,
                                  const Endpoint& e, const ConnectHeaders& headers, OpenedUpstream& out) {
    const Config& config = owner.catalog().config();
    auto route = double_hbone_route(config, decision, e);
    if (!route) {
        out.why = "another network's endpoint, and no network_gateway for it";
        return false;
    }
    ConnectHeaders inner = headers;
    inner.forwarded_network = config.node.network;
    out.link = DoubleHboneUpstream::open(owner.pool(), owner.counters(), events, stream, *route, std::move(inner));
    return true;
}

// A connect that could not even start: counted, and told to outlier detection.
void fail_to_connect(ConnectionOwner& owner, OpenedUpstream& out) {
    ProxyCounters::add(owner.counters().upstream_connect_failures);
    owner.connect_outcome(out.endpoint, lb::ConnectResult::failure);
    out.why = "connect failed";
}

// Gateway role for a service with a waypoint (semantics.md §1, §8): the waypoint service's
// endpoint that the gateway → waypoint hop picks, over HBONE to its 15008, with the VIP:port the
// client dialled as the :authority; the waypoint picks the backend. A waypoint on another
// network is reached as any endpoint there is (§8.7): by double HBONE through that network's
// gateway, naming the service, the inner handshake proving the waypoint's identity.
OpenedUpstream open_to_waypoint(ConnectionOwner& owner, UpstreamEvents& events, int32_t stream, const lb::SelectionTable& hop,
                                const ConnectDecision& decision, const ConnectHeaders& headers) {
    OpenedUpstream out;
    const Config& config = owner.catalog().config();
    out.endpoint = hop.pick(owner.stream_hash());
    if (out.endpoint == lb::SelectionTable::no_endpoint || out.endpoint >= config.endpoints.size()) {
        out.why = "no waypoint endpoint to select";
        return out;
    }
    const Endpoint& w = config.endpoints[out.endpoint];
    if (on_another_network(config, w)) {
        open_through_network_gateway(owner, events, stream, decision, w, headers, out);
        return out;
    }
    if (!w.address) {
        out.why = "the waypoint's endpoint has no address";
        return out;
    }
    out.link = owner.pool().open(events, stream, SocketAddress{*w.address, hbone_port}, w.identity, decision.dialled->to_string(),
                                 headers);
    return out;
}

}  // namespace

OpenedUpstream open_upstream(ConnectionOwner& owner, UpstreamEvents& events, int32_t stream, const ConnectDecision& decision,
                             const ConnectHeaders& headers) {
    OpenedUpstream out;
    const Catalog& catalog = owner.catalog();
    const Config& config = catalog.config();
    const lb::SelectionTable* waypoint = decision.dialled ? catalog.waypoint_hop(decision.service) : nullptr;
    if (waypoint) {
        out = open_to_waypoint(owner, events, stream, *waypoint, decision, headers);
        if (!out.link && out.why.empty()) fail_to_connect(owner, out);
        return out;
    }
    out.endpoint = decision.endpoint ? *decision.endpoint : catalog.backends(decision.service).pick(owner.stream_hash());
    if (out.endpoint == lb::SelectionTable::no_endpoint || out.endpoint >= config.endpoints.size()) {
        out.why = "no endpoint to select";
        return out;
    }
    const Endpoint& e = config.endpoints[out.endpoint];
    const uint16_t port = e.port ? *e.port : decision.target_port;
    if (on_another_network(config, e)) {
        if (!open_through_network_gateway(owner, events, stream, decision, e, headers, out)) return out;
    } else if (!e.address) {
        out.why = "the endpoint has no address";
        return out;
    } else if (e.hbone) {
        // Through its ztunnel: CONNECT endpoint IP:target port on a pooled connection to IP:15008.
        out.link = owner.pool().open(events, stream, SocketAddress{*e.address, hbone_port}, e.identity,
                                     SocketAddress{*e.address, port}.to_string(), headers);
    } else {
        out.link = TcpUpstream::open(owner.loop(), events, owner.counters(), stream, *e.address, port);
    }
    if (!out.link) fail_to_connect(owner, out);
    return out;
}

void report_connect(ConnectionOwner& owner, uint32_t endpoint, UpstreamEvents::Outcome outcome) {
    using Outcome = UpstreamEvents::Outcome;
    switch (outcome) {
        case Outcome::connected: owner.connect_outcome(endpoint, lb::ConnectResult::success); break;
        case Outcome::failed: owner.connect_outcome(endpoint, lb::ConnectResult::failure); break;
        case Outcome::timed_out: owner.connect_outcome(endpoint, lb::ConnectResult::timeout); break;
        case Outcome::denied: break;
    }
    if (outcome != Outcome::connected) ProxyCounters::add(owner.counters().upstream_connect_failures);
}

}  // namespace meshgate::hbone
