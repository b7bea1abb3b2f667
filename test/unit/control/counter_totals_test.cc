// Per-endpoint and per-service counters stay with whoever holds the index.
#include "control/counter_totals.h"

#include <gtest/gtest.h>

namespace meshgate::control {
namespace {

TEST(CounterTotals, SumsWorkersAndRebasesAnIndexThatChangesHands) {
    dataplane::WorkerCounters a(4, 2), b(4, 2);
    CounterTotals totals({&a, &b});
    totals.follow({"s ep0", "s ep1", "", ""}, {"ns/s", "ns/t"});
    a.endpoints[1].packets.add(10);
    b.endpoints[1].packets.add(5);
    a.endpoints[1].new_flows.add(2);
    a.endpoints[1].active_flows.add(2);
    a.services[0].bytes.add(700);
    EXPECT_EQ(totals.endpoint(1).packets, 15u);
    EXPECT_EQ(totals.endpoint(1).new_flows, 2u);
    EXPECT_EQ(totals.service(0).bytes, 700u);

    // Slot 1's endpoint leaves, another takes the slot; services are renumbered by a reload.
    totals.follow({"s ep0", "", "", ""}, {"ns/s", "ns/t"});
    totals.follow({"s ep0", "s ep9", "", ""}, {"ns/t", "ns/s"});
    EXPECT_EQ(totals.endpoint(1).packets, 0u) << "ep9 does not inherit ep1's counts";
    EXPECT_EQ(totals.endpoint(1).new_flows, 0u);
    EXPECT_EQ(totals.endpoint(1).active_flows, 2u) << "ep1's pinned flows still count until they end";
    EXPECT_EQ(totals.service(0).bytes, 0u);
    b.endpoints[1].packets.add(3);
    EXPECT_EQ(totals.endpoint(1).packets, 3u);
    totals.follow({"s ep0", "s ep9", "", ""}, {"ns/t", "ns/s"});
    EXPECT_EQ(totals.endpoint(1).packets, 3u) << "no change of hands, no rebase";
}

}  // namespace
}  // namespace meshgate::control
