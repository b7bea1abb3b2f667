#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "control/live_state.h"
#include "core/duration.h"
#include "lb/outlier_detector.h"

namespace meshgate::control {

// An ejection as `endpoints` shows it.
struct Ejection {
    std::string reason;
    MonotonicTime since{0};
    MonotonicTime until{0};  // when the next interval tick may return it
};

// Passive outlier detection for the live endpoints: one lb::OutlierDetector per service
// whose destination rule has outlier_detection, fed with the connect outcomes workers report
// and ticked at the rule's interval. Ejections and returns are applied to the LiveState
// (and so reach the next snapshot).
class OutlierTracker {
public:
    // Follows the live membership; an endpoint that stays keeps its counters and ejection.
    void sync(const LiveState& live);
    // A connect outcome of endpoint `slot`; returns true when it ejected the endpoint.
    bool record(uint32_t slot, lb::ConnectResult result, MonotonicTime now, LiveState& live);
    // Interval ticks that are due: returns ejected endpoints whose time is up. Returns how
    // many endpoints came back.
    size_t tick(MonotonicTime now, LiveState& live);
    // A passing active check returns an ejected endpoint at once (Envoy's default).
    void on_active_check_success(uint32_t slot, LiveState& live);

    std::optional<Ejection> ejection(uint32_t slot) const;
    uint64_t ejections_total() const { return ejections_total_; }
    uint64_t overflows() const;  // ejections refused by max_ejection_percent

private:
    struct ServiceDetector {
        lb::OutlierDetector detector{{}, 0};
        std::vector<uint32_t> slots;                 // host index → slot
        std::unordered_map<uint32_t, size_t> host;   // slot → host index
        MonotonicTime next_tick{0};
    };
    ServiceDetector* of(uint32_t slot, const LiveState& live, size_t* host);
    void eject(ServiceDetector& d, size_t host, MonotonicTime now, LiveState& live, const char* why);

    std::map<std::string, ServiceDetector> services_;  // by service key
    std::map<uint32_t, Ejection> ejections_;           // by slot
    uint64_t ejections_total_ = 0;
};

}  // namespace meshgate::control
