// The XDP steering program (drivers/xdp/meshgate_steer.bpf.c) run by the kernel on crafted
// frames with BPF_PROG_RUN: what meshgated serves is redirected, the node's own traffic and
// anything malformed stays with the kernel. Needs root (CAP_BPF).
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_link.h>

#include <net/if.h>
#include <sched.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <array>

#include "dataplane/xdp_steering.h"
#include "frame_builder.h"

namespace meshgate::testing {
namespace {

enum Verdict : uint32_t { to_meshgate, to_kernel, malformed };

class SteeringProgram : public ::testing::Test {
protected:
    void SetUp() override {
        object_ = bpf_object__open_file(MESHGATE_XDP_PROGRAM, nullptr);
        ASSERT_NE(object_, nullptr) << MESHGATE_XDP_PROGRAM;
        ASSERT_EQ(bpf_object__load(object_), 0) << "loading the program needs root";
        program_ = bpf_program__fd(bpf_object__find_program_by_name(object_, "meshgate_steer"));
        owned_v4_ = bpf_object__find_map_fd_by_name(object_, "owned_v4");
        owned_v6_ = bpf_object__find_map_fd_by_name(object_, "owned_v6");
        counts_ = bpf_object__find_map_fd_by_name(object_, "verdict_counts");
        ASSERT_GE(program_, 0);
        // What meshgated would put there: a VIP and a SNAT address of each family.
        for (const char* a : {"10.96.0.1", "10.1.0.3", "fd96::1", "fd01::3"}) own(a);
    }
    void TearDown() override { bpf_object__close(object_); }

    void own(const std::string& address) {
        const auto bytes = ip_bytes(address);
        const uint8_t one = 1;
        ASSERT_EQ(bpf_map_update_elem(bytes.size() == 4 ? owned_v4_ : owned_v6_, bytes.data(), &one, BPF_ANY), 0);
    }

    // Runs the program on `frame`; returns the verdict it counted (and checks it counted one).
    Verdict run(const Bytes& frame) {
        std::array<uint64_t, 3> before = counts(), after;
        Bytes copy = frame;
        LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = copy.data(), .data_size_in = static_cast<uint32_t>(copy.size()),
                    .repeat = 1);
        EXPECT_EQ(bpf_prog_test_run_opts(program_, &opts), 0);
        // With no AF_XDP socket bound in a test run, even a redirect falls back to XDP_PASS.
        EXPECT_EQ(opts.retval, static_cast<uint32_t>(XDP_PASS));
        after = counts();
        int changed = -1;
        for (uint32_t v = 0; v < 3; ++v) {
            if (after[v] == before[v] + 1) {
                EXPECT_EQ(changed, -1) << "one verdict per frame";
                changed = static_cast<int>(v);
            }
        }
        EXPECT_NE(changed, -1) << "no verdict counted";
        return static_cast<Verdict>(changed);
    }

    std::array<uint64_t, 3> counts() {
        std::array<uint64_t, 3> out{};
        for (uint32_t v = 0; v < 3; ++v) bpf_map_lookup_elem(counts_, &v, &out[v]);
        return out;
    }

