#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/address.h"
#include "core/config.h"
#include "lb/planner.h"

namespace meshgate::control {

// Where the node stands towards its routers.
enum class NodeMode {
    starting,  // no snapshot seen by every worker yet
    serving,
    draining,  // meshgatectl drain-node: VIPs withdrawn, established flows still served
    stopping,  // shutting down: everything withdrawn, serving on for [announce].withdraw_delay
};
const char* to_string(NodeMode mode);

// One address the routers may be told about, and whether they are now.
struct Announcement {
    IpAddress address;
    bool vip = true;                    // else a SNAT address
    std::vector<std::string> owners;    // the services of a VIP, the port of a SNAT address
    bool announce = false;
    std::string why;
};

// What to announce (architecture.md, scale-out): a VIP while the node serves and at least one
// of its services has [announce].min_healthy_endpoints selectable endpoints in its first hop;
// a SNAT address from the first snapshot until meshgated exits (replies of the flows it
// serves come back to it, also while it drains or stops). `plans` are by service index, from the snapshot every worker sees.
std::vector<Announcement> plan_announcements(const Config& config, const std::vector<const lb::ServicePlan*>& plans,
                                             NodeMode mode);

// Endpoints of the plan's first hop that can take new flows of a VIP of `vip_family`
// (full NAT keeps the family): healthy, with weight, with an address of that family.
uint32_t selectable_endpoints(const Config& config, const lb::ServicePlan& plan, bool vip_is_v4);

nlohmann::json announcements_json(const std::vector<Announcement>& announcements);

}  // namespace meshgate::control
