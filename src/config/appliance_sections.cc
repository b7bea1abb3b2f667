// [node], [admin], [announce], [lb], [dataplane] and [hbone]: the appliance itself.
#include <algorithm>
#include <cctype>
#include <cstdint>
#include <set>

#include "config/sections.h"
#include "core/prime.h"

namespace meshgate::config::sections {

std::string element_path(std::string_view name, size_t index) {
    return std::string(name) + "[" + std::to_string(index) + "]";
}

void read_node(TableReader& root, Config& config, Diagnostics& diagnostics) {
    const auto* table = root.table("node");
    if (!table) {
        if (!root.has("node")) root.error_here("node", "required section [node] is missing");
        return;
    }
    TableReader r(*table, "node", diagnostics);
    auto& n = config.node;
    if (auto v = r.string("name", true)) n.name = *v;
    if (auto v = r.string("cluster")) n.cluster = *v;
    if (auto v = r.string("cluster_domain")) n.cluster_domain = *v;
    if (auto v = r.string("network")) n.network = *v;
    if (auto v = r.string("region")) n.region = *v;
    if (auto v = r.string("zone")) n.zone = *v;
    if (auto v = r.string("subzone")) n.subzone = *v;
    if (auto v = r.string("segment")) n.segment = *v;
    if (auto v = r.string("segment_domain")) n.segment_domain = *v;
    if (auto v = r.string_map("labels")) n.labels = *v;
    r.finish();
}

void read_admin(TableReader& root, Config& config, Diagnostics& diagnostics) {
    const auto* table = root.table("admin");
    if (!table) return;
    TableReader r(*table, "admin", diagnostics);
    if (auto v = r.string("socket")) {
        if (v->empty() || v->front() != '/') r.error(*r.find("socket"), "socket", "expected an absolute path, found \"" + *v + "\"");
        else config.admin.socket = *v;
    }
    if (auto v = r.string("socket_mode")) {
        bool octal = !v->empty() && v->size() <= 4;
        uint32_t mode = 0;
        for (char c : *v) {
            octal = octal && c >= '0' && c <= '7';
            mode = mode * 8 + static_cast<uint32_t>(c - '0');
        }
        if (!octal) r.error(*r.find("socket_mode"), "socket_mode", "expected an octal file mode such as \"0660\", found \"" + *v + "\"");
        else config.admin.socket_mode = mode;
    }
    if (auto v = r.string("socket_group")) config.admin.socket_group = *v;
    if (auto v = r.string("metrics_listen"); v && !v->empty()) {
        if (auto address = SocketAddress::parse(*v)) config.admin.metrics_listen = *address;
        else r.error(*r.find("metrics_listen"), "metrics_listen", "expected ADDRESS:PORT such as \"127.0.0.1:15020\", found \"" + *v + "\"");
    }
    r.finish();
}

void read_announce(TableReader& root, Config& config, Diagnostics& diagnostics) {
    const auto* table = root.table("announce");
    if (!table) return;
    TableReader r(*table, "announce", diagnostics);
    auto& a = config.announce;
    if (auto v = r.integer("table", 0, UINT32_MAX)) {
        if (*v >= 253 && *v <= 255) {
            r.error(*r.find("table"), "table",
                    "table " + std::to_string(*v) + " is the kernel's own (default, main or local); choose another, e.g. 100");
        } else {
            a.table = static_cast<uint32_t>(*v);
        }
    }
    if (auto v = r.string("device")) {
        if (v->empty() || v->size() >= 16 || v->find_first_of("/ \t:") != std::string::npos) {
            r.error(*r.find("device"), "device", "expected an interface name of 1 to 15 characters, found \"" + *v + "\"");
        } else {
            a.device = *v;
        }
    }
    if (auto v = r.integer("min_healthy_endpoints", 0, 1'000'000)) a.min_healthy_endpoints = static_cast<uint32_t>(*v);
    if (auto v = r.duration("withdraw_delay")) a.withdraw_delay = *v;
    if (auto v = r.duration("drain_quiet")) a.drain_quiet = *v;
    if (auto v = r.duration("drain_timeout")) a.drain_timeout = *v;
    a.peers = r.addresses("peers");
    if (auto v = r.duration("peer_probe_interval")) a.peer_probe_interval = *v;
    if (std::any_of(a.peers.begin(), a.peers.end(), [&](const IpAddress& p) { return p.is_v4() != a.peers.front().is_v4(); })) {
        r.error(*r.find("peers"), "peers", "expected the addresses of one family, all IPv4 or all IPv6 (the tunnel between nodes has one)");
        a.peers.clear();
    }
    r.finish();
}

namespace {

std::pair<uint64_t, uint64_t> nearest_primes(uint64_t n) {
    uint64_t below = n, above = n;
    while (below > 2 && !is_prime(below)) --below;
    while (!is_prime(above)) ++above;
    return {below, above};
}

// An EAL lcore list ("0-3", "1,3,5", "0-1,4") or an EAL --lcores map ("0@0,1@1,2@1").
bool valid_lcores(const std::string& s) {
    if (s.empty()) return false;
    if (s.find('@') != std::string::npos) {
        return std::all_of(s.begin(), s.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)) || c == '@' || c == ',' || c == '-' || c == '(' || c == ')'; });
    }
    bool digit_seen = false;
    char previous = ',';
    for (char c : s) {
        if (std::isdigit(static_cast<unsigned char>(c))) {
            digit_seen = true;
        } else if (c == ',' || c == '-') {
            if (!std::isdigit(static_cast<unsigned char>(previous))) return false;
        } else {
            return false;
        }
        previous = c;
    }
    return digit_seen && std::isdigit(static_cast<unsigned char>(previous));
}

}  // namespace

