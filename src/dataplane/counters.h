#pragma once

#include <atomic>
#include <cstdint>
#include <vector>

#include "dataplane/packet.h"

namespace meshgate::dataplane {

// A counter written by one worker and read by the control thread. Increments are a plain
// load and store (no lock prefix): only the owner writes.
class Counter {
public:
    void add(uint64_t n = 1) { value_.store(value_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed); }
    void sub(uint64_t n = 1) { value_.store(value_.load(std::memory_order_relaxed) - n, std::memory_order_relaxed); }
    uint64_t get() const { return value_.load(std::memory_order_relaxed); }

private:
    std::atomic<uint64_t> value_{0};
};

struct EndpointCounters {
    Counter packets;
    Counter bytes;
    Counter new_flows;
    Counter active_flows;
    Counter closing_flows;  // of the active flows: TCP closed both ways (FINs) or reset
    Counter refused;  // new flows refused (services only): no endpoint, no route, no SNAT port, full table

    void count_packet(uint64_t length) {
        packets.add();
        bytes.add(length);
    }
};

struct alignas(64) WorkerCounters {
    Counter rx_packets, rx_bytes, tx_packets, tx_bytes;
    Counter new_flows, expired_flows, active_flows;
    Counter closing_flows;  // of the active flows: TCP closed both ways (FINs) or reset
    Counter handoff_out, handoff_in, exception_packets;
    Counter arp_replies, nd_advertisements, icmp_echo_replies, icmp_errors_translated, tcp_resets;
    // Second chance (peer_ring.h): segments passed to the next node of the tier, started here
    // or passed on; and tunnelled segments this node had the flow of.
    Counter second_chance_sent, second_chance_served;
    Counter drops[static_cast<size_t>(Drop::count_)];
    // By endpoint id of the snapshot that created the flow, and by service index.
    std::vector<EndpointCounters> endpoints;
    std::vector<EndpointCounters> services;

    explicit WorkerCounters(size_t max_endpoints = 0, size_t max_services = 0)
        : endpoints(max_endpoints), services(max_services) {}
    void drop(Drop reason) { drops[static_cast<size_t>(reason)].add(); }
};

}  // namespace meshgate::dataplane
