// The live endpoint model: stable slots, admin changes and what a reload does with them.
#include "control/live_state.h"

#include <gtest/gtest.h>

#include "config/load_config.h"

namespace meshgate::control {
namespace {

constexpr const char* base = R"(
[node]
name = "gw-1"
cluster = "c1"
network = "n1"
region = "r1"
zone = "z1"

[[service]]
name = "cart"
namespace = "shop"
vips = ["10.96.0.1"]
ports = [{ port = 80, target_port = 8080, protocol = "tcp" }]

[[service]]
name = "front"
namespace = "shop"
vips = ["10.96.0.2"]
ports = [{ port = 80, protocol = "tcp" }]
waypoint = "shop/cart"

[[service]]
name = "other"
namespace = "shop"
vips = ["10.96.0.3"]
ports = [{ port = 80, protocol = "tcp" }]

[[endpoint]]
service = "shop/cart"
address = "10.1.0.1"

[[endpoint]]
service = "shop/cart"
address = "10.1.0.2"

[[endpoint]]
service = "shop/other"
address = "10.1.0.9"
)";

Config load(const std::string& text) {
    auto r = config::load_config_string(text, "live.toml");
    EXPECT_TRUE(r.config) << (r.diagnostics.items.empty() ? "" : r.diagnostics.items.front().to_string());
    return *r.config;
}

uint32_t slot_of(const LiveState& live, const char* service, const char* address) {
    auto slot = live.find(service, *IpAddress::parse(address), 0);
    EXPECT_TRUE(slot) << service << " " << address;
    return slot.value_or(UINT32_MAX);
}

Endpoint admin_endpoint(const char* service, const char* address) {
    Endpoint e;
    e.service = service;
    e.address = IpAddress::parse(address);
    return e;
}

TEST(LiveState, IdentityUsesTheTargetPort) {
    LiveState live(load(base));
    EXPECT_TRUE(live.find("shop/cart 10.1.0.1:8080"));
    EXPECT_TRUE(live.find("shop/cart", *IpAddress::parse("10.1.0.1"), 8080));
    EXPECT_FALSE(live.find("shop/cart", *IpAddress::parse("10.1.0.1"), 9999));
}

TEST(LiveState, SlotsAreStableAcrossRemoveAndAdd) {
    LiveState live(load(base));
    live.take_replan();
    const uint32_t one = slot_of(live, "shop/cart", "10.1.0.1"), two = slot_of(live, "shop/cart", "10.1.0.2");
    ASSERT_FALSE(live.remove(one));
    EXPECT_FALSE(live.occupied(one));
    EXPECT_EQ(slot_of(live, "shop/cart", "10.1.0.2"), two) << "removing one endpoint moves no other";
    ASSERT_FALSE(live.add(admin_endpoint("shop/cart", "10.1.0.3")));
    EXPECT_EQ(slot_of(live, "shop/cart", "10.1.0.3"), one) << "a freed slot is taken again";
    EXPECT_EQ(live.source(one), EndpointSource::admin);
    EXPECT_EQ(live.source(two), EndpointSource::config);
}

TEST(LiveState, ReplanTouchesTheChangedServiceAndItsWaypointUsers) {
    LiveState live(load(base));
    auto all = live.take_replan();
    EXPECT_EQ(all, (std::vector<bool>{true, true, true})) << "the first plan is of everything";
    EXPECT_FALSE(live.dirty());
    ASSERT_FALSE(live.set(slot_of(live, "shop/cart", "10.1.0.1"), false, std::nullopt));
    EXPECT_TRUE(live.dirty());
    // shop/front's first hop is its waypoint, shop/cart.
    EXPECT_EQ(live.take_replan(), (std::vector<bool>{true, true, false}));
    EXPECT_EQ(live.take_replan(), (std::vector<bool>{false, false, false}));
}

TEST(LiveState, AdminErrorsChangeNothing) {
    LiveState live(load(base));
    live.take_replan();
    EXPECT_TRUE(live.add(admin_endpoint("shop/nope", "10.1.0.5")));
    EXPECT_TRUE(live.add(admin_endpoint("shop/cart", "10.1.0.1"))) << "already there";
    EXPECT_TRUE(live.set(999, true, std::nullopt));
    EXPECT_TRUE(live.remove(999));
    EXPECT_FALSE(live.dirty());
    EXPECT_EQ(live.admin_changes(), 0u);
}

TEST(LiveState, ReloadKeepsAdminChangesAndReportsWhatItDropped) {
    LiveState live(load(base));
    ASSERT_FALSE(live.set(slot_of(live, "shop/cart", "10.1.0.1"), std::nullopt, 0u));  // drained
    ASSERT_FALSE(live.add(admin_endpoint("shop/cart", "10.1.0.7")));
    ASSERT_FALSE(live.add(admin_endpoint("shop/other", "10.1.0.8")));
    ASSERT_FALSE(live.remove(slot_of(live, "shop/cart", "10.1.0.2")));
    const uint32_t drained = slot_of(live, "shop/cart", "10.1.0.1");
    live.take_replan();

    // The new file: 10.1.0.2 is gone from it, 10.1.0.8 is now defined by it.
    std::string text = base;
    text.replace(text.find("address = \"10.1.0.2\""), 20, "address = \"10.1.0.4\"");
    text += "\n[[endpoint]]\nservice = \"shop/other\"\naddress = \"10.1.0.8\"\n";
    const auto report = live.reload(load(text), false);

    EXPECT_EQ(slot_of(live, "shop/cart", "10.1.0.1"), drained) << "a surviving endpoint keeps its slot";
    EXPECT_EQ(live.config().endpoints[drained].weight, 0u) << "a drained endpoint stays drained";
    EXPECT_EQ(live.source(drained), EndpointSource::admin);
    EXPECT_TRUE(live.find("shop/cart", *IpAddress::parse("10.1.0.7"), 0)) << "admin-added endpoints stay";
    EXPECT_EQ(live.source(slot_of(live, "shop/other", "10.1.0.8")), EndpointSource::config) << "the file took it over";
    EXPECT_TRUE(live.find("shop/cart", *IpAddress::parse("10.1.0.4"), 0));
    EXPECT_FALSE(live.find("shop/cart", *IpAddress::parse("10.1.0.2"), 0));
    EXPECT_EQ(report.admin_changes_kept, 2u);  // the drain and 10.1.0.7
    ASSERT_EQ(report.admin_changes_dropped.size(), 2u);
    EXPECT_EQ(report.endpoints_added, 1u);    // 10.1.0.4 (10.1.0.8 was there, from the admin API)
    EXPECT_EQ(report.endpoints_removed, 0u);  // 10.1.0.2 had been removed already
    EXPECT_EQ(live.take_replan(), (std::vector<bool>{true, true, true}));

    const auto discarded = live.reload(load(base), true);
    EXPECT_EQ(discarded.admin_changes_kept, 0u);
    EXPECT_EQ(live.config().endpoints[slot_of(live, "shop/cart", "10.1.0.1")].weight, 1u);
    EXPECT_FALSE(live.find("shop/cart", *IpAddress::parse("10.1.0.7"), 0));
    EXPECT_TRUE(live.find("shop/cart", *IpAddress::parse("10.1.0.2"), 0)) << "the admin removal is discarded";
}

TEST(LiveState, HealthSurvivesAReloadByIdentity) {
    LiveState live(load(base));
    const uint32_t slot = slot_of(live, "shop/cart", "10.1.0.2");
    EXPECT_TRUE(live.set_check_down(slot, true));
    EXPECT_FALSE(live.set_check_down(slot, true)) << "no change, no replan";
    EXPECT_TRUE(live.set_ejected(slot_of(live, "shop/cart", "10.1.0.1"), true));
    live.reload(load(base), false);
    EXPECT_TRUE(live.health()[slot_of(live, "shop/cart", "10.1.0.2")].check_down);
    EXPECT_TRUE(live.health()[slot_of(live, "shop/cart", "10.1.0.1")].ejected);
    EXPECT_FALSE(live.health()[slot_of(live, "shop/other", "10.1.0.9")].check_down);
}

}  // namespace
}  // namespace meshgate::control
