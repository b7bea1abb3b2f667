// Envoy outlier detection for L4 connect results: reference §6.7, §6.8 and TV19.
#include "lb/outlier_detector.h"

#include <gtest/gtest.h>

namespace meshgate::lb {
namespace {

using std::chrono::seconds;

OutlierDetectionPolicy tv19_policy() {
    OutlierDetectionPolicy p;
    p.consecutive_5xx_errors = 5;
    p.interval = seconds(10);
    p.base_ejection_time = seconds(30);
    p.max_ejection_percent = 10;
    return p;
}

void fail(OutlierDetector& d, size_t host, int times, MonotonicTime now) {
    for (int i = 0; i < times; ++i) d.record(host, ConnectResult::failure, now);
}

TEST(OutlierDetector, TV19FirstEjectionAndOverflow) {
    OutlierDetector d(tv19_policy(), 8);
    fail(d, 0, 4, seconds(0));
    EXPECT_FALSE(d.ejected(0));
    EXPECT_TRUE(d.record(0, ConnectResult::failure, seconds(0)));
    EXPECT_TRUE(d.ejected(0));
    EXPECT_EQ(d.state(0).backoff, 1u);

    fail(d, 1, 5, seconds(2));  // 1/8 = 12.5 % ≥ 10 %: overflow
    EXPECT_FALSE(d.ejected(1));
    EXPECT_EQ(d.overflows(), 1u);
}

TEST(OutlierDetector, TV19UnejectedAtTheFirstTickAfterBaseEjectionTime) {
    OutlierDetector d(tv19_policy(), 8);
    fail(d, 0, 5, seconds(0));
    for (int t = 10; t <= 20; t += 10) {
        EXPECT_TRUE(d.tick(seconds(t)).empty()) << "t=" << t;
        EXPECT_TRUE(d.ejected(0));
    }
    EXPECT_EQ(d.tick(seconds(30)), std::vector<size_t>{0});
    EXPECT_FALSE(d.ejected(0));
}

TEST(OutlierDetector, TV19ReEjectionDoublesAndIsCappedAt300s) {
    OutlierDetector d(tv19_policy(), 8);
    MonotonicTime now = seconds(0);
    Duration expected[] = {seconds(30), seconds(60), seconds(90), seconds(120), seconds(150), seconds(180),
                           seconds(210), seconds(240), seconds(270), seconds(300), seconds(300), seconds(300)};
    for (Duration want : expected) {
        fail(d, 0, 5, now);
        ASSERT_TRUE(d.ejected(0));
        const MonotonicTime ejected_at = now;
        // Tick every interval until the host is back; it must be back exactly at `want`.
        while (d.ejected(0)) {
            now += seconds(10);
            d.tick(now);
        }
        EXPECT_EQ(now - ejected_at, want);
    }
}

TEST(OutlierDetector, TV19BackoffDecaysWhileHealthy) {
    OutlierDetector d(tv19_policy(), 8);
    fail(d, 0, 5, seconds(0));
    d.tick(seconds(30));
    fail(d, 0, 5, seconds(31));
    EXPECT_EQ(d.state(0).backoff, 2u);
    d.tick(seconds(100));  // 69 s ≥ 60 s: back
    EXPECT_FALSE(d.ejected(0));
    EXPECT_EQ(d.state(0).backoff, 2u) << "not decremented in the tick that un-ejects";
    d.tick(seconds(110));
    EXPECT_EQ(d.state(0).backoff, 1u);
    d.tick(seconds(120));
    EXPECT_EQ(d.state(0).backoff, 0u);
    d.tick(seconds(130));
    EXPECT_EQ(d.state(0).backoff, 0u);
}

TEST(OutlierDetector, TV19SuccessBetweenFailuresResetsTheCounter) {
    OutlierDetector d(tv19_policy(), 8);
    fail(d, 0, 4, seconds(0));
    d.record(0, ConnectResult::success, seconds(0));
    fail(d, 0, 4, seconds(0));
    EXPECT_FALSE(d.ejected(0));
}

TEST(OutlierDetector, TimeoutsCountLikeFailures) {
    OutlierDetector d(tv19_policy(), 8);
    for (int i = 0; i < 5; ++i) d.record(0, ConnectResult::timeout, seconds(0));
    EXPECT_TRUE(d.ejected(0));
}

TEST(OutlierDetector, GatewayErrorsEjectWhenConfigured) {
    auto p = tv19_policy();
    p.consecutive_5xx_errors = 0;
    p.consecutive_gateway_errors = 2;
    OutlierDetector d(p, 2);
    d.record(0, ConnectResult::failure, seconds(0));
    EXPECT_FALSE(d.ejected(0));
    EXPECT_TRUE(d.record(0, ConnectResult::failure, seconds(0)));
}

TEST(OutlierDetector, SplitLocalOriginUsesItsOwnThreshold) {
    auto p = tv19_policy();
    p.split_external_local_origin_errors = true;
    p.consecutive_local_origin_failures = 3;
    p.consecutive_5xx_errors = 1;  // would eject at once if connect failures were 5xx
    OutlierDetector d(p, 4);
    fail(d, 0, 2, seconds(0));
    EXPECT_FALSE(d.ejected(0));
    fail(d, 0, 1, seconds(0));
    EXPECT_TRUE(d.ejected(0));
}

TEST(OutlierDetector, MaxEjectionPercentZeroNeverEjects) {
    auto p = tv19_policy();
    p.max_ejection_percent = 0;
    OutlierDetector d(p, 8);
    fail(d, 0, 5, seconds(0));
    EXPECT_FALSE(d.ejected(0));
}

TEST(OutlierDetector, ActiveCheckSuccessUnejects) {
    OutlierDetector d(tv19_policy(), 8);
    fail(d, 0, 5, seconds(0));
    d.on_active_check_success(0);
    EXPECT_FALSE(d.ejected(0));
    EXPECT_EQ(d.active_ejections(), 0u);
}

}  // namespace
}  // namespace meshgate::lb