    bpf_object* object_ = nullptr;
    int program_ = -1, owned_v4_ = -1, owned_v6_ = -1, counts_ = -1;
};

Frame tcp_to(const std::string& destination, const std::string& source = "10.0.0.1") {
    Frame f;
    f.src = source;
    f.dst = destination;
    return f;
}

TEST_F(SteeringProgram, VipAndSnatTrafficGoesToMeshgate) {
    EXPECT_EQ(run(tcp_to("10.96.0.1").build()), to_meshgate);
    EXPECT_EQ(run(tcp_to("10.1.0.3", "10.1.0.11").build()), to_meshgate);  // an endpoint's reply
    EXPECT_EQ(run(tcp_to("fd96::1", "fd00::1").build()), to_meshgate);
    Frame udp = tcp_to("10.96.0.1");
    udp.protocol = 17;
    EXPECT_EQ(run(udp.build()), to_meshgate);
    Frame tagged = tcp_to("10.96.0.1");
    tagged.vlan = 7;
    EXPECT_EQ(run(tagged.build()), to_meshgate);
}

TEST_F(SteeringProgram, TheNodesOwnTrafficStaysWithTheKernel) {
    EXPECT_EQ(run(tcp_to("10.0.0.2").build()), to_kernel);    // SSH, BGP to the node address
    EXPECT_EQ(run(tcp_to("10.200.0.9").build()), to_kernel);  // not ours at all
    EXPECT_EQ(run(tcp_to("fd00::2", "fd00::1").build()), to_kernel);
}

TEST_F(SteeringProgram, ArpAndNeighbourDiscoveryForOwnedAddresses) {
    const Mac asker{0x02, 0, 0, 0, 0, 0x77}, group{0x33, 0x33, 0xff, 0, 0, 0x01};
    EXPECT_EQ(run(arp_frame(1, asker, "10.0.0.9", "10.96.0.1")), to_meshgate);
    EXPECT_EQ(run(arp_frame(2, asker, "10.1.0.11", "10.1.0.3")), to_meshgate);  // answers meshgate's request
    EXPECT_EQ(run(arp_frame(1, asker, "10.0.0.9", "10.0.0.2")), to_kernel);    // for the node address
    EXPECT_EQ(run(nd_frame(135, asker, group, "fd00::9", "ff02::1:ff00:1", "fd96::1", 1, asker)), to_meshgate);
    EXPECT_EQ(run(nd_frame(135, asker, group, "fd00::9", "ff02::1:ff00:2", "fd00::2", 1, asker)), to_kernel);
}

TEST_F(SteeringProgram, MalformedFramesArePassedForTheKernelToDrop) {
    Bytes frame = tcp_to("10.96.0.1").build();
    // BPF_PROG_RUN, like a NIC, hands XDP no frame shorter than an Ethernet header.
    EXPECT_EQ(run(Bytes(frame.begin(), frame.begin() + 14)), malformed);  // IPv4 with no IPv4 header
    EXPECT_EQ(run(Bytes(frame.begin(), frame.begin() + 14 + 12)), malformed);  // IPv4 header cut short
    Bytes arp = arp_frame(1, {2, 0, 0, 0, 0, 1}, "10.0.0.9", "10.96.0.1");
    EXPECT_EQ(run(Bytes(arp.begin(), arp.begin() + 30)), malformed);
}

// `inner` (an IP packet) inside IPv4 or IPv6 from `from` to `to`: the second-chance tunnel.
Bytes tunnelled(const std::string& from, const std::string& to, const Bytes& inner_frame) {
    Frame outer = tcp_to(to, from);
    const bool inner_v4 = get16(inner_frame, 12) == 0x0800;
    outer.protocol = inner_v4 ? 4 : 41;
    outer.payload.clear();
    Bytes f = outer.build();
    const size_t header = outer.v6() ? 40 : 20;
    f.resize(14 + header);  // the frame builder's TCP header goes: the inner packet follows
    f.insert(f.end(), inner_frame.begin() + 14, inner_frame.end());
    return f;
}

TEST_F(SteeringProgram, TheTiersTunnelFromItsPeersGoesToMeshgate) {
    const uint8_t peer = 2;  // enum role: tier_peer
    for (const char* a : {"10.0.0.4", "fd00::4"}) {
        const auto bytes = ip_bytes(a);
        ASSERT_EQ(bpf_map_update_elem(bytes.size() == 4 ? owned_v4_ : owned_v6_, bytes.data(), &peer, BPF_ANY), 0);
    }
    const Bytes segment = tcp_to("10.96.0.1", "192.0.2.7").build();
    const Bytes segment6 = tcp_to("fd96::1", "fd00::1").build();
    EXPECT_EQ(run(tunnelled("10.0.0.4", "10.0.0.2", segment)), to_meshgate);
    EXPECT_EQ(run(tunnelled("10.0.0.4", "10.0.0.2", segment6)), to_meshgate);
    EXPECT_EQ(run(tunnelled("fd00::4", "fd00::2", segment)), to_meshgate);
    // From anyone else, the kernel's own tunnels; and a peer's other traffic is the kernel's.
    EXPECT_EQ(run(tunnelled("10.0.0.9", "10.0.0.2", segment)), to_kernel);
    EXPECT_EQ(run(tcp_to("10.0.0.2", "10.0.0.4").build()), to_kernel);
    EXPECT_EQ(run(tcp_to("10.0.0.4", "10.0.0.1").build()), to_kernel) << "frames to a peer's address are not ours";
}

TEST_F(SteeringProgram, TheControlThreadKeepsServedAddressesAndPeersInTheMaps) {
    // SteeringMaps finds the maps through the program attached to an interface: `lo` of a
    // network namespace of the test's own, in a child process.
    const pid_t child = fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
        if (unshare(CLONE_NEWNET) != 0) _exit(90);
        const int lo = static_cast<int>(if_nametoindex("lo"));
        if (bpf_xdp_attach(lo, program_, XDP_FLAGS_SKB_MODE, nullptr) != 0) _exit(91);
        int rc = 0;
        try {
            dataplane::SteeringMaps maps("lo");
            const auto vip = *IpAddress::parse("10.96.0.1"), peer = *IpAddress::parse("10.0.0.4"),
                       peer6 = *IpAddress::parse("fd00::4");
            maps.update({vip}, {peer, peer6});
            const Bytes segment = tcp_to("10.96.0.1", "192.0.2.7").build();
            if (run(tunnelled("10.0.0.4", "10.0.0.2", segment)) != to_meshgate) rc = 1;
            else if (run(tunnelled("fd00::4", "fd00::2", segment)) != to_meshgate) rc = 2;
            else if (run(tcp_to("10.0.0.4", "10.0.0.1").build()) != to_kernel) rc = 3;  // a peer is not served
            else if (run(tcp_to("10.1.0.3", "10.1.0.11").build()) != to_kernel) rc = 4;  // SetUp's SNAT address: not in `owned`
            else if (run(segment) != to_meshgate) rc = 5;
            // The peer leaves the tier: its tunnel is the kernel's again.
            else if (maps.update({vip}) != 2) rc = 6;
            else if (run(tunnelled("10.0.0.4", "10.0.0.2", segment)) != to_kernel) rc = 7;
            else if (maps.update({vip}) != 0) rc = 8;  // nothing to change
        } catch (const std::exception& e) {
            std::fprintf(stderr, "%s\n", e.what());
            rc = 92;
        }
        bpf_xdp_detach(lo, XDP_FLAGS_SKB_MODE, nullptr);
        _exit(::testing::Test::HasFailure() ? 93 : rc);
    }
    int status = 0;
    ASSERT_EQ(waitpid(child, &status, 0), child);
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 0) << "failed check number " << WEXITSTATUS(status) << " in the child";
}

TEST_F(SteeringProgram, AddressesLeaveWhenMeshgatedRemovesThem) {
    const auto vip = ip_bytes("10.96.0.1");
    ASSERT_EQ(bpf_map_delete_elem(owned_v4_, vip.data()), 0);
    EXPECT_EQ(run(tcp_to("10.96.0.1").build()), to_kernel);
}

}  // namespace
}  // namespace meshgate::testing