void read_lb(TableReader& root, Config& config, Diagnostics& diagnostics) {
    const auto* table = root.table("lb");
    if (!table) return;
    TableReader r(*table, "lb", diagnostics);
    auto& lb = config.lb;
    if (auto v = r.integer("maglev_table_size", 3, 16'777'259)) {
        if (!is_prime(static_cast<uint64_t>(*v))) {
            auto [below, above] = nearest_primes(static_cast<uint64_t>(*v));
            r.error(*r.find("maglev_table_size"), "maglev_table_size",
                    "expected a prime number (Maglev needs one), found " + std::to_string(*v) +
                        "; the nearest primes are " + std::to_string(below) + " and " + std::to_string(above));
        } else {
            lb.maglev_table_size = static_cast<uint32_t>(*v);
        }
    }
    if (auto v = r.integer("overprovisioning_factor", 100, 100'000)) lb.overprovisioning_factor = static_cast<uint32_t>(*v);
    if (auto v = r.choice("spillover", {"graded", "strict"})) lb.spillover = *v == 0 ? Spillover::graded : Spillover::strict;
    if (auto v = r.integer("panic_threshold", 0, 100)) lb.panic_threshold = static_cast<uint32_t>(*v);
    r.finish();
}

namespace {

// "mg-" and the port's name, as much of it as a Linux interface name (15 characters) holds.
std::string default_exception_interface(const std::string& port_name) {
    std::string name = "mg-";
    for (char c : port_name) {
        if (name.size() == 15) break;
        name += (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.') ? c : '-';
    }
    return name;
}

void read_port(const toml::value& table, const std::string& path, Config& config, Diagnostics& diagnostics) {
    TableReader r(table, path, diagnostics);
    PortConfig port;
    if (auto v = r.string("name", true)) port.name = *v;
    if (auto v = r.string("device", true)) port.device = *v;
    if (auto v = r.string("exception_interface")) {
        if (v->empty() || v->size() > 15 || v->find('/') != std::string::npos || v->find(' ') != std::string::npos) {
            r.error(*r.find("exception_interface"), "exception_interface",
                    "expected a Linux interface name of 1 to 15 characters, found \"" + *v + "\"");
        }
        port.exception_interface = *v;
    } else {
        port.exception_interface = default_exception_interface(port.name);
    }
    port.addresses = r.prefixes("addresses");
    port.gateway = r.address("gateway");
    if (port.gateway) {
        bool on_link = false;
        for (const auto& p : port.addresses) on_link = on_link || p.contains(*port.gateway);
        if (!on_link) r.error(*r.find("gateway"), "gateway", "the gateway " + port.gateway->to_string() + " is on none of this port's addresses");
    }
    port.snat = r.addresses("snat");
    if (auto v = r.integer("mtu", 1280, 9216)) port.mtu = static_cast<uint16_t>(*v);
    r.finish();
    for (const auto& other : config.dataplane.ports) {
        if (!port.name.empty() && other.name == port.name) r.error(*r.find("name"), "name", "a port named \"" + port.name + "\" is already defined");
    }
    config.dataplane.ports.push_back(std::move(port));
}

}  // namespace

void read_dataplane(TableReader& root, Config& config, Diagnostics& diagnostics) {
    const auto* table = root.table("dataplane");
    if (!table) return;
    TableReader r(*table, "dataplane", diagnostics);
    auto& dp = config.dataplane;
    if (auto v = r.string("lcores")) {
        if (!valid_lcores(*v)) r.error(*r.find("lcores"), "lcores", "expected an EAL lcore list such as \"0-1\" or \"0,2,4\", or a map such as \"0@0,1@1,2@1\", found \"" + *v + "\"");
        else dp.lcores = *v;
    }
    if (auto v = r.integer("memory_mb", 64, 1'048'576)) dp.memory_mb = static_cast<uint32_t>(*v);
    if (auto v = r.boolean("hugepages")) dp.hugepages = *v;
    if (auto v = r.integer("flow_table_size", 1024, 1 << 28)) dp.flow_table_size = static_cast<uint32_t>(*v);
    if (auto v = r.duration("idle_sleep")) {
        if (*v > std::chrono::milliseconds(10)) {
            r.error(*r.find("idle_sleep"), "idle_sleep", "at most \"10ms\": a sleeping worker delays every packet that arrives meanwhile");
        } else {
            dp.idle_sleep = *v;
        }
    }
    if (auto v = r.strings("eal_args")) dp.eal_args = *v;
    if (const auto* t = r.table("flow_timeouts")) {
        TableReader f(*t, "dataplane.flow_timeouts", diagnostics);
        auto& ft = dp.flow_timeouts;
        // A flow record keeps its idle time in 32-bit ticks of 2^20 TSC cycles, compared modulo
        // 2^32 (dataplane/flow_table.h): five days stays under half the wrap up to a 5 GHz TSC.
        auto timeout = [&](const char* key, Duration& field) {
            const auto v = f.duration(key);
            if (!v) return;
            if (*v > std::chrono::hours(120)) f.error(*f.find(key), key, "at most \"120h\" (five days)");
            else field = *v;
        };
        timeout("tcp_syn", ft.tcp_syn);
        timeout("tcp_established", ft.tcp_established);
        timeout("tcp_closing", ft.tcp_closing);
        timeout("tcp_closed", ft.tcp_closed);
        timeout("udp", ft.udp);
        f.finish();
    }
    if (const auto* ports = r.tables("port")) {
        for (size_t i = 0; i < ports->size(); ++i) read_port((*ports)[i], "dataplane." + element_path("port", i), config, diagnostics);
        // Full NAT: an endpoint behind a port sees at most (SNAT addresses × 64,512 ports)
        // concurrent flows per protocol, whatever the flow table holds.
        for (size_t i = 0; i < dp.ports.size(); ++i) {
            const auto& snat = dp.ports[i].snat;
            const uint64_t capacity = snat.size() * 64512ull;
            if (snat.empty() || dp.flow_table_size <= capacity) continue;
            const auto& at = (*ports)[i].as_table().at("snat");
            diagnostics.add(located(at, "snat", Diagnostic::Severity::warning, "dataplane." + element_path("port", i) + ".snat",
                                    std::to_string(snat.size()) + " SNAT address(es) give each endpoint at most " +
                                        std::to_string(capacity) + " concurrent flows per protocol, but flow_table_size is " +
                                        std::to_string(dp.flow_table_size) + " per worker: add SNAT addresses if one endpoint may need more"));
        }
    }
    r.finish();
}

void read_hbone(TableReader& root, Config& config, Diagnostics& diagnostics) {
    const auto* table = root.table("hbone");
    if (!table) return;
    TableReader r(*table, "hbone", diagnostics);
    HboneConfig hbone;
    if (auto v = r.string("listen")) {
        auto a = SocketAddress::parse(*v);
        if (!a) r.error(*r.find("listen"), "listen", "expected address:port such as \"0.0.0.0:15008\", found \"" + *v + "\"");
        else hbone.listen = *a;
    }
    if (auto v = r.string("trust_domain")) hbone.trust_domain = *v;
    if (auto v = r.string("ca_bundle", true)) hbone.ca_bundle = *v;
    if (auto v = r.string("cert", true)) hbone.cert = *v;
    if (auto v = r.string("key", true)) hbone.key = *v;
    if (auto v = r.integer("threads", 1, 64)) hbone.threads = static_cast<uint32_t>(*v);
    if (const auto* rules = r.tables("authorization")) {
        for (size_t i = 0; i < rules->size(); ++i) {
            TableReader a((*rules)[i], "hbone." + element_path("authorization", i), diagnostics);
            HboneAuthorization auth;
            if (auto v = a.string("service", true)) {
                auth.service = *v;
                if (!config.find_service(*v)) a.error(*a.find("service"), "service", "no service or service_entry \"" + *v + "\" is defined");
            }
            if (auto v = a.strings("allow")) {
                for (const auto& id : *v) {
                    if (id.rfind("spiffe://", 0) != 0) a.error(*a.find("allow"), "allow", "expected SPIFFE ids (spiffe://…), found \"" + id + "\"");
                }
                auth.allow = *v;
            }
            a.finish();
            hbone.authorization.push_back(std::move(auth));
        }
    }
    r.finish();
    config.hbone = std::move(hbone);
}

}  // namespace meshgate::config::sections
