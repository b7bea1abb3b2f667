#include "control/idle_sleep.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <array>

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

// A pipe stands for a tap's rx queue: readable while a packet waits.
class KernelWakeTest : public ::testing::Test {
protected:
    void SetUp() override { ASSERT_EQ(pipe(fds_.data()), 0); }
    void TearDown() override {
        close(fds_[0]);
        close(fds_[1]);
    }
    void packet() { ASSERT_EQ(write(fds_[1], "p", 1), 1); }
    void take() {
        char c;
        ASSERT_EQ(read(fds_[0], &c, 1), 1);
    }
    std::array<int, 2> fds_{};
};

TEST_F(KernelWakeTest, APacketEndsTheSleepNothingElseDoes) {
    KernelWake wake({fds_[0]});
    EXPECT_FALSE(wake.sleep(us(1000)));
    packet();
    // Without the wake-up this would sleep for a minute; the suite's timeout would end it.
    EXPECT_TRUE(wake.sleep(std::chrono::minutes(1)));
}

TEST_F(KernelWakeTest, AWakeUpNoRoundTookAPacketForIsFollowedByAPlainSleep) {
    KernelWake wake({fds_[0]});
    packet();
    EXPECT_TRUE(wake.sleep(us(1000)));
    wake.round(0);  // the packet could not be taken: the fd stays readable
    EXPECT_FALSE(wake.sleep(us(1000)));
    EXPECT_TRUE(wake.sleep(us(1000)));  // one plain sleep, then the fd counts again
    take();
    wake.round(1);
    EXPECT_FALSE(wake.sleep(us(1000)));
}

TEST_F(KernelWakeTest, AfterARoundThatTookPacketsTheFdsCountAgain) {
    KernelWake wake({fds_[0]});
    packet();
    EXPECT_TRUE(wake.sleep(us(1000)));
    wake.round(1);  // a round took packets, one is still waiting
    EXPECT_TRUE(wake.sleep(std::chrono::minutes(1)));
}

TEST(KernelWake, WithoutFdsItIsAPlainSleep) {
    KernelWake wake({});
    EXPECT_FALSE(wake.sleep(us(100)));
}

}  // namespace
}  // namespace meshgate::control
