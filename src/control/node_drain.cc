#include "control/node_drain.h"

namespace meshgate::control {

namespace {

int64_t ms(std::chrono::steady_clock::duration d) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
}

}  // namespace

void NodeDrain::start(Clock::time_point now, uint64_t new_flows) {
    if (started_) return;  // a second drain-node joins the first
    started_ = now;
    last_new_flow_ = now;
    routers_moved_.reset();
    none_open_since_.reset();
    new_flows_seen_ = new_flows;
    new_flows_since_start_ = 0;
    done_ = false;
}

bool NodeDrain::progress(Clock::time_point now, uint64_t new_flows, uint64_t open_flows, const AnnounceConfig& config) {
    if (!started_) return false;
    open_flows_ = open_flows;
    if (new_flows != new_flows_seen_) {
        new_flows_since_start_ += new_flows - new_flows_seen_;
        new_flows_seen_ = new_flows;
        last_new_flow_ = now;
        routers_moved_.reset();  // still sent new flows: not moved yet
    } else if (!routers_moved_ && now - last_new_flow_ >= config.drain_quiet) {
        routers_moved_ = now;
    }
    // Closed connections' last segments (and retransmissions of them) still pass for a while
    // after the last flow stops counting as open: serve them for drain_quiet more.
    if (!routers_moved_ || open_flows > 0) none_open_since_.reset();
    else if (!none_open_since_) none_open_since_ = now;
    if (none_open_since_ && now - *none_open_since_ >= config.drain_quiet) {
        exit_reason_ = "routers moved away and no flow remains";
        done_ = true;
    } else if (now - *started_ >= config.drain_timeout) {
        exit_reason_ = "drain_timeout reached";
        done_ = true;
    }
    return done_;
}

nlohmann::json NodeDrain::to_json(Clock::time_point now, const AnnounceConfig& config) const {
    if (!started_) return nullptr;
    nlohmann::json j = {{"for_ms", ms(now - *started_)},
                        {"new_flows_since_start", new_flows_since_start_},
                        {"last_new_flow_ms_ago", ms(now - last_new_flow_)},
                        {"routers_moved", routers_moved_.has_value()},
                        {"open_flows", open_flows_},
                        {"timeout_in_ms", std::max<int64_t>(0, ms(*started_ + config.drain_timeout - now))},
                        {"done", done_}};
    if (done_) j["exit_reason"] = exit_reason_;
    return j;
}

}  // namespace meshgate::control
