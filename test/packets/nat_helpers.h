#pragma once

// Frames of a full-NAT'ed flow through a DataplaneBench, and what must come out for them.

#include <arpa/inet.h>

#include <chrono>
#include <string>
#include <thread>

#include "dataplane_harness.h"

namespace meshgate::testing {

inline const Mac client_mac{0x02, 0, 0, 0, 0, 0xc1};

// A frame from a client to the bench's client port.
inline Frame from_client(const DataplaneBench& b, const std::string& src = "10.0.0.1", uint16_t sport = 40000) {
    Frame f;
    f.src_mac = client_mac;
    f.dst_mac = b.client().mac;
    f.src = src;
    f.sport = sport;
    f.dst = src.find(':') == std::string::npos ? "10.96.0.1" : "fd96::1";
    return f;
}

struct Nat {
    std::string endpoint;
    uint16_t snat_port = 0;
};

inline size_t ip_offset(const Bytes& f) { return get16(f, 12) == 0x8100 ? 18 : 14; }

// Reads where a forwarded IPv4/IPv6 TCP/UDP frame went: endpoint address and SNAT port.
inline Nat nat_of(const Bytes& f) {
    const size_t ip = ip_offset(f);
    const bool v6 = (f[ip] >> 4) == 6;
    char text[64];
    inet_ntop(v6 ? AF_INET6 : AF_INET, &f[ip + (v6 ? 24 : 16)], text, sizeof text);
    const size_t l4 = ip + (v6 ? 40 : (f[ip] & 0x0f) * 4u);
    return {text, get16(f, l4)};
}

// The SNAT address of the bench's endpoint-facing port for the family of `v6`.
inline std::string snat_of(const DataplaneBench& b, bool v6) {
    for (const auto& a : b.config().dataplane.ports.back().snat) {
        if (a.is_v4() != v6) return a.to_string();
    }
    return {};
}

// What the endpoint must receive for `in`: SNAT source, endpoint destination, TTL − 1, MACs.
inline Bytes expected_forward(const DataplaneBench& b, Frame in, const Nat& nat, uint16_t endpoint_port) {
    in.src = snat_of(b, in.v6());
    in.sport = nat.snat_port;
    in.dst = nat.endpoint;
    in.dport = endpoint_port;
    in.ttl = static_cast<uint8_t>(in.ttl - 1);
    in.src_mac = b.backend().mac;
    in.dst_mac = DataplaneBench::mac_of(nat.endpoint);
    return in.build();
}

// An endpoint's reply to a forwarded frame, as it arrives at the backend port.
inline Frame reply_from_endpoint(const DataplaneBench& b, const Frame& request, const Nat& nat, uint16_t endpoint_port) {
    Frame r = request;
    r.src = nat.endpoint;
    r.dst = snat_of(b, request.v6());
    r.sport = endpoint_port;
    r.dport = nat.snat_port;
    r.src_mac = DataplaneBench::mac_of(nat.endpoint);
    r.dst_mac = b.backend().mac;
    r.ttl = 64;
    return r;
}

// What the client must receive for an endpoint's reply: from the VIP, to the client.
inline Bytes expected_reverse(const DataplaneBench& b, Frame reply, const Frame& request) {
    reply.src = request.dst;
    reply.sport = request.dport;
    reply.dst = request.src;
    reply.dport = request.sport;
    reply.ttl = static_cast<uint8_t>(reply.ttl - 1);
    reply.src_mac = b.client().mac;
    reply.dst_mac = client_mac;
    return reply.build();
}

// Sends a SYN and checks the forwarded frame; returns the NAT chosen.
inline Nat open_flow(DataplaneBench& b, const Frame& syn, uint16_t endpoint_port = 8080) {
    auto [to_clients, to_endpoints] = b.exchange(b.client(), syn.build());
    EXPECT_TRUE(to_clients.empty());
    EXPECT_EQ(to_endpoints.size(), 1u);
    if (to_endpoints.empty()) return {};
    const Nat nat = nat_of(to_endpoints[0]);
    EXPECT_EQ(to_endpoints[0], expected_forward(b, syn, nat, endpoint_port));
    EXPECT_GE(nat.snat_port, 1024);
    return nat;
}

// A worker sweeps its whole table once per sweep period (half the shortest flow timeout, at
// least 1 ms), at most 1,024 slots a pass: the bench's tables have 1,024. Callers let the
// timeouts they set pass first.
inline void sweep_whole_table(DataplaneBench& b) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
    b.poll_all();
}

}  // namespace meshgate::testing
