// The whole engine, config in → SelectionTable out, checked statistically with flows
// (reference §10 acceptance rule): TV3–TV10, TV14, TV18 end to end, plus spill-over, drain,
// service scope, waypoints and cross-instance determinism.
#include "lb/planner.h"

#include <algorithm>
#include <random>

#include <gtest/gtest.h>

#include "lb/fixtures.h"

namespace meshgate::lb {
namespace {

using testing::backend_hop;
using testing::expect_chosen_set;
using testing::fraction;
using testing::MeshBuilder;
using testing::run_flows;

constexpr uint64_t flows = 4000;

const Locality wl_match{"network", "reg", "zone", "", "", ""};
const Locality wl_almost{"network", "reg", "not-zone", "", "", ""};
const Locality wl_no_locality{"network", "", "", "", "", ""};
const Locality wl_other{"other", "reg", "zone", "", "", ""};

MeshBuilder tv_mesh(Locality client) {
    MeshBuilder m(client);
    m.service().traffic_distribution = "PreferClose";
    m.config.lb.spillover = Spillover::strict;  // the ZT engine
    // meshgate reaches other networks only through their gateways (semantics.md §7).
    m.gateway("network").gateway("other");
    m.endpoint("10.0.0.1", wl_match).endpoint("10.0.0.2", wl_almost).endpoint("10.0.0.3", wl_no_locality).endpoint(
        "10.0.0.4", wl_other);
    return m;
}

std::map<std::string, uint64_t> plan_and_run(const Config& config, uint64_t* refused = nullptr) {
    auto plan = plan_service(config, declared_health(config), 0);
    return run_flows(config, backend_hop(plan), flows, refused);
}

TEST(Planner, TV3NothingMatchesEveryEligibleEndpointIsChosen) {
    auto m = tv_mesh({"no-match", "no-match", "no-match", "", "", ""});
    // "No IP, no gateway": an addressless endpoint on the selector's own network.
    m.endpoint("", {"no-match", "", "", "", "", ""});
    auto counts = plan_and_run(m.config);
    expect_chosen_set(counts, {"10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4"}, flows);
    auto plan = plan_service(m.config, declared_health(m.config), 0);
    ASSERT_EQ(backend_hop(plan).excluded.size(), 1u);
    EXPECT_EQ(backend_hop(plan).excluded[0].reason, describe(Eligibility::no_address));
}

TEST(Planner, TV4EmptyClientZone) {
    expect_chosen_set(plan_and_run(tv_mesh({"network", "reg", "", "", "", ""}).config), {"10.0.0.1", "10.0.0.2"}, flows);
}

TEST(Planner, TV5NetworkMismatchButRegionAndZoneMatch) {
    expect_chosen_set(plan_and_run(tv_mesh({"no-match", "reg", "zone", "", "", ""}).config), {"10.0.0.1", "10.0.0.4"},
                      flows);
}

class TV6 : public ::testing::TestWithParam<Spillover> {};

TEST_P(TV6, PreferSameZoneCascadeUnderFailures) {
    const std::vector<std::pair<std::vector<bool>, std::string>> rows = {
        {{true, true, true, true, true}, "10.0.0.1"},     {{false, true, true, true, true}, "10.0.0.2"},
        {{false, false, true, true, true}, "10.0.0.3"},   {{false, false, false, true, true}, "10.0.0.4"},
        {{false, false, false, false, true}, "10.0.0.5"},
    };
    for (const auto& [healthy, expected] : rows) {
        MeshBuilder m({"n1", "r1", "z1", "", "k1", ""});
        m.service().traffic_distribution = "PreferSameZone";
        m.config.lb.spillover = GetParam();
        m.gateway("n2");
        m.endpoint("10.0.0.1", {"n1", "r1", "z1", "", "", ""}, healthy[0])
            .endpoint("10.0.0.2", {"n1", "r1", "z2", "", "", ""}, healthy[1])
            .endpoint("10.0.0.3", {"n1", "r2", "z9", "", "", ""}, healthy[2])
            .endpoint("10.0.0.4", {"n2", "r1", "z1", "", "", ""}, healthy[3])
            .endpoint("10.0.0.5", {"n2", "r9", "z9", "", "", ""}, healthy[4]);
        expect_chosen_set(plan_and_run(m.config), {expected}, flows);
    }
}

INSTANTIATE_TEST_SUITE_P(BothSpillovers, TV6, ::testing::Values(Spillover::strict, Spillover::graded));

TEST(Planner, TV7PreferSameNode) {
    for (int down = 0; down < 3; ++down) {
        MeshBuilder m({"n1", "r1", "z1", "", "k1", ""});
        m.service().traffic_distribution = "PreferSameNode";
        m.endpoint("10.0.0.1", {"n1", "r1", "z1", "", "k1", ""}, down < 1)
            .endpoint("10.0.0.2", {"n1", "r1", "z1", "", "k2", ""}, down < 2)
            .endpoint("10.0.0.3", {"n1", "r1", "z1", "s2", "k3", ""});
        expect_chosen_set(plan_and_run(m.config), {"10.0.0." + std::to_string(down + 1)}, flows);
    }
}

TEST(Planner, TV8LocalWithItsNodeEndpointDownRefusesEverything) {
    MeshBuilder m({"n1", "r1", "z1", "", "k1", ""});
    m.service().internal_traffic_policy = InternalTrafficPolicy::local;
    m.endpoint("10.0.0.1", {"n1", "r1", "z1", "", "k1", ""}, false).endpoint("10.0.0.2", {"n1", "r1", "z1", "", "k2", ""});
    uint64_t refused = 0;
    auto counts = plan_and_run(m.config, &refused);
    EXPECT_TRUE(counts.empty());
    EXPECT_EQ(refused, flows);
    m.config.endpoints[0].healthy = true;
    expect_chosen_set(plan_and_run(m.config), {"10.0.0.1"}, flows);
}

TEST(Planner, TV8LocalStaysStrictEvenWithAPanicThreshold) {
    MeshBuilder m({"n1", "r1", "z1", "", "k1", ""});
    m.service().internal_traffic_policy = InternalTrafficPolicy::local;
    m.config.lb.panic_threshold = 50;
    m.endpoint("10.0.0.1", {"n1", "r1", "z1", "", "k1", ""}, false);
    uint64_t refused = 0;
    plan_and_run(m.config, &refused);
    EXPECT_EQ(refused, flows);
}

TEST(Planner, TV9AnyWithCapacityAndARemoteCoalescedWorkload) {
    MeshBuilder m({"n1", "r1", "z1", "", "", ""});
    m.service().annotations[traffic_distribution_annotation] = "Any";
    m.gateway("n2");
    m.endpoint("10.0.0.1", {"n1", "", "", "", "", ""}).endpoint("10.0.0.2", {"n1", "", "", "", "", ""});
    m.endpoint("", {"n2", "", "", "", "", ""}, true, 3);  // three remote pods behind n2's gateway
    auto counts = plan_and_run(m.config);
    EXPECT_NEAR(fraction(counts, "10.0.0.1", flows), 0.2, 0.03);
    EXPECT_NEAR(fraction(counts, "10.0.0.2", flows), 0.2, 0.03);
    EXPECT_NEAR(fraction(counts, "@n2", flows), 0.6, 0.03);

    MeshBuilder same({"n1", "r1", "z1", "", "", ""});
    same.service().annotations[traffic_distribution_annotation] = "Any";
    same.endpoint("10.0.0.1", {"n1", "", "", "", "", ""}).endpoint("", {"n1", "", "", "", "", ""}, true, 3);
    expect_chosen_set(plan_and_run(same.config), {"10.0.0.1"}, flows);
}

TEST(Planner, TV10PublishNotReadyAddressesIgnoresHealth) {
    MeshBuilder m({"n1", "r1", "z1", "", "", ""});
    m.service().traffic_distribution = "PreferSameZone";
    m.endpoint("10.0.0.1", {"n1", "r1", "z1", "", "", ""}, false).endpoint("10.0.0.2", {"n1", "r1", "z2", "", "", ""});
    m.service().publish_not_ready_addresses = true;
    expect_chosen_set(plan_and_run(m.config), {"10.0.0.1"}, flows);
    m.service().publish_not_ready_addresses = false;
    expect_chosen_set(plan_and_run(m.config), {"10.0.0.2"}, flows);
}

MeshBuilder tv14_mesh(bool with_outlier_detection, bool with_b) {
    MeshBuilder m({"", "us-east", "z1", "s1", "", ""});
    DestinationRule rule;
    rule.host = "svc";
    rule.locality_lb_setting.emplace();
    rule.locality_lb_setting->failover = {{"us-east", "eu-west"}};
    if (with_outlier_detection) rule.outlier_detection.emplace();
    m.config.destination_rules.push_back(rule);
    m.endpoint("10.0.0.1", {"", "us-east", "z1", "s1", "", ""});
    if (with_b) m.endpoint("10.0.0.2", {"", "us-east", "z1", "s2", "", ""});
    m.endpoint("10.0.0.3", {"", "us-east", "z2", "x", "", ""})
        .endpoint("10.0.0.4", {"", "eu-west", "z9", "", "", ""})
        .endpoint("10.0.0.5", {"", "us-west", "z9", "", "", ""});
    return m;
}

std::vector<std::vector<std::string>> level_keys(const HopPlan& hop) {
    std::vector<std::vector<std::string>> out;
    for (const auto& level : hop.levels) {
        out.emplace_back();
        for (const auto& pe : level.endpoints) out.back().push_back(pe.key);
    }
    return out;
}

TEST(Planner, TV14RegionFailoverWithOutlierDetection) {
    auto m = tv14_mesh(true, true);
    auto plan = plan_service(m.config, declared_health(m.config), 0);
    EXPECT_EQ(backend_hop(plan).mode.source, ModeSource::destination_rule);
    EXPECT_EQ(level_keys(backend_hop(plan)),
              (std::vector<std::vector<std::string>>{
                  {"10.0.0.1:8080"}, {"10.0.0.2:8080"}, {"10.0.0.3:8080"}, {"10.0.0.4:8080"}, {"10.0.0.5:8080"}}));
}

TEST(Planner, TV14VariantWithoutBCompacts) {
    auto m = tv14_mesh(true, false);
    auto plan = plan_service(m.config, declared_health(m.config), 0);
    EXPECT_EQ(level_keys(backend_hop(plan)),
              (std::vector<std::vector<std::string>>{{"10.0.0.1:8080"}, {"10.0.0.3:8080"}, {"10.0.0.4:8080"}, {"10.0.0.5:8080"}}));
}

TEST(Planner, TV14VariantWithoutOutlierDetectionIsOneLevelAndWarns) {
    auto m = tv14_mesh(false, true);
    auto plan = plan_service(m.config, declared_health(m.config), 0);
    ASSERT_EQ(backend_hop(plan).levels.size(), 1u);
    EXPECT_EQ(backend_hop(plan).levels[0].endpoints.size(), 5u);
    ASSERT_FALSE(plan.warnings.empty());
    EXPECT_NE(plan.warnings.back().find("outlier_detection"), std::string::npos);
}

TEST(Planner, TV18DistributeSharesFollowLocalityWeights) {
    MeshBuilder m({"", "us-west", "zone1", "a", "", ""});
    DestinationRule rule;
    rule.host = "svc.ns.svc.cluster.local";
    m.config.node.cluster_domain = "cluster.local";
    rule.locality_lb_setting.emplace();
    rule.locality_lb_setting->distribute = {{"us-west/zone1/*", {{"us-west/zone1/*", 80}, {"us-west/zone2/*", 20}}}};
    m.config.destination_rules.push_back(rule);
    m.endpoint("10.0.1.1", {"", "us-west", "zone1", "a", "", ""}).endpoint("10.0.1.2", {"", "us-west", "zone1", "a", "", ""});
    m.endpoint("10.0.2.1", {"", "us-west", "zone1", "b", "", ""}).endpoint("10.0.2.2", {"", "us-west", "zone1", "b", "", ""});
    m.endpoint("10.0.3.1", {"", "us-west", "zone2", "c", "", ""});
    for (int i = 0; i < 3; ++i) m.endpoint("10.0.4." + std::to_string(i + 1), {"", "us-east", "zone3", "d", "", ""});
    auto plan = plan_service(m.config, declared_health(m.config), 0);
    const auto& hop = backend_hop(plan);
    std::map<std::string, double> share;
    for (const auto& pe : hop.levels.at(0).endpoints) share[pe.key] = pe.share_percent;
    EXPECT_NEAR(share["10.0.1.1:8080"] + share["10.0.1.2:8080"], 40.0, 0.01);
    EXPECT_NEAR(share["10.0.2.1:8080"] + share["10.0.2.2:8080"], 40.0, 0.01);
    EXPECT_NEAR(share["10.0.3.1:8080"], 20.0, 0.01);
    EXPECT_EQ(hop.excluded.size(), 3u) << "locality d is in no `to`";
    auto counts = run_flows(m.config, hop, 20000);
    EXPECT_NEAR(fraction(counts, "10.0.3.1", 20000), 0.20, 0.02);
    EXPECT_EQ(counts.count("10.0.4.1"), 0u);
}

TEST(Planner, GradedSpillOverSharesMatchFlows) {
    MeshBuilder m({"n1", "r1", "z1", "", "", ""});
    m.service().traffic_distribution = "PreferClose";
    m.endpoint("10.0.0.1", {"n1", "r1", "z1", "", "", ""}).endpoint("10.0.0.2", {"n1", "r1", "z1", "", "", ""});
    m.endpoint("10.0.0.3", {"n1", "r1", "z1", "", "", ""}, false).endpoint("10.0.0.4", {"n1", "r1", "z1", "", "", ""}, false);
    m.endpoint("10.0.1.1", {"n1", "r1", "z2", "", "", ""}).endpoint("10.0.1.2", {"n1", "r1", "z2", "", "", ""});
    auto plan = plan_service(m.config, declared_health(m.config), 0);
    const auto& hop = backend_hop(plan);
    ASSERT_EQ(hop.levels.size(), 2u);
    EXPECT_EQ(hop.levels[0].load_percent, 70u);
    EXPECT_EQ(hop.levels[1].load_percent, 30u);
    const uint64_t n = 40000;
    auto counts = run_flows(m.config, hop, n);
    EXPECT_NEAR(fraction(counts, "10.0.0.1", n), 0.35, 0.02);
    EXPECT_NEAR(fraction(counts, "10.0.0.2", n), 0.35, 0.02);
    EXPECT_NEAR(fraction(counts, "10.0.1.1", n), 0.15, 0.02);
    EXPECT_NEAR(fraction(counts, "10.0.1.2", n), 0.15, 0.02);
    EXPECT_EQ(counts.count("10.0.0.3") + counts.count("10.0.0.4"), 0u);
}

TEST(Planner, WeightZeroDrainsWithoutCountingAsUnhealthy) {
    MeshBuilder m({"n1", "r1", "z1", "", "", ""});
    m.service().traffic_distribution = "PreferClose";
    m.endpoint("10.0.0.1", {"n1", "r1", "z1", "", "", ""}).endpoint("10.0.0.2", {"n1", "r1", "z1", "", "", ""}, true, 0);
    m.endpoint("10.0.1.1", {"n1", "r1", "z2", "", "", ""});
    auto plan = plan_service(m.config, declared_health(m.config), 0);
    EXPECT_EQ(backend_hop(plan).levels[0].load_percent, 100u);
    expect_chosen_set(run_flows(m.config, backend_hop(plan), flows), {"10.0.0.1"}, flows);
}

TEST(Planner, EjectedAndCheckedDownEndpointsAreUnhealthy) {
    MeshBuilder m({"n1", "r1", "z1", "", "", ""});
    m.service().traffic_distribution = "PreferClose";
    m.endpoint("10.0.0.1", {"n1", "r1", "z1", "", "", ""}).endpoint("10.0.0.2", {"n1", "r1", "z1", "", "", ""});
    m.endpoint("10.0.0.3", {"n1", "r1", "z1", "", "", ""});
    auto health = declared_health(m.config);
    health[0].ejected = true;
    health[1].check_down = true;
    auto plan = plan_service(m.config, health, 0);
    expect_chosen_set(run_flows(m.config, backend_hop(plan), flows), {"10.0.0.3"}, flows);
    EXPECT_EQ(backend_hop(plan).levels[0].endpoints[0].health_reason, "ejected by outlier detection");
}

TEST(Planner, ServiceWithoutScopeCannotReachOtherClusters) {
    MeshBuilder m({"n1", "r1", "z1", "", "", "c1"});
    m.endpoint("10.0.0.1", {"n1", "r1", "z1", "", "", "c1"}).endpoint("10.0.0.2", {"n1", "r1", "z1", "", "", "c2"});
    auto plan = plan_service(m.config, declared_health(m.config), 0);
    EXPECT_EQ(backend_hop(plan).excluded.size(), 1u);
    EXPECT_FALSE(plan.warnings.empty());
    m.service().labels[service_scope_key] = "global";
    plan = plan_service(m.config, declared_health(m.config), 0);
    EXPECT_TRUE(backend_hop(plan).excluded.empty());
    EXPECT_EQ(plan.hostnames, (std::vector<std::string>{"svc.ns.svc.cluster.local", "svc.ns.mesh.internal"}));
}

TEST(Planner, SegmentScopeReachesOnlyTheSegment) {
    MeshBuilder m({"n1", "r1", "z1", "", "", "c1"});
    m.config.node.segment = "east";
    m.config.node.segment_domain = "east.example";
    m.config.clusters = {{"c2", "east"}, {"c3", "west"}};
    m.service().annotations[service_scope_key] = "segment";
    m.endpoint("10.0.0.1", {"n1", "", "", "", "", ""}).endpoint("10.0.0.2", {"n1", "", "", "", "", "c2"});
    m.endpoint("10.0.0.3", {"n1", "", "", "", "", "c3"});
    auto plan = plan_service(m.config, declared_health(m.config), 0);
    ASSERT_EQ(backend_hop(plan).excluded.size(), 1u);
    EXPECT_EQ(backend_hop(plan).excluded[0].key, "10.0.0.3:8080");
    EXPECT_EQ(plan.hostnames.back(), "svc.ns.east.example");
}

TEST(Planner, GlobalOnlyAnswersOnlyToTheGlobalName) {
    MeshBuilder m({"n1", "r1", "z1", "", "", "c1"});
    m.service().labels[service_scope_key] = "global-only";
    auto plan = plan_service(m.config, declared_health(m.config), 0);
    EXPECT_EQ(plan.hostnames, (std::vector<std::string>{"svc.ns.mesh.internal"}));
}

TEST(Planner, WaypointHopComesFirstAndDefaultsToPreferClose) {
    MeshBuilder m({"n1", "r1", "z1", "", "", ""});
    Service waypoint;
    waypoint.name = "waypoint";
    waypoint.ns = "ns";
    waypoint.ports.push_back({15008, 15008, Protocol::tcp});
    m.config.services.push_back(waypoint);
    m.service().waypoint = "ns/waypoint";
    m.endpoint("10.0.0.1", {"n1", "r1", "z1", "", "", ""});
    Endpoint w1, w2;
    w1.service = w2.service = "ns/waypoint";
    w1.address = *IpAddress::parse("10.9.0.1");
    w1.locality = {"n1", "r1", "z2", "", "", ""};
    w2.address = *IpAddress::parse("10.9.0.2");
    w2.locality = {"n1", "r1", "z1", "", "", ""};
    m.config.endpoints.push_back(w1);
    m.config.endpoints.push_back(w2);
    auto plan = plan_service(m.config, declared_health(m.config), 0);
    ASSERT_EQ(plan.hops.size(), 2u);
    EXPECT_EQ(plan.hops[0].hop, Hop::waypoint);
    EXPECT_EQ(plan.hops[0].mode.mode, TrafficMode::prefer_same_zone);
    EXPECT_EQ(plan.hops[0].mode.source, ModeSource::hop_default);
    EXPECT_EQ(plan.hops[1].mode.mode, TrafficMode::prefer_network);
    expect_chosen_set(run_flows(m.config, plan.hops[0], flows), {"10.9.0.2"}, flows);
}

// Two instances given the same endpoints in a different order pick the same endpoint for
// every flow (architecture.md, scale-out).
TEST(Planner, InstancesAgreeWhateverTheEndpointOrder) {
    MeshBuilder m({"n1", "r1", "z1", "", "", ""});
    for (int i = 0; i < 50; ++i) m.endpoint("10.0." + std::to_string(i / 10) + "." + std::to_string(i + 1), {"n1", "r1", "z1", "", "", ""});
    auto shuffled = m.config;
    std::shuffle(shuffled.endpoints.begin(), shuffled.endpoints.end(), std::mt19937(42));
    auto a = plan_service(m.config, declared_health(m.config), 0);
    auto b = plan_service(shuffled, declared_health(shuffled), 0);
    for (uint64_t h = 0; h < 100000; ++h) {
        const uint64_t hash = mix64(h);
        ASSERT_EQ(m.config.endpoints[backend_hop(a).table.pick(hash)].address,
                  shuffled.endpoints[backend_hop(b).table.pick(hash)].address);
    }
    // What `plan --json` shows as tables_hash: equal, since every flow goes alike.
    EXPECT_EQ(backend_hop(a).table.digest(), backend_hop(b).table.digest());
}

// The digest follows every decision: another member, another weight or another level split
// changes it; health and endpoint order only through what they change.
TEST(Planner, TablesDigestChangesWithTheDecisionOnly) {
    MeshBuilder m({"n1", "r1", "z1", "", "", ""});
    m.service().traffic_distribution = "PreferClose";
    for (int i = 1; i <= 6; ++i) m.endpoint("10.0.0." + std::to_string(i), {"n1", "r1", i <= 3 ? "z1" : "z2", "", "", ""});
    auto digest = [](const Config& c, std::vector<EndpointHealth> health) {
        return backend_hop(plan_service(c, health, 0)).table.digest();
    };
    const uint64_t base = digest(m.config, declared_health(m.config));
    auto reversed = m.config;
    std::reverse(reversed.endpoints.begin(), reversed.endpoints.end());
    EXPECT_EQ(digest(reversed, declared_health(reversed)), base);

    auto heavier = m.config;
    heavier.endpoints[0].weight = 2;
    EXPECT_NE(digest(heavier, declared_health(heavier)), base);

    auto more = m.config;
    more.endpoints.push_back(more.endpoints[0]);
    more.endpoints.back().address = *IpAddress::parse("10.0.0.7");
    EXPECT_NE(digest(more, declared_health(more)), base);

    auto health = declared_health(m.config);
    health[0].check_down = true;  // the local level shrinks and spills: another split
    EXPECT_NE(digest(m.config, health), base);
    // The remote level takes no flow while the local one is whole: losing one of its
    // endpoints decides nothing new.
    auto remote_down = declared_health(m.config);
    remote_down[5].ejected = true;
    EXPECT_EQ(digest(m.config, remote_down), base);
}

TEST(Planner, AVipWithoutEndpointsOfItsFamilyIsWarned) {
    MeshBuilder m({"n1", "r1", "z1", "", "", ""});
    m.service().vips.push_back(*IpAddress::parse("fd96::1"));
    m.endpoint("10.0.0.1", {"n1", "r1", "z1", "", "", ""});
    auto plan = plan_service(m.config, declared_health(m.config), 0);
    ASSERT_EQ(plan.warnings.size(), 1u);
    EXPECT_EQ(plan.warnings[0], "VIP fd96::1 has no IPv6 endpoint: its flows are refused");
}

TEST(Planner, NoEndpointsAtAllRefusesAndWarns) {
    MeshBuilder m({"n1", "r1", "z1", "", "", ""});
    uint64_t refused = 0;
    auto counts = plan_and_run(m.config, &refused);
    EXPECT_EQ(refused, flows);
    auto plan = plan_service(m.config, declared_health(m.config), 0);
    EXPECT_NE(plan.warnings.back().find("refused"), std::string::npos);
}

}  // namespace
}  // namespace meshgate::lb
