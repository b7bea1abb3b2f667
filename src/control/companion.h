#pragma once

#include <nlohmann/json.hpp>

#include "control/prometheus.h"
#include "dataplane/snapshot.h"

namespace meshgate::control {

// A part of meshgated that runs beside the control thread (the HBONE proxy): it follows each
// published snapshot, and its counters join `meshgatectl stats` and the metrics.
class Companion {
public:
    virtual ~Companion() = default;
    virtual void published(const dataplane::Snapshot& snapshot) = 0;
    virtual void add_stats(nlohmann::json& doc) = 0;
    virtual void add_metrics(PrometheusWriter& w) = 0;
};

}  // namespace meshgate::control
