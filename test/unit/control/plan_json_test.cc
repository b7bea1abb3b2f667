// The plan --json document is a contract (interfaces.md): names and types of every field.
#include "control/plan_json.h"

#include <gtest/gtest.h>

#include "config/load_config.h"

namespace meshgate::control {
namespace {

Config example() {
    auto r = config::load_config_file(MESHGATE_SOURCE_DIR "/config/meshgate.toml");
    EXPECT_TRUE(r.config.has_value());
    return *r.config;
}

TEST(PlanJson, HasTheShapeOfInterfacesMd) {
    auto config = example();
    auto plan = lb::build_plan(config, lb::declared_health(config));
    auto j = plan_to_json(config, plan);
    ASSERT_TRUE(j["node"].is_object());
    for (const char* k : {"name", "network", "region", "zone", "subzone", "cluster"}) EXPECT_TRUE(j["node"][k].is_string()) << k;
    EXPECT_FALSE(j.contains("flows")) << "flows only with --flows";
    ASSERT_EQ(j["services"].size(), config.services.size());
    for (const auto& s : j["services"]) {
        EXPECT_TRUE(s["service"].is_string());
        EXPECT_TRUE(s["hostnames"].is_array());
        EXPECT_TRUE(s["warnings"].is_array());
        ASSERT_FALSE(s["hops"].empty());
        for (const auto& hop : s["hops"]) {
            EXPECT_TRUE(hop["hop"] == "backend" || hop["hop"] == "waypoint");
            EXPECT_TRUE(hop["mode"].is_string());
            const std::string source = hop["mode_source"];
            EXPECT_TRUE(source == "spec.trafficDistribution" || source == "service-annotation" ||
                        source == "serviceentry-annotation" || source == "internal-traffic-policy" ||
                        source == "destination-rule" || source == "default")
                << source;
            EXPECT_TRUE(hop["spillover"] == "graded" || hop["spillover"] == "strict");
            double total_share = 0;
            uint32_t total_load = 0;
            for (const auto& level : hop["levels"]) {
                EXPECT_TRUE(level["priority"].is_number_unsigned());
                total_load += level["load_percent"].get<uint32_t>();
                for (const auto& e : level["endpoints"]) {
                    EXPECT_TRUE(e["address"].is_string());
                    EXPECT_TRUE(e["port"].is_number_unsigned());
                    EXPECT_TRUE(e["healthy"].is_boolean());
                    EXPECT_TRUE(e["weight"].is_number_unsigned());
                    EXPECT_TRUE(e["share_percent"].is_number());
                    total_share += e["share_percent"].get<double>();
                }
            }
            EXPECT_EQ(total_load, 100u);
            EXPECT_NEAR(total_share, 100.0, 0.01) << s["service"];
        }
    }
}

TEST(PlanJson, ExampleProductpageSpillsThirtyPercentAndNamesItsSource) {
    auto config = example();
    auto plan = lb::build_plan(config, lb::declared_health(config));
    auto j = plan_to_json(config, plan);
    const auto& hop = j["services"][0]["hops"][0];
    EXPECT_EQ(j["services"][0]["service"], "bookinfo/productpage");
    EXPECT_EQ(hop["mode"], "PreferClose");
    EXPECT_EQ(hop["mode_source"], "spec.trafficDistribution");
    EXPECT_EQ(hop["levels"][0]["load_percent"], 70);
    EXPECT_EQ(hop["levels"][1]["load_percent"], 30);
    EXPECT_EQ(hop["excluded"].size(), 1u);
}

TEST(PlanJson, FlowsAreReportedPerEndpointKey) {
    auto config = example();
    auto plan = lb::build_plan(config, lb::declared_health(config));
    std::map<uint32_t, FlowCounts> flows;
    for (const auto& sp : plan.services) flows[sp.service_index] = simulate_flows(config, sp, 1000);
    auto j = plan_to_json(config, plan, &flows);
    EXPECT_EQ(j["flows"]["total"], 1000u * config.services.size());
    uint64_t sum = 0;
    for (const auto& [key, n] : j["flows"]["per_endpoint"].items()) sum += n.get<uint64_t>();
    EXPECT_EQ(sum + j["flows"]["refused"].get<uint64_t>(), 1000u * config.services.size());
}

}  // namespace
}  // namespace meshgate::control
