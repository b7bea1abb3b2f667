#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/address.h"
#include "core/config.h"

namespace meshgate::hbone {

// A CONNECT request's :authority: an IP literal or a host name, and a port.
// "10.96.0.10:9080", "[fd96::10]:9080", "productpage.bookinfo.svc.cluster.local:9080".
struct Authority {
    std::optional<IpAddress> address;
    std::string hostname;  // lower-case; empty for an address
    uint16_t port = 0;

    static std::optional<Authority> parse(std::string_view text);
};

// What the server side (waypoint role) answers a CONNECT stream, by the rules of
// istio-semantics.md §8.5, checked in this order:
//   400  the method is not CONNECT, or the :authority does not parse;
//   503  nothing here answers to it: no service VIP or host name with that TCP port, no
//        endpoint at that address and port;
//   401  the service has [[hbone.authorization]] rules and none allows the client's SPIFFE
//        id (a service without rules admits every client of the trust domain, which the TLS
//        handshake already checked);
//   200  go on: connect upstream (503 if that fails).
struct ConnectDecision {
    static constexpr uint32_t none = UINT32_MAX;

    uint16_t status = 0;
    std::string reason;                 // why, for the log and the counters; empty on 200
    uint32_t service = none;            // index in Config::services
    uint16_t service_port = 0;          // the port the client asked for
    uint16_t target_port = 0;           // the endpoints' port for it
    std::optional<uint32_t> endpoint;   // the endpoint the authority named (IP:port); else the engine picks
    // Gateway role: the VIP:port a plain TCP client connected to. A service with a waypoint is
    // then reached through it, with this as the CONNECT's :authority.
    std::optional<SocketAddress> dialled;
};

ConnectDecision decide_connect(const Config& config, std::string_view method, std::string_view authority,
                               const std::vector<std::string>& client_identities);

}  // namespace meshgate::hbone
