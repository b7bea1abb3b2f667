#include "cli/arguments.h"

#include <gtest/gtest.h>

namespace meshgate::cli {
namespace {

TEST(Arguments, OptionsSwitchesAndPositionals) {
    Arguments a;
    auto error = parse_arguments({"--config", "x.toml", "--json", "--flows=10", "ns/svc"}, {"config", "flows"}, {"json"}, a);
    ASSERT_FALSE(error) << *error;
    EXPECT_EQ(a.option("config"), "x.toml");
    EXPECT_EQ(a.option("flows"), "10");
    EXPECT_TRUE(a.flag("json"));
    EXPECT_EQ(a.positional, std::vector<std::string>{"ns/svc"});
}

TEST(Arguments, UnknownOptionAndMissingValueAreErrors) {
    Arguments a;
    EXPECT_EQ(parse_arguments({"--colour"}, {"config"}, {"json"}, a), "unknown option --colour");
    Arguments b;
    EXPECT_EQ(parse_arguments({"--config"}, {"config"}, {"json"}, b), "--config needs a value");
    Arguments c;
    EXPECT_EQ(parse_arguments({"--json=yes"}, {"config"}, {"json"}, c), "unknown option --json");
}

}  // namespace
}  // namespace meshgate::cli
