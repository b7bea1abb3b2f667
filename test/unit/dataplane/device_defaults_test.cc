#include <gtest/gtest.h>

#include <rte_ethdev.h>

#include "dataplane/eal.h"
#include "dataplane/ports.h"

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

TEST(RingSize, TheDevicesPreferredRingWhenItIsLarger) {
    const rte_eth_desc_lim open{.nb_max = UINT16_MAX, .nb_min = 0, .nb_align = 1, .nb_seg_max = 0, .nb_mtu_seg_max = 0};
    EXPECT_EQ(ring_size(1024, 2048, open), 2048) << "AF_XDP's preference";
    EXPECT_EQ(ring_size(1024, 256, open), 1024) << "a smaller preference does not shrink the ring";
    EXPECT_EQ(ring_size(1024, 0, open), 1024) << "no preference";
    EXPECT_EQ(ring_size(1024, 8192, open), 2048) << "no more than the packet pool counts a queue";
}

TEST(RingSize, WithinTheDevicesLimits) {
    const rte_eth_desc_lim small{.nb_max = 512, .nb_min = 64, .nb_align = 32, .nb_seg_max = 0, .nb_mtu_seg_max = 0};
    EXPECT_EQ(ring_size(1024, 0, small), 512);
    const rte_eth_desc_lim aligned{.nb_max = 4096, .nb_min = 64, .nb_align = 1000, .nb_seg_max = 0, .nb_mtu_seg_max = 0};
    EXPECT_EQ(ring_size(1024, 2500, aligned), 2000);
    const rte_eth_desc_lim large_minimum{.nb_max = 8192, .nb_min = 2048, .nb_align = 1, .nb_seg_max = 0, .nb_mtu_seg_max = 0};
    EXPECT_EQ(ring_size(1024, 0, large_minimum), 2048);
}

}  // namespace
}  // namespace meshgate::dataplane
