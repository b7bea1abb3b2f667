#include "hbone/connect_target.h"

#include <algorithm>
#include <charconv>

#include "hbone/spiffe.h"
#include "lb/service_scope.h"

namespace meshgate::hbone {

namespace {

bool hostname_char(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.'; }

std::optional<uint16_t> parse_port(std::string_view text) {
    unsigned value = 0;
    if (text.empty() || text.size() > 5 || text.front() == '0') return std::nullopt;
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (error != std::errc() || end != text.data() + text.size() || value == 0 || value > 65535) return std::nullopt;
    return static_cast<uint16_t>(value);
}

const ServicePort* tcp_port(const Service& service, uint16_t port) {
    for (const auto& p : service.ports) {
        if (p.port == port && p.protocol == Protocol::tcp) return &p;
    }
    return nullptr;
}

ConnectDecision answer(uint16_t status, std::string reason) {
    ConnectDecision d;
    d.status = status;
    d.reason = std::move(reason);
    return d;
}

// The service (and port) a VIP:port or host:port names, or the endpoint an address:port names.
ConnectDecision find_target(const Config& config, const Authority& a) {
    ConnectDecision d;
    d.service_port = a.port;
    for (uint32_t i = 0; i < config.services.size(); ++i) {
        const Service& s = config.services[i];
        const ServicePort* port = tcp_port(s, a.port);
        if (!port) continue;
        const bool named = a.address ? std::find(s.vips.begin(), s.vips.end(), *a.address) != s.vips.end()
                                     : [&] {
                                           const auto names = lb::hostnames(s, config.node, lb::service_scope(s));
                                           return std::find(names.begin(), names.end(), a.hostname) != names.end();
                                       }();
        if (named) {
            d.service = i;
            d.target_port = port->target_port;
            return d;
        }
    }
    if (a.address) {
        for (uint32_t id = 0; id < config.endpoints.size(); ++id) {
            const Endpoint& e = config.endpoints[id];
            if (e.address != a.address) continue;
            const Service* s = config.find_service(e.service);
            if (!s) continue;
            const bool serves = e.port ? *e.port == a.port
                                       : std::any_of(s->ports.begin(), s->ports.end(),
                                                     [&](const ServicePort& p) { return p.target_port == a.port && p.protocol == Protocol::tcp; });
            if (!serves) continue;
            d.service = static_cast<uint32_t>(s - config.services.data());
            d.target_port = a.port;
            d.endpoint = id;
            return d;
        }
    }
    return answer(503, "no service or endpoint here answers to " + (a.address ? a.address->to_string() : a.hostname) + ":" +
                           std::to_string(a.port));
}

bool authorized(const Config& config, const Service& service, const std::vector<std::string>& identities) {
    bool ruled = false;
    for (const auto& rule : config.hbone->authorization) {
        if (rule.service != service.key()) continue;
        ruled = true;
        for (const auto& pattern : rule.allow) {
            for (const auto& id : identities) {
                if (identity_matches(pattern, id)) return true;
            }
        }
    }
    return !ruled;
}

}  // namespace

std::optional<Authority> Authority::parse(std::string_view text) {
    const size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) return std::nullopt;  // CONNECT needs host:port (RFC 9113 §8.5)
    const auto port = parse_port(text.substr(colon + 1));
    std::string_view host = text.substr(0, colon);
    if (!port || host.empty()) return std::nullopt;
    Authority a;
    a.port = *port;
    if (host.front() == '[') {
        if (host.size() < 3 || host.back() != ']') return std::nullopt;
        a.address = IpAddress::parse(host.substr(1, host.size() - 2));
        if (!a.address || a.address->is_v4()) return std::nullopt;
        return a;
    }
    if (host.find(':') != std::string_view::npos) return std::nullopt;  // IPv6 without brackets
    if (auto address = IpAddress::parse(host)) {
        a.address = address;
        return a;
    }
    if (host.size() > 253) return std::nullopt;
    for (char c : host) {
        const char lower = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
        if (!hostname_char(lower)) return std::nullopt;
        a.hostname += lower;
    }
    return a;
}

ConnectDecision decide_connect(const Config& config, std::string_view method, std::string_view authority,
                               const std::vector<std::string>& client_identities) {
    if (method != "CONNECT") return answer(400, "method " + std::string(method.substr(0, 32)) + " is not CONNECT");
    const auto a = Authority::parse(authority);
    if (!a) return answer(400, ":authority \"" + std::string(authority.substr(0, 256)) + "\" is not host:port");
    ConnectDecision d = find_target(config, *a);
    if (d.status != 0) return d;
    const Service& service = config.services[d.service];
    if (config.hbone && !authorized(config, service, client_identities)) {
        return answer(401, "no [[hbone.authorization]] rule of " + service.key() + " allows " +
                               (client_identities.empty() ? std::string("a client without SPIFFE id") : client_identities.front()));
    }
    d.status = 200;
    return d;
}

}  // namespace meshgate::hbone
