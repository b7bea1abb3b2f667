// Packet in → packet(s) out, through the real worker over net_ring ports (issue 3 acceptance).
#include <chrono>
#include <functional>
#include <set>
#include <thread>

#include <gtest/gtest.h>

#include "dataplane/flow_table.h"
#include "dataplane/neighbour_discovery.h"
#include "dataplane_harness.h"
#include "nat_helpers.h"

namespace meshgate::testing {
namespace {

using dataplane::Drop;

const ::testing::Environment* const eal = ::testing::AddGlobalTestEnvironment(new EalEnvironment);

TEST(TcpV4, SynToVipIsFullNatToAnEndpoint) {
    DataplaneBench b(bench_config());
    const Nat nat = open_flow(b, from_client(b));
    EXPECT_TRUE(nat.endpoint == "10.1.0.11" || nat.endpoint == "10.1.0.12") << nat.endpoint;
    EXPECT_EQ(b.counters().new_flows.get(), 1u);
    EXPECT_EQ(b.counters().active_flows.get(), 1u);
}

TEST(TcpV4, ReplyIsReverseTranslatedToTheClient) {
    DataplaneBench b(bench_config());
    const Frame syn = from_client(b);
    const Nat nat = open_flow(b, syn);
    Frame synack = reply_from_endpoint(b, syn, nat, 8080);
    synack.tcp_flags = SYN | ACK;
    synack.ack = syn.seq + 1;
    auto [to_clients, to_endpoints] = b.exchange(b.backend(), synack.build());
    ASSERT_EQ(to_clients.size(), 1u);
    EXPECT_TRUE(to_endpoints.empty());
    EXPECT_EQ(to_clients[0], expected_reverse(b, synack, syn));
}

TEST(TcpV4, EstablishedDataFollowsThePinnedFlow) {
    DataplaneBench b(bench_config());
    const Frame syn = from_client(b);
    const Nat nat = open_flow(b, syn);
    Frame data = syn;
    data.tcp_flags = ACK | PSH;
    data.payload = Bytes(200, 0x5a);
    auto [to_clients, to_endpoints] = b.exchange(b.client(), data.build());
    ASSERT_EQ(to_endpoints.size(), 1u);
    EXPECT_EQ(to_endpoints[0], expected_forward(b, data, nat, 8080));
    EXPECT_EQ(b.counters().new_flows.get(), 1u);
}

TEST(TcpV4, RetransmittedSynKeepsEndpointAndSnatPort) {
    DataplaneBench b(bench_config());
    const Frame syn = from_client(b);
    const Nat first = open_flow(b, syn);
    const Nat again = open_flow(b, syn);
    EXPECT_EQ(first.endpoint, again.endpoint);
    EXPECT_EQ(first.snat_port, again.snat_port);
}

TEST(TcpV4, HandshakeFinAndRstMoveTheFlowState) {
    DataplaneBench b(bench_config());
    const Frame syn = from_client(b);
    const Nat nat = open_flow(b, syn);
    auto state = [&] {
        dataplane::FlowState s = dataplane::FlowState::udp;
        b.worker().flows().for_each([&](const dataplane::Flow& f) { s = f.state; });
        return s;
    };
    EXPECT_EQ(state(), dataplane::FlowState::syn_sent);
    Frame synack = reply_from_endpoint(b, syn, nat, 8080);
    synack.tcp_flags = SYN | ACK;
    b.exchange(b.backend(), synack.build());
    EXPECT_EQ(state(), dataplane::FlowState::established);
    EXPECT_EQ(b.counters().closing_flows.get(), 0u);
    Frame fin = syn;
    fin.tcp_flags = FIN | ACK;
    b.exchange(b.client(), fin.build());
    EXPECT_EQ(state(), dataplane::FlowState::fin_from_client);
    EXPECT_EQ(b.counters().closing_flows.get(), 0u) << "half-closed: the endpoint may still be sending";
    b.exchange(b.client(), fin.build());
    EXPECT_EQ(state(), dataplane::FlowState::fin_from_client) << "the client's FIN again, retransmitted";
    Frame endpoint_fin = reply_from_endpoint(b, syn, nat, 8080);
    endpoint_fin.tcp_flags = FIN | ACK;
    b.exchange(b.backend(), endpoint_fin.build());
    EXPECT_EQ(state(), dataplane::FlowState::closing);
    EXPECT_EQ(b.counters().closing_flows.get(), 1u) << "counted once closed both ways";
    uint64_t endpoint_closing = 0;
    for (const auto& e : b.counters().endpoints) endpoint_closing += e.closing_flows.get();
    EXPECT_EQ(endpoint_closing, 1u) << "and against its endpoint, for drain's report";
    Frame rst = reply_from_endpoint(b, syn, nat, 8080);
    rst.tcp_flags = RST;
    auto [to_clients, to_endpoints] = b.exchange(b.backend(), rst.build());
    EXPECT_EQ(to_clients.size(), 1u) << "the RST itself is delivered";
    EXPECT_EQ(state(), dataplane::FlowState::closed);
    EXPECT_EQ(b.counters().closing_flows.get(), 1u) << "closing then closed is one flow";
}

// A new connection on a reused client port is placed by the plan in force, not pinned to the
// endpoint of the closed connection that used the port before.
TEST(TcpV4, NewConnectionOnAClosedTupleIsPlacedAfresh) {
    DataplaneBench b(bench_config());
    const Frame syn = from_client(b);
    const Nat nat = open_flow(b, syn);
    Frame fin = syn;
    fin.tcp_flags = FIN | ACK;
    b.exchange(b.client(), fin.build());
    auto config = bench_config();
    for (auto& e : config.endpoints) {
        if (e.address && e.address->to_string() == nat.endpoint) e.healthy = false;
    }
    b.publish(config);
    Frame again = syn;
    again.seq = 777777;
    auto [c, to_endpoints] = b.exchange(b.client(), again.build());
    ASSERT_EQ(to_endpoints.size(), 1u);
    EXPECT_NE(nat_of(to_endpoints[0]).endpoint, nat.endpoint);
    EXPECT_EQ(b.counters().new_flows.get(), 2u);
    EXPECT_EQ(b.counters().active_flows.get(), 1u);
    EXPECT_EQ(b.counters().closing_flows.get(), 0u) << "the closed flow it replaced is no longer counted";
}

// A tuple reused for a new connection that another node placed (its SYN went there; then the
// routers rehashed) while the old connection's closed flow lingers here: the new connection's
// data must not go to the old connection's endpoint. The old connection's last ACK still does.
TEST(TcpV4, DataAfterTheClientsFinBelongsToANewerConnection) {
    DataplaneBench b(bench_config());
    const Frame syn = from_client(b);
    const Nat nat = open_flow(b, syn);
    Frame endpoint_fin = reply_from_endpoint(b, syn, nat, 8080);
    endpoint_fin.tcp_flags = FIN | ACK;
    b.exchange(b.backend(), endpoint_fin.build());
    Frame fin = syn;
    fin.tcp_flags = FIN | ACK;
    b.exchange(b.client(), fin.build());
    Frame last_ack = syn;
    last_ack.tcp_flags = ACK;
    last_ack.seq = syn.seq + 1;
    auto [c1, to_endpoints] = b.exchange(b.client(), last_ack.build());
    EXPECT_EQ(to_endpoints.size(), 1u) << "the old connection's last ACK reaches its endpoint";

    Frame retransmission = syn;  // data from before the FIN, lost on the way and sent again
    retransmission.tcp_flags = ACK | PSH;
    retransmission.seq = fin.seq - 100;
    retransmission.payload = Bytes(100, 0x41);
    auto [c2, again] = b.exchange(b.client(), retransmission.build());
    EXPECT_EQ(again.size(), 1u) << "a retransmission from before the FIN is the old connection's";

    Frame data = syn;
    data.tcp_flags = ACK | PSH;
    data.seq = fin.seq + 987654321;
    data.payload = Bytes(100, 0x42);
    auto [to_clients, later] = b.exchange(b.client(), data.build());
    EXPECT_TRUE(later.empty()) << "data after the client's FIN is not the old connection's";
    ASSERT_EQ(to_clients.size(), 1u) << "a segment of a flow this node does not know (no ring here: reset)";
    EXPECT_EQ(to_clients[0][ip_offset(to_clients[0]) + 20 + 13], RST);
    EXPECT_EQ(b.worker().flows().size(), 0u) << "the old flow gave way";
    EXPECT_EQ(b.counters().closing_flows.get(), 0u);
}

TEST(TcpV4, IpOptionsArePreserved) {
    DataplaneBench b(bench_config());
    Frame syn = from_client(b);
    syn.ip_options = {0x01, 0x01, 0x01, 0x00};  // NOP NOP NOP EOL
    open_flow(b, syn);
}

TEST(TcpV4, VlanTaggedFramesKeepTheirTag) {
    DataplaneBench b(bench_config());
    Frame syn = from_client(b);
    syn.vlan = 100;
    open_flow(b, syn);
}

TEST(TcpV4, FlowsSpreadOverEndpointsAndStayPinned) {
    DataplaneBench b(bench_config());
    std::map<std::string, int> per_endpoint;
    std::map<uint16_t, std::string> first_choice;
    for (uint16_t port = 1000; port < 1400; ++port) {
        b.inject(b.client(), from_client(b, "10.0.0.1", port).build());
        b.poll_all();
        auto out = b.sent(b.backend());
        ASSERT_EQ(out.size(), 1u);
        first_choice[port] = nat_of(out[0]).endpoint;
        ++per_endpoint[first_choice[port]];
    }
    EXPECT_EQ(per_endpoint.size(), 2u);
    for (const auto& [endpoint, n] : per_endpoint) EXPECT_NEAR(n / 400.0, 0.5, 0.1) << endpoint;
    for (uint16_t port = 1000; port < 1400; port += 7) {  // the same flows again: same endpoints
        Frame ack = from_client(b, "10.0.0.1", port);
        ack.tcp_flags = ACK;
        auto [c, e] = b.exchange(b.client(), ack.build());
        ASSERT_EQ(e.size(), 1u);
        EXPECT_EQ(nat_of(e[0]).endpoint, first_choice[port]);
    }
}

TEST(TcpV4, MidStreamSegmentWithoutFlowGetsReset) {
    DataplaneBench b(bench_config());
    Frame ack = from_client(b);
    ack.tcp_flags = ACK;
    ack.ack = 5555;
    auto [to_clients, to_endpoints] = b.exchange(b.client(), ack.build());
    EXPECT_TRUE(to_endpoints.empty());
    ASSERT_EQ(to_clients.size(), 1u);
    Frame rst;
    rst.src_mac = b.client().mac;
    rst.dst_mac = client_mac;
    rst.src = ack.dst;
    rst.dst = ack.src;
    rst.sport = ack.dport;
    rst.dport = ack.sport;
    rst.tcp_flags = RST;
    rst.seq = 5555;  // RFC 9293: seq = the ACK's ack number
    rst.ack = ack.seq;
    Bytes expected = rst.build();
    expected[ip_offset(expected) + 8] = 64;  // TTL
    expected[ip_offset(expected) + 4] = 0x12;
    expected[ip_offset(expected) + 5] = 0x34;
    // The IPv4 id and flags are the ones the client sent; rebuild the header checksum over them.
    const size_t ip = ip_offset(expected);
    put16(expected, ip + 10, 0);
    put16(expected, ip + 10, internet_checksum(&expected[ip], 20));
    // The window is 0 in a reset.
    put16(expected, ip + 20 + 14, 0);
    // TCP checksum over the pseudo-header with window 0.
    const size_t l4 = ip + 20;
    put16(expected, l4 + 16, 0);
    Bytes pseudo = ip_bytes(rst.src);
    auto d = ip_bytes(rst.dst);
    pseudo.insert(pseudo.end(), d.begin(), d.end());
    Bytes tail = {0, 6, 0, 20};
    pseudo.insert(pseudo.end(), tail.begin(), tail.end());
    pseudo.insert(pseudo.end(), expected.begin() + static_cast<long>(l4), expected.end());
    put16(expected, l4 + 16, internet_checksum(pseudo.data(), pseudo.size()));
    EXPECT_EQ(to_clients[0], expected);
    EXPECT_EQ(b.drops(Drop::no_flow), 1u);
    EXPECT_EQ(b.counters().tcp_resets.get(), 1u);
}

TEST(TcpV4, SynToAPortTheVipDoesNotServeGetsReset) {
    DataplaneBench b(bench_config());
    Frame syn = from_client(b);
    syn.dport = 81;
    auto [to_clients, to_endpoints] = b.exchange(b.client(), syn.build());
    EXPECT_TRUE(to_endpoints.empty());
    ASSERT_EQ(to_clients.size(), 1u);
    EXPECT_EQ(to_clients[0][ip_offset(to_clients[0]) + 20 + 13], RST | ACK);
    EXPECT_EQ(b.drops(Drop::no_service), 1u);
}

TEST(TcpV4, NoHealthyEndpointRefusesWithReset) {
    auto config = bench_config();
    for (auto& e : config.endpoints) e.healthy = false;
    DataplaneBench b(config);
    auto [to_clients, to_endpoints] = b.exchange(b.client(), from_client(b).build());
    EXPECT_TRUE(to_endpoints.empty());
    ASSERT_EQ(to_clients.size(), 1u);
    EXPECT_EQ(to_clients[0][ip_offset(to_clients[0]) + 20 + 13], RST | ACK);
    EXPECT_EQ(b.drops(Drop::no_endpoint), 1u);
    EXPECT_EQ(b.counters().services[0].refused.get(), 1u);
}

TEST(TcpV4, ReplyToAnUnknownSnatPortIsDropped) {
    DataplaneBench b(bench_config());
    Frame stray;
    stray.src_mac = DataplaneBench::mac_of("10.1.0.11");
    stray.dst_mac = b.backend().mac;
    stray.src = "10.1.0.11";
    stray.dst = "10.1.0.3";
    stray.sport = 8080;
    stray.dport = 2000;
    stray.tcp_flags = ACK;
    auto [c, e] = b.exchange(b.backend(), stray.build());
    EXPECT_TRUE(c.empty() && e.empty());
    EXPECT_EQ(b.drops(Drop::no_flow), 1u);
}

TEST(TcpV4, TtlOneIsNotForwarded) {
    DataplaneBench b(bench_config());
    Frame syn = from_client(b);
    syn.ttl = 1;
    auto [c, e] = b.exchange(b.client(), syn.build());
    EXPECT_TRUE(c.empty() && e.empty());
    EXPECT_EQ(b.drops(Drop::ttl_exceeded), 1u);
}

TEST(UdpV4, DatagramAndReply) {
    DataplaneBench b(bench_config());
    Frame q = from_client(b);
    q.protocol = 17;
    q.dport = 53;
    q.payload = {'h', 'e', 'l', 'l', 'o'};
    const Nat nat = open_flow(b, q, 5353);
    Frame answer = reply_from_endpoint(b, q, nat, 5353);
    answer.payload = {'w', 'o', 'r', 'l', 'd', '!'};
    auto [to_clients, to_endpoints] = b.exchange(b.backend(), answer.build());
    ASSERT_EQ(to_clients.size(), 1u);
    EXPECT_EQ(to_clients[0], expected_reverse(b, answer, q));
}

TEST(UdpV4, ZeroChecksumStaysZero) {
    DataplaneBench b(bench_config());
    Frame q = from_client(b);
    q.protocol = 17;
    q.dport = 53;
    q.udp_no_checksum = true;
    q.payload = {1, 2, 3};
    open_flow(b, q, 5353);
}

TEST(UdpV4, IdleFlowsExpire) {
    dataplane::FlowTimeouts t;
    t.udp = std::chrono::milliseconds(1);
    DataplaneBench b(bench_config(), 1, t);
    Frame q = from_client(b);
    q.protocol = 17;
    q.dport = 53;
    const Nat nat = open_flow(b, q, 5353);
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    sweep_whole_table(b);
    EXPECT_EQ(b.counters().active_flows.get(), 0u);
    EXPECT_EQ(b.counters().expired_flows.get(), 1u);
    auto [c, e] = b.exchange(b.backend(), reply_from_endpoint(b, q, nat, 5353).build());
    EXPECT_TRUE(c.empty());
    EXPECT_EQ(b.drops(Drop::no_flow), 1u);
}

TEST(TcpV4, HalfOpenFlowsExpireOnTheSynTimeout) {
    dataplane::FlowTimeouts t;
    t.tcp_syn = std::chrono::milliseconds(1);
    DataplaneBench b(bench_config(), 1, t);
    open_flow(b, from_client(b));
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    sweep_whole_table(b);
    EXPECT_EQ(b.worker().flows().size(), 0u);
}

TEST(FlowTable, FullTableRefusesNewFlowsAndKeepsOldOnes) {
    DataplaneBench b(bench_config(), 1, {}, 4);
    for (uint16_t p = 0; p < 4; ++p) open_flow(b, from_client(b, "10.0.0.1", static_cast<uint16_t>(5000 + p)));
    auto [c, e] = b.exchange(b.client(), from_client(b, "10.0.0.1", 6000).build());
    EXPECT_TRUE(e.empty());
    EXPECT_EQ(b.drops(Drop::flow_table_full), 1u);
    Frame old = from_client(b, "10.0.0.1", 5000);
    old.tcp_flags = ACK;
    auto [c2, e2] = b.exchange(b.client(), old.build());
    EXPECT_EQ(e2.size(), 1u);
}

TEST(TcpV6, SynAndReply) {
    DataplaneBench b(bench_config());
    const Frame syn = from_client(b, "fd00::1");
    const Nat nat = open_flow(b, syn);
    EXPECT_EQ(nat.endpoint, "fd01::11");
    Frame synack = reply_from_endpoint(b, syn, nat, 8080);
    synack.tcp_flags = SYN | ACK;
    auto [to_clients, to_endpoints] = b.exchange(b.backend(), synack.build());
    ASSERT_EQ(to_clients.size(), 1u);
    EXPECT_EQ(to_clients[0], expected_reverse(b, synack, syn));
}

// A dual-stack service: each VIP family is balanced over endpoints of its own family only.
TEST(DualStack, EachVipFamilyUsesEndpointsOfItsFamily) {
    auto config = bench_config();
    auto& web = config.services[0];
    web.vips.push_back(*IpAddress::parse("fd96::1"));
    config.services[1].vips.clear();  // web6 keeps no VIP; web answers on both families
    for (const char* a : {"fd01::21", "fd01::22"}) {
        Endpoint e;
        e.service = "t/web";
        e.address = *IpAddress::parse(a);
        e.locality = {"n1", "r1", "z1", "", "", ""};
        config.endpoints.push_back(e);
    }
    DataplaneBench b(config);
    std::map<std::string, int> v4, v6;
    for (uint16_t p = 7000; p < 7100; ++p) {
        auto [c4, e4] = b.exchange(b.client(), from_client(b, "10.0.0.1", p).build());
        auto [c6, e6] = b.exchange(b.client(), from_client(b, "fd00::1", p).build());
        ASSERT_EQ(e4.size(), 1u);
        ASSERT_EQ(e6.size(), 1u);
        ++v4[nat_of(e4[0]).endpoint];
        ++v6[nat_of(e6[0]).endpoint];
    }
    EXPECT_EQ(v4.size(), 2u);
    EXPECT_EQ(v6.size(), 2u);
    for (const auto& [endpoint, n] : v4) EXPECT_EQ(endpoint.find(':'), std::string::npos) << endpoint;
    for (const auto& [endpoint, n] : v6) EXPECT_NE(endpoint.find(':'), std::string::npos) << endpoint;
    EXPECT_EQ(b.drops(Drop::no_route), 0u);
}

TEST(UdpV6, DatagramAndReply) {
    DataplaneBench b(bench_config());
    Frame q = from_client(b, "fd00::1");
    q.protocol = 17;
    q.dport = 53;
    q.payload = {9, 8, 7};
    const Nat nat = open_flow(b, q, 5353);
    Frame answer = reply_from_endpoint(b, q, nat, 5353);
    auto [to_clients, to_endpoints] = b.exchange(b.backend(), answer.build());
    ASSERT_EQ(to_clients.size(), 1u);
    EXPECT_EQ(to_clients[0], expected_reverse(b, answer, q));
}

TEST(Snapshot, PublishingKeepsExistingFlowsPinned) {
    DataplaneBench b(bench_config());
    const Frame syn = from_client(b);
    const Nat nat = open_flow(b, syn);
    // New flows must avoid the pinned endpoint: mark it unhealthy in the next snapshot.
    auto config = bench_config();
    for (auto& e : config.endpoints) {
        if (e.address && e.address->to_string() == nat.endpoint) e.healthy = false;
    }
    b.publish(config);
    Frame data = syn;
    data.tcp_flags = ACK;
    auto [c, e] = b.exchange(b.client(), data.build());
    ASSERT_EQ(e.size(), 1u);
    EXPECT_EQ(nat_of(e[0]).endpoint, nat.endpoint) << "an existing flow stays on its endpoint";
    for (uint16_t p = 2000; p < 2050; ++p) {
        auto [c2, e2] = b.exchange(b.client(), from_client(b, "10.0.0.1", p).build());
        ASSERT_EQ(e2.size(), 1u);
        EXPECT_NE(nat_of(e2[0]).endpoint, nat.endpoint) << "new flows avoid the unhealthy endpoint";
    }
}

// semantics.md §6: a flow stays on its endpoint while the endpoint exists; when it is removed,
// TCP is reset and UDP re-pinned, unless the service says on_endpoint_down = "keep".
Config without_endpoint(const std::string& address, OnEndpointDown mode = OnEndpointDown::reset) {
    auto config = bench_config();
    std::erase_if(config.endpoints, [&](const Endpoint& e) { return e.address && e.address->to_string() == address; });
    for (auto& svc : config.services) svc.on_endpoint_down = mode;
    return config;
}

TEST(EndpointRemoval, PinnedTcpFlowIsReset) {
    DataplaneBench b(bench_config());
    const Frame syn = from_client(b);
    const Nat nat = open_flow(b, syn);
    b.publish(without_endpoint(nat.endpoint));
    Frame data = syn;
    data.tcp_flags = ACK;
    auto [to_clients, to_endpoints] = b.exchange(b.client(), data.build());
    EXPECT_TRUE(to_endpoints.empty());
    ASSERT_EQ(to_clients.size(), 1u);
    EXPECT_EQ(to_clients[0][ip_offset(to_clients[0]) + 20 + 13], RST);
    EXPECT_EQ(b.drops(Drop::endpoint_removed), 1u);
    EXPECT_EQ(b.worker().flows().size(), 0u);
    EXPECT_EQ(b.counters().active_flows.get(), 0u);
}

TEST(EndpointRemoval, PinnedUdpFlowMovesToAnotherEndpoint) {
    DataplaneBench b(bench_config());
    Frame q = from_client(b);
    q.protocol = 17;
    q.dport = 53;
    const Nat nat = open_flow(b, q, 5353);
    b.publish(without_endpoint(nat.endpoint));
    auto [c, to_endpoints] = b.exchange(b.client(), q.build());
    ASSERT_EQ(to_endpoints.size(), 1u);
    EXPECT_NE(nat_of(to_endpoints[0]).endpoint, nat.endpoint);
    EXPECT_EQ(b.counters().new_flows.get(), 2u);
    EXPECT_EQ(b.counters().active_flows.get(), 1u);
    EXPECT_EQ(b.counters().closing_flows.get(), 0u) << "the closed flow it replaced is no longer counted";
}

TEST(EndpointRemoval, KeepLeavesTheFlowPinned) {
    DataplaneBench b(bench_config());
    const Frame syn = from_client(b);
    const Nat nat = open_flow(b, syn);
    b.publish(without_endpoint(nat.endpoint, OnEndpointDown::keep));
    Frame data = syn;
    data.tcp_flags = ACK;
    auto [c, to_endpoints] = b.exchange(b.client(), data.build());
    ASSERT_EQ(to_endpoints.size(), 1u);
    EXPECT_EQ(nat_of(to_endpoints[0]).endpoint, nat.endpoint);
}

TEST(EndpointRemoval, RemovingAnotherEndpointChangesNothing) {
    DataplaneBench b(bench_config());
    const Frame syn = from_client(b);
    const Nat nat = open_flow(b, syn);
    // Removing the other endpoint shifts endpoint indices; the flow is found by address.
    b.publish(without_endpoint(nat.endpoint == "10.1.0.11" ? "10.1.0.12" : "10.1.0.11"));
    Frame data = syn;
    data.tcp_flags = ACK;
    auto [c, to_endpoints] = b.exchange(b.client(), data.build());
    ASSERT_EQ(to_endpoints.size(), 1u);
    EXPECT_EQ(to_endpoints[0], expected_forward(b, data, nat, 8080));
    EXPECT_EQ(b.drops(Drop::endpoint_removed), 0u);
}

// Health beyond the declaration: `down` endpoints fail their active checks, `ejected` ones
// are ejected by outlier detection.
std::vector<lb::EndpointHealth> health_with(const Config& c, const std::string& address, bool down, bool ejected) {
    auto health = lb::declared_health(c);
    for (size_t i = 0; i < c.endpoints.size(); ++i) {
        if (c.endpoints[i].address && c.endpoints[i].address->to_string() == address) {
            health[i].check_down = down;
            health[i].ejected = ejected;
        }
    }
    return health;
}

TEST(EndpointDown, FailingActiveChecksResetItsPinnedFlows) {
    DataplaneBench b(bench_config());
    const Frame syn = from_client(b);
    const Nat nat = open_flow(b, syn);
    b.publish(bench_config(), health_with(bench_config(), nat.endpoint, true, false));
    Frame data = syn;
    data.tcp_flags = ACK;
    auto [to_clients, to_endpoints] = b.exchange(b.client(), data.build());
    EXPECT_TRUE(to_endpoints.empty());
    ASSERT_EQ(to_clients.size(), 1u);
    EXPECT_EQ(to_clients[0][ip_offset(to_clients[0]) + 20 + 13], RST);
    EXPECT_EQ(b.drops(Drop::endpoint_removed), 1u);
}

TEST(EndpointDown, KeepAndEjectionLeaveExistingFlowsAlone) {
    for (bool keep : {true, false}) {
        DataplaneBench b(bench_config());
        const Frame syn = from_client(b);
        const Nat nat = open_flow(b, syn);
        Config c = bench_config();
        if (keep) c.services[0].on_endpoint_down = OnEndpointDown::keep;
        // keep: down by checks, but the service keeps flows; else: ejected, which stops new flows only.
        b.publish(c, health_with(c, nat.endpoint, keep, !keep));
        Frame data = syn;
        data.tcp_flags = ACK;
        auto [c2, to_endpoints] = b.exchange(b.client(), data.build());
        ASSERT_EQ(to_endpoints.size(), 1u) << (keep ? "keep" : "ejected");
        EXPECT_EQ(nat_of(to_endpoints[0]).endpoint, nat.endpoint);
        // A new flow does not go to it.
        for (uint16_t port = 20000; port < 20020; ++port) {
            const Nat other = open_flow(b, from_client(b, "10.0.0.9", port));
            EXPECT_NE(other.endpoint, nat.endpoint);
        }
    }
}

Config with_outlier_detection() {
    Config c = bench_config();
    DestinationRule rule;
    rule.host = "web.t.svc.cluster.local";
    rule.outlier_detection = OutlierDetectionPolicy{};
    c.destination_rules.push_back(rule);
    return c;
}

std::vector<dataplane::Event> connect_events(DataplaneBench& b) {
    std::vector<dataplane::Event> out;
    for (const auto& e : b.events()) {
        if (e.kind != dataplane::Event::Kind::neighbour_seen && e.kind != dataplane::Event::Kind::resolve_neighbour) out.push_back(e);
    }
    return out;
}

uint32_t endpoint_index(const Config& c, const std::string& address) {
    for (uint32_t i = 0; i < c.endpoints.size(); ++i) {
        if (c.endpoints[i].address->to_string() == address) return i;
    }
    return UINT32_MAX;
}

TEST(ConnectOutcome, SynAckAndResetAreReportedForOutlierDetection) {
    DataplaneBench b(with_outlier_detection());
    const Frame syn = from_client(b);
    const Nat nat = open_flow(b, syn);
    Frame synack = reply_from_endpoint(b, syn, nat, 8080);
    synack.tcp_flags = SYN | ACK;
    b.exchange(b.backend(), synack.build());
    auto events = connect_events(b);
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(events[0].kind, dataplane::Event::Kind::connect_succeeded);
    EXPECT_EQ(events[0].endpoint, endpoint_index(b.config(), nat.endpoint));
    b.exchange(b.backend(), synack.build());  // a retransmitted SYN-ACK is no new outcome
    EXPECT_TRUE(connect_events(b).empty());

    const Frame syn2 = from_client(b, "10.0.0.1", 4000);
    const Nat nat2 = open_flow(b, syn2);
    Frame rst = reply_from_endpoint(b, syn2, nat2, 8080);
    rst.tcp_flags = RST | ACK;
    b.exchange(b.backend(), rst.build());
    events = connect_events(b);
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(events[0].kind, dataplane::Event::Kind::connect_failed);
    EXPECT_EQ(events[0].endpoint, endpoint_index(b.config(), nat2.endpoint));
}

TEST(ConnectOutcome, AnUnansweredSynTimesOut) {
    dataplane::FlowTimeouts t;
    t.tcp_syn = std::chrono::milliseconds(1);
    DataplaneBench b(with_outlier_detection(), 1, t);
    const Nat nat = open_flow(b, from_client(b));
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    sweep_whole_table(b);
    auto events = connect_events(b);
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(events[0].kind, dataplane::Event::Kind::connect_timed_out);
    EXPECT_EQ(events[0].endpoint, endpoint_index(b.config(), nat.endpoint));
}

TEST(ConnectOutcome, NotReportedWithoutOutlierDetection) {
    DataplaneBench b(bench_config());
    const Frame syn = from_client(b);
    const Nat nat = open_flow(b, syn);
    Frame rst = reply_from_endpoint(b, syn, nat, 8080);
    rst.tcp_flags = RST | ACK;
    b.exchange(b.backend(), rst.build());
    EXPECT_TRUE(connect_events(b).empty());
}

TEST(MultiWorker, RepliesAreHandedToTheWorkerThatOwnsTheFlow) {
    DataplaneBench b(bench_config(), 2);
    for (uint16_t p = 3000; p < 3020; ++p) {
        const Frame syn = from_client(b, "10.0.0.1", p);
        const Nat nat = open_flow(b, syn);
        EXPECT_EQ(nat.snat_port % 2, 0) << "worker 0 owns the even SNAT ports";
        Frame synack = reply_from_endpoint(b, syn, nat, 8080);
        synack.tcp_flags = SYN | ACK;
        auto [to_clients, to_endpoints] = b.exchange(b.backend(), synack.build());
        ASSERT_EQ(to_clients.size(), 1u);
        EXPECT_EQ(to_clients[0], expected_reverse(b, synack, syn));
    }
    EXPECT_EQ(b.counters(1).handoff_out.get(), 20u);
    EXPECT_EQ(b.counters(0).handoff_in.get(), 20u);
}

// The bench's configuration with `address` as the only endpoint of t/web.
Config with_only_endpoint(const std::string& address) {
    auto config = bench_config();
    Endpoint e;
    e.service = "t/web";
    e.address = *IpAddress::parse(address);
    e.locality.network = "n1";
    config.endpoints = {e};
    return config;
}

TEST(Neighbours, UnknownEndpointMacAsksTheControlThread) {
    DataplaneBench b(with_only_endpoint("10.1.0.99"));
    // The bench resolved every configured endpoint; make one it did not know.
    b.publish(with_only_endpoint("10.1.0.98"));
    auto [c, e] = b.exchange(b.client(), from_client(b).build());
    EXPECT_TRUE(e.empty());
    EXPECT_EQ(b.drops(Drop::neighbour_unknown), 1u);
    auto events = b.events();
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(events[0].kind, dataplane::Event::Kind::resolve_neighbour);
    EXPECT_EQ(events[0].address.to_address().to_string(), "10.1.0.98");
}

// A flow made while its endpoint's next hop was unknown goes there once the next snapshot
// knows it: the record copies the MAC when its snapshot changes.
TEST(Neighbours, AFlowFollowsANextHopLearnedLater) {
    DataplaneBench b(bench_config());
    b.publish(with_only_endpoint("10.1.0.98"));  // a next hop the bench did not resolve
    const Frame syn = from_client(b);
    auto [c, e] = b.exchange(b.client(), syn.build());
    EXPECT_TRUE(e.empty());
    EXPECT_EQ(b.drops(Drop::neighbour_unknown), 1u);
    EXPECT_EQ(b.worker().flows().size(), 1u);

    b.learn_neighbour("10.1.0.98");
    auto [c2, to_endpoints] = b.exchange(b.client(), syn.build());  // the client's retransmission
    ASSERT_EQ(to_endpoints.size(), 1u);
    const Nat nat = nat_of(to_endpoints[0]);
    EXPECT_EQ(nat.endpoint, "10.1.0.98");
    EXPECT_EQ(to_endpoints[0], expected_forward(b, syn, nat, 8080));
    EXPECT_EQ(b.drops(Drop::neighbour_unknown), 1u);
}

TEST(Arp, RequestsForOurAddressesAreAnswered) {
    for (const char* ours : {"10.96.0.1", "10.1.0.3", "10.0.0.2"}) {
        DataplaneBench b(bench_config());
        const Mac asker{0x02, 0, 0, 0, 0, 0x77};
        auto [to_clients, e] = b.exchange(b.client(), arp_frame(1, asker, "10.0.0.9", ours));
        ASSERT_EQ(to_clients.size(), 1u) << ours;
        EXPECT_EQ(to_clients[0], arp_frame(2, b.client().mac, ours, "10.0.0.9", asker)) << ours;
        auto events = b.events();
        ASSERT_EQ(events.size(), 1u);
        EXPECT_EQ(events[0].kind, dataplane::Event::Kind::neighbour_seen);
        EXPECT_EQ(events[0].address.to_address().to_string(), "10.0.0.9");
        EXPECT_EQ(events[0].mac.addr_bytes[5], 0x77);
    }
}

TEST(NeighbourDiscovery, SolicitationsForOurAddressesAreAdvertised) {
    for (const char* ours : {"fd96::1", "fd00::2"}) {
        DataplaneBench b(bench_config());
        const Mac asker{0x02, 0, 0, 0, 0, 0x66};
        const Mac group{0x33, 0x33, 0xff, 0, 0, static_cast<uint8_t>(ip_bytes(ours)[15])};
        auto ns = nd_frame(135, asker, group, "fd00::9", "ff02::1:ff00:" + std::string(ours).substr(std::string(ours).rfind(':') + 1), ours, 1, asker);
        auto [to_clients, e] = b.exchange(b.client(), ns);
        ASSERT_EQ(to_clients.size(), 1u) << ours;
        EXPECT_EQ(to_clients[0], nd_frame(136, b.client().mac, asker, ours, "fd00::9", ours, 2, b.client().mac, 0x60)) << ours;
        auto events = b.events();
        ASSERT_EQ(events.size(), 1u);
        EXPECT_EQ(events[0].address.to_address().to_string(), "fd00::9");
        EXPECT_EQ(events[0].mac.addr_bytes[5], 0x66);
    }
}

TEST(NeighbourDiscovery, SolicitationsForOtherAddressesAreNotAnswered) {
    DataplaneBench b(bench_config());
    auto ns = nd_frame(135, {2, 0, 0, 0, 0, 0x66}, {0x33, 0x33, 0xff, 0, 0, 0x50}, "fd00::9", "ff02::1:ff00:50", "fd00::50", 1,
                       {2, 0, 0, 0, 0, 0x66});
    auto [c, e] = b.exchange(b.client(), ns);
    EXPECT_TRUE(c.empty() && e.empty());
}

TEST(NeighbourDiscovery, AdvertisementsAreLearnt) {
    DataplaneBench b(bench_config());
    const Mac endpoint{0x02, 0, 0, 0, 0, 0x44};
    auto na = nd_frame(136, endpoint, b.backend().mac, "fd01::44", "fd01::2", "fd01::44", 2, endpoint, 0x60);
    b.exchange(b.backend(), na);
    auto events = b.events();
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(events[0].kind, dataplane::Event::Kind::neighbour_seen);
    EXPECT_EQ(events[0].address.to_address().to_string(), "fd01::44");
    EXPECT_EQ(events[0].mac.addr_bytes[5], 0x44);
}

TEST(NeighbourDiscovery, TheControlThreadsSolicitationIsWellFormed) {
    uint8_t frame[128] = {};
    rte_ether_addr mac{{0x02, 0, 0, 0, 0, 0x01}};
    auto source = ip_bytes("fd01::2"), target = ip_bytes("fd01::11");
    const uint32_t length = dataplane::write_neighbour_solicitation(frame, mac, source.data(), target.data());
    EXPECT_EQ(Bytes(frame, frame + length),
              nd_frame(135, {0x02, 0, 0, 0, 0, 0x01}, {0x33, 0x33, 0xff, 0, 0, 0x11}, "fd01::2", "ff02::1:ff00:11", "fd01::11", 1,
                       {0x02, 0, 0, 0, 0, 0x01}));
}

TEST(Arp, AnswersToMeshgatesRequestsAreLearntNotPassedOn) {
    DataplaneBench b(bench_config());
    const Mac endpoint{0x02, 0, 0, 0, 0, 0x44};
    // The control thread asks from the SNAT address: the answer is meshgate's alone.
    auto [c, e] = b.exchange(b.backend(), arp_frame(2, endpoint, "10.1.0.44", "10.1.0.3", b.backend().mac));
    EXPECT_TRUE(c.empty() && e.empty());
    EXPECT_EQ(b.drops(Drop::exception_unavailable), 0u) << "not the kernel's: nothing to pass on";
    auto events = b.events();
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(events[0].address.to_address().to_string(), "10.1.0.44");
    // An answer to the node's address is the kernel's (the bench has no exception tap: counted).
    b.exchange(b.backend(), arp_frame(2, endpoint, "10.1.0.44", "10.1.0.2", b.backend().mac));
    EXPECT_EQ(b.drops(Drop::exception_unavailable), 1u);
}

TEST(Arp, RequestsForOtherAddressesAreNotAnswered) {
    DataplaneBench b(bench_config());
    auto [c, e] = b.exchange(b.client(), arp_frame(1, {2, 0, 0, 0, 0, 0x77}, "10.0.0.9", "10.0.0.50"));
    EXPECT_TRUE(c.empty() && e.empty());
}

TEST(Icmp, EchoToAVipIsAnswered) {
    for (const char* client : {"10.0.0.1", "fd00::1"}) {
        DataplaneBench b(bench_config());
        Frame ping = from_client(b, client);
        ping.protocol = ping.v6() ? 58 : 1;
        ping.icmp_type = ping.v6() ? 128 : 8;
        ping.payload = {'p', 'i', 'n', 'g'};
        auto [to_clients, e] = b.exchange(b.client(), ping.build());
        ASSERT_EQ(to_clients.size(), 1u) << client;
        Frame pong = ping;
        pong.icmp_type = ping.v6() ? 129 : 0;
        pong.src = ping.dst;
        pong.dst = ping.src;
        pong.src_mac = b.client().mac;
        pong.dst_mac = client_mac;
        EXPECT_EQ(to_clients[0], pong.build()) << client;
    }
}

TEST(ExceptionPath, TrafficForTheNodeGoesToTheKernelOrIsCounted) {
    DataplaneBench b(bench_config());
    Frame ping = from_client(b);
    ping.dst = "10.0.0.2";  // the node's own address: not the fast path's
    ping.protocol = 1;
    auto [c, e] = b.exchange(b.client(), ping.build());
    EXPECT_TRUE(c.empty() && e.empty());
    EXPECT_EQ(b.drops(Drop::exception_unavailable), 1u);
}

// Path MTU discovery across the NAT: a router behind meshgate says "fragmentation needed"
// about what meshgate sent the endpoint; the client must get it about what it sent the VIP.
TEST(IcmpError, FragmentationNeededFromTheEndpointSideReachesTheClient) {
    for (const char* client : {"10.0.0.1", "fd00::1"}) {
        DataplaneBench b(bench_config());
        const Frame syn = from_client(b, client);
        auto [c0, forwarded] = b.exchange(b.client(), syn.build());
        ASSERT_EQ(forwarded.size(), 1u);
        const Nat nat = nat_of(forwarded[0]);
        const bool v6 = syn.v6();
        const std::string router = v6 ? "fd01::fe" : "10.1.0.254";
        auto error = icmp_error_frame(DataplaneBench::mac_of(router), b.backend().mac, router, v6 ? "fd01::3" : "10.1.0.3",
                                      v6 ? 2 : 3, v6 ? 0 : 4, 1400, ip_part(forwarded[0]));
        auto [to_clients, to_endpoints] = b.exchange(b.backend(), error);
        ASSERT_EQ(to_clients.size(), 1u) << client;
        EXPECT_TRUE(to_endpoints.empty());
        Frame quoted = syn;
        quoted.ttl = 63;  // the quote is of the packet after meshgate's hop
        auto expected = icmp_error_frame(b.client().mac, client_mac, syn.dst, syn.src, v6 ? 2 : 3, v6 ? 0 : 4, 1400,
                                         ip_part(quoted.build()), 63);
        EXPECT_EQ(to_clients[0], expected) << client;
        EXPECT_EQ(b.counters().icmp_errors_translated.get(), 1u);
    }
}

TEST(IcmpError, UnreachableFromTheClientSideReachesTheEndpoint) {
    DataplaneBench b(bench_config());
    const Frame syn = from_client(b);
    const Nat nat = open_flow(b, syn);
    Frame synack = reply_from_endpoint(b, syn, nat, 8080);
    synack.tcp_flags = SYN | ACK;
    auto [to_clients, e] = b.exchange(b.backend(), synack.build());
    ASSERT_EQ(to_clients.size(), 1u);
    auto error = icmp_error_frame(client_mac, b.client().mac, "10.0.0.1", "10.96.0.1", 3, 3, 0, ip_part(to_clients[0]));
    auto [c2, to_endpoints] = b.exchange(b.client(), error);
    ASSERT_EQ(to_endpoints.size(), 1u);
    Frame quoted = synack;
    quoted.ttl = 63;
    auto expected = icmp_error_frame(b.backend().mac, DataplaneBench::mac_of(nat.endpoint), "10.1.0.3", nat.endpoint, 3, 3, 0,
                                     ip_part(quoted.build()), 63);
    EXPECT_EQ(to_endpoints[0], expected);
}

TEST(IcmpError, AboutAnUnknownFlowIsDropped) {
    DataplaneBench b(bench_config());
    Frame stray = from_client(b);
    auto error = icmp_error_frame({2, 0, 0, 0, 0, 9}, b.backend().mac, "10.1.0.254", "10.1.0.3", 3, 4, 1400, ip_part(stray.build()));
    auto [c, e] = b.exchange(b.backend(), error);
    EXPECT_TRUE(c.empty() && e.empty());
    EXPECT_EQ(b.drops(Drop::no_flow), 1u);
}

TEST(IcmpError, QuotingTooLittleIsDropped) {
    DataplaneBench b(bench_config());
    Bytes quote = ip_part(from_client(b).build());
    quote.resize(20 + 2);  // not even both ports
    auto error = icmp_error_frame({2, 0, 0, 0, 0, 9}, b.backend().mac, "10.1.0.254", "10.1.0.3", 3, 4, 1400, quote);
    auto [c, e] = b.exchange(b.backend(), error);
    EXPECT_TRUE(c.empty() && e.empty());
    EXPECT_EQ(b.drops(Drop::bad_icmp_error), 1u);
}

// Malformed input: dropped, counted by reason, nothing sent, nothing crashes.
struct Malformed {
    const char* name;
    std::function<Bytes(const DataplaneBench&)> frame;
    Drop reason;
};

Bytes syn_bytes(const DataplaneBench& b) { return from_client(b).build(); }

const Malformed malformed[] = {
    {"truncated_ethernet", [](const DataplaneBench&) { return Bytes(10, 0xab); }, Drop::truncated_ethernet},
    {"truncated_vlan", [](const DataplaneBench& b) { auto f = syn_bytes(b); f.resize(14); f[12] = 0x81; f[13] = 0x00; f.push_back(0); return f; }, Drop::truncated_vlan},
    {"truncated_ipv4", [](const DataplaneBench& b) { auto f = syn_bytes(b); f.resize(14 + 12); return f; }, Drop::truncated_ip},
    {"bad_ip_version", [](const DataplaneBench& b) { auto f = syn_bytes(b); f[14] = 0x55; return f; }, Drop::bad_ip_version},
    {"ihl_below_5", [](const DataplaneBench& b) { auto f = syn_bytes(b); f[14] = 0x44; return f; }, Drop::bad_ip_header_length},
    {"total_length_past_frame", [](const DataplaneBench& b) { auto f = syn_bytes(b); put16(f, 16, 1400); return f; }, Drop::bad_ip_total_length},
    {"total_length_below_header", [](const DataplaneBench& b) { auto f = syn_bytes(b); put16(f, 16, 12); return f; }, Drop::bad_ip_total_length},
    {"bad_ipv4_checksum", [](const DataplaneBench& b) { auto f = syn_bytes(b); f[24] ^= 0xff; return f; }, Drop::bad_ip_checksum},
    {"fragment", [](const DataplaneBench& b) { Frame s = from_client(b); auto f = s.build(); put16(f, 20, 0x2000); put16(f, 24, 0); put16(f, 24, internet_checksum(&f[14], 20)); return f; }, Drop::ip_fragment},
    {"truncated_tcp", [](const DataplaneBench& b) { auto f = syn_bytes(b); f.resize(14 + 20 + 10); put16(f, 16, 30); put16(f, 24, 0); put16(f, 24, internet_checksum(&f[14], 20)); return f; }, Drop::truncated_l4},
    {"tcp_data_offset_below_5", [](const DataplaneBench& b) { auto f = syn_bytes(b); f[14 + 20 + 12] = 0x40; return f; }, Drop::bad_tcp_header_length},
    {"tcp_data_offset_past_segment", [](const DataplaneBench& b) { auto f = syn_bytes(b); f[14 + 20 + 12] = 0xf0; return f; }, Drop::bad_tcp_header_length},
    {"udp_length_past_datagram", [](const DataplaneBench& b) { Frame q = from_client(b); q.protocol = 17; q.dport = 53; auto f = q.build(); put16(f, 14 + 20 + 4, 500); return f; }, Drop::bad_udp_length},
    {"bad_arp", [](const DataplaneBench&) { auto f = arp_frame(1, {2, 0, 0, 0, 0, 1}, "10.0.0.9", "10.96.0.1"); f[14 + 5] = 6; return f; }, Drop::bad_arp},
    {"truncated_ipv6", [](const DataplaneBench& b) { auto f = from_client(b, "fd00::1").build(); f.resize(14 + 30); return f; }, Drop::truncated_ip},
    {"ipv6_payload_past_frame", [](const DataplaneBench& b) { auto f = from_client(b, "fd00::1").build(); put16(f, 18, 900); return f; }, Drop::bad_ip_total_length},
    {"ipv6_bad_version", [](const DataplaneBench& b) { auto f = from_client(b, "fd00::1").build(); f[14] = 0x40; return f; }, Drop::bad_ip_version},
};

class MalformedInput : public ::testing::TestWithParam<Malformed> {};

TEST_P(MalformedInput, IsDroppedAndCountedByReason) {
    DataplaneBench b(bench_config());
    auto [c, e] = b.exchange(b.client(), GetParam().frame(b));
    EXPECT_TRUE(c.empty());
    EXPECT_TRUE(e.empty());
    EXPECT_EQ(b.drops(GetParam().reason), 1u) << dataplane::to_string(GetParam().reason);
    EXPECT_EQ(b.counters().new_flows.get(), 0u);
}

INSTANTIATE_TEST_SUITE_P(Vectors, MalformedInput, ::testing::ValuesIn(malformed),
                         [](const auto& vector) { return std::string(vector.param.name); });

}  // namespace
}  // namespace meshgate::testing
