#pragma once

#include <array>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <rte_ether.h>

#include "core/config.h"
#include "dataplane/address_key.h"
#include "dataplane/flat_index.h"
#include "dataplane/peer_ring.h"
#include "lb/planner.h"

struct rte_hash;

namespace meshgate::dataplane {

// An endpoint as flows know it across snapshots: its service, address and port.
struct EndpointKey {
    uint32_t service;
    AddressKey address;
    rte_be16_t port;
    uint8_t pad[2];
};
static_assert(sizeof(EndpointKey) == 28);

// What a VIP:port:protocol leads to.
struct VipEntry {
    uint32_t service = 0;                        // index in Config::services
    const lb::SelectionTable* table = nullptr;  // the service's first hop
    rte_be16_t target_port = 0;                  // network order
    // Gateway role (forwarding = "hbone" with [hbone]): the node's kernel, where meshgated's
    // HBONE proxy listens, takes these flows; the data plane only passes them on.
    bool to_kernel = false;
};

// Where an endpoint is reached: its address, port, and the route towards it.
struct EndpointTarget {
    bool usable = false;    // has an address this data plane can route to
    AddressKey address{};
    rte_be16_t port = 0;    // 0: the service port's target_port
    bool down = false;      // failing active health checks: its flows follow on_endpoint_down
    uint16_t out_port = 0;  // ethdev port
    AddressKey next_hop{};
};

enum AddressRole : uint8_t { role_node = 1, role_vip = 2, role_snat = 4 };

// A data-plane port as the snapshot sees it.
struct PortInfo {
    uint16_t port_id = 0;
    rte_ether_addr mac{};
    std::vector<IpPrefix> prefixes;
    std::optional<IpAddress> gateway;
    std::vector<IpAddress> snat;
    uint16_t mtu = 1500;  // the largest IP packet it sends
};

struct Route {
    uint16_t port = 0;
    AddressKey next_hop{};
};

// How `destination` is reached from `ports`: directly on a port whose prefix has it, or
// through the first port with a gateway of its family.
std::optional<Route> route_over(const std::vector<PortInfo>& ports, const AddressKey& destination);

struct NeighbourEntry {
    uint16_t port = 0;
    AddressKey address{};
    rte_ether_addr mac{};
};

// Neighbours (ARP / ND) the control thread has learnt: (port, address) → MAC.
class Neighbours {
public:
    Neighbours(uint64_t generation, const std::vector<NeighbourEntry>& entries);
    ~Neighbours();
    Neighbours(const Neighbours&) = delete;
    Neighbours& operator=(const Neighbours&) = delete;
    const rte_ether_addr* find(uint16_t port, const AddressKey& address) const;
    uint64_t generation() const { return generation_; }

private:
    struct Key {
        AddressKey address;
        uint16_t port;
        uint8_t pad[2];
    };
    uint64_t generation_;
    rte_hash* hash_ = nullptr;
    std::vector<rte_ether_addr> macs_;
};

// One service's plans: the plan of every address family, and one per family when its
// endpoints mix them (full NAT cannot cross families). Shared by successive LbStates whose
// update did not touch the service.
struct ServiceTables {
    lb::ServicePlan plan;
    std::optional<lb::ServicePlan> v4, v6;
};

// Which endpoints exist, indexed two ways: by service for the planner, and by (service,
// address, port) for a flow that finds its endpoint again in a newer snapshot. It depends
// only on which endpoints and services exist, so snapshots of the same membership share one:
// built for 100,000 endpoints it was most of the time a single weight change took.
struct EndpointDirectory {
    explicit EndpointDirectory(const Config& config);
    lb::EndpointIndex by_service;
    FlatIndex<EndpointKey> by_identity;
};

// The load-balancing state of one configuration, with its plan and lookup tables.
class LbState {
public:
    // Plans every service with `health`. With `previous` (same services in the same order),
    // only the services marked in `replan` are planned again; the others share previous's tables.
    // `membership` names which endpoints and services exist (control::LiveState's
    // membership_version); a state with previous's membership shares its EndpointDirectory.
    LbState(Config config, std::vector<PortInfo> ports, const std::vector<lb::EndpointHealth>& health,
            const LbState* previous = nullptr, const std::vector<bool>* replan = nullptr,
            std::optional<uint64_t> membership = std::nullopt);
    ~LbState();
    LbState(const LbState&) = delete;
    LbState& operator=(const LbState&) = delete;

