#include "control/announcement.h"

#include <map>

namespace meshgate::control {

const char* to_string(NodeMode mode) {
    switch (mode) {
        case NodeMode::starting: return "starting";
        case NodeMode::serving: return "serving";
        case NodeMode::draining: return "draining";
        case NodeMode::stopping: return "stopping";
    }
    return "?";
}

uint32_t selectable_endpoints(const Config& config, const lb::ServicePlan& plan, bool vip_is_v4) {
    if (plan.hops.empty()) return 0;
    uint32_t n = 0;
    for (const auto& level : plan.hops.front().levels) {
        for (const auto& e : level.endpoints) {
            const auto& address = config.endpoints[e.id].address;
            n += e.healthy && e.effective_weight > 0 && address && address->is_v4() == vip_is_v4;
        }
    }
    return n;
}

std::vector<Announcement> plan_announcements(const Config& config, const std::vector<const lb::ServicePlan*>& plans,
                                             NodeMode mode) {
    const uint32_t wanted = config.announce.min_healthy_endpoints;
    const char* not_serving = mode == NodeMode::starting ? "starting: no snapshot is in every worker yet"
                              : mode == NodeMode::draining ? "node draining (meshgatectl drain-node)"
                                                           : "shutting down";
    // A VIP may front several services (other ports): it is announced while any of them can
    // place a new flow.
    std::map<IpAddress, Announcement> vips;
    for (size_t i = 0; i < config.services.size(); ++i) {
        const auto& service = config.services[i];
        for (const auto& vip : service.vips) {
            const uint32_t n = i < plans.size() && plans[i] ? selectable_endpoints(config, *plans[i], vip.is_v4()) : 0;
            auto& a = vips[vip];
            a.address = vip;
            a.owners.push_back(service.key());
            const std::string why = service.key() + ": " + std::to_string(n) + " selectable " +
                                    (vip.is_v4() ? "IPv4" : "IPv6") + " endpoint" + (n == 1 ? "" : "s") +
                                    (n >= wanted ? "" : ", fewer than min_healthy_endpoints " + std::to_string(wanted));
            if (mode != NodeMode::serving) {
                a.why = not_serving;
            } else if (n >= wanted && !a.announce) {
                a.announce = true;
                a.why = why;
            } else if (!a.announce) {
                a.why = a.why.empty() ? why : a.why + "; " + why;
            }
        }
    }
    std::vector<Announcement> out;
    for (auto& [address, a] : vips) out.push_back(std::move(a));
    for (const auto& port : config.dataplane.ports) {
        for (const auto& snat : port.snat) {
            Announcement a;
            a.address = snat;
            a.vip = false;
            a.owners = {port.name};
            // Replies to flows still served come back to it until meshgated exits (the kernel
            // removes the route then).
            a.announce = mode != NodeMode::starting;
            a.why = a.announce ? "SNAT address of port " + port.name : "starting: no snapshot is in every worker yet";
            out.push_back(std::move(a));
        }
    }
    return out;
}

nlohmann::json announcements_json(const std::vector<Announcement>& announcements) {
    auto list = nlohmann::json::array();
    for (const auto& a : announcements) {
        list.push_back({{"address", a.address.to_string()},
                        {"kind", a.vip ? "vip" : "snat"},
                        {"owners", a.owners},
                        {"announced", a.announce},
                        {"why", a.why}});
    }
    return list;
}

}  // namespace meshgate::control
