#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/duration.h"

namespace meshgate {

struct FailoverRule {
    std::string from;  // region
    std::string to;    // region
};

struct DistributeRule {
    std::string from;  // "region/zone/subzone", terminal '*' wildcards
    std::vector<std::pair<std::string, uint32_t>> to;  // locality pattern → weight
};

struct LocalityLbSetting {
    bool enabled = true;
    std::vector<DistributeRule> distribute;
    std::vector<FailoverRule> failover;
    std::vector<std::string> failover_priority;  // "label" or "label=value"
};

// Istio's OutlierDetection with Istio's defaults.
struct OutlierDetectionPolicy {
    uint32_t consecutive_5xx_errors = 5;
    uint32_t consecutive_gateway_errors = 0;
    uint32_t consecutive_local_origin_failures = 5;
    bool split_external_local_origin_errors = false;
    Duration interval = std::chrono::seconds(10);
    Duration base_ejection_time = std::chrono::seconds(30);
    uint32_t max_ejection_percent = 10;
    uint32_t min_health_percent = 0;
};

struct DestinationRule {
    std::string host;
    std::optional<LocalityLbSetting> locality_lb_setting;
    std::optional<OutlierDetectionPolicy> outlier_detection;
};

}  // namespace meshgate
