#include "core/duration.h"

#include <gtest/gtest.h>

namespace meshgate {
namespace {

using namespace std::chrono_literals;

TEST(Duration, ParsesUnits) {
    EXPECT_EQ(parse_duration("500ms"), Duration(500ms));
    EXPECT_EQ(parse_duration("10s"), Duration(10s));
    EXPECT_EQ(parse_duration("5m"), Duration(5min));
    EXPECT_EQ(parse_duration("1h"), Duration(1h));
    EXPECT_EQ(parse_duration("250us"), Duration(250us));
    EXPECT_EQ(parse_duration("1m30s"), Duration(90s));
}

TEST(Duration, RejectsMissingOrUnknownUnits) {
    for (const char* bad : {"", "10", "s", "10 s", "10sec", "-1s", "1.5s", "10S"}) {
        EXPECT_FALSE(parse_duration(bad).has_value()) << bad;
    }
}

TEST(Duration, FormatsInTheLargestExactUnit) {
    EXPECT_EQ(format_duration(30s), "30s");
    EXPECT_EQ(format_duration(1500ms), "1500ms");
    EXPECT_EQ(format_duration(5min), "5m");
}

}  // namespace
}  // namespace meshgate
