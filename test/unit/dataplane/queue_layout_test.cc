#include "dataplane/queue_layout.h"

#include <gtest/gtest.h>

#include <set>

namespace meshgate::dataplane {
namespace {

TEST(QueueLayout, OneQueuePairWithTwoWorkersIsSteeredAndShared) {
    // net_af_packet's default, a one-queue virtio-net or VF.
    const auto l = queue_layout({1, 1, false}, 2);
    EXPECT_EQ(l.rx_queues, 1);
    EXPECT_EQ(l.tx_queues, 1);
    EXPECT_FALSE(l.rss);
    EXPECT_TRUE(l.steer);
}

TEST(QueueLayout, EveryQueueOfADeviceWithoutRssIsPolled) {
    // af_packet qpairs=4 or AF_XDP queue_count=4: the kernel delivers on all four.
    for (uint32_t workers : {1u, 2u, 8u}) {
        const auto l = queue_layout({4, 4, false}, workers);
        EXPECT_EQ(l.rx_queues, 4) << workers;
        EXPECT_EQ(l.tx_queues, 4) << workers;  // no fewer tx than rx: such devices pair them
        EXPECT_EQ(l.steer, workers > 4) << workers;
    }
}

TEST(QueueLayout, RssDevicesGetOneQueuePerWorker) {
    const auto nic = queue_layout({64, 64, true}, 4);
    EXPECT_EQ(nic.rx_queues, 4);
    EXPECT_EQ(nic.tx_queues, 4);
    EXPECT_TRUE(nic.rss);
    EXPECT_FALSE(nic.steer);
    const auto single = queue_layout({64, 64, true}, 1);
    EXPECT_EQ(single.rx_queues, 1);
    EXPECT_FALSE(single.rss);
    const auto small = queue_layout({2, 2, true}, 4);  // fewer queues than workers
    EXPECT_EQ(small.rx_queues, 2);
    EXPECT_EQ(small.tx_queues, 2);
    EXPECT_TRUE(small.steer);
}

TEST(QueueLayout, EveryRxQueueIsPolledByExactlyOneWorker) {
    const std::vector<std::pair<uint16_t, QueueLayout>> ports = {
        {0, queue_layout({1, 1, false}, 3)}, {1, queue_layout({4, 4, false}, 3)}, {5, queue_layout({16, 16, true}, 3)}};
    const auto assigned = assign_rx_queues(ports, 3);
    ASSERT_EQ(assigned.size(), 3u);
    std::set<std::pair<uint16_t, uint16_t>> seen;
    for (const auto& worker : assigned) {
        EXPECT_FALSE(worker.empty());
        for (const auto& a : worker) EXPECT_TRUE(seen.insert({a.port, a.queue}).second) << a.port << "/" << a.queue;
    }
    EXPECT_EQ(seen.size(), 1u + 4u + 3u);
}

TEST(QueueLayout, TwoSingleQueuePortsLandOnDifferentWorkers) {
    const auto one = queue_layout({1, 1, false}, 2);
    const auto assigned = assign_rx_queues({{0, one}, {1, one}}, 2);
    ASSERT_EQ(assigned[0].size(), 1u);
    ASSERT_EQ(assigned[1].size(), 1u);
    EXPECT_NE(assigned[0][0].port, assigned[1][0].port);
    EXPECT_TRUE(assigned[0][0].steer && assigned[1][0].steer);
}

TEST(QueueLayout, TheStartupLineSaysWhatHappens) {
    EXPECT_EQ(describe("wan0", queue_layout({1, 1, false}, 2), 2),
              "wan0: 1 queue rx (steered in software to 2 workers), 1 queue tx (1 worker(s) send through another's)");
    EXPECT_EQ(describe("lan0", queue_layout({8, 8, true}, 2), 2), "lan0: 2 queues rx (RSS), 2 queues tx");
}

}  // namespace
}  // namespace meshgate::dataplane
