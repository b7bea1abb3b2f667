// DestinationRule algorithms: reference §6 and TV12, TV13, TV14, TV17, TV18.
#include "lb/locality_lb.h"

#include <gtest/gtest.h>

#include "lb/ranking.h"

namespace meshgate::lb {
namespace {

Labels labels_of(const Locality& l) { return with_topology_labels({}, l); }

TEST(FailoverPriority, TV12SynthesizedPreferSameZoneLabels) {
    const std::vector<std::string> keys{topology_label::network, topology_label::region, topology_label::zone};
    const auto proxy = labels_of({"n1", "r1", "z1", "", "", ""});
    auto p = [&](Locality l) { return failover_priority(proxy, labels_of(l), keys); };
    EXPECT_EQ(p({"n1", "r1", "z1", "", "", ""}), 0u);  // A
    EXPECT_EQ(p({"n1", "r1", "z2", "", "", ""}), 1u);  // B
    EXPECT_EQ(p({"n1", "r2", "z3", "", "", ""}), 2u);  // C
    EXPECT_EQ(p({"n2", "r1", "z1", "", "", ""}), 3u);  // D
    EXPECT_EQ(p({"n2", "r1", "z4", "", "", ""}), 4u);  // E
    EXPECT_EQ(p({"n2", "r9", "z9", "", "", ""}), 5u);  // F
}

TEST(FailoverPriority, TV12VariantCompactsToDenseLevels) {
    std::vector<std::optional<uint32_t>> raw{0u, 2u, 5u};  // A, C, F only
    EXPECT_EQ(compact_priorities(raw), (std::vector<std::optional<uint32_t>>{0u, 1u, 2u}));
}

TEST(FailoverPriority, TV13KeyValueOverridesCompareWithTheValue) {
    const std::vector<std::string> keys{"version=v1", "topology.istio.io/cluster=clusterA"};
    const Labels proxy{{"version", "v9"}};  // the proxy's own value is not used with key=value
    EXPECT_EQ(failover_priority(proxy, {{"version", "v1"}, {"topology.istio.io/cluster", "clusterA"}}, keys), 0u);
    EXPECT_EQ(failover_priority(proxy, {{"version", "v1"}, {"topology.istio.io/cluster", "clusterB"}}, keys), 1u);
    EXPECT_EQ(failover_priority(proxy, {{"version", "v2"}, {"topology.istio.io/cluster", "clusterA"}}, keys), 2u);
}

TEST(LocalityFailover, TV14RegionFailoverRule) {
    const Locality proxy{"", "us-east", "z1", "s1", "", ""};
    const std::vector<FailoverRule> rules{{"us-east", "eu-west"}};
    auto p = [&](Locality l) { return locality_failover_priority(proxy, l, rules); };
    EXPECT_EQ(p({"", "us-east", "z1", "s1", "", ""}), 0u);  // a
    EXPECT_EQ(p({"", "us-east", "z1", "s2", "", ""}), 1u);  // b
    EXPECT_EQ(p({"", "us-east", "z2", "x", "", ""}), 2u);   // c
    EXPECT_EQ(p({"", "eu-west", "z9", "", "", ""}), 3u);    // d
    EXPECT_EQ(p({"", "us-west", "z9", "", "", ""}), 4u);    // e
}

TEST(LocalityFailover, OnlyTheFirstRuleFromTheProxyRegionCounts) {
    const Locality proxy{"", "us-east", "z1", "", "", ""};
    const std::vector<FailoverRule> rules{{"us-east", "eu-west"}, {"us-east", "us-west"}};
    EXPECT_EQ(locality_failover_priority(proxy, {"", "us-west", "", "", "", ""}, rules), 4u);
    EXPECT_EQ(envoy_locality_priority(proxy, {"n9", "us-east", "z1", "", "", ""}), 0u) << "network is not compared";
}

TEST(LocalityMatch, WildcardsAndMissingSegments) {
    const Locality l{"", "us-west", "zone1", "a", "", ""};
    EXPECT_TRUE(locality_matches("us-west/zone1/*", l));
    EXPECT_TRUE(locality_matches("us-west/zone1/a", l));
    EXPECT_TRUE(locality_matches("us-west", l));
    EXPECT_TRUE(locality_matches("us-west/*", l));
    EXPECT_TRUE(locality_matches("*/zone1", l));
    EXPECT_FALSE(locality_matches("us-west/zone2/*", l));
    EXPECT_FALSE(locality_matches("us-east/*", l));
    EXPECT_FALSE(locality_matches("*/zone2", l));
}

TEST(Distribute, TV18Weights) {
    const Locality proxy{"", "us-west", "zone1", "a", "", ""};
    const std::vector<DistributeRule> rules{{"us-west/zone1/*", {{"us-west/zone1/*", 80}, {"us-west/zone2/*", 20}}}};
    std::vector<Locality> eps;
    auto add = [&](int n, Locality l) { for (int i = 0; i < n; ++i) eps.push_back(l); };
    add(2, {"", "us-west", "zone1", "a", "", ""});
    add(2, {"", "us-west", "zone1", "b", "", ""});
    add(1, {"", "us-west", "zone2", "c", "", ""});
    add(3, {"", "us-east", "zone3", "d", "", ""});
    auto result = apply_distribute(proxy, rules, eps, std::vector<uint32_t>(eps.size(), 1));
    ASSERT_TRUE(result.has_value());
    std::map<std::string, uint64_t> w;
    for (const auto& lw : result->localities) w[lw.locality] = lw.weight;
    EXPECT_EQ(w["us-west/zone1/a"], 40u);
    EXPECT_EQ(w["us-west/zone1/b"], 40u);
    EXPECT_EQ(w["us-west/zone2/c"], 20u);
    EXPECT_EQ(w["us-east/zone3/d"], 0u);
}

TEST(Distribute, MostSpecificPatternClaimsFirstWhateverTheOrder) {
    const Locality proxy{"", "r", "z", "", "", ""};
    const std::vector<DistributeRule> rules{{"*", {{"r/*", 30}, {"r/z1/*", 70}}}};
    std::vector<Locality> eps{{"", "r", "z1", "", "", ""}, {"", "r", "z2", "", "", ""}};
    auto result = apply_distribute(proxy, rules, eps, {1, 1});
    ASSERT_TRUE(result.has_value());
    EXPECT_EQ(result->localities[0].matched_by, "r/z1/*");
    EXPECT_EQ(result->localities[0].weight, 70u);
    EXPECT_EQ(result->localities[1].matched_by, "r/*");
    EXPECT_EQ(result->localities[1].weight, 30u);
}

TEST(Distribute, NoMatchingFromMeansNoRule) {
    const Locality proxy{"", "eu", "z", "", "", ""};
    const std::vector<DistributeRule> rules{{"us-west/*", {{"us-west/*", 100}}}};
    EXPECT_FALSE(apply_distribute(proxy, rules, {{"", "eu", "z", "", "", ""}}, {1}).has_value());
}

TEST(LocalityWeightedShare, TV17) {
    auto share_of_x = [](uint64_t x_available) {
        auto w = effective_locality_weights({{1, x_available, 100}, {2, 100, 100}}, 140);
        return w[0] / (w[0] + w[1]);
    };
    EXPECT_NEAR(share_of_x(100), 1.0 / 3.0, 1e-9);
    EXPECT_NEAR(share_of_x(50), 70.0 / 270.0, 1e-9);  // ≈ 26 %
    EXPECT_NEAR(share_of_x(0), 0.0, 1e-9);
}

}  // namespace
}  // namespace meshgate::lb
