#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/address.h"
#include "core/destination_rule.h"
#include "core/duration.h"
#include "core/locality.h"
#include "core/service.h"

namespace meshgate {

// This appliance: the selector locality of every hop it decides.
struct NodeConfig {
    std::string name;
    std::string cluster;
    std::string cluster_domain = "cluster.local";
    std::string network;
    std::string region;
    std::string zone;
    std::string subzone;
    std::string segment;
    std::string segment_domain;
    Labels labels;

    Locality locality() const { return {network, region, zone, subzone, name, cluster}; }
};

struct AdminConfig {
    std::string socket = "/run/meshgate/admin.sock";
    uint32_t socket_mode = 0660;
    std::string socket_group;                     // empty: the daemon's group
    std::optional<SocketAddress> metrics_listen;  // GET /metrics, /healthz, /readyz
};

// Scale-out (docs/scale-out.md): meshgated keeps a host route for every VIP it may be sent
// (ready, not draining, its service has enough selectable endpoints) and every SNAT address
// in a kernel routing table of its own, through an interface that exists exactly as long as
// meshgated does; a routing daemon (BIRD) announces that table by BGP.
struct AnnounceConfig {
    uint32_t table = 0;  // 0: off
    std::string device = "mg-announce";
    uint32_t min_healthy_endpoints = 1;
    Duration withdraw_delay = std::chrono::seconds(1);  // on shutdown: withdrawn, still serving
    Duration drain_quiet = std::chrono::seconds(2);     // drain-node: no new flow this long = routers moved
    Duration drain_timeout = std::chrono::minutes(5);   // drain-node: exit even if flows remain
    // The tier's node addresses, all of one family (this node's may be among them): a
    // mid-connection TCP segment no flow here knows goes to the next of them, IP-in-IP, in
    // case the routers moved it away from the node that has its flow (docs/scale-out.md).
    std::vector<IpAddress> peers;
    // Each peer's data plane is probed this often; it leaves the ring after 5 unanswered.
    Duration peer_probe_interval = std::chrono::milliseconds(100);

    bool enabled() const { return table != 0; }
};

enum class Spillover : uint8_t { graded, strict };

struct LbConfig {
    uint32_t maglev_table_size = 65537;
    uint32_t overprovisioning_factor = 140;
    Spillover spillover = Spillover::graded;
    uint32_t panic_threshold = 0;
};

struct PortConfig {
    std::string name;
    std::string device;
    // Kernel tap meshgated creates for this port's exception path (the node's own traffic,
    // protocols the fast path does not serve), with the port's MAC, addresses, MTU and gateway
    // route. The TOML reader defaults it to "mg-<port name>"; empty: none, such packets are
    // dropped.
    std::string exception_interface;
    std::vector<IpPrefix> addresses;
    std::optional<IpAddress> gateway;
    std::vector<IpAddress> snat;
    // The largest IP packet the port sends and receives; 0: the device's default (1500). The
    // links between the nodes of a tier need 20 bytes more (40 with IPv6 peers) for second chance.
    uint16_t mtu = 0;
};

// Idle timeouts of a pinned flow, by state.
// Services and service entries one configuration may hold: a flow record keeps the index in
// 16 bits (dataplane/flow_table.h).
inline constexpr size_t max_services = 65535;

struct FlowTimeoutConfig {
    Duration tcp_syn = std::chrono::seconds(10);
    Duration tcp_established = std::chrono::minutes(15);
    Duration tcp_closing = std::chrono::seconds(60);
    Duration tcp_closed = std::chrono::seconds(10);
    Duration udp = std::chrono::seconds(60);
};

struct DataplaneConfig {
    std::string lcores = "0-1";
    uint32_t memory_mb = 1024;
    bool hugepages = false;
    uint32_t flow_table_size = 1048576;
    // 0: workers poll without pause. Otherwise a worker whose pass found nothing to do sleeps
    // this long: for nodes that share their cores (small VMs, several daemons per host).
    Duration idle_sleep{};
    FlowTimeoutConfig flow_timeouts;
    std::vector<std::string> eal_args;
    std::vector<PortConfig> ports;
};

enum class HealthCheckKind : uint8_t { tcp, http, hbone };

struct HealthCheck {
    std::string service;
    HealthCheckKind kind = HealthCheckKind::tcp;
    std::string path;
    Duration interval = std::chrono::seconds(1);
    Duration timeout = std::chrono::milliseconds(500);
    uint32_t healthy_threshold = 2;
    uint32_t unhealthy_threshold = 3;
    Duration jitter = std::chrono::milliseconds(100);  // each probe starts up to this much late
};

struct HboneAuthorization {
    std::string service;
    std::vector<std::string> allow;  // SPIFFE ids, trailing '*' allowed
};

struct HboneConfig {
    SocketAddress listen = *SocketAddress::parse("0.0.0.0:15008");
    std::string trust_domain = "cluster.local";
    std::string ca_bundle;
    std::string cert;
    std::string key;
    uint32_t threads = 1;  // event loops of the HBONE proxy
    std::vector<HboneAuthorization> authorization;
};

// Everything one TOML file says. Immutable once loaded: a change is a new Config.
struct Config {
    std::string source;  // the file it came from
    NodeConfig node;
    AdminConfig admin;
    AnnounceConfig announce;
    LbConfig lb;
    DataplaneConfig dataplane;
    std::optional<HboneConfig> hbone;
    std::vector<Service> services;  // [[service]] then [[service_entry]], in file order
    std::vector<Endpoint> endpoints;
    std::vector<NetworkGateway> network_gateways;
    std::vector<ClusterInfo> clusters;
    std::vector<DestinationRule> destination_rules;
    std::vector<HealthCheck> health_checks;

    const Service* find_service(std::string_view key) const;
};

}  // namespace meshgate
