#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace meshgate::dataplane {

// What a device offers, as rte_eth_dev_info reports it. No driver names: a net_tap, an
// af_packet socket group, an AF_XDP queue set and a PCI NIC differ only in these numbers.
struct DeviceQueues {
    uint16_t max_rx_queues = 1;
    uint16_t max_tx_queues = 1;
    bool rss = false;  // the device spreads flows over the rx queues we ask for (RSS offload)
};

// How meshgated uses one device with `workers` workers.
struct QueueLayout {
    uint16_t rx_queues = 1;
    uint16_t tx_queues = 1;
    bool rss = false;    // configure RSS over rx_queues
    // The rx queues do not reach every worker: whoever polls them steers each packet to the
    // worker that owns its flow (by flow hash, and by SNAT port for replies).
    bool steer = false;
    // Rx interrupts configured: each rx queue has an fd a sleeping thread can wait on.
    bool rx_interrupts = false;
};

// - RSS devices get one rx queue per worker (up to what they have).
// - A device without RSS that has several rx queues made them because its user asked
//   (af_packet qpairs, AF_XDP queue_count, rings): its traffic can arrive on any of them, so
//   every one is configured and polled.
// - Tx queues: one per worker up to what the device has, and no fewer than rx queues (devices
//   that pair them, like a tap, need as many of each). A worker beyond the device's tx queues
//   hands its frames to a worker that has one (TxInboxes).
QueueLayout queue_layout(const DeviceQueues& device, uint32_t workers);

// Worker `w`'s rx queues: every (port, queue) is polled by exactly one worker, round robin over
// all ports so that single-queue ports land on different workers.
struct RxAssignment {
    uint16_t port = 0;
    uint16_t queue = 0;
    bool steer = false;
};
std::vector<std::vector<RxAssignment>> assign_rx_queues(const std::vector<std::pair<uint16_t, QueueLayout>>& ports,
                                                        uint32_t workers);

// One line for the start-up log: "wan0: 1 rx queue (steered to 2 workers), 1 tx queue".
std::string describe(const std::string& port_name, const QueueLayout& layout, uint32_t workers);

}  // namespace meshgate::dataplane
