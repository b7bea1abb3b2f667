// What the node tells its routers (scale-out): VIPs by their services' selectable endpoints,
// SNAT addresses while flows may still return, nothing before the first snapshot.
#include "control/announcement.h"

#include <gtest/gtest.h>

#include "config/load_config.h"
#include "control/node_drain.h"

namespace meshgate::control {
namespace {

const std::string node = "[node]\nname = \"gw-1\"\ncluster = \"c1\"\nnetwork = \"n1\"\nregion = \"r1\"\nzone = \"z1\"\n"
                         "[[dataplane.port]]\nname = \"arm0\"\ndevice = \"net_ring0\"\naddresses = [\"10.99.11.2/24\"]\n"
                         "snat = [\"10.99.51.1\"]\n";
const std::string services =
    "[[service]]\nname = \"a\"\nnamespace = \"lab\"\nvips = [\"10.96.0.10\"]\nports = [{ port = 80 }]\n"
    "[[service]]\nname = \"b\"\nnamespace = \"lab\"\nvips = [\"10.96.0.10\"]\nports = [{ port = 443 }]\n"
    "[[service]]\nname = \"c\"\nnamespace = \"lab\"\nvips = [\"10.96.0.30\"]\nports = [{ port = 80 }]\n"
    "[[endpoint]]\nservice = \"lab/a\"\naddress = \"10.30.0.1\"\nlocality = { network = \"n1\", region = \"r1\", zone = \"z1\" }\nhealthy = false\n"
    "[[endpoint]]\nservice = \"lab/b\"\naddress = \"10.30.0.2\"\nlocality = { network = \"n1\", region = \"r1\", zone = \"z1\" }\n"
    "[[endpoint]]\nservice = \"lab/c\"\naddress = \"10.30.0.3\"\nlocality = { network = \"n1\", region = \"r1\", zone = \"z1\" }\n"
    "[[endpoint]]\nservice = \"lab/c\"\naddress = \"10.30.0.4\"\nlocality = { network = \"n1\", region = \"r1\", zone = \"z1\" }\nweight = 0\n";

Config load(const std::string& extra = "") {
    auto r = config::load_config_string(node + "[announce]\ntable = 100\n" + extra + services, "t.toml");
    for (const auto& d : r.diagnostics.errors()) ADD_FAILURE() << d.to_string();
    return *r.config;
}

std::vector<Announcement> plan(const Config& config, NodeMode mode) {
    const auto built = lb::build_plan(config, lb::declared_health(config));
    std::vector<const lb::ServicePlan*> plans;
    for (const auto& p : built.services) plans.push_back(&p);
    return plan_announcements(config, plans, mode);
}

const Announcement& find(const std::vector<Announcement>& list, const char* address) {
    for (const auto& a : list) {
        if (a.address.to_string() == address) return a;
    }
    throw std::runtime_error(std::string("no announcement for ") + address);
}

TEST(Announcement, AVipIsAnnouncedWhileOneOfItsServicesCanPlaceFlows) {
    const auto list = plan(load(), NodeMode::serving);
    ASSERT_EQ(list.size(), 3u) << "two VIPs and one SNAT address";
    const auto& shared = find(list, "10.96.0.10");
    EXPECT_TRUE(shared.announce) << shared.why;  // lab/a has none, lab/b has one
    EXPECT_EQ(shared.owners, (std::vector<std::string>{"lab/a", "lab/b"}));
    EXPECT_NE(shared.why.find("lab/b: 1 selectable IPv4 endpoint"), std::string::npos) << shared.why;
    EXPECT_TRUE(find(list, "10.96.0.30").announce);
    EXPECT_TRUE(find(list, "10.99.51.1").announce);
    EXPECT_FALSE(find(list, "10.99.51.1").vip);
}

TEST(Announcement, TooFewSelectableEndpointsWithdrawsAndSaysWhy) {
    // lab/c has two endpoints but one is drained (weight 0): one is selectable.
    const auto list = plan(load("min_healthy_endpoints = 2\n"), NodeMode::serving);
    const auto& c = find(list, "10.96.0.30");
    EXPECT_FALSE(c.announce);
    EXPECT_EQ(c.why, "lab/c: 1 selectable IPv4 endpoint, fewer than min_healthy_endpoints 2");
    EXPECT_FALSE(find(list, "10.96.0.10").announce);
    EXPECT_TRUE(find(list, "10.99.51.1").announce) << "SNAT does not depend on endpoints";
}

// Full NAT keeps the family: a VIP is served only by endpoints of its own family.
TEST(Announcement, EachVipCountsTheEndpointsOfItsFamily) {
    auto r = config::load_config_string(
        node + "[announce]\ntable = 100\n"
               "[[service]]\nname = \"d\"\nnamespace = \"lab\"\nvips = [\"10.96.0.40\", \"fd96::40\"]\nports = [{ port = 80 }]\n"
               "[[endpoint]]\nservice = \"lab/d\"\naddress = \"10.30.0.5\"\nhealthy = false\n"
               "locality = { network = \"n1\", region = \"r1\", zone = \"z1\" }\n"
               "[[endpoint]]\nservice = \"lab/d\"\naddress = \"fd30::5\"\n"
               "locality = { network = \"n1\", region = \"r1\", zone = \"z1\" }\n",
        "t.toml");
    ASSERT_TRUE(r.config);
    const auto list = plan(*r.config, NodeMode::serving);
    EXPECT_FALSE(find(list, "10.96.0.40").announce) << "its only IPv4 endpoint is down";
    EXPECT_EQ(find(list, "10.96.0.40").why, "lab/d: 0 selectable IPv4 endpoints, fewer than min_healthy_endpoints 1");
    EXPECT_TRUE(find(list, "fd96::40").announce) << find(list, "fd96::40").why;
}

TEST(Announcement, ModesDecideBeforeEndpoints) {
    const auto config = load();
    for (auto mode : {NodeMode::starting, NodeMode::draining, NodeMode::stopping}) {
        const auto list = plan(config, mode);
        EXPECT_FALSE(find(list, "10.96.0.10").announce) << to_string(mode);
        EXPECT_FALSE(find(list, "10.96.0.30").announce) << to_string(mode);
        // Replies of flows still served come back to the SNAT address until meshgated exits.
        EXPECT_EQ(find(list, "10.99.51.1").announce, mode != NodeMode::starting) << to_string(mode);
    }
}

using Clock = NodeDrain::Clock;

TEST(NodeDrain, WaitsForTheRoutersThenForOpenFlows) {
    AnnounceConfig config;
    config.drain_quiet = std::chrono::seconds(2);
    config.drain_timeout = std::chrono::seconds(60);
    NodeDrain d;
    const auto t0 = Clock::now();
    d.start(t0, 100);
    EXPECT_FALSE(d.progress(t0 + std::chrono::seconds(1), 103, 0, config)) << "new flows still arrive: routers not moved";
    EXPECT_FALSE(d.progress(t0 + std::chrono::milliseconds(2900), 103, 0, config)) << "quiet for 1.9 s only";
    EXPECT_FALSE(d.to_json(t0 + std::chrono::milliseconds(2900), config)["routers_moved"].get<bool>());
    EXPECT_FALSE(d.progress(t0 + std::chrono::seconds(4), 103, 5, config)) << "routers moved, 5 flows open";
    EXPECT_TRUE(d.to_json(t0 + std::chrono::seconds(4), config)["routers_moved"].get<bool>());
    EXPECT_EQ(d.to_json(t0 + std::chrono::seconds(4), config)["new_flows_since_start"], 3);
    EXPECT_FALSE(d.progress(t0 + std::chrono::seconds(9), 103, 0, config)) << "no flow open: the last segments may still pass";
    EXPECT_FALSE(d.progress(t0 + std::chrono::seconds(10), 103, 1, config)) << "a flow open again";
    EXPECT_FALSE(d.progress(t0 + std::chrono::seconds(11), 103, 0, config));
    EXPECT_FALSE(d.progress(t0 + std::chrono::milliseconds(12900), 103, 0, config));
    EXPECT_TRUE(d.progress(t0 + std::chrono::seconds(13), 103, 0, config)) << "drain_quiet with none open";
    EXPECT_EQ(d.to_json(t0 + std::chrono::seconds(13), config)["exit_reason"], "routers moved away and no flow remains");
}

TEST(NodeDrain, TimesOutWithFlowsLeftAndCanBeCancelled) {
    AnnounceConfig config;
    config.drain_timeout = std::chrono::seconds(30);
    NodeDrain d;
    const auto t0 = Clock::now();
    EXPECT_FALSE(d.progress(t0, 0, 0, config)) << "not started";
    d.start(t0, 0);
    EXPECT_FALSE(d.progress(t0 + std::chrono::seconds(29), 0, 7, config));
    EXPECT_TRUE(d.progress(t0 + std::chrono::seconds(30), 0, 7, config));
    EXPECT_EQ(d.to_json(t0 + std::chrono::seconds(30), config)["exit_reason"], "drain_timeout reached");
    d.cancel();
    EXPECT_FALSE(d.active());
    EXPECT_TRUE(d.to_json(t0, config).is_null());
}

}  // namespace
}  // namespace meshgate::control
