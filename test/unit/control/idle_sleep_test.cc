#include "control/idle_sleep.h"

#include <gtest/gtest.h>

namespace meshgate::control {
namespace {

using us = std::chrono::microseconds;

TEST(IdleSleep, QuietRoundsSleepLongerUpToTheLongest) {
    IdleSleep idle(us(200), us(2000));
    EXPECT_EQ(idle.after_round(false), us(200));
    EXPECT_EQ(idle.after_round(false), us(400));
    EXPECT_EQ(idle.after_round(false), us(800));
    EXPECT_EQ(idle.after_round(false), us(1600));
    EXPECT_EQ(idle.after_round(false), us(2000));
    EXPECT_EQ(idle.after_round(false), us(2000));
}

TEST(IdleSleep, WorkMeansNoSleepAndAShortOneAfter) {
    IdleSleep idle(us(200), us(2000));
    for (int i = 0; i < 10; ++i) idle.after_round(false);
    EXPECT_EQ(idle.after_round(true), us(0));
    EXPECT_EQ(idle.after_round(false), us(200));
}

TEST(IdleSleep, ALongestBelowTheShortestKeepsTheShortest) {
    IdleSleep idle(us(200), us(0));
    for (int i = 0; i < 5; ++i) EXPECT_EQ(idle.after_round(false), us(200));
}

}  // namespace
}  // namespace meshgate::control
