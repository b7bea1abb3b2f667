// Outlier detection over the live endpoints: ejection, return, and membership changes.
#include "control/outlier_tracker.h"

#include <gtest/gtest.h>

#include "config/load_config.h"

namespace meshgate::control {
namespace {

using std::chrono::seconds;

Config config() {
    auto r = config::load_config_string(R"(
[node]
name = "gw"
[[service]]
name = "web"
namespace = "t"
vips = ["10.96.0.1"]
ports = [{ port = 80, protocol = "tcp" }]
[[service]]
name = "plain"
namespace = "t"
vips = ["10.96.0.2"]
ports = [{ port = 80, protocol = "tcp" }]
[[endpoint]]
service = "t/web"
address = "10.1.0.1"
[[endpoint]]
service = "t/web"
address = "10.1.0.2"
[[endpoint]]
service = "t/plain"
address = "10.1.0.3"
[[destination_rule]]
host = "web.t.svc.cluster.local"
[destination_rule.traffic_policy.outlier_detection]
consecutive_5xx_errors = 3
interval = "1s"
base_ejection_time = "10s"
max_ejection_percent = 50
)",
                                        "od.toml");
    EXPECT_TRUE(r.config);
    return *r.config;
}

TEST(OutlierTracker, ConsecutiveFailuresEjectAndTheTickReturns) {
    LiveState live(config());
    live.take_replan();
    OutlierTracker t;
    t.sync(live);
    MonotonicTime now = seconds(100);
    EXPECT_FALSE(t.record(0, lb::ConnectResult::failure, now, live));
    EXPECT_FALSE(t.record(0, lb::ConnectResult::success, now, live)) << "a success resets the count";
    EXPECT_FALSE(t.record(0, lb::ConnectResult::failure, now, live));
    EXPECT_FALSE(t.record(0, lb::ConnectResult::timeout, now, live));
    EXPECT_TRUE(t.record(0, lb::ConnectResult::failure, now, live));
    EXPECT_TRUE(live.health()[0].ejected);
    EXPECT_TRUE(live.dirty()) << "the next snapshot carries the ejection";
    auto x = t.ejection(0);
    ASSERT_TRUE(x);
    EXPECT_EQ(x->until - x->since, seconds(10));
    // max_ejection_percent = 50: the second of two endpoints may not go.
    for (int i = 0; i < 3; ++i) t.record(1, lb::ConnectResult::failure, now, live);
    EXPECT_FALSE(live.health()[1].ejected);
    EXPECT_EQ(t.overflows(), 1u);

    EXPECT_EQ(t.tick(now + seconds(5), live), 0u);
    EXPECT_EQ(t.tick(now + seconds(10), live), 1u);
    EXPECT_FALSE(live.health()[0].ejected);
    EXPECT_FALSE(t.ejection(0));
}

TEST(OutlierTracker, OnlyServicesWithARuleAreTracked) {
    LiveState live(config());
    OutlierTracker t;
    t.sync(live);
    for (int i = 0; i < 10; ++i) EXPECT_FALSE(t.record(2, lb::ConnectResult::failure, seconds(1), live));
    EXPECT_FALSE(live.health()[2].ejected);
    EXPECT_FALSE(t.record(999, lb::ConnectResult::failure, seconds(1), live)) << "an unknown slot is ignored";
}

TEST(OutlierTracker, AnEjectionSurvivesMembershipChangesAndActiveChecksReturnIt) {
    LiveState live(config());
    OutlierTracker t;
    t.sync(live);
    for (int i = 0; i < 3; ++i) t.record(1, lb::ConnectResult::failure, seconds(1), live);
    ASSERT_TRUE(live.health()[1].ejected);
    Endpoint e;
    e.service = "t/web";
    e.address = IpAddress::parse("10.1.0.9");
    ASSERT_FALSE(live.add(e));
    t.sync(live);
    EXPECT_TRUE(t.ejection(1)) << "kept across a new membership";
    t.on_active_check_success(1, live);
    EXPECT_FALSE(live.health()[1].ejected);
    EXPECT_FALSE(t.ejection(1));
}

}  // namespace
}  // namespace meshgate::control
