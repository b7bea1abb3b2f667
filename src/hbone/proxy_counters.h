#pragma once

#include <array>
#include <atomic>
#include <cstdint>

namespace meshgate::hbone {

// Why a TLS handshake or the checks after it refused a client.
enum class HandshakeFailure : uint8_t {
    bad_certificate,     // not signed by the CA bundle, or malformed
    expired_certificate,
    no_certificate,      // the client sent none
    no_alpn,             // the client does not speak h2
    no_identity,         // a certificate without a SPIFFE id
    wrong_trust_domain,
    not_tls,             // garbage, plain HTTP, a TLS version below 1.3, …
    timeout,             // not done within the handshake timeout
    count_
};
const char* to_string(HandshakeFailure f);

// One HBONE thread's counters: written by it alone (relaxed), summed by whoever reports them.
struct ProxyCounters {
    std::atomic<uint64_t> connections{0};         // accepted TCP connections
    std::atomic<uint64_t> connections_closed{0};
    std::atomic<uint64_t> connections_refused{0}; // beyond the thread's cap
    std::atomic<uint64_t> tunnels{0};             // handshakes that succeeded
    std::array<std::atomic<uint64_t>, static_cast<size_t>(HandshakeFailure::count_)> handshake_failures{};
    std::atomic<uint64_t> streams{0};             // CONNECT streams answered 200
    std::atomic<uint64_t> streams_closed{0};      // of those, over
    std::atomic<uint64_t> answered_400{0}, answered_401{0}, answered_503{0}, answered_other{0};
    std::atomic<uint64_t> upstream_connect_failures{0};
    std::atomic<uint64_t> bytes_to_upstream{0}, bytes_from_upstream{0};
    std::atomic<uint64_t> protocol_errors{0};     // HTTP/2 peers closed with GOAWAY (PROTOCOL_ERROR; ENHANCE_YOUR_CALM: reset flood)
    std::atomic<uint64_t> keepalive_timeouts{0};  // connections closed: a PING unanswered for 20 s (both sides)
    // The client side: pooled HBONE connections to ztunnels.
    std::atomic<uint64_t> pool_connections{0};        // opened
    std::atomic<uint64_t> pool_connections_closed{0};
    std::atomic<uint64_t> pool_connect_failures{0};   // TCP
    std::atomic<uint64_t> pool_handshake_failures{0}; // TLS, or not the expected identity
    std::atomic<uint64_t> pool_refused_streams{0};    // answered other than 200
    std::atomic<uint64_t> double_hbone_streams{0};    // inner CONNECTs through an east-west gateway
    // The gateway role: plain TCP connections accepted on a forwarding = "hbone" VIP.
    std::atomic<uint64_t> gateway_connections{0};

    static void add(std::atomic<uint64_t>& c, uint64_t n = 1) { c.store(c.load(std::memory_order_relaxed) + n, std::memory_order_relaxed); }
};

}  // namespace meshgate::hbone
