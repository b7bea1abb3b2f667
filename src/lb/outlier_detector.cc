#include "lb/outlier_detector.h"

#include <algorithm>

namespace meshgate::lb {

namespace {
constexpr Duration envoy_max_ejection_time = std::chrono::seconds(300);
}

OutlierDetector::OutlierDetector(OutlierDetectionPolicy policy, size_t hosts)
    : policy_(policy), hosts_(hosts) {}

Duration OutlierDetector::max_ejection_time() const {
    return std::max(envoy_max_ejection_time, policy_.base_ejection_time);
}

size_t OutlierDetector::active_ejections() const {
    return static_cast<size_t>(std::count_if(hosts_.begin(), hosts_.end(),
                                             [](const HostState& h) { return h.ejected; }));
}

bool OutlierDetector::record(size_t host, ConnectResult result, MonotonicTime now) {
    auto& h = hosts_[host];
    if (result == ConnectResult::success) {
        h.consecutive_5xx = 0;
        h.consecutive_gateway = 0;
        h.consecutive_local_origin = 0;
        return false;
    }
    if (h.ejected) return false;

    if (policy_.split_external_local_origin_errors) {
        // Connect failures are local-origin errors and feed only their own detector.
        ++h.consecutive_local_origin;
        if (policy_.consecutive_local_origin_failures > 0 &&
            h.consecutive_local_origin >= policy_.consecutive_local_origin_failures) {
            h.consecutive_local_origin = 0;
            return try_eject(host, now);
        }
        return false;
    }

    // Not split: a failed connect is a 503 and a timeout a 504; both are 5xx and gateway errors.
    ++h.consecutive_gateway;
    ++h.consecutive_5xx;
    if (policy_.consecutive_gateway_errors > 0 &&
        h.consecutive_gateway >= policy_.consecutive_gateway_errors) {
        h.consecutive_gateway = 0;
        if (try_eject(host, now)) return true;
    }
    if (policy_.consecutive_5xx_errors > 0 && h.consecutive_5xx >= policy_.consecutive_5xx_errors) {
        h.consecutive_5xx = 0;
        return try_eject(host, now);
    }
    return false;
}

bool OutlierDetector::try_eject(size_t host, MonotonicTime now) {
    auto& h = hosts_[host];
    if (h.ejected) return false;
    // Cluster-wide cap: 100·active/total < max, i.e. the first ejection is always allowed.
    if (100 * active_ejections() >= policy_.max_ejection_percent * hosts_.size()) {
        ++overflows_;
        return false;
    }
    h.ejected = true;
    h.last_ejection = now;
    const auto base = policy_.base_ejection_time;
    if (base * h.backoff < max_ejection_time() + base) ++h.backoff;
    return true;
}

std::vector<size_t> OutlierDetector::tick(MonotonicTime now) {
    std::vector<size_t> returned;
    for (size_t i = 0; i < hosts_.size(); ++i) {
        auto& h = hosts_[i];
        if (!h.ejected) {
            if (h.backoff > 0) --h.backoff;
            continue;
        }
        Duration ejection = std::min(policy_.base_ejection_time * h.backoff, max_ejection_time());
        if (ejection <= now - h.last_ejection) {
            h.ejected = false;
            h.consecutive_5xx = 0;
            h.consecutive_gateway = 0;
            h.consecutive_local_origin = 0;
            returned.push_back(i);
        }
    }
    return returned;
}

void OutlierDetector::on_active_check_success(size_t host) {
    auto& h = hosts_[host];
    if (!h.ejected) return;
    h.ejected = false;
    h.consecutive_5xx = 0;
    h.consecutive_gateway = 0;
    h.consecutive_local_origin = 0;
}

}  // namespace meshgate::lb
