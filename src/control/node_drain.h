#pragma once

#include <cstdint>
#include <optional>

#include <nlohmann/json.hpp>

#include "core/config.h"
#include "core/duration.h"

namespace meshgate::control {

// meshgatectl drain-node, after the VIPs are withdrawn: the routers move new flows away on
// their own time, so new flows keep being served until none came for [announce].drain_quiet
// ("routers moved"); then meshgated waits for its open flows to end and drain_quiet more (for
// the closed ones' last segments), or for drain_timeout from the start, and exits.
class NodeDrain {
public:
    using Clock = std::chrono::steady_clock;

    void start(Clock::time_point now, uint64_t new_flows);
    void cancel() { started_.reset(); }
    bool active() const { return started_.has_value(); }

    // One look at the counters: the workers' new-flow total and the flows still open. True
    // once meshgated should exit.
    bool progress(Clock::time_point now, uint64_t new_flows, uint64_t open_flows, const AnnounceConfig& config);

    nlohmann::json to_json(Clock::time_point now, const AnnounceConfig& config) const;

private:
    std::optional<Clock::time_point> started_;
    Clock::time_point last_new_flow_{};
    std::optional<Clock::time_point> routers_moved_;
    std::optional<Clock::time_point> none_open_since_;  // routers moved and no flow open, since
    uint64_t new_flows_seen_ = 0, new_flows_since_start_ = 0, open_flows_ = 0;
    bool done_ = false;
    const char* exit_reason_ = "";
};

}  // namespace meshgate::control