    const VipEntry* find_vip(const VipKey& key) const;
    // The endpoint of `service` at `address`:`port` (network order) in this snapshot, or
    // lb::SelectionTable::no_endpoint when there is none: how a flow made under an older snapshot
    // finds its endpoint again.
    uint32_t find_endpoint(uint32_t service, const AddressKey& address, rte_be16_t port) const;
    uint8_t roles(const AddressKey& address) const;
    std::optional<Route> route(const AddressKey& destination) const;
    const EndpointTarget& endpoint(uint32_t id) const { return endpoints_[id]; }
    // Whether every endpoint is routed as in `other` (the same next hop through the same port).
    bool same_routes_as(const LbState& other) const { return routes_serial_ == other.routes_serial_; }
    const PortInfo* port(uint16_t port_id) const;
    const std::vector<PortInfo>& ports() const { return ports_; }
    const Config& config() const { return config_; }
    const std::vector<lb::EndpointHealth>& health() const { return health_; }
    // Whether workers report connect outcomes of `service`'s new flows (it has outlier detection).
    bool observes_connects(uint32_t service) const { return observed_[service] != 0; }
    // The plan of every service, by service index, and the warnings tied to none.
    std::vector<const lb::ServicePlan*> plan() const;
    const lb::ServicePlan& service_plan(uint32_t service) const { return services_[service]->plan; }
    const std::vector<std::string>& plan_warnings() const { return plan_warnings_; }
    // A SNAT address of `port` for `family`, chosen by `hash` among those there are.
    const IpAddress* snat_address(uint16_t port, uint8_t family, uint64_t hash) const;

private:
    Config config_;
    std::vector<lb::EndpointHealth> health_;
    std::vector<std::shared_ptr<const ServiceTables>> services_;  // VipEntry points into them
    std::vector<std::string> plan_warnings_;
    std::vector<uint8_t> observed_;  // by service index
    std::vector<PortInfo> ports_;
    std::vector<VipEntry> vips_;
    std::vector<EndpointTarget> endpoints_;
    uint64_t routes_serial_ = 0;  // shared with the state whose routes endpoints_ copied
    FlatIndex<VipKey> vip_index_;
    std::vector<std::array<std::vector<const IpAddress*>, 2>> snat_pools_;  // by port id: IPv4, IPv6
    std::shared_ptr<const EndpointDirectory> directory_;
    std::optional<uint64_t> membership_;
    rte_hash* role_hash_ = nullptr;
    std::vector<uint8_t> role_values_;
};

// What the workers read: immutable, published by the control thread through one atomic
// pointer, freed after an RCU grace period. Cheap to make: a new neighbour table or a new
// plan shares the other half.
struct Snapshot {
    uint64_t generation = 0;
    std::shared_ptr<const LbState> lb;
    std::shared_ptr<const Neighbours> neighbours;
    // By endpoint id: the MAC of its next hop, where known (endpoint_macs()): a new flow takes
    // it from here instead of looking it up.
    std::vector<const rte_ether_addr*> endpoint_macs;
    // The tier's ring for second chance, of the peers that answer now (peer_ring.h).
    PeerRing peers;
};

// Resolves every endpoint's next hop in `neighbours` once, for a Snapshot; or copies what
// `previous` resolved when it had the same neighbour table and the same routes (a lookup per
// endpoint was half of a single weight change among 100,000 endpoints).
std::vector<const rte_ether_addr*> endpoint_macs(const LbState& lb, const std::shared_ptr<const Neighbours>& neighbours,
                                                 const Snapshot* previous = nullptr);

}  // namespace meshgate::dataplane
