#pragma once

#include <cstdint>
#include <vector>

#include "core/destination_rule.h"
#include "core/duration.h"

namespace meshgate::lb {

// What an L4 or HBONE hop learns about one connection attempt (reference §6.8).
enum class ConnectResult : uint8_t {
    success,  // SYN-ACK / 200: resets the consecutive counters
    failure,  // RST to SYN, ICMP unreachable, TLS failure, CONNECT ≠ 200 (401 excepted)
    timeout,  // no answer within the connect timeout
};

// Envoy's consecutive-error outlier detection with Istio's field mapping (reference §6.6,
// §6.7), for the hosts of one service. Driven by events and interval ticks; time is passed in.
class OutlierDetector {
public:
    struct HostState {
        uint32_t consecutive_5xx = 0;
        uint32_t consecutive_gateway = 0;
        uint32_t consecutive_local_origin = 0;
        uint32_t backoff = 0;  // consecutive ejections, decays by one per healthy tick
        bool ejected = false;
        MonotonicTime last_ejection{0};
    };

    OutlierDetector(OutlierDetectionPolicy policy, size_t hosts);

    // Returns true when this result ejected the host.
    bool record(size_t host, ConnectResult result, MonotonicTime now);
    // The interval tick: un-ejects hosts whose ejection time has passed. Returns them.
    std::vector<size_t> tick(MonotonicTime now);
    // Carries a host's state over into a detector made for a new membership.
    void set_state(size_t host, const HostState& state) { hosts_[host] = state; }
    // A passing active health check un-ejects at once (Envoy's default).
    void on_active_check_success(size_t host);

    bool ejected(size_t host) const { return hosts_[host].ejected; }
    const HostState& state(size_t host) const { return hosts_[host]; }
    size_t active_ejections() const;
    uint64_t overflows() const { return overflows_; }
    Duration max_ejection_time() const;
    const OutlierDetectionPolicy& policy() const { return policy_; }

private:
    bool try_eject(size_t host, MonotonicTime now);

    OutlierDetectionPolicy policy_;
    std::vector<HostState> hosts_;
    uint64_t overflows_ = 0;
};

}  // namespace meshgate::lb
