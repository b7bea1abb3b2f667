#include "hbone/keepalive.h"

#include <gtest/gtest.h>

namespace meshgate::hbone {
namespace {

using namespace std::chrono_literals;
using Due = Keepalive::Due;

TEST(Keepalive, FirstPingAfterTenSecondsThenEveryTenWhileAnswered) {
    const auto t0 = Keepalive::Clock::time_point{} + 1000s;
    Keepalive k(t0);
    EXPECT_EQ(k.check(t0 + 9s, false), Due::nothing);
    EXPECT_EQ(k.check(t0 + 10s, false), Due::ping);
    EXPECT_EQ(k.check(t0 + 11s, true), Due::nothing);   // awaiting its ACK
    EXPECT_EQ(k.check(t0 + 15s, false), Due::nothing);  // answered; the next is due at 20 s
    EXPECT_EQ(k.check(t0 + 20s, false), Due::ping);
}

TEST(Keepalive, UnansweredForTwentySecondsIsDead) {
    const auto t0 = Keepalive::Clock::time_point{} + 1000s;
    Keepalive k(t0);
    ASSERT_EQ(k.check(t0 + 10s, false), Due::ping);
    EXPECT_EQ(k.check(t0 + 29s, true), Due::nothing);
    EXPECT_EQ(k.check(t0 + 30s, true), Due::dead);
}

TEST(Keepalive, NothingIsDeadBeforeAPingWasSent) {
    const auto t0 = Keepalive::Clock::time_point{} + 1000s;
    Keepalive k(t0);
    EXPECT_EQ(k.check(t0 + 5s, true), Due::nothing);
}

}  // namespace
}  // namespace meshgate::hbone
