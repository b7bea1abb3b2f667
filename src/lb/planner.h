#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/config.h"
#include "lb/mode.h"
#include "lb/priority_load.h"
#include "lb/selection_table.h"
#include "lb/service_scope.h"

namespace meshgate::lb {

// What the control thread knows about an endpoint's health beyond its declaration.
struct EndpointHealth {
    bool declared_healthy = true;
    bool check_down = false;  // failed active health checks
    bool ejected = false;     // outlier detection
};

// Declared health only: what an offline plan knows.
std::vector<EndpointHealth> declared_health(const Config& config);

struct PlannedEndpoint {
    uint32_t id = 0;           // index into Config::endpoints
    std::string key;           // "address:port", or "network@gateway" for a remote network
    uint16_t port = 0;
    bool healthy = true;       // selectable health
    std::string health_reason; // why not healthy, or "draining"
    uint32_t weight = 1;       // configured weight
    uint32_t effective_weight = 0;  // the weight the Maglev table was built with (0: none)
    double share_percent = 0;  // of all new flows of the hop
};

struct PlannedLevel {
    uint32_t priority = 0;
    uint32_t load_percent = 0;
    bool panic = false;
    std::string why;  // what the endpoints of this level share with the selector
    std::vector<PlannedEndpoint> endpoints;
};

struct ExcludedEndpoint {
    uint32_t id = 0;
    std::string key;
    std::string reason;
};

struct HopPlan {
    Hop hop = Hop::backend;
    std::string target;  // the service whose endpoints this hop picks from
    ModeDecision mode;
    Spillover spillover = Spillover::graded;
    std::vector<PlannedLevel> levels;
    std::vector<ExcludedEndpoint> excluded;
    bool total_panic = false;
    SelectionTable table;
};

struct ServicePlan {
    uint32_t service_index = 0;
    std::string service;  // "namespace/name"
    std::vector<std::string> hostnames;
    ScopeDecision scope;
    std::vector<HopPlan> hops;  // the first hop is the one the gateway takes for a new flow
    std::vector<std::string> warnings;
};

struct Plan {
    std::vector<ServicePlan> services;
    std::vector<std::string> warnings;  // not tied to one service
};

// Endpoint ids of each service, made once per Config so that planning stays linear in its size.
class EndpointIndex {
public:
    explicit EndpointIndex(const Config& config);
    const std::vector<uint32_t>& of(const std::string& service) const;

private:
    std::unordered_map<std::string, std::vector<uint32_t>> by_service_;
    std::vector<uint32_t> none_;
};

// Which endpoint addresses a plan may use. Full NAT cannot cross address families, so the data
// plane plans an IPv4 VIP over IPv4 endpoints and an IPv6 VIP over IPv6 ones.
enum class AddressFamily : uint8_t { any, v4, v6 };

// The whole decision for every service: pure, deterministic, no I/O.
Plan build_plan(const Config& config, const std::vector<EndpointHealth>& health);
// The plan's warnings that belong to no service (a destination rule that names none).
std::vector<std::string> plan_warnings(const Config& config);
// `previous`, the service's last plan, lends the Maglev tables of levels whose members did not change.
ServicePlan plan_service(const Config& config, const EndpointIndex& index,
                         const std::vector<EndpointHealth>& health, uint32_t service_index,
                         AddressFamily family = AddressFamily::any, const ServicePlan* previous = nullptr);
// The same for one service, indexing the endpoints first.
ServicePlan plan_service(const Config& config, const std::vector<EndpointHealth>& health,
                         uint32_t service_index);

// The destination rule whose host names `service` (FQDN, global name, "name" or "name.namespace").
const DestinationRule* find_destination_rule(const Config& config, const Service& service);

// "10.1.0.11:9080", "[fd00::1]:80", or "net-2@10.30.0.5:15008" for a remote network.
std::string endpoint_key(const Config& config, const Service& service, const Endpoint& endpoint);
// The endpoint's own port, else the target port of the service's first port.
uint16_t endpoint_port(const Service& service, const Endpoint& endpoint);

}  // namespace meshgate::lb
