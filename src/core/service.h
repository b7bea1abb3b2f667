#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/address.h"
#include "core/locality.h"

namespace meshgate {

enum class Protocol : uint8_t { tcp, udp };
enum class ServiceKind : uint8_t { service, service_entry };
enum class InternalTrafficPolicy : uint8_t { cluster, local };
enum class Forwarding : uint8_t { nat, hbone };
enum class OnEndpointDown : uint8_t { reset, keep };

const char* to_string(Protocol p);

struct ServicePort {
    uint16_t port = 0;
    uint16_t target_port = 0;  // defaults to port
    Protocol protocol = Protocol::tcp;
};

// A Kubernetes Service or an Istio ServiceEntry, as the gateway sees it.
struct Service {
    ServiceKind kind = ServiceKind::service;
    std::string name;
    std::string ns;
    std::vector<std::string> hosts;  // ServiceEntry only
    std::vector<IpAddress> vips;
    std::vector<ServicePort> ports;
    // Service spec.trafficDistribution, verbatim (validated by the engine, not the parser).
    std::optional<std::string> traffic_distribution;
    InternalTrafficPolicy internal_traffic_policy = InternalTrafficPolicy::cluster;
    Forwarding forwarding = Forwarding::nat;
    std::string waypoint;  // "namespace/name" of the waypoint service, or empty
    OnEndpointDown on_endpoint_down = OnEndpointDown::reset;
    // Kubernetes publishNotReadyAddresses: declared health is ignored (ztunnel ALLOW_ALL).
    bool publish_not_ready_addresses = false;
    Labels annotations;
    Labels labels;

    std::string key() const { return ns + "/" + name; }
};

// One backend of a service. An endpoint without an address stands for a remote network's
// workloads, reachable only through that network's east-west gateway (istiod coalesces them
// so; its weight is their count).
struct Endpoint {
    std::string service;  // "namespace/name"
    std::optional<IpAddress> address;
    std::optional<uint16_t> port;  // unset: the service port's target_port
    uint32_t weight = 1;           // 0 drains: no new flows
    bool healthy = true;           // declared health (readiness)
    bool hbone = false;
    std::string identity;
    Locality locality;
    Labels labels;
};

// East-west gateway through which another network's endpoints are reached (double HBONE).
struct NetworkGateway {
    std::string network;
    IpAddress address;
    uint16_t port = 15008;
    std::string identity;
};

// A peered cluster and the Solo segment it belongs to.
struct ClusterInfo {
    std::string name;
    std::string segment;
};

}  // namespace meshgate
