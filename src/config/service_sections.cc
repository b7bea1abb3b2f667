// [[service]], [[service_entry]], [[cluster]], [[network_gateway]] and [[endpoint]].
#include <map>
#include <set>
#include <tuple>

#include "config/sections.h"

namespace meshgate::config::sections {

namespace {

// A Kubernetes name: lower-case alphanumerics and '-', starting and ending alphanumeric.
bool valid_name(const std::string& s) {
    if (s.empty() || s.size() > 63) return false;
    for (char c : s) {
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
    }
    return s.front() != '-' && s.back() != '-';
}

void read_ports(TableReader& r, Service& service, Diagnostics& diagnostics) {
    const auto* ports = r.tables("ports");
    if (!ports) {
        if (!r.has("ports")) r.error_here("ports", "required key is missing (expected an array of { port, target_port, protocol })");
        return;
    }
    if (ports->empty()) r.error(*r.find("ports"), "ports", "expected at least one port");
    for (size_t i = 0; i < ports->size(); ++i) {
        TableReader p((*ports)[i], r.path(element_path("ports", i)), diagnostics);
        ServicePort sp;
        if (auto v = p.integer("port", 1, 65535, true)) sp.port = static_cast<uint16_t>(*v);
        sp.target_port = sp.port;
        if (auto v = p.integer("target_port", 1, 65535)) sp.target_port = static_cast<uint16_t>(*v);
        if (auto v = p.choice("protocol", {"tcp", "udp"})) sp.protocol = *v == 0 ? Protocol::tcp : Protocol::udp;
        p.finish();
        for (const auto& other : service.ports) {
            if (other.port == sp.port && other.protocol == sp.protocol && sp.port != 0) {
                r.error_in((*ports)[i], element_path("ports", i), "port " + std::to_string(sp.port) + "/" + to_string(sp.protocol) + " is listed twice");
            }
        }
        service.ports.push_back(sp);
    }
}

void read_service(const toml::value& table, const std::string& path, ServiceKind kind, bool hbone_section, Config& config,
                  Diagnostics& diagnostics) {
    TableReader r(table, path, diagnostics);
    Service s;
    s.kind = kind;
    if (auto v = r.string("name", true)) {
        if (!valid_name(*v)) r.error(*r.find("name"), "name", "expected a Kubernetes name (lower-case letters, digits, '-'), found \"" + *v + "\"");
        s.name = *v;
    }
    if (auto v = r.string("namespace", true)) {
        if (!valid_name(*v)) r.error(*r.find("namespace"), "namespace", "expected a Kubernetes name (lower-case letters, digits, '-'), found \"" + *v + "\"");
        s.ns = *v;
    }
    if (kind == ServiceKind::service_entry) {
        if (auto v = r.strings("hosts")) s.hosts = *v;
        if (s.hosts.empty()) r.error_here("hosts", "a service_entry needs at least one host name");
    } else {
        s.traffic_distribution = r.string("traffic_distribution");
    }
    s.vips = r.addresses("vips");
    read_ports(r, s, diagnostics);
    if (auto v = r.choice("internal_traffic_policy", {"Cluster", "Local"})) {
        s.internal_traffic_policy = *v == 0 ? InternalTrafficPolicy::cluster : InternalTrafficPolicy::local;
    }
    if (auto v = r.choice("forwarding", {"nat", "hbone"})) s.forwarding = *v == 0 ? Forwarding::nat : Forwarding::hbone;
    if (s.forwarding == Forwarding::hbone && !hbone_section) {
        r.warning(*r.find("forwarding"), "forwarding", "\"hbone\" needs an [hbone] section (the proxy that tunnels the VIP's "
                                                       "connections); without one the VIP is load-balanced with full NAT");
    }
    if (auto v = r.string("waypoint")) {
        auto slash = v->find('/');
        if (slash == std::string::npos || slash == 0 || slash + 1 == v->size()) {
            r.error(*r.find("waypoint"), "waypoint", "expected \"namespace/name\" of the waypoint service, found \"" + *v + "\"");
        }
        s.waypoint = *v;
    }
    if (auto v = r.choice("on_endpoint_down", {"reset", "keep"})) s.on_endpoint_down = *v == 0 ? OnEndpointDown::reset : OnEndpointDown::keep;
    if (auto v = r.boolean("publish_not_ready_addresses")) s.publish_not_ready_addresses = *v;
    if (auto v = r.string_map("annotations")) s.annotations = *v;
    if (auto v = r.string_map("labels")) s.labels = *v;
    r.finish();

    if (!s.name.empty() && !s.ns.empty() && config.find_service(s.key())) {
        r.error(*r.find("name"), "name", "service " + s.key() + " is defined twice");
    }
    config.services.push_back(std::move(s));
}

// No two services may answer on the same VIP, port and protocol.
void check_vip_ports(const TableReader& root, const Config& config, Diagnostics& diagnostics) {
    std::map<std::tuple<IpAddress, uint16_t, Protocol>, std::string> owner;
    size_t service_i = 0, entry_i = 0;
    for (const auto& s : config.services) {
        const bool entry = s.kind == ServiceKind::service_entry;
        const char* section = entry ? "service_entry" : "service";
        const size_t index = entry ? entry_i++ : service_i++;
        const auto* list = root.find(section);
        const toml::value* where = list && list->is_array() && index < list->as_array().size() ? &list->as_array()[index] : nullptr;
        for (const auto& vip : s.vips) {
            for (const auto& p : s.ports) {
                auto [it, inserted] = owner.emplace(std::tuple{vip, p.port, p.protocol}, s.key());
                if (inserted || !where) continue;
                const auto* vips = &where->as_table().at("vips");
                diagnostics.add(located(*vips, "vips", Diagnostic::Severity::error, element_path(section, index) + ".vips",
                                        "VIP " + SocketAddress{vip, p.port}.to_string() + "/" + to_string(p.protocol) +
                                            " is already used by service " + it->second));
            }
        }
    }
}

}  // namespace

void read_services(TableReader& root, Config& config, Diagnostics& diagnostics) {
    if (const auto* list = root.tables("service")) {
        for (size_t i = 0; i < list->size(); ++i) read_service((*list)[i], element_path("service", i), ServiceKind::service, root.has("hbone"), config, diagnostics);
    }
    if (const auto* list = root.tables("service_entry")) {
        for (size_t i = 0; i < list->size(); ++i) read_service((*list)[i], element_path("service_entry", i), ServiceKind::service_entry, root.has("hbone"), config,
                                          diagnostics);
    }
    check_vip_ports(root, config, diagnostics);
    if (config.services.size() > max_services) {
        const char* section = root.has("service_entry") ? "service_entry" : "service";
        diagnostics.add(located(*root.find(section), section, Diagnostic::Severity::error, section,
                                std::to_string(config.services.size()) + " services and service entries; at most " +
                                    std::to_string(max_services) + " are supported"));
    }

    // A waypoint must be a service of this file; checked once all are read.
    size_t service_i = 0, entry_i = 0;
    for (const auto& s : config.services) {
        const bool entry = s.kind == ServiceKind::service_entry;
        const char* section = entry ? "service_entry" : "service";
        const size_t index = entry ? entry_i++ : service_i++;
        if (s.waypoint.empty() || config.find_service(s.waypoint)) continue;
        const auto& at = root.find(section)->as_array()[index].as_table().at("waypoint");
        auto d = located(at, "waypoint", Diagnostic::Severity::error, element_path(section, index) + ".waypoint",
                         "no service \"" + s.waypoint + "\" is defined to be the waypoint");
        diagnostics.add(std::move(d));
    }
}

void read_clusters(TableReader& root, Config& config, Diagnostics& diagnostics) {
    const auto* list = root.tables("cluster");
    if (!list) return;
    for (size_t i = 0; i < list->size(); ++i) {
        TableReader r((*list)[i], element_path("cluster", i), diagnostics);
        ClusterInfo c;
        if (auto v = r.string("name", true)) c.name = *v;
        if (auto v = r.string("segment")) c.segment = *v;
        r.finish();
        for (const auto& other : config.clusters) {
            if (other.name == c.name) r.error(*r.find("name"), "name", "cluster \"" + c.name + "\" is defined twice");
        }
        config.clusters.push_back(std::move(c));
    }
}

void read_network_gateways(TableReader& root, Config& config, Diagnostics& diagnostics) {
    const auto* list = root.tables("network_gateway");
    if (!list) return;
    for (size_t i = 0; i < list->size(); ++i) {
        TableReader r((*list)[i], element_path("network_gateway", i), diagnostics);
        NetworkGateway g;
        if (auto v = r.string("network", true)) g.network = *v;
        if (auto v = r.address("address", true)) g.address = *v;
        if (auto v = r.integer("port", 1, 65535)) g.port = static_cast<uint16_t>(*v);
        if (auto v = r.string("identity")) g.identity = *v;
        r.finish();
        if (r.has("network") && g.network == config.node.network) {
            r.warning(*r.find("network"), "network", "a gateway for this node's own network (\"" + g.network + "\") is never used");
        }
        for (const auto& other : config.network_gateways) {
            if (r.has("network") && other.network == g.network) {
                r.error(*r.find("network"), "network", "network \"" + g.network + "\" already has a gateway; one per network is supported");
            }
        }
        config.network_gateways.push_back(std::move(g));
    }
}

void read_endpoints(TableReader& root, Config& config, Diagnostics& diagnostics) {
    const auto* list = root.tables("endpoint");
    if (!list) return;
    std::set<std::tuple<std::string, std::optional<IpAddress>, std::optional<uint16_t>, std::string>> seen;
    for (size_t i = 0; i < list->size(); ++i) {
        TableReader r((*list)[i], element_path("endpoint", i), diagnostics);
        Endpoint e;
        if (auto v = r.string("service", true)) {
            e.service = *v;
            if (!config.find_service(*v)) {
                r.error(*r.find("service"), "service", "no service or service_entry \"" + *v + "\" is defined (expected \"namespace/name\")");
            }
        }
        e.address = r.address("address");
        if (auto v = r.integer("port", 1, 65535)) e.port = static_cast<uint16_t>(*v);
        if (auto v = r.integer("weight", 0, 1'000'000)) e.weight = static_cast<uint32_t>(*v);
        if (auto v = r.boolean("healthy")) e.healthy = *v;
        if (auto v = r.boolean("hbone")) e.hbone = *v;
        if (auto v = r.string("identity")) {
            if (!v->empty() && v->rfind("spiffe://", 0) != 0) {
                r.error(*r.find("identity"), "identity", "expected a SPIFFE id (spiffe://trust-domain/ns/…/sa/…), found \"" + *v + "\"");
            }
            e.identity = *v;
        }
        if (e.hbone && e.identity.empty()) {
            r.warning(*r.find("hbone"), "hbone", "an endpoint behind a ztunnel needs its identity: without one, meshgate cannot check the "
                                                 "ztunnel's certificate, and HBONE streams to this endpoint answer 503");
        }
        if (const auto* loc = r.table("locality")) {
            TableReader l(*loc, r.path("locality"), diagnostics);
            auto& x = e.locality;
            if (auto v = l.string("cluster")) x.cluster = *v;
            if (auto v = l.string("network")) x.network = *v;
            if (auto v = l.string("region")) x.region = *v;
            if (auto v = l.string("zone")) x.zone = *v;
            if (auto v = l.string("subzone")) x.subzone = *v;
            if (auto v = l.string("node")) x.node = *v;
            l.finish();
        }
        if (auto v = r.string_map("labels")) e.labels = *v;
        r.finish();

        if (!r.has("address") && e.locality.network == config.node.network) {
            r.error_here("address", "required for an endpoint on this node's network; only another network's "
                                    "endpoints (reached through its network_gateway) may omit it");
        }
        auto key = std::tuple{e.service, e.address, e.port, e.address ? std::string() : e.locality.network};
        if (!e.service.empty() && !seen.insert(key).second) {
            r.error_here("address", "endpoint " + (e.address ? e.address->to_string() : e.locality.network) +
                                        " of " + e.service + " is defined twice");
        }
        config.endpoints.push_back(std::move(e));
    }
}

}  // namespace meshgate::config::sections
