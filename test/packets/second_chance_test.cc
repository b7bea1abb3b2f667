// Second chance between the nodes of a tier (peer_ring.h, docs/scale-out.md): a segment of a
// connection this node does not know goes, IP-in-IP, round the ring of [announce] peers; the
// node with the flow serves it; back at the first node, the client gets the RST.
//
// The bench is node 10.1.0.2 of the tier 10.1.0.2, 10.1.0.4, 10.1.0.5 (on the endpoint-side
// port): its ring goes .2 → .4 → .5 → .2. Clients are off-subnet, behind 10.0.0.254.
#include <gtest/gtest.h>

#include <rte_mbuf.h>

#include "dataplane/peer_probe.h"
#include "dataplane_harness.h"
#include "nat_helpers.h"

namespace meshgate::testing {
namespace {

using dataplane::Drop;

const char* const client = "192.0.2.7";
const Mac router_mac = DataplaneBench::mac_of("10.0.0.254");

Config tier_config(std::vector<std::string> peers = {"10.1.0.5", "10.1.0.2", "10.1.0.4"}) {
    Config c = bench_config();
    c.dataplane.ports[0].gateway = *IpAddress::parse("10.0.0.254");
    for (const auto& p : peers) c.announce.peers.push_back(*IpAddress::parse(p));
    return c;
}

Frame client_segment(const DataplaneBench& b, uint8_t flags = ACK) {
    Frame f = from_client(b, client);
    f.src_mac = router_mac;
    f.tcp_flags = flags;
    f.seq = 7001;
    f.ack = 9001;
    return f;
}

// The IP packet of an Ethernet frame (untagged).
Bytes ip_packet(const Bytes& frame) { return Bytes(frame.begin() + 14, frame.end()); }

// `inner` (an IP packet) inside an outer IPv4 header from `from` to `to`, built from scratch;
// `hops` nodes have passed it on.
Bytes tunnelled(const Mac& src_mac, const Mac& dst_mac, const std::string& from, const std::string& to, const Bytes& inner,
                uint8_t ttl = 64, uint16_t hops = 0) {
    Bytes f(dst_mac.begin(), dst_mac.end());
    f.insert(f.end(), src_mac.begin(), src_mac.end());
    f.push_back(0x08);
    f.push_back(0x00);
    Bytes ip(20, 0);
    ip[0] = 0x45;
    put16(ip, 2, static_cast<uint16_t>(20 + inner.size()));
    put16(ip, 4, hops);
    put16(ip, 6, 0x4000);  // DF: the links between nodes carry it whole
    ip[8] = ttl;
    ip[9] = (inner[0] >> 4) == 4 ? 4 : 41;
    const Bytes s = ip_bytes(from), d = ip_bytes(to);
    std::copy(s.begin(), s.end(), ip.begin() + 12);
    std::copy(d.begin(), d.end(), ip.begin() + 16);
    put16(ip, 10, internet_checksum(ip.data(), 20));
    f.insert(f.end(), ip.begin(), ip.end());
    f.insert(f.end(), inner.begin(), inner.end());
    return f;
}

TEST(SecondChance, ASegmentOfAnUnknownConnectionGoesToTheNextNode) {
    DataplaneBench b(tier_config());
    const Frame ack = client_segment(b);
    auto [to_clients, to_endpoints] = b.exchange(b.client(), ack.build());
    EXPECT_TRUE(to_clients.empty()) << "no RST while another node may have the connection";
    ASSERT_EQ(to_endpoints.size(), 1u);
    EXPECT_EQ(to_endpoints[0], tunnelled(b.backend().mac, DataplaneBench::mac_of("10.1.0.4"), "10.1.0.2", "10.1.0.4",
                                         ip_packet(ack.build())));
    EXPECT_EQ(b.counters().second_chance_sent.get(), 1u);
    EXPECT_EQ(b.counters().tcp_resets.get(), 0u);
    EXPECT_EQ(b.counters().new_flows.get(), 0u);
}

TEST(SecondChance, ANewConnectionIsServedHereNotPassedOn) {
    DataplaneBench b(tier_config());
    const Frame syn = client_segment(b, SYN);
    open_flow(b, syn);
    EXPECT_EQ(b.counters().second_chance_sent.get(), 0u);
}

TEST(SecondChance, ATunnelledSegmentOfAFlowHereIsServed) {
    for (uint32_t workers : {1u, 2u}) {
        // With two workers, the endpoint-side port (where tunnels arrive) is polled by the worker
        // that does not own the flows made on the client side: whichever worker the tuple's hash
        // names first, the segment must reach the one with the flow. 16 connections: both cases.
        DataplaneBench b(tier_config(), workers);
        for (uint16_t sport = 41000; sport < 41016; ++sport) {
            Frame syn = client_segment(b, SYN);
            syn.sport = sport;
            const Nat nat = open_flow(b, syn);
            Frame data = client_segment(b, ACK | PSH);
            data.sport = sport;
            data.payload = Bytes(200, 0x5a);
            // The routers moved the connection to node .4, which passes it on to us.
            auto [to_clients, to_endpoints] = b.exchange(
                b.backend(), tunnelled(DataplaneBench::mac_of("10.1.0.4"), b.backend().mac, "10.1.0.4", "10.1.0.2", ip_packet(data.build())));
            EXPECT_TRUE(to_clients.empty());
            ASSERT_EQ(to_endpoints.size(), 1u) << workers << " worker(s), port " << sport;
            EXPECT_EQ(to_endpoints[0], expected_forward(b, data, nat, 8080)) << "NATed as if it had come straight from the client";
        }
        uint64_t served = 0, sent = 0;
        for (uint32_t w = 0; w < workers; ++w) {
            served += b.counters(w).second_chance_served.get();
            sent += b.counters(w).second_chance_sent.get();
        }
        EXPECT_EQ(served, 16u);
        EXPECT_EQ(sent, 0u);
    }
}

TEST(SecondChance, ANodeWithoutTheFlowPassesItOnAndKeepsTheFirstNodeAsSource) {
    DataplaneBench b(tier_config());
    const Bytes inner = ip_packet(client_segment(b).build());
    // Started by .5, whose next is .2 (us); ours is .4, which is not where it began.
    auto [to_clients, to_endpoints] =
        b.exchange(b.backend(), tunnelled(DataplaneBench::mac_of("10.1.0.5"), b.backend().mac, "10.1.0.5", "10.1.0.2", inner, 63));
    EXPECT_TRUE(to_clients.empty());
    ASSERT_EQ(to_endpoints.size(), 1u);
    EXPECT_EQ(to_endpoints[0], tunnelled(b.backend().mac, DataplaneBench::mac_of("10.1.0.4"), "10.1.0.5", "10.1.0.4", inner, 62, 1));
    EXPECT_EQ(b.counters().second_chance_sent.get(), 1u);
}

TEST(SecondChance, NoSegmentMakesMoreHopsThanTheRingHasNodes) {
    // A view of the ring that differs for a moment (a node dying) must not make a loop: a
    // segment already passed on twice in a ring of three is answered, not passed on again.
    DataplaneBench b(tier_config());
    const Bytes inner = ip_packet(client_segment(b).build());
    auto [to_clients, to_endpoints] = b.exchange(
        b.backend(), tunnelled(DataplaneBench::mac_of("10.1.0.5"), b.backend().mac, "10.1.0.5", "10.1.0.2", inner, 60, 2));
    EXPECT_TRUE(to_endpoints.empty());
    EXPECT_EQ(to_clients.size(), 1u);
    EXPECT_EQ(b.counters().tcp_resets.get(), 1u);
}

// An ICMP echo between two node addresses, as the control thread's probes carry inside the tunnel.
Bytes echo(const std::string& from, const std::string& to, uint8_t type) {
    Frame f;
    f.src = from;
    f.dst = to;
    f.protocol = 1;
    f.icmp_type = type;
    f.payload = Bytes(8, 0x6d);
    return ip_packet(f.build());
}

TEST(SecondChance, APeersProbeIsAnsweredTheWayItCame) {
    DataplaneBench b(tier_config());
    const Mac router = DataplaneBench::mac_of("10.1.0.1");
    auto [c, e] = b.exchange(b.backend(), tunnelled(router, b.backend().mac, "10.1.0.5", "10.1.0.2", echo("10.1.0.5", "10.1.0.2", 8), 63));
    EXPECT_TRUE(c.empty());
    ASSERT_EQ(e.size(), 1u);
    EXPECT_EQ(e[0], tunnelled(b.backend().mac, router, "10.1.0.2", "10.1.0.5", echo("10.1.0.2", "10.1.0.5", 0)));
}

TEST(SecondChance, APeersAnswerIsReportedToTheControlThread) {
    DataplaneBench b(tier_config());
    auto [c, e] = b.exchange(b.backend(), tunnelled(DataplaneBench::mac_of("10.1.0.4"), b.backend().mac, "10.1.0.4", "10.1.0.2",
                                                    echo("10.1.0.4", "10.1.0.2", 0)));
    EXPECT_TRUE(c.empty());
    EXPECT_TRUE(e.empty());
    const auto events = b.events();
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(events[0].kind, dataplane::Event::Kind::peer_answered);
    EXPECT_EQ(events[0].address.to_address().to_string(), "10.1.0.4");
    // An echo whose inner ends are not the tunnel's is nobody's probe.
    b.exchange(b.backend(), tunnelled(DataplaneBench::mac_of("10.1.0.4"), b.backend().mac, "10.1.0.4", "10.1.0.2",
                                      echo("10.1.0.9", "10.1.0.2", 8)));
    EXPECT_EQ(b.drops(Drop::bad_tunnel), 1u);
}

// The probe a control thread writes (dataplane/peer_probe.h), as bytes.
Bytes peer_probe(const Mac& from_mac, const Mac& to_mac, const std::string& self, const std::string& peer) {
    rte_mbuf* m = rte_pktmbuf_alloc(EalEnvironment::pool());
    rte_ether_addr source, destination;
    std::copy(from_mac.begin(), from_mac.end(), source.addr_bytes);
    std::copy(to_mac.begin(), to_mac.end(), destination.addr_bytes);
    EXPECT_TRUE(dataplane::write_peer_probe(m, source, destination, dataplane::AddressKey::from(*IpAddress::parse(self)),
                                            dataplane::AddressKey::from(*IpAddress::parse(peer)), 1));
    const auto* data = rte_pktmbuf_mtod(m, const uint8_t*);
    Bytes out(data, data + rte_pktmbuf_data_len(m));
    rte_pktmbuf_free(m);
    return out;
}

TEST(SecondChance, TheControlThreadsProbeIsAnEchoInsideTheTunnel) {
    const Mac a{2, 0, 0, 0, 0, 0xa}, b{2, 0, 0, 0, 0, 0xb};
    Frame e;
    e.src = "10.1.0.4";
    e.dst = "10.1.0.2";
    e.protocol = 1;
    e.icmp_type = 8;
    e.icmp_id = 0x6d67;
    e.payload = Bytes(8, 'm');
    Bytes inner = ip_packet(e.build());
    put16(inner, 4, 0);  // the probe's IPv4 identification
    put16(inner, 10, 0);
    put16(inner, 10, internet_checksum(inner.data(), 20));
    EXPECT_EQ(peer_probe(a, b, "10.1.0.4", "10.1.0.2"), tunnelled(a, b, "10.1.0.4", "10.1.0.2", inner));

    // IPv6 peers: ICMPv6 inside IPv6, its checksum over the pseudo-header.
    const Bytes v6 = peer_probe(a, b, "fd01::4", "fd01::2");
    ASSERT_EQ(v6.size(), 14u + 40 + 40 + 16);
    EXPECT_EQ(get16(v6, 12), 0x86dd);
    EXPECT_EQ(v6[14 + 6], 41) << "IPv6 in IPv6";
    EXPECT_EQ(v6[54 + 6], 58);
    Bytes pseudo(v6.begin() + 54 + 8, v6.begin() + 54 + 40);  // both addresses
    Bytes tail = {0, 0, 0, 16, 0, 0, 0, 58};
    pseudo.insert(pseudo.end(), tail.begin(), tail.end());
    pseudo.insert(pseudo.end(), v6.begin() + 94, v6.end());
    EXPECT_EQ(internet_checksum(pseudo.data(), pseudo.size()), 0) << "ICMPv6 checksum";
    EXPECT_EQ(v6[94], 128);
}

TEST(PeerRing, SkipsPeersThatDoNotAnswer) {
    const auto config = tier_config();
    // The control thread has heard from no peer yet: there is nobody to pass to.
    auto ring = dataplane::make_peer_ring(config.announce.peers, {}, {});
    EXPECT_FALSE(ring.enabled);
    std::vector<dataplane::PortInfo> ports(1);
    ports[0].prefixes = {*IpPrefix::parse("10.1.0.2/24")};
    ring = dataplane::make_peer_ring(config.announce.peers, {*IpAddress::parse("10.1.0.5")}, ports);
    ASSERT_TRUE(ring.enabled);
    EXPECT_EQ(ring.next.to_address().to_string(), "10.1.0.5") << ".4 is silent: skipped";
    EXPECT_EQ(ring.members, 2u);
    EXPECT_EQ(ring.peers.size(), 2u) << "both are still accepted as sources";
    ring = dataplane::make_peer_ring(config.announce.peers, {*IpAddress::parse("10.1.0.4")}, ports);
    EXPECT_EQ(ring.next.to_address().to_string(), "10.1.0.4");
}

TEST(SecondChance, BackAtTheFirstNodeTheClientGetsTheReset) {
    DataplaneBench b(tier_config());
    const Frame ack = client_segment(b);
    // Started by .4: it went .4 → .5 → .2, and our next is .4 again. Nobody has the flow.
    auto [to_clients, to_endpoints] = b.exchange(
        b.backend(), tunnelled(DataplaneBench::mac_of("10.1.0.5"), b.backend().mac, "10.1.0.4", "10.1.0.2", ip_packet(ack.build())));
    EXPECT_TRUE(to_endpoints.empty());
    ASSERT_EQ(to_clients.size(), 1u) << "the reset goes to the client, through its router";
    const Bytes& rst = to_clients[0];
    EXPECT_TRUE(std::equal(router_mac.begin(), router_mac.end(), rst.begin()));
    EXPECT_TRUE(std::equal(b.client().mac.begin(), b.client().mac.end(), rst.begin() + 6));
    ASSERT_EQ(get16(rst, 12), 0x0800);
    EXPECT_EQ(ip_bytes("10.96.0.1"), Bytes(rst.begin() + 26, rst.begin() + 30));
    EXPECT_EQ(ip_bytes(client), Bytes(rst.begin() + 30, rst.begin() + 34));
    EXPECT_EQ(get16(rst, 34), 80);
    EXPECT_EQ(get16(rst, 36), 40000);
    EXPECT_EQ(rst[34 + 13], RST);
    EXPECT_EQ(get16(rst, 34 + 4) << 16 | get16(rst, 34 + 6), 9001u) << "seq = the segment's ack number";
    EXPECT_EQ(internet_checksum(&rst[14], 20), 0) << "IPv4 header checksum";
    EXPECT_EQ(b.counters().tcp_resets.get(), 1u);
    EXPECT_EQ(b.drops(Drop::no_flow), 1u);
    EXPECT_EQ(b.counters().second_chance_sent.get(), 0u);
}

TEST(SecondChance, TunnelsFromOutsideTheTierAreNotOurs) {
    DataplaneBench b(tier_config());
    const Bytes inner = ip_packet(client_segment(b).build());
    // Not a peer: the kernel's business (the bench has no exception path, so it is counted).
    b.exchange(b.backend(), tunnelled(DataplaneBench::mac_of("10.1.0.9"), b.backend().mac, "10.1.0.9", "10.1.0.2", inner));
    EXPECT_EQ(b.drops(Drop::exception_unavailable), 1u);
    EXPECT_EQ(b.counters().second_chance_sent.get() + b.counters().second_chance_served.get(), 0u);
}

TEST(SecondChance, APeersTunnelThatHoldsNoSegmentForOurVipsIsDropped) {
    DataplaneBench b(tier_config());
    const Mac peer = DataplaneBench::mac_of("10.1.0.4");
    Frame udp = client_segment(b);
    udp.protocol = 17;
    udp.dport = 53;
    Frame elsewhere = client_segment(b);
    elsewhere.dst = "10.96.0.99";
    Bytes truncated = ip_packet(client_segment(b).build());
    truncated.resize(30);
    for (const Bytes& inner : {ip_packet(udp.build()), ip_packet(elsewhere.build()), truncated}) {
        auto [c, e] = b.exchange(b.backend(), tunnelled(peer, b.backend().mac, "10.1.0.4", "10.1.0.2", inner));
        EXPECT_TRUE(c.empty());
        EXPECT_TRUE(e.empty());
    }
    EXPECT_EQ(b.drops(Drop::bad_tunnel), 3u);
}

TEST(SecondChance, ASegmentTooBigForTheTunnelIsDroppedAndCounted) {
    DataplaneBench b(tier_config());
    Frame big = client_segment(b, ACK | PSH);
    big.payload = Bytes(1500 - 40, 0x33);  // a full 1,500-byte IP packet: 1,520 once tunnelled
    auto [c, e] = b.exchange(b.client(), big.build());
    EXPECT_TRUE(c.empty());
    EXPECT_TRUE(e.empty());
    EXPECT_EQ(b.drops(Drop::tunnel_too_big), 1u);
}

TEST(SecondChance, WithoutPeersTheSegmentIsResetAsBefore) {
    DataplaneBench b(tier_config({}));
    auto [to_clients, to_endpoints] = b.exchange(b.client(), client_segment(b).build());
    EXPECT_TRUE(to_endpoints.empty());
    ASSERT_EQ(to_clients.size(), 1u);
    EXPECT_EQ(b.counters().tcp_resets.get(), 1u);
}

TEST(SecondChance, IPv6InsideTheIPv4Tunnel) {
    auto config = tier_config();
    config.dataplane.ports[0].addresses = {*IpPrefix::parse("10.0.0.2/24"), *IpPrefix::parse("fd00::2/64")};
    DataplaneBench b(config);
    Frame ack = from_client(b, "fd00::1");
    ack.tcp_flags = ACK;
    auto [to_clients, to_endpoints] = b.exchange(b.client(), ack.build());
    ASSERT_EQ(to_endpoints.size(), 1u);
    EXPECT_EQ(to_endpoints[0], tunnelled(b.backend().mac, DataplaneBench::mac_of("10.1.0.4"), "10.1.0.2", "10.1.0.4",
                                         ip_packet(ack.build())));
}

}  // namespace
}  // namespace meshgate::testing
