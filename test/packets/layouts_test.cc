// Port layouts (issue 6): one-arm, a device with fewer queues than workers, a device with more
// queues than workers. Frames go through the real workers over net_ring ports laid out as
// meshgated lays out a device with that many queues and no RSS.
#include <gtest/gtest.h>

#include <map>
#include <set>

#include "dataplane_harness.h"
#include "lb/flow_hash.h"
#include "lb/planner.h"
#include "nat_helpers.h"

namespace meshgate::testing {
namespace {

using dataplane::Drop;

// One-arm: everything leaves by the one port; frames to the client are told apart by address.
struct OneArmExchange {
    std::vector<Bytes> to_clients, to_endpoints;
};

OneArmExchange one_arm_exchange(DataplaneBench& b, const Bytes& frame) {
    b.inject(b.client(), frame);
    b.poll_all();
    OneArmExchange out;
    for (auto& f : b.sent(b.client())) {
        const bool to_client = std::equal(client_mac.begin(), client_mac.end(), f.begin());
        (to_client ? out.to_clients : out.to_endpoints).push_back(std::move(f));
    }
    return out;
}

TEST(OneArm, FlowAndReplyShareThePort) {
    for (const char* client : {"10.0.0.1", "fd00::1"}) {
        DataplaneBench b(one_arm_config());
        const Frame syn = from_client(b, client);
        auto out = one_arm_exchange(b, syn.build());
        ASSERT_EQ(out.to_endpoints.size(), 1u) << client;
        EXPECT_TRUE(out.to_clients.empty());
        const Nat nat = nat_of(out.to_endpoints[0]);
        EXPECT_EQ(out.to_endpoints[0], expected_forward(b, syn, nat, 8080));
        EXPECT_EQ(nat.endpoint.rfind(syn.v6() ? "fd00::" : "10.0.0.", 0), 0u) << "endpoints share the clients' subnet";

        Frame synack = reply_from_endpoint(b, syn, nat, 8080);
        synack.tcp_flags = SYN | ACK;
        out = one_arm_exchange(b, synack.build());
        ASSERT_EQ(out.to_clients.size(), 1u) << client;
        EXPECT_EQ(out.to_clients[0], expected_reverse(b, synack, syn));
        EXPECT_EQ(b.drops(Drop::no_flow), 0u);
    }
}

TEST(OneArm, ArpForTheVipTheNodeAndTheSnatAddressIsAnswered) {
    for (const char* ours : {"10.96.0.1", "10.0.0.2", "10.0.0.3"}) {
        DataplaneBench b(one_arm_config());
        const Mac asker{0x02, 0, 0, 0, 0, 0x77};
        auto out = one_arm_exchange(b, arp_frame(1, asker, "10.0.0.9", ours));
        auto sent = out.to_clients;
        sent.insert(sent.end(), out.to_endpoints.begin(), out.to_endpoints.end());
        ASSERT_EQ(sent.size(), 1u) << ours;
        EXPECT_EQ(sent[0], arp_frame(2, b.client().mac, ours, "10.0.0.9", asker)) << ours;
    }
}

// Opens `count` flows from distinct client ports, answers each, and checks both directions
// byte for byte. Returns the SNAT ports used.
std::vector<uint16_t> open_and_answer(DataplaneBench& b, uint16_t count) {
    std::vector<uint16_t> snat_ports;
    for (uint16_t p = 0; p < count; ++p) {
        const Frame syn = from_client(b, "10.0.0.1", static_cast<uint16_t>(20000 + p));
        const Nat nat = open_flow(b, syn);
        Frame synack = reply_from_endpoint(b, syn, nat, 8080);
        synack.tcp_flags = SYN | ACK;
        auto [to_clients, to_endpoints] = b.exchange(b.backend(), synack.build());
        EXPECT_TRUE(to_endpoints.empty());
        EXPECT_EQ(to_clients.size(), 1u);
        if (!to_clients.empty()) {
            EXPECT_EQ(to_clients[0], expected_reverse(b, synack, syn));
        }
        snat_ports.push_back(nat.snat_port);
    }
    return snat_ports;
}

// The data plane and `meshgatectl plan --flows` (lb::hash_flow over a FlowKey, the plan's
// SelectionTable) must pick the same endpoint for the same 5-tuple: that is what makes every
// node of a tier agree.
TEST(Consistency, EachNewFlowGoesWhereThePlanSendsItsTuple) {
    auto config = bench_config();
    for (const char* a : {"10.1.0.13", "10.1.0.14", "10.1.0.15"}) {  // five endpoints: a real choice
        Endpoint e = config.endpoints[0];
        e.address = *IpAddress::parse(a);
        config.endpoints.push_back(e);
    }
    DataplaneBench b(config);
    const auto plan = lb::build_plan(config, lb::declared_health(config));
    const lb::SelectionTable* table = nullptr;
    for (const auto& sp : plan.services) {
        if (sp.service == "t/web") table = &sp.hops.at(0).table;
    }
    ASSERT_NE(table, nullptr);
    std::set<std::string> seen;
    for (uint16_t port = 30000; port < 30200; ++port) {
        const Frame syn = from_client(b, "10.0.0.1", port);
        auto [c, to_endpoints] = b.exchange(b.client(), syn.build());
        ASSERT_EQ(to_endpoints.size(), 1u);
        const lb::FlowKey key{*IpAddress::parse("10.0.0.1"), *IpAddress::parse("10.96.0.1"), port, 80, 6};
        const uint32_t id = table->pick(lb::hash_flow(key));
        ASSERT_NE(id, lb::SelectionTable::no_endpoint);
        EXPECT_EQ(nat_of(to_endpoints[0]).endpoint, config.endpoints[id].address->to_string()) << port;
        seen.insert(nat_of(to_endpoints[0]).endpoint);
    }
    EXPECT_EQ(seen.size(), 5u);
}

TEST(Gateway, EndpointsOffTheSubnetAreReachedThroughThePortsGateway) {
    auto config = bench_config();
    config.dataplane.ports[1].gateway = *IpAddress::parse("10.1.0.1");
    for (auto& e : config.endpoints) {
        if (e.address->is_v4()) e.address = *IpAddress::parse(e.address->to_string() == "10.1.0.11" ? "10.50.0.7" : "10.50.0.8");
    }
    DataplaneBench b(config);
    const Frame syn = from_client(b);
    auto [to_clients, to_endpoints] = b.exchange(b.client(), syn.build());
    ASSERT_EQ(to_endpoints.size(), 1u);
    const Nat nat = nat_of(to_endpoints[0]);
    EXPECT_EQ(nat.endpoint.rfind("10.50.0.", 0), 0u);
    // Addressed to the endpoint, but framed to the gateway's MAC.
    Bytes want = expected_forward(b, syn, nat, 8080);
    const Mac gateway = DataplaneBench::mac_of("10.1.0.1");
    std::copy(gateway.begin(), gateway.end(), want.begin());
    EXPECT_EQ(to_endpoints[0], want);

    Frame synack = reply_from_endpoint(b, syn, nat, 8080);
    synack.src_mac = gateway;  // replies come back through the router too
    synack.tcp_flags = SYN | ACK;
    auto [back, none] = b.exchange(b.backend(), synack.build());
    ASSERT_EQ(back.size(), 1u);
    EXPECT_EQ(back[0], expected_reverse(b, synack, syn));
}

TEST(FewerQueuesThanWorkers, OneQueueTwoWorkersSteersFlowsToBoth) {
    BenchQueues one_queue;
    one_queue.daemon_layout = true;  // 1 rx, 1 tx queue per port, as net_af_packet by default
    DataplaneBench b(bench_config(), 2, {}, 1024, one_queue);
    ASSERT_EQ(b.client().rx.size(), 1u);
    ASSERT_EQ(b.client().tx.size(), 1u);
    const auto snat_ports = open_and_answer(b, 64);

    // Both workers own flows, each under the SNAT ports it owns (p % 2 == worker).
    for (uint32_t w = 0; w < 2; ++w) {
        EXPECT_GT(b.counters(w).new_flows.get(), 8u) << "worker " << w << " got too few of 64 flows";
        EXPECT_EQ(b.worker(w).flows().size(), b.counters(w).new_flows.get());
        b.worker(w).flows().for_each([&](const dataplane::Flow& f) {
            EXPECT_EQ(rte_be_to_cpu_16(f.reverse.destination_port) % 2, w);
        });
    }
    EXPECT_EQ(b.counters(0).new_flows.get() + b.counters(1).new_flows.get(), 64u);
    EXPECT_GT(b.counters(0).handoff_out.get() + b.counters(1).handoff_out.get(), 0u);
    EXPECT_EQ(b.drops(Drop::no_flow) + b.drops(Drop::tx_full) + b.drops(Drop::handoff_full), 0u);
    EXPECT_EQ(snat_ports.size(), 64u);
}

TEST(FewerQueuesThanWorkers, EstablishedPacketsFollowTheirFlowWhicheverWorkerPolls) {
    BenchQueues one_queue;
    one_queue.daemon_layout = true;
    DataplaneBench b(bench_config(), 2, {}, 1024, one_queue);
    std::map<uint16_t, Nat> flows;
    for (uint16_t p = 0; p < 16; ++p) flows[p] = open_flow(b, from_client(b, "10.0.0.1", static_cast<uint16_t>(21000 + p)));
    for (auto& [p, nat] : flows) {
        Frame data = from_client(b, "10.0.0.1", static_cast<uint16_t>(21000 + p));
        data.tcp_flags = ACK | PSH;
        data.payload = Bytes(100, 0x42);
        auto [to_clients, to_endpoints] = b.exchange(b.client(), data.build());
        ASSERT_EQ(to_endpoints.size(), 1u);
        EXPECT_EQ(to_endpoints[0], expected_forward(b, data, nat, 8080));
    }
    EXPECT_EQ(b.counters(0).new_flows.get() + b.counters(1).new_flows.get(), 16u);
}

TEST(MoreQueuesThanWorkers, OneWorkerPollsEveryQueue) {
    BenchQueues two_queues;
    two_queues.daemon_layout = true;  // as net_af_packet with qpairs=2 or AF_XDP with queue_count=2
    two_queues.rx_queues = 2;
    two_queues.tx_queues = 2;
    DataplaneBench b(bench_config(), 1, {}, 1024, two_queues);
    ASSERT_EQ(b.client().rx.size(), 2u);
    for (uint16_t queue = 0; queue < 2; ++queue) {
        const Frame syn = from_client(b, "10.0.0.1", static_cast<uint16_t>(22000 + queue));
        b.inject(b.client(), syn.build(), queue);
        b.poll_all();
        auto out = b.sent(b.backend());
        ASSERT_EQ(out.size(), 1u) << "a SYN on rx queue " << queue << " is served";
        EXPECT_EQ(out[0], expected_forward(b, syn, nat_of(out[0]), 8080));
    }
    EXPECT_EQ(b.counters().new_flows.get(), 2u);
}

}  // namespace
}  // namespace meshgate::testing
