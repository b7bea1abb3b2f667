#include "core/address.h"

#include <gtest/gtest.h>

namespace meshgate {
namespace {

TEST(IpAddress, ParsesAndFormatsBothFamilies) {
    EXPECT_EQ(IpAddress::parse("10.1.2.3")->to_string(), "10.1.2.3");
    EXPECT_TRUE(IpAddress::parse("10.1.2.3")->is_v4());
    EXPECT_EQ(IpAddress::parse("fd00::1")->to_string(), "fd00::1");
    EXPECT_FALSE(IpAddress::parse("fd00::1")->is_v4());
    EXPECT_EQ(IpAddress::v4(0x0a000001), *IpAddress::parse("10.0.0.1"));
}

TEST(IpAddress, RejectsGarbage) {
    for (const char* bad : {"", "10.1.2", "10.1.2.256", "host", "10.0.0.1/24", " 10.0.0.1", "1:2:3:4:5:6:7:8:9"}) {
        EXPECT_FALSE(IpAddress::parse(bad).has_value()) << bad;
    }
}

TEST(IpPrefix, ParsesAndContains) {
    auto p = IpPrefix::parse("10.10.0.2/24");
    ASSERT_TRUE(p);
    EXPECT_TRUE(p->contains(*IpAddress::parse("10.10.0.1")));
    EXPECT_FALSE(p->contains(*IpAddress::parse("10.10.1.1")));
    EXPECT_FALSE(p->contains(*IpAddress::parse("fd00::1")));
    EXPECT_TRUE(IpPrefix::parse("fd00::2/64")->contains(*IpAddress::parse("fd00::ffff")));
    EXPECT_TRUE(IpPrefix::parse("10.0.0.0/23")->contains(*IpAddress::parse("10.0.1.200")));
    EXPECT_FALSE(IpPrefix::parse("10.0.0.0/33"));
    EXPECT_FALSE(IpPrefix::parse("10.0.0.0/"));
    EXPECT_FALSE(IpPrefix::parse("10.0.0.0"));
}

TEST(SocketAddress, ParsesV4AndBracketedV6) {
    EXPECT_EQ(SocketAddress::parse("0.0.0.0:15008")->port, 15008);
    EXPECT_EQ(SocketAddress::parse("[::1]:80")->to_string(), "[::1]:80");
    EXPECT_FALSE(SocketAddress::parse("::1:80"));
    EXPECT_FALSE(SocketAddress::parse("10.0.0.1:65536"));
    EXPECT_FALSE(SocketAddress::parse("10.0.0.1"));
}

}  // namespace
}  // namespace meshgate
