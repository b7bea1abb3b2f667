#pragma once

#include <cstdint>
#include <optional>
#include <queue>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

#include "control/live_state.h"
#include "control/outlier_tracker.h"
#include "control/remote_prober.h"
#include "core/duration.h"

namespace meshgate::control {

// What `endpoints` shows about an endpoint's active checks.
struct CheckState {
    bool down = false;
    uint32_t consecutive_successes = 0, consecutive_failures = 0;
    std::string last;  // "ok", "connect refused", "timeout", "HTTP 503", …
};

// Active health checks of [[health_check]]: TCP connects and HTTP GETs from the node's own
// kernel stack (they leave through meshgate's ports by the exception path), and HBONE CONNECTs
// through a RemoteProber (the HBONE proxy, on the same stack); on non-blocking
// sockets under epoll, polled from the control thread without ever waiting. An endpoint starts
// up; `unhealthy_threshold` failures in a row mark it down (check_down in the LiveState),
// `healthy_threshold` successes bring it back. Each probe starts after its interval plus a
// random jitter, so that endpoints are not probed in lockstep.
class HealthChecker {
public:
    HealthChecker();
    ~HealthChecker();
    HealthChecker(const HealthChecker&) = delete;
    HealthChecker& operator=(const HealthChecker&) = delete;

    // Follows the checks and the live membership; an endpoint that stays keeps its state.
    void sync(const LiveState& live, MonotonicTime now);
    // Starts due probes, reads answers, times out slow ones; applies state changes to `live`.
    void poll(MonotonicTime now, LiveState& live, OutlierTracker& outliers);

    std::optional<CheckState> state(uint32_t slot) const;
    // Who makes the `hbone` probes (the HBONE proxy); without one they fail.
    void set_remote(RemoteProber* prober) { remote_ = prober; }
    uint64_t probes(const std::string& result) const;  // "ok", "failed", "timeout"
    size_t targets() const { return targets_.size(); }

private:
    enum class Phase : uint8_t { idle, connecting, reading, remote };
    struct Target {
        std::string identity;
        uint32_t slot = 0;
        size_t check = 0;  // index in config.health_checks
        IpAddress address;
        uint16_t port = 0;
        std::string spiffe;  // the endpoint's SPIFFE id (hbone probes)
        Phase phase = Phase::idle;
        uint64_t token = 0;  // the remote probe in flight
        int fd = -1;
        uint64_t seq = 0;  // which timer entry is current
        MonotonicTime at{0};  // idle: when the next probe starts; else its deadline
        std::string response;
        CheckState state;
    };
    struct Timer {
        MonotonicTime at;
        size_t target;
        uint64_t seq;
        bool operator>(const Timer& o) const { return at > o.at; }
    };

    void start(Target& t, size_t index, MonotonicTime now);
    void on_ready(Target& t, size_t index, MonotonicTime now, LiveState& live, OutlierTracker& outliers);
    void finish(Target& t, size_t index, bool ok, std::string what, MonotonicTime now, LiveState& live, OutlierTracker& outliers);
    void schedule(Target& t, size_t index, MonotonicTime at);
    MonotonicTime next_start(const Target& t, MonotonicTime now);

    int epoll_ = -1;
    std::vector<HealthCheck> checks_;
    std::vector<Target> targets_;
    std::unordered_map<uint32_t, size_t> by_slot_;  // an endpoint's first target
    std::priority_queue<Timer, std::vector<Timer>, std::greater<>> timers_;
    std::mt19937_64 random_{0x6d657368};
    uint64_t ok_ = 0, failed_ = 0, timed_out_ = 0;
    RemoteProber* remote_ = nullptr;
    uint64_t next_token_ = 1;
};

}  // namespace meshgate::control
