// Successive LbStates of a LiveState: a weight or health change shares the previous state's
// endpoint directory and routes, a membership change builds them again, and either way a flow
// finds its endpoint (or learns it is gone) exactly as in a state built from nothing.
#include <gtest/gtest.h>

#include "config/load_config.h"
#include "control/live_state.h"
#include "dataplane/snapshot.h"
#include "lb/selection_table.h"

namespace meshgate::testing {
namespace {

constexpr const char* config_text = R"(
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

[[endpoint]]
service = "shop/cart"
address = "10.1.0.1"

[[endpoint]]
service = "shop/cart"
address = "10.1.0.2"
)";

class LbStateSuccession : public ::testing::Test {
protected:
    LbStateSuccession() : live(load()) {
        dataplane::PortInfo port;
        port.prefixes = {*IpPrefix::parse("10.1.0.250/24")};
        ports = {port};
    }
    static Config load() {
        auto r = config::load_config_string(config_text, "succession.toml");
        EXPECT_TRUE(r.config);
        return *r.config;
    }
    // The next state, as the control thread makes it.
    std::unique_ptr<dataplane::LbState> next(const dataplane::LbState* previous) {
        const auto replan = live.take_replan();
        return std::make_unique<dataplane::LbState>(live.config(), ports, live.health(), previous, &replan,
                                                    live.membership_version());
    }
    static uint32_t find(const dataplane::LbState& s, const char* address) {
        return s.find_endpoint(0, dataplane::AddressKey::from(*IpAddress::parse(address)), rte_cpu_to_be_16(8080));
    }
    uint32_t slot(const char* address) { return *live.find("shop/cart", *IpAddress::parse(address), 0); }

    control::LiveState live;
    std::vector<dataplane::PortInfo> ports;
};

TEST_F(LbStateSuccession, WeightAndHealthChangesKeepEveryEndpointFindable) {
    auto first = next(nullptr);
    ASSERT_EQ(find(*first, "10.1.0.1"), slot("10.1.0.1"));

    ASSERT_FALSE(live.set(slot("10.1.0.1"), std::nullopt, 5));
    ASSERT_TRUE(live.set_check_down(slot("10.1.0.2"), true));
    auto second = next(first.get());
    EXPECT_EQ(find(*second, "10.1.0.1"), slot("10.1.0.1"));
    EXPECT_EQ(find(*second, "10.1.0.2"), slot("10.1.0.2"));
    EXPECT_TRUE(second->endpoint(slot("10.1.0.2")).down) << "health is the new state's, not the one it copied";
    EXPECT_FALSE(first->endpoint(slot("10.1.0.2")).down);
    EXPECT_TRUE(second->endpoint(slot("10.1.0.1")).usable);
    EXPECT_EQ(find(*second, "10.1.0.9"), lb::SelectionTable::no_endpoint);
    EXPECT_TRUE(second->same_routes_as(*first)) << "a snapshot may keep the next hops' MACs it had";
}

TEST_F(LbStateSuccession, EndpointsThatComeAndGoAreFoundOrNot) {
    auto first = next(nullptr);
    Endpoint added;
    added.service = "shop/cart";
    added.address = IpAddress::parse("10.1.0.3");
    ASSERT_FALSE(live.add(added));
    auto second = next(first.get());
    EXPECT_EQ(find(*first, "10.1.0.3"), lb::SelectionTable::no_endpoint);
    ASSERT_EQ(find(*second, "10.1.0.3"), slot("10.1.0.3"));
    EXPECT_TRUE(second->endpoint(slot("10.1.0.3")).usable);
    EXPECT_FALSE(second->same_routes_as(*first));

    const uint32_t gone = slot("10.1.0.1");
    ASSERT_FALSE(live.remove(gone));
    auto third = next(second.get());
    EXPECT_EQ(find(*third, "10.1.0.1"), lb::SelectionTable::no_endpoint);
    EXPECT_FALSE(third->endpoint(gone).usable);
    EXPECT_EQ(find(*third, "10.1.0.3"), find(*second, "10.1.0.3"));
}

TEST_F(LbStateSuccession, NewRoutesAreWorkedOutAgain) {
    auto first = next(nullptr);
    ports[0].prefixes = {*IpPrefix::parse("10.2.0.250/24")};
    ASSERT_FALSE(live.set(slot("10.1.0.1"), std::nullopt, 2));
    auto second = next(first.get());
    EXPECT_TRUE(first->endpoint(slot("10.1.0.1")).usable);
    EXPECT_FALSE(second->endpoint(slot("10.1.0.1")).usable) << "no route to 10.1.0.1 any more";
    EXPECT_FALSE(second->same_routes_as(*first));
}

}  // namespace
}  // namespace meshgate::testing
