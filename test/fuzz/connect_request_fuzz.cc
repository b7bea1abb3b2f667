// libFuzzer: a CONNECT stream's method, :authority and client SPIFFE id (one per line), as a
// peer sends them, decided against a fixed waypoint configuration (hbone/connect_target.h).
// Only 200, 400, 401 and 503 are answers; a 200 names a service (and an endpoint) that exists.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "hbone/connect_target.h"

namespace {

meshgate::Config make_config() {
    using namespace meshgate;
    Config c;
    Service web;
    web.name = "web";
    web.ns = "shop";
    web.vips = {*IpAddress::parse("10.96.0.10"), *IpAddress::parse("fd96::10")};
    web.ports = {{80, 8080, Protocol::tcp}, {53, 5353, Protocol::udp}};
    Service entry;
    entry.kind = ServiceKind::service_entry;
    entry.name = "payments";
    entry.ns = "shop";
    entry.hosts = {"payments.example.internal"};
    entry.ports = {{443, 443, Protocol::tcp}};
    c.services = {web, entry};
    Endpoint e;
    e.service = "shop/web";
    e.address = *IpAddress::parse("10.1.0.11");
    c.endpoints = {e};
    HboneConfig hbone;
    hbone.authorization = {{"shop/web", {"spiffe://cluster.local/ns/shop/sa/*"}}};
    c.hbone = hbone;
    return c;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    static const meshgate::Config config = make_config();
    std::string_view in(reinterpret_cast<const char*>(data), size);
    std::string_view parts[3];
    for (auto& part : parts) {
        const size_t end = in.find('\n');
        part = in.substr(0, end);
        in = end == std::string_view::npos ? std::string_view{} : in.substr(end + 1);
    }
    const auto d = meshgate::hbone::decide_connect(config, parts[0], parts[1], {std::string(parts[2])});
    if (d.status != 200 && d.status != 400 && d.status != 401 && d.status != 503) std::abort();
    if (d.status == 200 && (d.service >= config.services.size() || (d.endpoint && *d.endpoint >= config.endpoints.size()))) std::abort();
    if (d.status != 200 && d.reason.empty()) std::abort();
    return 0;
}
