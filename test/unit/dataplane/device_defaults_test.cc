#include <gtest/gtest.h>

#include "dataplane/eal.h"

namespace meshgate::dataplane {
namespace {

TEST(DeviceArgument, FindsAKeyAmongTheArguments) {
    EXPECT_EQ(device_argument("net_af_xdp0,iface=wan0,xdp_prog=/p.o", "iface"), "wan0");
    EXPECT_EQ(device_argument("net_af_xdp0,iface=wan0,xdp_prog=/p.o", "xdp_prog"), "/p.o");
    EXPECT_EQ(device_argument("net_af_xdp0,iface=wan0", "queue_count"), std::nullopt);
    EXPECT_EQ(device_argument("net_af_packet0,iface=eth1,qpairs=2", "qpairs"), "2");
    EXPECT_EQ(device_argument("net_tap0", "iface"), std::nullopt);
    // A key is a whole name, not the end of a longer one.
    EXPECT_EQ(device_argument("net_af_packet0,myframecnt=7", "framecnt"), std::nullopt);
}

TEST(DeviceDefaults, AnAfPacketPortGetsALargerRingUnlessItNamesOne) {
    EXPECT_EQ(with_device_defaults("net_af_packet0,iface=eth1"), "net_af_packet0,iface=eth1,framecnt=4096");
    EXPECT_EQ(with_device_defaults("net_af_packet0,iface=eth1,qpairs=2"), "net_af_packet0,iface=eth1,qpairs=2,framecnt=4096");
    EXPECT_EQ(with_device_defaults("net_af_packet0,iface=eth1,framecnt=1024"), "net_af_packet0,iface=eth1,framecnt=1024")
        << "the operator's ring stands";
}

TEST(DeviceDefaults, OtherDevicesAreLeftAsTheyAre) {
    for (const char* device : {"net_tap0,iface=x", "net_af_xdp0,iface=wan0", "0000:3b:00.0"}) {
        EXPECT_EQ(with_device_defaults(device), device);
    }
}

}  // namespace
}  // namespace meshgate::dataplane
