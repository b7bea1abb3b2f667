// The control thread's liveness of the tier's peers (control/peer_liveness.h) against a real
// worker: node .4's probes, taken from its inbox ring, reach the bench (node .2 of the tier
// 10.1.0.2, .4, .5), whose worker answers them; the answers make .2 live in .4's ring, and
// silence takes it out again.
#include <gtest/gtest.h>

#include <rte_mbuf.h>
#include <rte_ring.h>

#include "control/peer_liveness.h"
#include "dataplane_harness.h"
#include "nat_helpers.h"

namespace meshgate::testing {
namespace {

using namespace std::chrono_literals;

struct NodeFour {
    Config config;
    std::vector<dataplane::PortInfo> ports;
    std::unique_ptr<dataplane::LbState> state;
    std::unique_ptr<dataplane::Neighbours> neighbours;
    rte_ring* inbox = nullptr;
    dataplane::TxInboxes tx;

    explicit NodeFour(const Config& tier) : config(tier) {
        config.dataplane.ports = {config.dataplane.ports[1]};
        config.dataplane.ports[0].addresses = {*IpPrefix::parse("10.1.0.4/24")};
        dataplane::PortInfo port;
        port.port_id = 0;
        port.prefixes = config.dataplane.ports[0].addresses;
        ports = {port};
        state = std::make_unique<dataplane::LbState>(config, ports, lb::declared_health(config));
        std::vector<dataplane::NeighbourEntry> known;
        for (const char* peer : {"10.1.0.2", "10.1.0.5"}) {
            dataplane::NeighbourEntry n;
            n.address = dataplane::AddressKey::from(*IpAddress::parse(peer));
            const Mac mac = DataplaneBench::mac_of(peer);
            std::copy(mac.begin(), mac.end(), n.mac.addr_bytes);
            known.push_back(n);
        }
        neighbours = std::make_unique<dataplane::Neighbours>(1, known);
        inbox = rte_ring_create("peer_probe_inbox", 64, SOCKET_ID_ANY, 0);
        tx = dataplane::TxInboxes({inbox}, {1});
    }
    ~NodeFour() {
        void* m = nullptr;
        while (rte_ring_dequeue(inbox, &m) == 0) rte_pktmbuf_free(static_cast<rte_mbuf*>(m));
        rte_ring_free(inbox);
    }
    std::vector<Bytes> sent() {
        std::vector<Bytes> out;
        void* p = nullptr;
        while (rte_ring_dequeue(inbox, &p) == 0) {
            auto* m = static_cast<rte_mbuf*>(p);
            const auto* data = rte_pktmbuf_mtod(m, const uint8_t*);
            out.emplace_back(data, data + rte_pktmbuf_data_len(m));
            rte_pktmbuf_free(m);
        }
        return out;
    }
};

std::string outer_source(const Bytes& f) { return std::to_string(f[26]) + "." + std::to_string(f[27]) + "." + std::to_string(f[28]) + "." + std::to_string(f[29]); }

TEST(PeerLiveness, APeerIsInTheRingWhileItsDataPlaneAnswers) {
    Config tier = bench_config();
    for (const char* p : {"10.1.0.2", "10.1.0.4", "10.1.0.5"}) tier.announce.peers.push_back(*IpAddress::parse(p));
    DataplaneBench node2(tier);
    NodeFour node4(tier);
    control::PeerLiveness liveness(&node4.tx, EalEnvironment::pool());
    MonotonicTime now = 1s;

    // The first round: nobody has answered yet; a probe goes to each other peer.
    EXPECT_FALSE(liveness.tick(*node4.state, *node4.neighbours, now));
    EXPECT_FALSE(liveness.ring(*node4.state).enabled);
    auto probes = node4.sent();
    ASSERT_EQ(probes.size(), 2u) << "one probe to .2 and one to .5, none to itself";

    // .2's worker answers the one sent to it; .5 is down and never does.
    const Bytes* to_two = nullptr;
    for (const auto& p : probes) {
        if (p[33] == 2) to_two = &p;  // outer destination 10.1.0.2
    }
    ASSERT_NE(to_two, nullptr);
    auto [c, answers] = node2.exchange(node2.backend(), *to_two);
    ASSERT_EQ(answers.size(), 1u);
    EXPECT_EQ(outer_source(answers[0]), "10.1.0.2");
    EXPECT_EQ(answers[0][14 + 20 + 20], 0) << "an ICMP echo reply inside";
    // What node .4's worker reports of that answer (Worker::answer_peer_probe).
    liveness.answered(dataplane::AddressKey::from(*IpAddress::parse("10.1.0.2")), now + 2ms);

    now += 100ms;
    EXPECT_TRUE(liveness.tick(*node4.state, *node4.neighbours, now)) << ".2 answers: a new ring to publish";
    auto ring = liveness.ring(*node4.state);
    ASSERT_TRUE(ring.enabled);
    EXPECT_EQ(ring.next.to_address().to_string(), "10.1.0.2") << ".5 (next by address) is silent: skipped";
    EXPECT_EQ(ring.members, 2u);
    const auto status = liveness.status(now);
    ASSERT_EQ(status.size(), 2u);
    EXPECT_TRUE(status[0]["live"].get<bool>());
    EXPECT_FALSE(status[1]["live"].get<bool>());
    EXPECT_FALSE(status[1].contains("last_answer_ms"));

    // Silent for five intervals: out of the ring again.
    for (int i = 0; i < control::PeerLiveness::misses_allowed - 1; ++i) {
        now += 100ms;
        EXPECT_FALSE(liveness.tick(*node4.state, *node4.neighbours, now));
    }
    now += 100ms;
    EXPECT_TRUE(liveness.tick(*node4.state, *node4.neighbours, now));
    EXPECT_FALSE(liveness.ring(*node4.state).enabled);
    node4.sent();
}

}  // namespace
}  // namespace meshgate::testing
